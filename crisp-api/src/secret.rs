//! Secrets that Crisp returns, kept out of `Debug` and logs.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A secret string, such as an operator's token key in an [`Operator`](crate::types::Operator).
///
/// `Debug` and `Display` print `[redacted]`; read the value with
/// [`expose_secret`](SecretString::expose_secret). It serialises as the plain string, so a
/// value read from Crisp can be written back.
///
/// ```
/// use crisp_api::types::SecretString;
///
/// let key = SecretString::from("5e1b3c2f0d9a4e7b");
/// assert_eq!(format!("{key:?}"), "[redacted]");
/// assert_eq!(key.expose_secret(), "5e1b3c2f0d9a4e7b");
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    /// The secret itself. Don't log it.
    ///
    /// ```
    /// let key = crisp_api::types::SecretString::from("k");
    /// assert_eq!(key.expose_secret(), "k");
    /// ```
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

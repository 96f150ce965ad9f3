//! Credentials: a token identifier and key, and the tier they belong to.
//!
//! Crisp authenticates every call with HTTP Basic auth built from the identifier and key, plus
//! an `X-Crisp-Tier` header naming the tier. The key is a secret: it is kept out of `Debug`,
//! errors and logs, and the header built from it is marked sensitive.
//!
//! ```
//! use crisp_api::{Client, Credentials};
//!
//! let client = Client::builder(Credentials::plugin("token-identifier", "token-key")).build()?;
//! # Ok::<(), crisp_api::BuildError>(())
//! ```

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The tier a token belongs to, sent as the `X-Crisp-Tier` header.
///
/// ```
/// use crisp_api::{Credentials, Tier};
///
/// assert_eq!(Credentials::plugin("identifier", "key").tier(), Tier::Plugin);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Tier {
    /// A plugin token from the Crisp Marketplace, limited to the scopes it was granted.
    Plugin,
    /// A user token. The guide has website tokens made in the Crisp app authenticate on this
    /// tier.
    User,
    /// The `website` tier value that the official clients also accept. Whether website tokens
    /// need it rather than `user` is not confirmed; prefer [`Credentials::website_token`].
    Website,
}

impl Tier {
    /// The header value: `plugin`, `user` or `website`.
    ///
    /// ```
    /// assert_eq!(crisp_api::Tier::Plugin.as_str(), "plugin");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plugin => "plugin",
            Self::User => "user",
            Self::Website => "website",
        }
    }
}

impl std::str::FromStr for Tier {
    type Err = UnknownTier;

    /// Parses `plugin`, `user` or `website`, in any case.
    ///
    /// ```
    /// use crisp_api::Tier;
    ///
    /// assert_eq!("Plugin".parse::<Tier>()?, Tier::Plugin);
    /// assert!("admin".parse::<Tier>().is_err());
    /// # Ok::<(), crisp_api::auth::UnknownTier>(())
    /// ```
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "plugin" => Ok(Self::Plugin),
            "user" => Ok(Self::User),
            "website" => Ok(Self::Website),
            _ => Err(UnknownTier(text.trim().to_owned())),
        }
    }
}

/// A tier name that is not `plugin`, `user` or `website`.
///
/// ```
/// let error = "admin".parse::<crisp_api::Tier>().unwrap_err();
/// assert!(error.to_string().contains("admin"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown tier `{0}`: use plugin, user or website")]
pub struct UnknownTier(String);

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token's identifier and key, with its tier.
///
/// `Debug` shows the tier and identifier, never the key:
///
/// ```
/// use crisp_api::Credentials;
///
/// let creds = Credentials::plugin("d8a2e3b1-identifier", "the-secret-key");
/// assert!(!format!("{creds:?}").contains("the-secret-key"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    tier: Tier,
    identifier: String,
    key: String,
}

impl Credentials {
    /// Credentials on an explicit tier.
    ///
    /// ```
    /// use crisp_api::{Credentials, Tier};
    ///
    /// let creds = Credentials::new(Tier::Website, "identifier", "key");
    /// assert_eq!(creds.tier(), Tier::Website);
    /// ```
    pub fn new(tier: Tier, identifier: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            tier,
            identifier: identifier.into(),
            key: key.into(),
        }
    }

    /// A plugin token from the Crisp Marketplace (tier `plugin`). Its scopes bound what it can
    /// reach.
    ///
    /// ```
    /// let creds = crisp_api::Credentials::plugin("identifier", "key");
    /// ```
    pub fn plugin(identifier: impl Into<String>, key: impl Into<String>) -> Self {
        Self::new(Tier::Plugin, identifier, key)
    }

    /// A website token generated in the Crisp app for one workspace. It authenticates on the
    /// `user` tier, as the guide says.
    ///
    /// ```
    /// use crisp_api::{Credentials, Tier};
    ///
    /// assert_eq!(Credentials::website_token("identifier", "key").tier(), Tier::User);
    /// ```
    pub fn website_token(identifier: impl Into<String>, key: impl Into<String>) -> Self {
        Self::new(Tier::User, identifier, key)
    }

    /// A user token (tier `user`).
    ///
    /// ```
    /// let creds = crisp_api::Credentials::user("identifier", "key");
    /// ```
    pub fn user(identifier: impl Into<String>, key: impl Into<String>) -> Self {
        Self::new(Tier::User, identifier, key)
    }

    /// The tier.
    ///
    /// ```
    /// use crisp_api::{Credentials, Tier};
    ///
    /// assert_eq!(Credentials::user("identifier", "key").tier(), Tier::User);
    /// ```
    pub fn tier(&self) -> Tier {
        self.tier
    }

    /// The token identifier (not a secret).
    ///
    /// ```
    /// assert_eq!(crisp_api::Credentials::plugin("identifier", "key").identifier(), "identifier");
    /// ```
    pub fn identifier(&self) -> &str {
        &self.identifier
    }

    /// The key (a secret; never logged).
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// Why these credentials cannot be used, if they cannot: empty, a `:` in the identifier
    /// (Basic auth splits on it), or characters a header cannot carry. Never names the key's
    /// content.
    pub(crate) fn check(&self) -> Result<(), &'static str> {
        let bad = |s: &str| s.chars().any(|c| c.is_control());
        if self.identifier.trim().is_empty() {
            return Err("the identifier is empty");
        }
        if self.key.trim().is_empty() {
            return Err("the key is empty");
        }
        if self.identifier.contains(':') {
            return Err("the identifier holds `:`, which Basic auth cannot carry");
        }
        if bad(&self.identifier) || bad(&self.key) {
            return Err("it holds a control character (such as a new line)");
        }
        if self.identifier.trim() != self.identifier || self.key.trim() != self.key {
            return Err("it starts or ends with white space");
        }
        Ok(())
    }

    /// The `Authorization` header value: `Basic base64(identifier:key)`.
    pub(crate) fn authorization(&self) -> String {
        let mut raw = Vec::with_capacity(self.identifier.len() + 1 + self.key.len());
        raw.extend_from_slice(self.identifier.as_bytes());
        raw.push(b':');
        raw.extend_from_slice(self.key.as_bytes());
        format!("Basic {}", STANDARD.encode(&raw))
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("tier", &self.tier)
            .field("identifier", &self.identifier)
            .field("key", &"[redacted]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_is_basic_of_identifier_and_key() {
        let creds = Credentials::plugin("Aladdin", "open sesame");
        assert_eq!(creds.authorization(), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    }
}

//! [`AdminToken`]: the token that signs a person in to the dashboard, read from
//! `CRISP_GATEWAY_ADMIN_TOKEN`, only ever compared (its SHA-256, in constant time).

use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// The environment variable that holds the admin token.
pub const ADMIN_TOKEN_VAR: &str = "CRISP_GATEWAY_ADMIN_TOKEN";

/// The shortest admin token accepted, in characters.
const MIN_TOKEN: usize = 16;

/// The admin token: whoever presents it may sign in to the dashboard. Never shown: its
/// `Debug` is redacted, and it is only ever compared (its SHA-256, in constant time).
#[derive(Clone)]
pub struct AdminToken {
    sha256: [u8; 32],
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(redacted)")
    }
}

impl AdminToken {
    /// The token `text`.
    ///
    /// # Errors
    /// It is shorter than 16 characters, or holds white space or control characters (a
    /// token pasted with its line break): the message says so, without the token.
    pub fn new(text: &str) -> Result<Self, String> {
        if text.chars().count() < MIN_TOKEN {
            return Err(format!(
                "{ADMIN_TOKEN_VAR} is shorter than {MIN_TOKEN} characters: use a long random \
                 one (for example `openssl rand -hex 32`)"
            ));
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "{ADMIN_TOKEN_VAR} holds white space or a control character: set it without \
                 spaces or line breaks"
            ));
        }
        Ok(Self {
            sha256: Sha256::digest(text.as_bytes()).into(),
        })
    }

    /// The token in `CRISP_GATEWAY_ADMIN_TOKEN`, if set (an empty value is unset).
    ///
    /// # Errors
    /// It is set but not usable: see [`AdminToken::new`].
    pub fn from_env() -> Result<Option<Self>, String> {
        match std::env::var(ADMIN_TOKEN_VAR) {
            Ok(text) if text.is_empty() => Ok(None),
            Ok(text) => Self::new(&text).map(Some),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(format!("{ADMIN_TOKEN_VAR} is not UTF-8 text: set it again"))
            }
        }
    }

    /// Whether `presented` is the token: their SHA-256 compared in constant time (so neither
    /// the token's length nor its first differing byte shows in the time taken).
    pub fn matches(&self, presented: &str) -> bool {
        let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        bool::from(presented.ct_eq(&self.sha256))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_token_matches_itself_only_and_never_shows() {
        let token = AdminToken::new("s3cret-admin-token-0123456789").unwrap();
        assert!(token.matches("s3cret-admin-token-0123456789"));
        assert!(!token.matches("s3cret-admin-token-012345678"));
        assert!(!token.matches(""));
        assert!(!format!("{token:?}").contains("s3cret"));
    }

    #[test]
    fn short_or_spaced_admin_tokens_are_refused_without_showing_them() {
        let short = AdminToken::new("short-one").unwrap_err();
        assert!(short.contains("shorter than 16"), "{short}");
        assert!(!short.contains("short-one"));
        let spaced = AdminToken::new("a-long-enough-token\n").unwrap_err();
        assert!(spaced.contains("white space"), "{spaced}");
    }
}

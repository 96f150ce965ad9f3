//! Agents' keys: the secret an agent presents, and the hash the policy stores.
//!
//! A key is 256 random bits written as text; the gateway stores only `sha256(key)`. Keys are
//! random and long, so a fast hash is enough (no password stretching: there is nothing to
//! guess). Hashes are compared in constant time, and a short key id (the first 8 hex digits of
//! the hash) names a key in logs and the audit without revealing it.
//!
//! ```
//! use crisp_gateway::policy::{AgentKey, KeyFormat, KeyHash};
//!
//! let key = AgentKey::generate(KeyFormat::Hex)?;
//! let hash = key.hash();
//! assert_eq!(hash, KeyHash::of(key.expose().as_bytes()));
//! assert_eq!(KeyHash::from_hex(&hash.to_string()), Ok(hash));
//! assert_eq!(hash.key_id().len(), 8);
//! assert!(!format!("{key:?}").contains(key.expose()));
//! # Ok::<(), getrandom::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// The SHA-256 of an agent's key: what the policy stores (`key_sha256`).
///
/// Equality is constant-time. [`Display`](fmt::Display) writes the 64 lower-case hex digits
/// (not a secret: a hash of 256 random bits reveals nothing of the key); [`Debug`] writes only
/// the [key id](KeyHash::key_id).
#[derive(Clone, Copy, Eq)]
pub struct KeyHash([u8; 32]);

impl KeyHash {
    /// The hash of `key`, exactly as presented (keys are case-sensitive).
    pub fn of(key: &[u8]) -> Self {
        Self(Sha256::digest(key).into())
    }

    /// Reads 64 hex digits. Upper-case digits are accepted too: hex names the same 32 bytes
    /// in either case, so there is nothing to refuse.
    ///
    /// ```
    /// use crisp_gateway::policy::KeyHash;
    ///
    /// let lower = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    /// assert_eq!(KeyHash::from_hex(lower), KeyHash::from_hex(&lower.to_uppercase()));
    /// assert!(KeyHash::from_hex("9f86").unwrap_err().contains("64 hex digits"));
    /// ```
    ///
    /// # Errors
    ///
    /// Says what is wrong (length or a character that is not a hex digit) and how to compute
    /// the value.
    pub fn from_hex(text: &str) -> Result<Self, String> {
        const HOW: &str = "write the lower-case hex SHA-256 of the agent's key \
                           (`printf %s KEY | sha256sum`), or let `crisp-gateway agents add NAME` \
                           make a key and print its table";
        if text.len() != 64 {
            return Err(format!(
                "a key hash is 64 hex digits, and this one has {} characters: {HOW}",
                text.chars().count()
            ));
        }
        if let Some(bad) = text.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(format!(
                "a key hash is 64 hex digits, and `{}` is not a hex digit: {HOW}",
                bad.escape_debug()
            ));
        }
        let mut bytes = [0_u8; 32];
        hex::decode_to_slice(text, &mut bytes)
            .map_err(|e| format!("a key hash is 64 hex digits ({e}): {HOW}"))?;
        Ok(Self(bytes))
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key id: the first 8 hex digits of the hash, to name a key in logs and audit rows.
    /// It is not enough to find or guess the key.
    ///
    /// ```
    /// let hash = crisp_gateway::policy::KeyHash::of(b"test");
    /// assert_eq!(hash.key_id(), "9f86d081");
    /// ```
    pub fn key_id(&self) -> String {
        hex::encode(&self.0[..4])
    }

    /// Whether `key` hashes to this value, compared in constant time.
    pub fn matches(&self, key: &[u8]) -> bool {
        *self == Self::of(key)
    }
}

impl PartialEq for KeyHash {
    /// Constant-time: how much of two hashes agrees is not revealed by how long the
    /// comparison takes.
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Display for KeyHash {
    /// The 64 lower-case hex digits, as `key_sha256` holds them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyHash({})", self.key_id())
    }
}

/// How a generated key is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeyFormat {
    /// 64 lower-case hex digits: safe in any shell, file or header.
    #[default]
    Hex,
    /// 43 characters of unpadded base64url (`A-Z a-z 0-9 - _`): shorter, still URL- and
    /// header-safe. Case matters.
    Base64Url,
}

impl FromStr for KeyFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "hex" => Ok(Self::Hex),
            "base64url" => Ok(Self::Base64Url),
            other => Err(format!(
                "unknown key format `{}`: use `hex` or `base64url`",
                other.escape_debug()
            )),
        }
    }
}

/// An agent's key: a secret. Its [`Debug`] is redacted; read it with [`expose`](Self::expose)
/// only to hand it to its agent.
#[derive(Clone, PartialEq, Eq)]
pub struct AgentKey(String);

impl AgentKey {
    /// A fresh key of 256 bits from the operating system's random source.
    ///
    /// # Errors
    ///
    /// When the operating system gives no random bytes (then no key can be made safely).
    pub fn generate(format: KeyFormat) -> Result<Self, getrandom::Error> {
        let mut bytes = [0_u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(Self(match format {
            KeyFormat::Hex => hex::encode(bytes),
            KeyFormat::Base64Url => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        }))
    }

    /// Wraps a key that was presented or read (it is kept as given, case included).
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key's text. Hand it to its agent; never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its hash, as the policy stores it.
    pub fn hash(&self) -> KeyHash {
        KeyHash::of(self.0.as_bytes())
    }
}

impl fmt::Debug for AgentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AgentKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_256_bits_in_either_form_and_differ() {
        let hex = AgentKey::generate(KeyFormat::Hex).unwrap();
        assert_eq!(hex.expose().len(), 64);
        assert!(hex.expose().bytes().all(|b| b.is_ascii_hexdigit()));
        let b64 = AgentKey::generate(KeyFormat::Base64Url).unwrap();
        assert_eq!(b64.expose().len(), 43);
        let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(b64.expose())
            .unwrap();
        assert_eq!(decoded.len(), 32);
        assert_ne!(hex, AgentKey::generate(KeyFormat::Hex).unwrap());
    }

    #[test]
    fn hashes_read_back_and_refuse_bad_text() {
        let hash = KeyHash::of(b"test");
        assert_eq!(
            hash.to_string(),
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
        assert_eq!(KeyHash::from_hex(&hash.to_string()), Ok(hash));
        let mixed = "9F86d081884C7D659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        assert_eq!(KeyHash::from_hex(mixed), Ok(hash));
        let not_hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0g";
        assert!(KeyHash::from_hex(not_hex).unwrap_err().contains("`g`"));
        assert!(KeyHash::from_hex("").unwrap_err().contains("0 characters"));
        // A multi-byte character of the right byte length is still refused, without a panic.
        let wide = format!("{}é", &hash.to_string()[..62]);
        assert_eq!(wide.len(), 64);
        assert!(KeyHash::from_hex(&wide).unwrap_err().contains("`é`"));
        assert!(hash.matches(b"test") && !hash.matches(b"Test"));
        assert_eq!(format!("{hash:?}"), "KeyHash(9f86d081)");
    }
}

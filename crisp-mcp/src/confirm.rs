//! One-time confirmation tokens for tools that reach a customer or cannot be undone.
//!
//! A call to such a tool without a token does not act: the server answers with a preview and
//! issues a token bound to that tool and the SHA-256 of its exact request (path ids, query and
//! body, defaults filled in). Calling again with the token, within its time to live, acts; the
//! token is spent on first use, whatever the outcome. Tokens are 256 random bits from the
//! operating system; the server keeps only their SHA-256, so neither a memory dump nor `Debug`
//! shows a live token.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// How long a token stays valid by default.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);
/// How many unspent tokens the server keeps at most; past that the oldest is dropped.
pub const MAX_PENDING: usize = 1024;

/// A confirmation token as handed to the agent. `Debug` redacts it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// The token's text, for the preview answer.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

/// Why a token was not accepted. Nothing was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// Never issued, already used, or dropped.
    Unknown,
    /// Issued, but its time to live has passed.
    Expired,
    /// Issued for another tool or other arguments.
    Mismatch,
}

impl Rejection {
    /// `unknown_token`, `expired_token` or `token_mismatch`, for the audit.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown_token",
            Self::Expired => "expired_token",
            Self::Mismatch => "token_mismatch",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unknown => {
                "the confirmation token is unknown: it was never issued, was already used, or \
                 was dropped"
            }
            Self::Expired => "the confirmation token has expired",
            Self::Mismatch => {
                "the confirmation token was issued for another tool or other arguments"
            }
        })
    }
}

struct Pending {
    tool: &'static str,
    request: [u8; 32],
    expires: Instant,
}

/// The tokens issued and not yet spent.
pub struct Confirmations {
    ttl: Duration,
    pending: Mutex<HashMap<[u8; 32], Pending>>,
}

impl fmt::Debug for Confirmations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Confirmations")
            .field("ttl", &self.ttl)
            .field("pending", &self.lock().len())
            .finish()
    }
}

impl Confirmations {
    /// Tokens that live `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            pending: Mutex::new(HashMap::new()),
        }
    }

    /// How long a token lives.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Pending>> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Issues a token for `tool` and the request whose digest is `request`.
    ///
    /// # Errors
    ///
    /// When the operating system has no randomness to give.
    pub fn issue(
        &self,
        tool: &'static str,
        request: [u8; 32],
        now: Instant,
    ) -> Result<Token, getrandom::Error> {
        let mut random = [0u8; 32];
        getrandom::fill(&mut random)?;
        let token = Token(hex(&random));
        let mut pending = self.lock();
        pending.retain(|_, p| p.expires > now);
        if pending.len() >= MAX_PENDING
            && let Some(oldest) = pending
                .iter()
                .min_by_key(|(_, p)| p.expires)
                .map(|(k, _)| *k)
        {
            pending.remove(&oldest);
        }
        pending.insert(
            digest(token.as_str().as_bytes()),
            Pending {
                tool,
                request,
                expires: now + self.ttl,
            },
        );
        Ok(token)
    }

    /// Spends `token` for `tool` and `request`: `Ok` once, for the tool and request it was
    /// issued for, before it expires. Any use spends it.
    pub fn redeem(
        &self,
        token: &str,
        tool: &str,
        request: [u8; 32],
        now: Instant,
    ) -> Result<(), Rejection> {
        let pending = self
            .lock()
            .remove(&digest(token.as_bytes()))
            .ok_or(Rejection::Unknown)?;
        if pending.expires <= now {
            return Err(Rejection::Expired);
        }
        // Both sides are digests of equal length; a match reveals nothing an attacker lacks.
        if pending.tool != tool || !constant_time_eq(&pending.request, &request) {
            return Err(Rejection::Mismatch);
        }
        Ok(())
    }
}

/// SHA-256 of bytes.
pub(crate) fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Whether two digests are equal, in time that does not depend on where they differ.
pub(crate) fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_spent_once_for_its_own_request() {
        let store = Confirmations::new(Duration::from_secs(60));
        let now = Instant::now();
        let request = digest(b"send_message {...}");
        let token = store.issue("send_message", request, now).unwrap();
        assert_eq!(token.as_str().len(), 64);
        assert!(!format!("{token:?}").contains(token.as_str()));
        assert_eq!(
            store.redeem(token.as_str(), "send_message", request, now),
            Ok(())
        );
        assert_eq!(
            store.redeem(token.as_str(), "send_message", request, now),
            Err(Rejection::Unknown)
        );
    }

    #[test]
    fn tokens_are_bound_expire_and_are_unguessable() {
        let store = Confirmations::new(Duration::from_secs(60));
        let now = Instant::now();
        let request = digest(b"a");
        let a = store.issue("send_message", request, now).unwrap();
        let b = store.issue("send_message", request, now).unwrap();
        assert_ne!(a, b);
        assert_eq!(
            store.redeem(a.as_str(), "send_message", digest(b"b"), now),
            Err(Rejection::Mismatch)
        );
        // Spent by the failed use.
        assert_eq!(
            store.redeem(a.as_str(), "send_message", request, now),
            Err(Rejection::Unknown)
        );
        assert_eq!(
            store.redeem(b.as_str(), "remove_conversation", request, now),
            Err(Rejection::Mismatch)
        );
        let c = store.issue("send_message", request, now).unwrap();
        assert_eq!(
            store.redeem(
                c.as_str(),
                "send_message",
                request,
                now + Duration::from_secs(60)
            ),
            Err(Rejection::Expired)
        );
        assert_eq!(
            store.redeem("", "send_message", request, now),
            Err(Rejection::Unknown)
        );
        assert_eq!(
            store.redeem(&"0".repeat(64), "send_message", request, now),
            Err(Rejection::Unknown)
        );
    }

    #[test]
    fn the_store_is_bounded() {
        let store = Confirmations::new(Duration::from_secs(60));
        let now = Instant::now();
        let first = store.issue("t", digest(b"0"), now).unwrap();
        for i in 1..=MAX_PENDING {
            store
                .issue(
                    "t",
                    digest(&i.to_le_bytes()),
                    now + Duration::from_millis(i as u64),
                )
                .unwrap();
        }
        assert_eq!(store.lock().len(), MAX_PENDING);
        assert_eq!(
            store.redeem(first.as_str(), "t", digest(b"0"), now),
            Err(Rejection::Unknown),
            "the oldest token was dropped"
        );
    }
}

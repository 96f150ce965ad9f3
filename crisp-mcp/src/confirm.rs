//! One-time confirmation tokens for tools that reach a customer or cannot be undone.
//!
//! A call to such a tool without a token does not act: the server answers with a preview and
//! issues a token bound to that tool and the SHA-256 of its exact request (path, query and
//! body, defaults filled in). Calling again with the token, within its time to live, acts; the
//! token is spent on first use, whatever the outcome. Tokens are 256 random bits from the
//! operating system; the server keeps only their SHA-256, so neither a memory dump nor `Debug`
//! shows a live token.
//!
//! Each caller (an MCP session, or a website Hugo signed for) holds at most
//! [`MAX_PENDING_PER_CALLER`] unspent tokens, and the server at most [`MAX_PENDING`]. A caller
//! that is full is refused a new preview until one of its tokens is spent or expires: no
//! caller's token is ever dropped to make room for another's.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use crate::hash::{self, Digest};

/// How long a token stays valid by default.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);
/// The shortest time to live a server accepts.
pub const MIN_TTL: Duration = Duration::from_secs(1);
/// The longest time to live a server accepts (a day).
pub const MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// How many unspent tokens one caller may hold.
pub const MAX_PENDING_PER_CALLER: usize = 16;
/// How many unspent tokens the server keeps at most, all callers together.
pub const MAX_PENDING: usize = 4096;

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

/// Why no token was issued. Nothing was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IssueError {
    /// The caller already holds [`MAX_PENDING_PER_CALLER`] unspent tokens.
    CallerFull,
    /// The server already holds [`MAX_PENDING`] unspent tokens.
    StoreFull,
    /// The time to live does not fit the clock (over a day is refused before it gets here).
    TtlOutOfRange,
    /// The operating system had no randomness to give.
    NoRandomness,
}

impl IssueError {
    /// `too_many_pending`, `confirmations_full`, `ttl_out_of_range` or `no_randomness`, for the
    /// audit.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CallerFull => "too_many_pending",
            Self::StoreFull => "confirmations_full",
            Self::TtlOutOfRange => "ttl_out_of_range",
            Self::NoRandomness => "no_randomness",
        }
    }
}

impl fmt::Display for IssueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CallerFull => write!(
                f,
                "this caller already has {MAX_PENDING_PER_CALLER} previews waiting for \
                 confirmation: confirm one of them with its token, or wait for them to expire, \
                 then ask again"
            ),
            Self::StoreFull => write!(
                f,
                "the server already has {MAX_PENDING} previews waiting for confirmation: try \
                 again when some have been confirmed or have expired"
            ),
            Self::TtlOutOfRange => f.write_str(
                "the server's confirmation time to live does not fit the clock: start it with \
                 a --confirm-ttl between 1 second and a day",
            ),
            Self::NoRandomness => f.write_str(
                "the server could not make a confirmation token (no randomness from the system)",
            ),
        }
    }
}

impl std::error::Error for IssueError {}

/// Why a token was not accepted. Nothing was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// Never issued, already used, or expired and pruned.
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
                 has expired"
            }
            Self::Expired => "the confirmation token has expired",
            Self::Mismatch => {
                "the confirmation token was issued for another tool or other arguments"
            }
        })
    }
}

impl std::error::Error for Rejection {}

struct Pending {
    /// The caller it was issued to, which it counts against.
    caller: String,
    tool: &'static str,
    request: Digest,
    expires: Instant,
}

/// The tokens issued and not yet spent, keyed by the token's SHA-256.
pub struct Confirmations {
    ttl: Duration,
    pending: Mutex<HashMap<Digest, Pending>>,
}

impl fmt::Debug for Confirmations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Confirmations")
            .field("ttl", &self.ttl)
            .field("pending", &self.pending())
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

    /// How many tokens are issued and not yet spent (expired ones included until the next
    /// issue prunes them).
    pub fn pending(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> parking_lot::MutexGuard<'_, HashMap<Digest, Pending>> {
        self.pending.lock()
    }

    /// Issues a token to `caller` (a session, or a website Hugo signed for) for `tool` and the
    /// request whose digest is `request`.
    ///
    /// # Errors
    ///
    /// When `caller` already holds [`MAX_PENDING_PER_CALLER`] unspent tokens, the server holds
    /// [`MAX_PENDING`], `now` plus the time to live does not fit the clock, or the operating
    /// system has no randomness to give. No other token is dropped.
    pub fn issue(
        &self,
        caller: &str,
        tool: &'static str,
        request: Digest,
        now: Instant,
    ) -> Result<Token, IssueError> {
        let expires = now.checked_add(self.ttl).ok_or(IssueError::TtlOutOfRange)?;
        let mut pending = self.lock();
        pending.retain(|_, p| p.expires > now);
        if pending.values().filter(|p| p.caller == caller).count() >= MAX_PENDING_PER_CALLER {
            return Err(IssueError::CallerFull);
        }
        if pending.len() >= MAX_PENDING {
            return Err(IssueError::StoreFull);
        }
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(|_| IssueError::NoRandomness)?;
        let token = Token(hex::encode(random));
        pending.insert(
            hash::sha256(token.as_str().as_bytes()),
            Pending {
                caller: caller.to_owned(),
                tool,
                request,
                expires,
            },
        );
        Ok(token)
    }

    /// Spends `token` for `tool` and `request`: `Ok` once, for the tool and request it was
    /// issued for, before it expires. Any use spends it.
    ///
    /// # Errors
    ///
    /// [`Rejection`] says why the token was not accepted.
    pub fn redeem(
        &self,
        token: &str,
        tool: &str,
        request: Digest,
        now: Instant,
    ) -> Result<(), Rejection> {
        let pending = self
            .lock()
            .remove(&hash::sha256(token.as_bytes()))
            .ok_or(Rejection::Unknown)?;
        if pending.expires <= now {
            return Err(Rejection::Expired);
        }
        // Both sides are digests of equal length; a match reveals nothing an attacker lacks.
        if pending.tool != tool || !hash::same(&pending.request, &request) {
            return Err(Rejection::Mismatch);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::hash::sha256;

    const TTL: Duration = Duration::from_secs(60);

    #[test]
    fn a_token_is_spent_once_for_its_own_request() {
        let store = Confirmations::new(TTL);
        let now = Instant::now();
        let request = sha256(b"send_message {...}");
        let token = store.issue("a", "send_message", request, now).unwrap();
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
        let store = Confirmations::new(TTL);
        let now = Instant::now();
        let request = sha256(b"a");
        let a = store.issue("a", "send_message", request, now).unwrap();
        let b = store.issue("a", "send_message", request, now).unwrap();
        assert_ne!(a, b);
        assert_eq!(
            store.redeem(a.as_str(), "send_message", sha256(b"b"), now),
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
        let c = store.issue("a", "send_message", request, now).unwrap();
        assert_eq!(
            store.redeem(c.as_str(), "send_message", request, now + TTL),
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

    /// Today's store dropped the oldest token, whoever held it, when 1,024 previews arrived.
    #[test]
    fn a_full_caller_is_refused_and_nobody_else_loses_a_token() {
        let store = Confirmations::new(TTL);
        let now = Instant::now();
        let victim = store.issue("victim", "t", sha256(b"v"), now).unwrap();
        for i in 0..MAX_PENDING_PER_CALLER {
            store
                .issue("flooder", "t", sha256(&i.to_le_bytes()), now)
                .unwrap();
        }
        for _ in 0..MAX_PENDING {
            assert_eq!(
                store.issue("flooder", "t", sha256(b"x"), now),
                Err(IssueError::CallerFull)
            );
        }
        assert_eq!(store.pending(), MAX_PENDING_PER_CALLER + 1);
        assert_eq!(
            store.redeem(victim.as_str(), "t", sha256(b"v"), now),
            Ok(()),
            "the other caller's token survived"
        );
        // A spent or expired token frees its caller's place.
        let later = now + TTL;
        assert!(store.issue("flooder", "t", sha256(b"y"), later).is_ok());
    }

    #[test]
    fn the_store_is_bounded_for_all_callers_together() {
        let store = Confirmations::new(TTL);
        let now = Instant::now();
        for i in 0..MAX_PENDING {
            let caller = format!("caller-{}", i / MAX_PENDING_PER_CALLER);
            store
                .issue(&caller, "t", sha256(&i.to_le_bytes()), now)
                .unwrap();
        }
        assert_eq!(
            store.issue("newcomer", "t", sha256(b"n"), now),
            Err(IssueError::StoreFull)
        );
        assert_eq!(store.pending(), MAX_PENDING);
    }

    /// Today's store panicked (an `Instant` overflow) on every preview with a huge ttl.
    #[test]
    fn a_ttl_beyond_the_clock_is_an_error_not_a_panic() {
        let store = Confirmations::new(Duration::from_secs(u64::MAX));
        let refused = store.issue("a", "t", sha256(b"r"), Instant::now());
        assert_eq!(refused, Err(IssueError::TtlOutOfRange));
        assert!(refused.unwrap_err().to_string().contains("--confirm-ttl"));
    }
}

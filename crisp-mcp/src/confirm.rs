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
//!
//! Where the unspent tokens are kept is a seam, [`TokenStore`]: by default in the server's
//! memory ([`MemoryTokens`]); a server that runs as several replicas behind one address (a
//! gateway on a shared database) keeps them in a store they share, so that a token issued by
//! one replica is redeemed on another, once ([`Settings::token_store`](crate::Settings::token_store)).
//! The store keeps records ([`Pending`]: the token's SHA-256, never the token) and takes one
//! out atomically; issuing, expiry and the checks of tool and request stay here.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;

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
    /// The [`TokenStore`] could not keep the token (its database did not answer).
    Unavailable,
}

impl IssueError {
    /// `too_many_pending`, `confirmations_full`, `ttl_out_of_range`, `no_randomness` or
    /// `confirmations_unavailable`, for the audit.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CallerFull => "too_many_pending",
            Self::StoreFull => "confirmations_full",
            Self::TtlOutOfRange => "ttl_out_of_range",
            Self::NoRandomness => "no_randomness",
            Self::Unavailable => "confirmations_unavailable",
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
            Self::Unavailable => f.write_str(
                "the server could not keep a confirmation token (its store did not answer): try \
                 again in a moment",
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
    /// The [`TokenStore`] could not be read (its database did not answer).
    Unavailable,
}

impl Rejection {
    /// `unknown_token`, `expired_token`, `token_mismatch` or `confirmations_unavailable`, for
    /// the audit.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown_token",
            Self::Expired => "expired_token",
            Self::Mismatch => "token_mismatch",
            Self::Unavailable => "confirmations_unavailable",
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
            Self::Unavailable => {
                "the confirmation token could not be checked (the server's store did not answer)"
            }
        })
    }
}

impl std::error::Error for Rejection {}

/// One unspent token as a [`TokenStore`] keeps it: never the token, its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pending {
    /// SHA-256 of the token: what the token is found by.
    pub key: [u8; 32],
    /// The caller it was issued to, which it counts against.
    pub caller: String,
    /// The tool it was issued for.
    pub tool: String,
    /// SHA-256 of the exact request it confirms.
    pub request: [u8; 32],
    /// When it expires, in Unix milliseconds.
    pub expires_ms: i64,
}

impl Pending {
    /// A record of the token whose SHA-256 is `key`.
    pub fn new(
        key: [u8; 32],
        caller: impl Into<String>,
        tool: impl Into<String>,
        request: [u8; 32],
        expires_ms: i64,
    ) -> Self {
        Self {
            key,
            caller: caller.into(),
            tool: tool.into(),
            request,
            expires_ms,
        }
    }
}

/// Where unspent confirmation tokens are kept. Object-safe: a server holds an
/// `Arc<dyn TokenStore>`. By default [`MemoryTokens`]; a shared store (a database) lets
/// replicas of one server redeem each other's tokens.
pub trait TokenStore: Send + Sync + 'static {
    /// Keeps `pending`, unless its caller already holds [`MAX_PENDING_PER_CALLER`] tokens
    /// unexpired at `now_ms`, or the store [`MAX_PENDING`] (a shared store may hold these
    /// caps approximately under concurrent issues). It may drop expired records.
    ///
    /// # Errors
    ///
    /// [`IssueError::CallerFull`], [`IssueError::StoreFull`], or [`IssueError::Unavailable`]
    /// when the record could not be written.
    fn keep(&self, pending: Pending, now_ms: i64) -> BoxFuture<'_, Result<(), IssueError>>;

    /// Removes the record found by `key` and returns it, in one atomic step: of any number of
    /// calls with one key, on any replica, at most one gets it. Expired records may be
    /// returned (the caller checks the expiry) or not (then the token reads unknown).
    ///
    /// # Errors
    ///
    /// [`Rejection::Unavailable`] when the store could not be read.
    fn take(&self, key: [u8; 32]) -> BoxFuture<'_, Result<Option<Pending>, Rejection>>;
}

/// The default [`TokenStore`]: in the server's memory, one map per server.
#[derive(Default)]
pub struct MemoryTokens {
    pending: Mutex<HashMap<Digest, Pending>>,
}

impl fmt::Debug for MemoryTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryTokens")
            .field("pending", &self.pending())
            .finish()
    }
}

impl MemoryTokens {
    /// How many tokens are kept (expired ones included until the next issue prunes them).
    pub fn pending(&self) -> usize {
        self.pending.lock().len()
    }
}

impl TokenStore for MemoryTokens {
    fn keep(&self, pending: Pending, now_ms: i64) -> BoxFuture<'_, Result<(), IssueError>> {
        let mut map = self.pending.lock();
        map.retain(|_, p| p.expires_ms > now_ms);
        let result = if map.values().filter(|p| p.caller == pending.caller).count()
            >= MAX_PENDING_PER_CALLER
        {
            Err(IssueError::CallerFull)
        } else if map.len() >= MAX_PENDING {
            Err(IssueError::StoreFull)
        } else {
            map.insert(pending.key, pending);
            Ok(())
        };
        Box::pin(std::future::ready(result))
    }

    fn take(&self, key: [u8; 32]) -> BoxFuture<'_, Result<Option<Pending>, Rejection>> {
        let taken = self.pending.lock().remove(&key);
        Box::pin(std::future::ready(Ok(taken)))
    }
}

/// The server's confirmation tokens: how long they live, and where they are kept.
pub struct Confirmations {
    ttl: Duration,
    store: Arc<dyn TokenStore>,
}

impl fmt::Debug for Confirmations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Confirmations")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// `time` in Unix milliseconds (0 before 1970).
fn unix_ms(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Confirmations {
    /// Tokens that live `ttl`, kept in memory ([`MemoryTokens`]).
    pub fn new(ttl: Duration) -> Self {
        Self::with_store(ttl, Arc::new(MemoryTokens::default()))
    }

    /// Tokens that live `ttl`, kept in `store`.
    pub fn with_store(ttl: Duration, store: Arc<dyn TokenStore>) -> Self {
        Self { ttl, store }
    }

    /// How long a token lives.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Issues a token to `caller` (a session, or a website Hugo signed for) for `tool` and the
    /// request whose digest is `request`, at `now`.
    ///
    /// # Errors
    ///
    /// When `caller` already holds [`MAX_PENDING_PER_CALLER`] unspent tokens, the server holds
    /// [`MAX_PENDING`], `now` plus the time to live does not fit the clock, the operating
    /// system has no randomness to give, or the store cannot keep it. No other token is
    /// dropped.
    pub async fn issue(
        &self,
        caller: &str,
        tool: &'static str,
        request: Digest,
        now: SystemTime,
    ) -> Result<Token, IssueError> {
        let expires = now.checked_add(self.ttl).ok_or(IssueError::TtlOutOfRange)?;
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(|_| IssueError::NoRandomness)?;
        let token = Token(hex::encode(random));
        let key = hash::sha256(token.as_str().as_bytes());
        let pending = Pending::new(key, caller, tool, request, unix_ms(expires));
        self.store.keep(pending, unix_ms(now)).await?;
        Ok(token)
    }

    /// Spends `token` for `tool` and `request`: `Ok` once, for the tool and request it was
    /// issued for, before it expires. Any use spends it.
    ///
    /// # Errors
    ///
    /// [`Rejection`] says why the token was not accepted.
    pub async fn redeem(
        &self,
        token: &str,
        tool: &str,
        request: Digest,
        now: SystemTime,
    ) -> Result<(), Rejection> {
        let pending = self
            .store
            .take(hash::sha256(token.as_bytes()))
            .await?
            .ok_or(Rejection::Unknown)?;
        if pending.expires_ms <= unix_ms(now) {
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

    /// Runs a future of the memory store, which is ready at once.
    fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    fn store() -> (Arc<MemoryTokens>, Confirmations) {
        let memory = Arc::new(MemoryTokens::default());
        let store: Arc<dyn TokenStore> = Arc::clone(&memory) as _;
        (memory, Confirmations::with_store(TTL, store))
    }

    fn issue(
        store: &Confirmations,
        caller: &str,
        tool: &'static str,
        request: Digest,
        now: SystemTime,
    ) -> Result<Token, IssueError> {
        block_on(store.issue(caller, tool, request, now))
    }

    fn redeem(
        store: &Confirmations,
        token: &str,
        tool: &str,
        request: Digest,
        now: SystemTime,
    ) -> Result<(), Rejection> {
        block_on(store.redeem(token, tool, request, now))
    }

    #[test]
    fn a_token_is_spent_once_for_its_own_request() {
        let (_, store) = store();
        let now = SystemTime::now();
        let request = sha256(b"send_message {...}");
        let token = issue(&store, "a", "send_message", request, now).unwrap();
        assert_eq!(token.as_str().len(), 64);
        assert!(!format!("{token:?}").contains(token.as_str()));
        assert_eq!(
            redeem(&store, token.as_str(), "send_message", request, now),
            Ok(())
        );
        assert_eq!(
            redeem(&store, token.as_str(), "send_message", request, now),
            Err(Rejection::Unknown)
        );
    }

    #[test]
    fn tokens_are_bound_expire_and_are_unguessable() {
        let (_, store) = store();
        let now = SystemTime::now();
        let request = sha256(b"a");
        let a = issue(&store, "a", "send_message", request, now).unwrap();
        let b = issue(&store, "a", "send_message", request, now).unwrap();
        assert_ne!(a, b);
        assert_eq!(
            redeem(&store, a.as_str(), "send_message", sha256(b"b"), now),
            Err(Rejection::Mismatch)
        );
        // Spent by the failed use.
        assert_eq!(
            redeem(&store, a.as_str(), "send_message", request, now),
            Err(Rejection::Unknown)
        );
        assert_eq!(
            redeem(&store, b.as_str(), "remove_conversation", request, now),
            Err(Rejection::Mismatch)
        );
        let c = issue(&store, "a", "send_message", request, now).unwrap();
        assert_eq!(
            redeem(&store, c.as_str(), "send_message", request, now + TTL),
            Err(Rejection::Expired)
        );
        assert_eq!(
            redeem(&store, "", "send_message", request, now),
            Err(Rejection::Unknown)
        );
        assert_eq!(
            redeem(&store, &"0".repeat(64), "send_message", request, now),
            Err(Rejection::Unknown)
        );
    }

    /// Today's store dropped the oldest token, whoever held it, when 1,024 previews arrived.
    #[test]
    fn a_full_caller_is_refused_and_nobody_else_loses_a_token() {
        let (memory, store) = store();
        let now = SystemTime::now();
        let victim = issue(&store, "victim", "t", sha256(b"v"), now).unwrap();
        for i in 0..MAX_PENDING_PER_CALLER {
            issue(&store, "flooder", "t", sha256(&i.to_le_bytes()), now).unwrap();
        }
        for _ in 0..MAX_PENDING {
            assert_eq!(
                issue(&store, "flooder", "t", sha256(b"x"), now),
                Err(IssueError::CallerFull)
            );
        }
        assert_eq!(memory.pending(), MAX_PENDING_PER_CALLER + 1);
        assert_eq!(
            redeem(&store, victim.as_str(), "t", sha256(b"v"), now),
            Ok(()),
            "the other caller's token survived"
        );
        // A spent or expired token frees its caller's place.
        let later = now + TTL;
        assert!(issue(&store, "flooder", "t", sha256(b"y"), later).is_ok());
    }

    #[test]
    fn the_store_is_bounded_for_all_callers_together() {
        let (memory, store) = store();
        let now = SystemTime::now();
        for i in 0..MAX_PENDING {
            let caller = format!("caller-{}", i / MAX_PENDING_PER_CALLER);
            issue(&store, &caller, "t", sha256(&i.to_le_bytes()), now).unwrap();
        }
        assert_eq!(
            issue(&store, "newcomer", "t", sha256(b"n"), now),
            Err(IssueError::StoreFull)
        );
        assert_eq!(memory.pending(), MAX_PENDING);
    }

    /// Today's store panicked (an `Instant` overflow) on every preview with a huge ttl.
    #[test]
    fn a_ttl_beyond_the_clock_is_an_error_not_a_panic() {
        let store = Confirmations::new(Duration::from_secs(u64::MAX));
        let refused = issue(&store, "a", "t", sha256(b"r"), SystemTime::now());
        assert_eq!(refused, Err(IssueError::TtlOutOfRange));
        assert!(refused.unwrap_err().to_string().contains("--confirm-ttl"));
    }
}

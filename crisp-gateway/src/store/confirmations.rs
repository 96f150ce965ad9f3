//! The MCP front's unspent confirmation tokens, kept in the store so that replicas of the
//! gateway behind a load balancer that does not pin clients share them: a token one replica
//! issued is redeemed on another, and only once (a redeem is one `DELETE ... RETURNING`: of any
//! number of redeems of one token, on any replica, one gets its row). A row holds the token's
//! SHA-256 (never the token), its scope (the agent whose MCP server issued it: a token is
//! redeemed only within it), the caller it counts against, the tool, the request's SHA-256 and
//! when it expires. What a token is bound to and when it expires is checked by crisp-mcp
//! ([`crisp_mcp::confirm`]); the store keeps the records and takes one out once.

use futures::future::BoxFuture;

use super::error::StoreError;

/// One unspent token's row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredToken {
    /// The agent whose MCP server issued it.
    pub scope: String,
    /// The hex SHA-256 of the token.
    pub key: String,
    /// Whom it counts against (crisp-mcp's caller: a session, or the transport).
    pub caller: String,
    /// The tool it confirms.
    pub tool: String,
    /// The hex SHA-256 of the exact request it confirms.
    pub request: String,
    /// When it expires (Unix ms).
    pub expires_ms: i64,
}

/// What [`ConfirmationStore::keep_token`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kept {
    /// The row was written.
    Kept,
    /// Not written: its caller holds the most unexpired tokens one caller may.
    CallerFull,
    /// Not written: its scope holds the most unexpired tokens one agent may.
    ScopeFull,
}

/// Where the MCP front keeps confirmation tokens ([`Store::confirmations`](super::Store::confirmations)).
pub trait ConfirmationStore: Send + Sync {
    /// Deletes the rows expired at `now_ms`, then writes `token` unless its caller already
    /// holds `per_caller` unexpired tokens, or its scope `per_scope` (one statement; under
    /// concurrent writes on several replicas the caps may be passed by a few).
    fn keep_token<'a>(
        &'a self,
        token: &'a StoredToken,
        now_ms: i64,
        per_caller: u64,
        per_scope: u64,
    ) -> BoxFuture<'a, Result<Kept, StoreError>>;

    /// Deletes the row of `key` in `scope` and returns it: one statement, so of any number of
    /// calls with one key, one gets it.
    fn take_token<'a>(
        &'a self,
        scope: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredToken>, StoreError>>;
}

/// Deletes what has expired.
pub(super) const PRUNE: &str = "DELETE FROM mcp_confirmations WHERE expires_ms <= $1";

/// The row, if its caller and scope are under their caps: `$1` key, `$2` scope, `$3` caller,
/// `$4` tool, `$5` request, `$6` expiry, `$7` now, `$8` the caller's cap, `$9` the scope's.
pub(super) const KEEP: &str = "INSERT INTO mcp_confirmations \
     (key, scope, caller, tool, request, expires_ms) \
     SELECT $1, $2, $3, $4, $5, $6 \
     WHERE (SELECT COUNT(*) FROM mcp_confirmations \
            WHERE scope = $2 AND caller = $3 AND expires_ms > $7) < $8 \
       AND (SELECT COUNT(*) FROM mcp_confirmations \
            WHERE scope = $2 AND expires_ms > $7) < $9";

/// How many unexpired tokens the caller holds: which cap refused a write.
pub(super) const CALLER_COUNT: &str = "SELECT COUNT(*) FROM mcp_confirmations \
     WHERE scope = $1 AND caller = $2 AND expires_ms > $3";

/// Takes the row out, once.
pub(super) const TAKE: &str = "DELETE FROM mcp_confirmations WHERE key = $1 AND scope = $2 \
     RETURNING caller, tool, request, expires_ms";

//! The store's vocabulary: the [`Store`] trait and the values it takes and gives. A leaf of
//! `store/`: the implementations import it, never the reverse.

use std::time::{SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;

use super::approvals::ApprovalStore;
use super::confirmations::ConfirmationStore;
use super::error::StoreError;
use super::outbox::Outbox;
use super::rates::SharedRates;
use super::revisions::PolicyRevisions;

/// The decisions an [`AuditRow`] records, as stored (`crisp-gateway audit --decision` takes
/// these): a call's, then an approval's steps (`proposed` is the call's row; the others are
/// written by the step: see [`ApprovalStore`]).
pub const DECISIONS: &[&str] = &[
    "allowed",
    "refused",
    "confirmed",
    "awaiting_confirmation",
    "proposed",
    "approved",
    "denied",
    "expired",
    "sent",
    "unknown_outcome",
];

/// The store's file name inside the gateway's data directory (`--data`).
pub const SQLITE_FILE: &str = "gateway.sqlite";

/// What the gateway keeps: counters and audit rows. See the [module docs](crate::store).
///
/// Implementations are shared by every request (`Arc<dyn Store>`); each method is one short
/// unit of work (one transaction) and never holds a lock across calls.
pub trait Store: Send + Sync + 'static {
    /// Takes `take.n` requests from the agent's daily budget and the token's daily quota for the
    /// UTC day `take.day`: both or neither, atomically, so no two concurrent takes can both get
    /// the last unit. A counter without a limit (`None`) is counted but never refuses.
    fn take(&self, take: Take) -> BoxFuture<'_, Result<Taken, StoreError>>;

    /// Adds `n` to the agent's and the token's counters for `day` without a limit: requests
    /// already sent upstream (crisp-api's retries) count even past a limit.
    fn add<'a>(&'a self, day: u32, agent: &'a str, n: u64)
    -> BoxFuture<'a, Result<(), StoreError>>;

    /// Gives back `n` requests taken from the agent's and the token's counters for `day` and
    /// not used (the rest of a lease the gateway held: see [`Take::n`]); a counter never goes
    /// below zero.
    fn give_back<'a>(
        &'a self,
        day: u32,
        agent: &'a str,
        n: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Writes a batch of audit rows in one transaction: all of them or none.
    fn write_audit<'a>(&'a self, rows: &'a [AuditRow]) -> BoxFuture<'a, Result<(), StoreError>>;

    /// The rows matching `filter`, newest first.
    fn query_audit<'a>(
        &'a self,
        filter: &'a AuditFilter,
    ) -> BoxFuture<'a, Result<Vec<AuditRow>, StoreError>>;

    /// The counts of the UTC day `day`: per agent, and the token's.
    fn usage(&self, day: u32) -> BoxFuture<'_, Result<Usage, StoreError>>;

    /// Each agent's requests per hour (its audit rows, refused ones included) from the hour
    /// that holds `since_ms` on, by agent then hour; hours without a request are left out.
    fn requests_per_hour(&self, since_ms: i64)
    -> BoxFuture<'_, Result<Vec<HourCount>, StoreError>>;

    /// Closes the store's connections once the work in flight is done (call it at shutdown,
    /// after the audit log's last batch); later calls fail. The default does nothing, for a
    /// store that holds no connection.
    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    /// The policy's revisions, when replicas share this store (PostgreSQL): a reload on one
    /// replica reaches the others through them. The default, for a store of one process, is
    /// `None`.
    fn revisions(&self) -> Option<&dyn PolicyRevisions> {
        None
    }

    /// Each agent's rate, when replicas share this store (PostgreSQL), so that they let
    /// through together what one gateway would. The default, for a store of one process, is
    /// `None`: the gateway limits rates in memory.
    fn rates(&self) -> Option<&dyn SharedRates> {
        None
    }

    /// The webhook fan-out's events seen and outbox, when this store keeps them (both stores
    /// do; the default, for a store that does not, is `None`: the gateway then answers Crisp's
    /// webhooks 503).
    fn outbox(&self) -> Option<&dyn Outbox> {
        None
    }

    /// The store's approvals, if it keeps them (both backends do). The default, for a store
    /// that keeps none, is `None`: calls that need an approval are then refused (503).
    fn approvals(&self) -> Option<&dyn ApprovalStore> {
        None
    }

    /// The MCP front's unspent confirmation tokens, if this store keeps them (both backends
    /// do). The default, for a store that keeps none, is `None`: each MCP server then keeps its
    /// own in memory.
    fn confirmations(&self) -> Option<&dyn ConfirmationStore> {
        None
    }

    /// Whether replicas of the gateway may share this store (PostgreSQL: `true`). The MCP
    /// front is then served without sessions, so that any replica answers any request; and the
    /// gateway takes each call's request from the daily counters exactly, one at a time,
    /// instead of in leases (a lease one replica holds unused could strand the last requests of
    /// a budget or the quota that another replica is refused). The default is `false` (one
    /// process: the embedded SQLite file).
    fn shared(&self) -> bool {
        false
    }
}

/// A request to [`Store::take`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Take {
    /// The UTC day, as days since the Unix epoch ([`utc_day`]).
    pub day: u32,
    /// The agent's name, as in the policy.
    pub agent: String,
    /// The agent's `daily_budget`, if it has one.
    pub agent_limit: Option<u64>,
    /// The token's `daily_quota`, if one is set.
    pub quota_limit: Option<u64>,
    /// How many requests to take: 1 for one call, or a lease of several that the gateway then
    /// hands out one call at a time (and gives back what it did not use).
    pub n: u64,
}

/// The answer of [`Store::take`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// Both counters were raised by `n`; their values now.
    Taken {
        /// The agent's count today, this take included.
        agent_used: u64,
        /// The token's count today, this take included.
        quota_used: u64,
    },
    /// The agent's budget has fewer than `n` requests left today; nothing was taken.
    BudgetSpent {
        /// The agent's daily budget.
        limit: u64,
    },
    /// The token's quota has fewer than `n` requests left today; nothing was taken.
    QuotaSpent {
        /// The token's daily quota.
        limit: u64,
    },
}

/// The counts of one UTC day ([`Store::usage`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    /// The day, as days since the Unix epoch.
    pub day: u32,
    /// Each agent with requests counted that day, and its count, by name.
    pub agents: Vec<(String, u64)>,
    /// The token's count: every agent's requests together.
    pub quota_used: u64,
}

impl Usage {
    /// The count of `agent` (0 when it made no request that day).
    pub fn agent(&self, agent: &str) -> u64 {
        self.agents
            .iter()
            .find(|(name, _)| name == agent)
            .map_or(0, |(_, used)| *used)
    }
}

/// One request the gateway answered, refused ones included.
///
/// Never a secret: a key id (the first 8 hex digits of the key's SHA-256) rather than a key,
/// path ids rather than queries or bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// When the request arrived, in Unix milliseconds.
    pub at_ms: i64,
    /// The agent, when the request was authenticated.
    pub agent: Option<String>,
    /// The short id of the key presented, when one was.
    pub key_id: Option<String>,
    /// The front the request came in on: `rest` or `mcp`.
    pub front: String,
    /// The MCP client's name, or the REST user agent.
    pub client: Option<String>,
    /// The operation id (`list_conversations`), when the route matched one.
    pub operation: Option<String>,
    /// The HTTP method of the upstream call.
    pub method: Option<String>,
    /// The path ids, by name, in path order (`website_id`, `session_id`, ...).
    pub path_ids: Vec<(String, String)>,
    /// One of [`DECISIONS`]: `allowed`, `refused`, `confirmed`, `awaiting_confirmation`, or an
    /// approval's `proposed`, `approved`, `denied`, `expired`, `sent`, `unknown_outcome`.
    pub decision: String,
    /// Why: the refusal's rule (`grants`, `website`, `rate`, ...) or another code.
    pub why: Option<String>,
    /// For a call sent upstream: `succeeded`, `failed` or `not_sent`.
    pub outcome: Option<String>,
    /// The HTTP status the agent was answered.
    pub status: Option<u16>,
    /// Crisp's (or the refusal's) `reason`.
    pub reason: Option<String>,
    /// A short error description, when the call failed.
    pub error: Option<String>,
    /// Attempts made upstream (crisp-api's retries included).
    pub attempts: u32,
    /// Upstream requests spent, a resource check's read included.
    pub upstream_requests: u32,
    /// Time from arrival to answer, in microseconds.
    pub latency_us: u64,
}

/// Which rows [`Store::query_audit`] returns. Every field set narrows the result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this agent's rows.
    pub agent: Option<String>,
    /// Only this operation's rows.
    pub operation: Option<String>,
    /// Only rows with this decision.
    pub decision: Option<String>,
    /// Only rows at or after this time (Unix milliseconds).
    pub since_ms: Option<i64>,
    /// Only rows before this time (Unix milliseconds).
    pub until_ms: Option<i64>,
    /// At most this many rows (the newest); all when `None`.
    pub limit: Option<u32>,
    /// Skips this many of the newest matching rows first (a page further down the log).
    pub offset: Option<u32>,
}

/// One agent's requests in one hour ([`Store::requests_per_hour`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourCount {
    /// The agent, as in the policy.
    pub agent: String,
    /// The hour, as hours since the Unix epoch (UTC): `at_ms / 3_600_000`.
    pub hour: i64,
    /// Its audit rows in that hour: every request it made, refused ones included.
    pub requests: u64,
}

/// `time` in Unix milliseconds, as the store's times are: a time before the epoch is 0, one
/// past `i64::MAX` milliseconds saturates.
pub fn unix_ms(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The time now in Unix milliseconds ([`unix_ms`]).
pub fn now_ms() -> i64 {
    unix_ms(SystemTime::now())
}

/// The UTC day of a Unix time in milliseconds, as days since the Unix epoch: the `day` of the
/// counters. Times before the epoch are day 0.
pub fn utc_day(unix_ms: i64) -> u32 {
    const DAY_MS: i64 = 86_400_000;
    u32::try_from(unix_ms.max(0) / DAY_MS).unwrap_or(u32::MAX)
}

/// The start of the UTC hour that holds `unix_ms`, in Unix milliseconds.
pub(crate) fn hour_start(unix_ms: i64) -> i64 {
    const HOUR_MS: i64 = 3_600_000;
    unix_ms - unix_ms.rem_euclid(HOUR_MS)
}

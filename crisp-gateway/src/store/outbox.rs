//! The webhook outbox's vocabulary: the [`Outbox`] trait and the values it takes and gives. A
//! leaf of `store/`, as `types.rs` is: the implementations import it, never the reverse.
//!
//! Two tables hold what the webhook fan-out shares between replicas
//! ([`webhooks`](crate::webhooks)):
//!
//! - **seen events**: one row per event Crisp delivered, by its dedupe key (Crisp sends no event
//!   id). [`Outbox::enqueue`] inserts the key only if it is absent, in the same transaction as
//!   the event's deliveries, so whichever replica inserts it first fans the event out, and a
//!   retried delivery (or the same delivery posted to another replica) changes nothing. Keys
//!   expire ([`NewEvent::expires_at_ms`]) and [`Outbox::cleanup`] removes them.
//! - **the outbox**: one row per (event, agent), pending until it is delivered or its attempts
//!   are spent. A replica [claims](Outbox::claim) due rows with a lease: the row's due time
//!   moves to the lease's end and a lease token is set, so no other replica takes it while the
//!   attempt runs (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: one writer). The attempt's
//!   outcome is [recorded](Outbox::finish) only by the holder of the lease; a replica that dies
//!   mid-attempt leaves the row due again when the lease runs out, for any replica to take.

use futures::future::BoxFuture;

use super::error::StoreError;

/// How long a dedupe key is kept by default: a day (Crisp's retries of one delivery are over
/// long before).
pub const SEEN_FOR_MS: i64 = 86_400_000;

/// How long a delivered or failed outbox row is kept before [`Outbox::cleanup`] removes it: a
/// day.
pub const FINISHED_KEPT_MS: i64 = 86_400_000;

/// The webhook fan-out's shared state: seen events and the outbox. See the
/// [module docs](self). Both stores implement it ([`Store::outbox`](super::Store::outbox)).
pub trait Outbox: Send + Sync {
    /// Whether an event with this dedupe key was already enqueued (and its key not yet
    /// cleaned up): a cheap check before the fan-out's work. Only [`enqueue`](Self::enqueue)
    /// decides.
    fn seen<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// In one transaction: inserts the event's key if it is absent and, only then, one
    /// pending outbox row per delivery, due at once. `Ok(true)`: this call inserted it (fan
    /// it out); `Ok(false)`: the key was there (a retry or another replica's copy): nothing
    /// was written.
    fn enqueue<'a>(&'a self, event: &'a NewEvent) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Leases up to `claim.limit` pending rows due at `claim.now_ms` (the longest due
    /// first): each one's attempts go up by one, its due time becomes `claim.lease_until_ms`
    /// and its lease `claim.lease`, so no other claim takes it until then. Rows another
    /// transaction is claiming are skipped, never waited for.
    fn claim<'a>(&'a self, claim: &'a Claim) -> BoxFuture<'a, Result<Vec<Claimed>, StoreError>>;

    /// Records the outcome of the attempt on row `id` made under `lease`, at `now_ms`: `true`
    /// if recorded; `false` if the lease is no longer that one (it ran out and another replica
    /// took the row), and then nothing changes.
    fn finish<'a>(
        &'a self,
        id: i64,
        lease: &'a str,
        now_ms: i64,
        finish: &'a Finish,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Removes the dedupe keys expired at `now_ms`, and the rows delivered or failed more than
    /// [`FINISHED_KEPT_MS`] before it.
    fn cleanup(&self, now_ms: i64) -> BoxFuture<'_, Result<Cleaned, StoreError>>;

    /// The outbox's rows, newest first, at most `limit`: what is pending, delivered and
    /// failed (for tests and operators).
    fn deliveries(&self, limit: u32) -> BoxFuture<'_, Result<Vec<OutboxEntry>, StoreError>>;
}

/// An event to fan out ([`Outbox::enqueue`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Its dedupe key (64 hex digits: see [`webhooks::event`](crate::webhooks::event)).
    pub key: String,
    /// Its name, such as `message:send`.
    pub event: String,
    /// When it was received, in Unix milliseconds: the rows' creation time and first due time.
    pub received_at_ms: i64,
    /// When its key may be forgotten, in Unix milliseconds.
    pub expires_at_ms: i64,
    /// Its website, if it names one.
    pub website_id: Option<String>,
    /// Its conversation, if it is about one.
    pub session_id: Option<String>,
    /// The body each agent is sent: Crisp's delivery, as received and verified.
    pub body: String,
    /// One per agent it goes to (none: the key is still recorded).
    pub deliveries: Vec<NewDelivery>,
}

/// One agent's delivery of a [`NewEvent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    /// The Standard Webhooks `webhook-id`: the same on every attempt, unique per (event,
    /// agent).
    pub webhook_id: String,
    /// The agent's name.
    pub agent: String,
}

/// A request to [`Outbox::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// Now, in Unix milliseconds: rows due at or before it are claimed.
    pub now_ms: i64,
    /// The lease's end, in Unix milliseconds: the rows are due again then if no outcome was
    /// recorded.
    pub lease_until_ms: i64,
    /// The lease's token (random, one per claim): [`Outbox::finish`] must present it.
    pub lease: String,
    /// At most this many rows.
    pub limit: u32,
}

/// A row leased by [`Outbox::claim`]: one attempt to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The row's id.
    pub id: i64,
    /// The Standard Webhooks `webhook-id`.
    pub webhook_id: String,
    /// The agent's name.
    pub agent: String,
    /// The event's name.
    pub event: String,
    /// The event's website, if any.
    pub website_id: Option<String>,
    /// The event's conversation, if any.
    pub session_id: Option<String>,
    /// The body to send.
    pub body: String,
    /// This attempt's number, from 1 (a claim whose replica died counts as an attempt).
    pub attempt: u32,
}

/// The outcome of an attempt ([`Outbox::finish`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    /// The agent answered 2xx: the row is done.
    Delivered {
        /// The status it answered.
        status: u16,
    },
    /// The attempt failed; try again at `at_ms`.
    Retry {
        /// When the next attempt is due, in Unix milliseconds.
        at_ms: i64,
        /// The agent's status, if it answered.
        status: Option<u16>,
        /// What went wrong (never a secret).
        error: String,
    },
    /// The attempt failed and no attempt is left: the row is done, failed.
    Failed {
        /// The agent's status, if it answered.
        status: Option<u16>,
        /// What went wrong (never a secret).
        error: String,
    },
}

/// Where an outbox row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its next attempt (or leased to a replica making it).
    Pending,
    /// An attempt was answered 2xx.
    Delivered,
    /// Its attempts are spent.
    Failed,
}

impl DeliveryState {
    /// `pending`, `delivered` or `failed`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    /// The state stored as `text`.
    ///
    /// # Errors
    /// A [`StoreError::Corrupt`] for a value the store never writes.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "pending" => Ok(Self::Pending),
            "delivered" => Ok(Self::Delivered),
            "failed" => Ok(Self::Failed),
            other => Err(StoreError::Corrupt {
                detail: format!("an outbox row's state is `{other}`"),
            }),
        }
    }
}

/// An outbox row as [`Outbox::deliveries`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// The row's id.
    pub id: i64,
    /// The Standard Webhooks `webhook-id`.
    pub webhook_id: String,
    /// The agent's name.
    pub agent: String,
    /// The event's name.
    pub event: String,
    /// Where it is.
    pub state: DeliveryState,
    /// Attempts made (claims, a dead replica's included).
    pub attempts: u32,
    /// When it is due next (or its lease ends), in Unix milliseconds.
    pub next_at_ms: i64,
    /// The last attempt's status, if the agent answered.
    pub last_status: Option<u16>,
    /// The last failure, if any.
    pub last_error: Option<String>,
}

/// What [`Outbox::cleanup`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cleaned {
    /// Dedupe keys expired.
    pub keys: u64,
    /// Outbox rows delivered or failed long enough ago.
    pub rows: u64,
}

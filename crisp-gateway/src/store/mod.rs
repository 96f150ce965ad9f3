//! The store: the gateway's only shared state.
//!
//! Two things live here: the daily counters (each agent's budget and the upstream token's
//! quota, taken per call in one atomic statement, so they survive a restart and, with a shared
//! database, hold across replicas) and the audit rows (written in batches by
//! [`AuditLog`](crate::audit::AuditLog), queried by `crisp-gateway audit`).
//!
//! [`Store`] is a trait object (`Arc<dyn Store>`) with two implementations that behave alike
//! (the same tests run on both): SQLite ([`SqliteStore`]), the embedded default, one file in the
//! data directory; and PostgreSQL ([`PostgresStore`]), one database that replicas of the gateway
//! share (`--database postgres://...`). [`open`] chooses between them. Its methods return boxed
//! futures so the trait stays object-safe without an extra crate.
//!
//! The webhook fan-out's shared state (events seen, the outbox of deliveries) is reached through
//! [`Store::outbox`]: see [`outbox`].
//! Approvals ([`ApprovalStore`], through [`Store::approvals`]) live here too: the proposals
//! agents made, the request each would send, and their one-time send (see the `approvals`
//! module's state machine).
//!
//! The MCP front's unspent confirmation tokens ([`ConfirmationStore`], through
//! [`Store::confirmations`]) live here too, so replicas redeem each other's tokens, once.
//!
//! Nothing secret is ever stored (a confirmation token is kept as its SHA-256): an [`AuditRow`] holds an agent's name and key id (never a key),
//! path ids (never a query or a body).

mod approvals;
mod confirmations;
mod error;
mod open;
pub mod outbox;
mod postgres;
pub mod rates;
pub mod revisions;
mod shared;
mod sqlite;
mod steps;
mod types;

pub use approvals::{
    Approval, ApprovalFilter, ApprovalState, ApprovalStore, Decision, Finish, STALE_SEND, Step,
    Sweep,
};
pub use confirmations::{ConfirmationStore, Kept, StoredToken};
pub use error::StoreError;
pub use open::{open, open_read_only};
pub use outbox::Outbox;
pub use postgres::PostgresStore;
pub use rates::SharedRates;
pub use revisions::{PolicyRevisions, Revision, RevisionWatch};
pub use sqlite::SqliteStore;
pub use types::{
    AuditFilter, AuditRow, DECISIONS, HourCount, SQLITE_FILE, Store, Take, Taken, Usage, now_ms,
    unix_ms, utc_day,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_day_counts_days_since_the_epoch() {
        assert_eq!(utc_day(0), 0);
        assert_eq!(utc_day(86_399_999), 0);
        assert_eq!(utc_day(86_400_000), 1);
        // 2026-01-01T00:00:00Z
        assert_eq!(utc_day(1_767_225_600_000), 20_454);
        assert_eq!(utc_day(-5), 0);
    }

    #[test]
    fn usage_of_an_agent_without_requests_is_zero() {
        let usage = Usage {
            day: 1,
            agents: vec![("triage".into(), 3)],
            quota_used: 3,
        };
        assert_eq!(usage.agent("triage"), 3);
        assert_eq!(usage.agent("reply"), 0);
    }

    #[test]
    fn the_trait_is_object_safe() {
        fn takes(_: Option<&dyn Store>) {}
        takes(None);
    }
}

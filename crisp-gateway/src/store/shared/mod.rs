//! What the two SQL stores ([`SqliteStore`](super::SqliteStore) and
//! [`PostgresStore`](super::PostgresStore)) share: the small helpers both call, and the
//! implementations whose SQL and code are the same on both backends but for types.
//!
//! Those implementations are written once, as `macro_rules!` that each backend invokes with its
//! store type, its sqlx database, connection and row types, and the pools it writes and reads
//! through (`writer`/`reader` on SQLite, one `pool` on PostgreSQL). A macro rather than code
//! generic over `sqlx::Database`: generic code would need an `Encode + Type` bound per bound
//! Rust type, a `Decode` bound per read column type, `IntoArguments` and `Executor` bounds on
//! every query and connection, higher-ranked over their lifetimes; those bounds would be longer
//! than the code they constrain and would change with every column added. The macro stamps the
//! same plain code for each concrete backend, so each expansion is checked by the compiler as
//! if written by hand, and errors point at ordinary types.
//!
//! Each backend invokes a macro in a module of its own (`postgres/outbox.rs`, ...), holding
//! only that invocation and what differs. An expansion imports, into that module, the names its
//! code uses; the backend's own code there uses them as they are (importing them again would
//! clash).
//!
//! What really differs stays in the backend's own module: SQL that differs (PostgreSQL's
//! `UNNEST` batch insert and `FOR UPDATE SKIP LOCKED` claim, SQLite's chunked `INSERT`), and the
//! comments on how each backend's locking makes a transition happen once.

use super::error::StoreError;

pub(super) mod approvals;
pub(super) mod audit;
pub(super) mod confirmations;
pub(super) mod counters;
pub(super) mod outbox;

/// The error of a failed statement: what the store was doing and the driver's message.
pub(super) fn failed(action: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |error| StoreError::Failed {
        action,
        detail: error.to_string(),
    }
}

/// SQL integers are signed: a count or limit past `i64::MAX` (never reached) saturates.
pub(super) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A stored count read back: negative means the row is corrupt.
pub(super) fn to_u64(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt {
        detail: format!("{what} is negative ({value})"),
    })
}

/// Path ids as stored: a JSON list of `[name, value]` pairs.
pub(super) fn path_ids_json(path_ids: &[(String, String)]) -> String {
    // A list of string pairs always serializes.
    serde_json::to_string(path_ids).unwrap_or_else(|_| "[]".to_owned())
}

//! What both stores share to read the audit log: its columns, the query of a filter, the
//! hourly counts' SQL and their reading, and `audit_row!`, which stamps each backend's reader of an audit row (the same columns; the
//! schema's `integer` status is `i32` on PostgreSQL, `i64` on SQLite).

use sqlx::{Database, Encode, QueryBuilder, Type};

use super::to_u64;
use crate::store::error::StoreError;
use crate::store::types::{AuditFilter, HourCount};

/// The audit columns, in the order they are written and read.
pub(in crate::store) const AUDIT_COLUMNS: &str = "at_ms, agent, key_id, front, client, \
     operation, method, path_ids, decision, why, outcome, status, reason, error, attempts, \
     upstream_requests, latency_us";

/// The audit rows `filter` selects (by agent, operation, decision and time), newest first: the
/// query up to its `ORDER BY`, to which the backend adds the filter's `LIMIT` and `OFFSET` (their
/// SQL differs).
pub(in crate::store) fn select_audit<DB: Database>(filter: &AuditFilter) -> QueryBuilder<DB>
where
    String: for<'t> Encode<'t, DB> + Type<DB>,
    i64: for<'t> Encode<'t, DB> + Type<DB>,
{
    let mut query = QueryBuilder::new(format!("SELECT {AUDIT_COLUMNS} FROM audit WHERE TRUE"));
    if let Some(agent) = &filter.agent {
        query.push(" AND agent = ").push_bind(agent.clone());
    }
    if let Some(operation) = &filter.operation {
        query.push(" AND operation = ").push_bind(operation.clone());
    }
    if let Some(decision) = &filter.decision {
        query.push(" AND decision = ").push_bind(decision.clone());
    }
    if let Some(since_ms) = filter.since_ms {
        query.push(" AND at_ms >= ").push_bind(since_ms);
    }
    if let Some(until_ms) = filter.until_ms {
        query.push(" AND at_ms < ").push_bind(until_ms);
    }
    query.push(" ORDER BY at_ms DESC, id DESC");
    query
}

/// Each agent's audit rows per hour (hours since the epoch) from `$1` on (`audit_at` finds
/// them).
pub(in crate::store) const PER_HOUR: &str = "SELECT agent, at_ms / 3600000 AS hour, \
     COUNT(*) AS requests FROM audit \
     WHERE agent IS NOT NULL AND at_ms >= $1 GROUP BY agent, hour ORDER BY agent, hour";

/// The rows of [`PER_HOUR`] (agent, hour, requests) as hourly counts.
///
/// # Errors
/// A negative count: the row is corrupt.
pub(in crate::store) fn hour_counts(
    counts: Vec<(String, i64, i64)>,
) -> Result<Vec<HourCount>, StoreError> {
    counts
        .into_iter()
        .map(|(agent, hour, requests)| {
            Ok(HourCount {
                agent,
                hour,
                requests: to_u64(requests, "an hour's count")?,
            })
        })
        .collect()
}

/// Defines `fn audit_row(row: &$row) -> Result<AuditRow, StoreError>`, reading the audit
/// columns of a row whose `status` column reads as `Option<$int>`.
macro_rules! audit_row {
    (row: $row:ty, int: $int:ty $(,)?) => {
        fn audit_row(
            row: &$row,
        ) -> Result<$crate::store::types::AuditRow, $crate::store::error::StoreError> {
            use ::sqlx::Row as _;
            use $crate::store::error::StoreError;
            use $crate::store::shared::to_u64;
            use $crate::store::types::AuditRow;

            let get_failed = |e: sqlx::Error| StoreError::Corrupt {
                detail: format!("an audit row cannot be read: {e}"),
            };
            let path_ids: String = row.try_get("path_ids").map_err(get_failed)?;
            let path_ids = serde_json::from_str(&path_ids).map_err(|e| StoreError::Corrupt {
                detail: format!(
                    "an audit row's path ids are not a list of [name, value] pairs: {e}"
                ),
            })?;
            let status: Option<$int> = row.try_get("status").map_err(get_failed)?;
            let status = status
                .map(|s| {
                    u16::try_from(s).map_err(|_| StoreError::Corrupt {
                        detail: format!("an audit row's status {s} is not an HTTP status"),
                    })
                })
                .transpose()?;
            let count = |column: &str| -> Result<u32, StoreError> {
                let value: i64 = row.try_get(column).map_err(get_failed)?;
                u32::try_from(value).map_err(|_| StoreError::Corrupt {
                    detail: format!("an audit row's {column} is out of range ({value})"),
                })
            };
            let latency: i64 = row.try_get("latency_us").map_err(get_failed)?;
            Ok(AuditRow {
                at_ms: row.try_get("at_ms").map_err(get_failed)?,
                agent: row.try_get("agent").map_err(get_failed)?,
                key_id: row.try_get("key_id").map_err(get_failed)?,
                front: row.try_get("front").map_err(get_failed)?,
                client: row.try_get("client").map_err(get_failed)?,
                operation: row.try_get("operation").map_err(get_failed)?,
                method: row.try_get("method").map_err(get_failed)?,
                path_ids,
                decision: row.try_get("decision").map_err(get_failed)?,
                why: row.try_get("why").map_err(get_failed)?,
                outcome: row.try_get("outcome").map_err(get_failed)?,
                status,
                reason: row.try_get("reason").map_err(get_failed)?,
                error: row.try_get("error").map_err(get_failed)?,
                attempts: count("attempts")?,
                upstream_requests: count("upstream_requests")?,
                latency_us: to_u64(latency, "an audit row's latency")?,
            })
        }
    };
}

pub(in crate::store) use audit_row;

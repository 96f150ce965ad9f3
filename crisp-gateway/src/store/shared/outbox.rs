//! [`Outbox`](crate::store::Outbox) for a SQL store, stamped by `outbox_store!`: the SQL and code
//! both backends share. What differs is the backend's own: how an event's deliveries are
//! inserted and how due rows are claimed (given to the macro), and the integer type the schema
//! gives attempts and statuses (`integer`: `i32` on PostgreSQL, `i64` on SQLite).

use crate::store::error::StoreError;
use crate::store::shared::to_u64;

/// What an enqueue is doing, in its errors.
pub(in crate::store) const ENQUEUING: &str = "enqueuing a webhook event";

/// The event's key, if absent. A second transaction inserting the same key (on PostgreSQL it
/// waits for the first one's; on SQLite it cannot run beside it) inserts nothing, and is told
/// so: no row affected.
pub(in crate::store) const INSERT_SEEN: &str = "INSERT INTO webhook_seen (key, event, seen_at_ms, expires_at_ms) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING";

/// The outcome of an attempt, recorded by the lease's holder only: `$1` the row, `$2` the
/// lease, `$3` now (or, for a retry, the next due time), `$4` the status, `$5` the error.
pub(in crate::store) const DELIVERED: &str = "UPDATE webhook_outbox SET state = 'delivered', finished_at_ms = $3, \
     last_status = $4, last_error = NULL, lease = NULL \
     WHERE id = $1 AND lease = $2 AND state = 'pending'";
pub(in crate::store) const RETRY: &str = "UPDATE webhook_outbox SET next_at_ms = $3, last_status = $4, \
     last_error = $5, lease = NULL WHERE id = $1 AND lease = $2 AND state = 'pending'";
pub(in crate::store) const FAILED: &str = "UPDATE webhook_outbox SET state = 'failed', finished_at_ms = $3, \
     last_status = $4, last_error = $5, lease = NULL \
     WHERE id = $1 AND lease = $2 AND state = 'pending'";

/// An outbox row that cannot be read.
pub(in crate::store) fn corrupt(e: sqlx::Error) -> StoreError {
    StoreError::Corrupt {
        detail: format!("an outbox row cannot be read: {e}"),
    }
}

pub(in crate::store) fn attempts(value: i64) -> Result<u32, StoreError> {
    u32::try_from(to_u64(value, "an outbox row's attempts")?).map_err(|_| StoreError::Corrupt {
        detail: format!("an outbox row's attempts are out of range ({value})"),
    })
}

pub(in crate::store) fn status(value: Option<i64>) -> Result<Option<u16>, StoreError> {
    value
        .map(|s| {
            u16::try_from(s).map_err(|_| StoreError::Corrupt {
                detail: format!("an outbox row's status {s} is not an HTTP status"),
            })
        })
        .transpose()
}

/// Implements `Outbox` for `$store`, whose rows are `$row`s and whose attempts and status
/// columns read and bind as `$int`. `$claim` is the SQL that leases due rows (`$1` the lease's
/// end, `$2` the lease, `$3` now, `$4` the limit; it returns the claimed rows), and
/// `$insert_deliveries(&mut connection, &NewEvent)` writes an event's deliveries inside the
/// enqueue's transaction. It writes through the pool field `$writer`, reads through `$reader`.
macro_rules! outbox_store {
    (
        store: $store:ty,
        row: $row:ty,
        int: $int:ty,
        claim: $claim:expr,
        insert_deliveries: $insert_deliveries:path,
        writer: $writer:ident,
        reader: $reader:ident $(,)?
    ) => {
        use ::futures::future::BoxFuture;
        use ::sqlx::Row as _;

        use $crate::store::error::StoreError;
        use $crate::store::outbox::{
            Claim, Claimed, Cleaned, DeliveryState, FINISHED_KEPT_MS, Finish, NewEvent, OutboxEntry,
        };
        use $crate::store::shared::failed;
        use $crate::store::shared::outbox::{
            DELIVERED, ENQUEUING, FAILED, INSERT_SEEN, RETRY, attempts, corrupt, status,
        };

        impl $store {
            async fn seen_key(&self, key: &str) -> Result<bool, StoreError> {
                let found: Option<$int> = sqlx::query_scalar("SELECT 1 FROM webhook_seen WHERE key = $1")
                    .bind(key)
                    .fetch_optional(&self.$reader)
                    .await
                    .map_err(failed("reading the webhook events seen"))?;
                Ok(found.is_some())
            }

            async fn enqueue_event(&self, event: &NewEvent) -> Result<bool, StoreError> {
                let mut tx = self.$writer.begin().await.map_err(failed(ENQUEUING))?;
                let inserted = sqlx::query(INSERT_SEEN)
                    .bind(&event.key)
                    .bind(&event.event)
                    .bind(event.received_at_ms)
                    .bind(event.expires_at_ms)
                    .execute(&mut *tx)
                    .await
                    .map_err(failed(ENQUEUING))?
                    .rows_affected();
                if inserted == 0 {
                    // Seen already: nothing written (dropping the transaction rolls it back).
                    return Ok(false);
                }
                $insert_deliveries(&mut tx, event).await?;
                tx.commit().await.map_err(failed(ENQUEUING))?;
                Ok(true)
            }

            async fn claim_due(&self, claim: &Claim) -> Result<Vec<Claimed>, StoreError> {
                let rows = sqlx::query($claim)
                    .bind(claim.lease_until_ms)
                    .bind(&claim.lease)
                    .bind(claim.now_ms)
                    .bind(i64::from(claim.limit))
                    .fetch_all(&self.$writer)
                    .await
                    .map_err(failed("claiming webhook deliveries"))?;
                let mut claimed = rows.iter().map(claimed).collect::<Result<Vec<_>, _>>()?;
                claimed.sort_by_key(|c| c.id);
                Ok(claimed)
            }

            async fn finish_attempt(
                &self,
                id: i64,
                lease: &str,
                now_ms: i64,
                finish: &Finish,
            ) -> Result<bool, StoreError> {
                let (sql, at_ms, status, error) = match finish {
                    Finish::Delivered { status } => (DELIVERED, now_ms, Some(*status), None),
                    Finish::Retry {
                        at_ms,
                        status,
                        error,
                    } => (RETRY, *at_ms, *status, Some(error.as_str())),
                    Finish::Failed { status, error } => (FAILED, now_ms, *status, Some(error.as_str())),
                };
                let mut query = sqlx::query(sql)
                    .bind(id)
                    .bind(lease)
                    .bind(at_ms)
                    .bind(status.map(<$int>::from));
                if let Some(error) = error {
                    query = query.bind(error);
                }
                let changed = query
                    .execute(&self.$writer)
                    .await
                    .map_err(failed("recording a webhook delivery's attempt"))?
                    .rows_affected();
                Ok(changed == 1)
            }

            async fn clean(&self, now_ms: i64) -> Result<Cleaned, StoreError> {
                const ACTION: &str = "cleaning up webhook events and deliveries";
                let keys = sqlx::query("DELETE FROM webhook_seen WHERE expires_at_ms < $1")
                    .bind(now_ms)
                    .execute(&self.$writer)
                    .await
                    .map_err(failed(ACTION))?
                    .rows_affected();
                let rows = sqlx::query(
                    "DELETE FROM webhook_outbox WHERE state <> 'pending' AND finished_at_ms < $1",
                )
                .bind(now_ms.saturating_sub(FINISHED_KEPT_MS))
                .execute(&self.$writer)
                .await
                .map_err(failed(ACTION))?
                .rows_affected();
                Ok(Cleaned { keys, rows })
            }

            async fn list_deliveries(&self, limit: u32) -> Result<Vec<OutboxEntry>, StoreError> {
                let rows = sqlx::query(
                    "SELECT id, webhook_id, agent, event, state, attempts, next_at_ms, last_status, \
                     last_error FROM webhook_outbox ORDER BY id DESC LIMIT $1",
                )
                .bind(i64::from(limit))
                .fetch_all(&self.$reader)
                .await
                .map_err(failed("reading webhook deliveries"))?;
                rows.iter().map(entry).collect()
            }
        }

        impl $crate::store::outbox::Outbox for $store {
            fn seen<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
                Box::pin(self.seen_key(key))
            }

            fn enqueue<'a>(&'a self, event: &'a NewEvent) -> BoxFuture<'a, Result<bool, StoreError>> {
                Box::pin(self.enqueue_event(event))
            }

            fn claim<'a>(&'a self, claim: &'a Claim) -> BoxFuture<'a, Result<Vec<Claimed>, StoreError>> {
                Box::pin(self.claim_due(claim))
            }

            fn finish<'a>(
                &'a self,
                id: i64,
                lease: &'a str,
                now_ms: i64,
                finish: &'a Finish,
            ) -> BoxFuture<'a, Result<bool, StoreError>> {
                Box::pin(self.finish_attempt(id, lease, now_ms, finish))
            }

            fn cleanup(&self, now_ms: i64) -> BoxFuture<'_, Result<Cleaned, StoreError>> {
                Box::pin(self.clean(now_ms))
            }

            fn deliveries(&self, limit: u32) -> BoxFuture<'_, Result<Vec<OutboxEntry>, StoreError>> {
                Box::pin(self.list_deliveries(limit))
            }
        }

        fn claimed(row: &$row) -> Result<Claimed, StoreError> {
            Ok(Claimed {
                id: row.try_get("id").map_err(corrupt)?,
                webhook_id: row.try_get("webhook_id").map_err(corrupt)?,
                agent: row.try_get("agent").map_err(corrupt)?,
                event: row.try_get("event").map_err(corrupt)?,
                website_id: row.try_get("website_id").map_err(corrupt)?,
                session_id: row.try_get("session_id").map_err(corrupt)?,
                body: row.try_get("body").map_err(corrupt)?,
                attempt: attempts(i64::from(row.try_get::<$int, _>("attempts").map_err(corrupt)?))?,
            })
        }

        fn entry(row: &$row) -> Result<OutboxEntry, StoreError> {
            let state: String = row.try_get("state").map_err(corrupt)?;
            Ok(OutboxEntry {
                id: row.try_get("id").map_err(corrupt)?,
                webhook_id: row.try_get("webhook_id").map_err(corrupt)?,
                agent: row.try_get("agent").map_err(corrupt)?,
                event: row.try_get("event").map_err(corrupt)?,
                state: DeliveryState::parse(&state)?,
                attempts: attempts(i64::from(row.try_get::<$int, _>("attempts").map_err(corrupt)?))?,
                next_at_ms: row.try_get("next_at_ms").map_err(corrupt)?,
                last_status: status(
                row.try_get::<Option<$int>, _>("last_status")
                    .map_err(corrupt)?
                    .map(i64::from),
            )?,
                last_error: row.try_get("last_error").map_err(corrupt)?,
            })
        }
    };
}

pub(in crate::store) use outbox_store;

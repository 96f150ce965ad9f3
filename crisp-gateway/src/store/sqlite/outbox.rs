//! The webhook outbox on SQLite ([`Outbox`] for [`SqliteStore`]): one writer, so a claim (one
//! `UPDATE ... RETURNING` over the due rows) and an enqueue (one transaction) are never
//! interleaved with another's, in this process or another on the same file.

use futures::future::BoxFuture;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row as _, Sqlite};

use super::{SqliteStore, failed, to_u64};
use crate::store::error::StoreError;
use crate::store::outbox::{
    Claim, Claimed, Cleaned, DeliveryState, FINISHED_KEPT_MS, Finish, NewEvent, Outbox, OutboxEntry,
};

const ENQUEUING: &str = "enqueuing a webhook event";

/// Outbox rows per `INSERT` statement (11 parameters each, under SQLite's 32,766).
const ROWS_PER_INSERT: usize = 500;

/// The claim: the due rows, longest due first, leased in one statement.
const CLAIM: &str = "UPDATE webhook_outbox SET attempts = attempts + 1, next_at_ms = $1, lease = $2 \
     WHERE id IN (SELECT id FROM webhook_outbox WHERE state = 'pending' AND next_at_ms <= $3 \
     ORDER BY next_at_ms, id LIMIT $4) \
     RETURNING id, webhook_id, agent, event, website_id, session_id, body, attempts";

/// The outcome of an attempt, recorded by the lease's holder only: `$1` the row, `$2` the
/// lease, `$3` now (or, for a retry, the next due time), `$4` the status, `$5` the error.
const DELIVERED: &str = "UPDATE webhook_outbox SET state = 'delivered', finished_at_ms = $3, \
     last_status = $4, last_error = NULL, lease = NULL \
     WHERE id = $1 AND lease = $2 AND state = 'pending'";
const RETRY: &str = "UPDATE webhook_outbox SET next_at_ms = $3, last_status = $4, \
     last_error = $5, lease = NULL WHERE id = $1 AND lease = $2 AND state = 'pending'";
const FAILED: &str = "UPDATE webhook_outbox SET state = 'failed', finished_at_ms = $3, \
     last_status = $4, last_error = $5, lease = NULL \
     WHERE id = $1 AND lease = $2 AND state = 'pending'";

impl SqliteStore {
    async fn seen_key(&self, key: &str) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM webhook_seen WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.reader)
            .await
            .map_err(failed("reading the webhook events seen"))?;
        Ok(found.is_some())
    }

    async fn enqueue_event(&self, event: &NewEvent) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await.map_err(failed(ENQUEUING))?;
        let inserted = sqlx::query(
            "INSERT INTO webhook_seen (key, event, seen_at_ms, expires_at_ms) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING",
        )
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
        for chunk in event.deliveries.chunks(ROWS_PER_INSERT) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO webhook_outbox (webhook_id, event_key, agent, event, website_id, \
                 session_id, body, state, attempts, next_at_ms, created_at_ms) ",
            );
            insert.push_values(chunk, |mut values, delivery| {
                values
                    .push_bind(delivery.webhook_id.clone())
                    .push_bind(event.key.clone())
                    .push_bind(delivery.agent.clone())
                    .push_bind(event.event.clone())
                    .push_bind(event.website_id.clone())
                    .push_bind(event.session_id.clone())
                    .push_bind(event.body.clone())
                    .push_bind("pending")
                    .push_bind(0_i64)
                    .push_bind(event.received_at_ms)
                    .push_bind(event.received_at_ms);
            });
            insert
                .build()
                .execute(&mut *tx)
                .await
                .map_err(failed(ENQUEUING))?;
        }
        tx.commit().await.map_err(failed(ENQUEUING))?;
        Ok(true)
    }

    async fn claim_due(&self, claim: &Claim) -> Result<Vec<Claimed>, StoreError> {
        let rows = sqlx::query(CLAIM)
            .bind(claim.lease_until_ms)
            .bind(&claim.lease)
            .bind(claim.now_ms)
            .bind(i64::from(claim.limit))
            .fetch_all(&self.writer)
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
            .bind(status.map(i64::from));
        if let Some(error) = error {
            query = query.bind(error);
        }
        let changed = query
            .execute(&self.writer)
            .await
            .map_err(failed("recording a webhook delivery's attempt"))?
            .rows_affected();
        Ok(changed == 1)
    }

    async fn clean(&self, now_ms: i64) -> Result<Cleaned, StoreError> {
        const ACTION: &str = "cleaning up webhook events and deliveries";
        let keys = sqlx::query("DELETE FROM webhook_seen WHERE expires_at_ms < $1")
            .bind(now_ms)
            .execute(&self.writer)
            .await
            .map_err(failed(ACTION))?
            .rows_affected();
        let rows = sqlx::query(
            "DELETE FROM webhook_outbox WHERE state <> 'pending' AND finished_at_ms < $1",
        )
        .bind(now_ms.saturating_sub(FINISHED_KEPT_MS))
        .execute(&self.writer)
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
        .fetch_all(&self.reader)
        .await
        .map_err(failed("reading webhook deliveries"))?;
        rows.iter().map(entry).collect()
    }
}

impl Outbox for SqliteStore {
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

fn corrupt(e: sqlx::Error) -> StoreError {
    StoreError::Corrupt {
        detail: format!("an outbox row cannot be read: {e}"),
    }
}

fn attempts(value: i64) -> Result<u32, StoreError> {
    u32::try_from(to_u64(value, "an outbox row's attempts")?).map_err(|_| StoreError::Corrupt {
        detail: format!("an outbox row's attempts are out of range ({value})"),
    })
}

fn status(value: Option<i64>) -> Result<Option<u16>, StoreError> {
    value
        .map(|s| {
            u16::try_from(s).map_err(|_| StoreError::Corrupt {
                detail: format!("an outbox row's status {s} is not an HTTP status"),
            })
        })
        .transpose()
}

fn claimed(row: &SqliteRow) -> Result<Claimed, StoreError> {
    Ok(Claimed {
        id: row.try_get("id").map_err(corrupt)?,
        webhook_id: row.try_get("webhook_id").map_err(corrupt)?,
        agent: row.try_get("agent").map_err(corrupt)?,
        event: row.try_get("event").map_err(corrupt)?,
        website_id: row.try_get("website_id").map_err(corrupt)?,
        session_id: row.try_get("session_id").map_err(corrupt)?,
        body: row.try_get("body").map_err(corrupt)?,
        attempt: attempts(row.try_get("attempts").map_err(corrupt)?)?,
    })
}

fn entry(row: &SqliteRow) -> Result<OutboxEntry, StoreError> {
    let state: String = row.try_get("state").map_err(corrupt)?;
    Ok(OutboxEntry {
        id: row.try_get("id").map_err(corrupt)?,
        webhook_id: row.try_get("webhook_id").map_err(corrupt)?,
        agent: row.try_get("agent").map_err(corrupt)?,
        event: row.try_get("event").map_err(corrupt)?,
        state: DeliveryState::parse(&state)?,
        attempts: attempts(row.try_get("attempts").map_err(corrupt)?)?,
        next_at_ms: row.try_get("next_at_ms").map_err(corrupt)?,
        last_status: status(row.try_get("last_status").map_err(corrupt)?)?,
        last_error: row.try_get("last_error").map_err(corrupt)?,
    })
}

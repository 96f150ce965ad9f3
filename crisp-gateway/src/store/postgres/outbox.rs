//! The webhook outbox on PostgreSQL ([`Outbox`] for [`PostgresStore`]), shared by replicas:
//! an event's key is inserted if absent with its rows in one transaction, and due rows are
//! claimed with `FOR UPDATE SKIP LOCKED`, so replicas claiming at once never wait for each
//! other nor take the same row.

use futures::future::BoxFuture;
use sqlx::Row as _;
use sqlx::postgres::PgRow;

use super::{PostgresStore, failed, to_u64};
use crate::store::error::StoreError;
use crate::store::outbox::{
    Claim, Claimed, Cleaned, DeliveryState, FINISHED_KEPT_MS, Finish, NewEvent, Outbox, OutboxEntry,
};

const ENQUEUING: &str = "enqueuing a webhook event";

/// The event's key, if absent. A second transaction inserting the same key waits for the
/// first one's, then inserts nothing (and is told so: no row affected).
const INSERT_SEEN: &str = "INSERT INTO webhook_seen (key, event, seen_at_ms, expires_at_ms) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING";

/// The event's deliveries in one statement: one array parameter per varying column.
const INSERT_DELIVERIES: &str = "INSERT INTO webhook_outbox (webhook_id, event_key, agent, \
     event, website_id, session_id, body, state, attempts, next_at_ms, created_at_ms) \
     SELECT d.webhook_id, $3, d.agent, $4, $5, $6, $7, 'pending', 0, $8, $8 \
     FROM UNNEST($1::text[], $2::text[]) AS d (webhook_id, agent)";

/// The claim: the due rows, longest due first, locked without waiting for rows another claim
/// holds (`SKIP LOCKED`), then leased. A row another replica claimed and committed meanwhile is
/// re-checked under its lock and no longer due, so it is not taken twice.
const CLAIM: &str = "UPDATE webhook_outbox AS o SET attempts = o.attempts + 1, \
     next_at_ms = $1, lease = $2 \
     FROM (SELECT id FROM webhook_outbox WHERE state = 'pending' AND next_at_ms <= $3 \
     ORDER BY next_at_ms, id LIMIT $4 FOR UPDATE SKIP LOCKED) AS due \
     WHERE o.id = due.id \
     RETURNING o.id, o.webhook_id, o.agent, o.event, o.website_id, o.session_id, o.body, \
     o.attempts";

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

impl PostgresStore {
    async fn seen_key(&self, key: &str) -> Result<bool, StoreError> {
        let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM webhook_seen WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed("reading the webhook events seen"))?;
        Ok(found.is_some())
    }

    async fn enqueue_event(&self, event: &NewEvent) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(failed(ENQUEUING))?;
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
        if !event.deliveries.is_empty() {
            let ids: Vec<&str> = event
                .deliveries
                .iter()
                .map(|d| d.webhook_id.as_str())
                .collect();
            let agents: Vec<&str> = event.deliveries.iter().map(|d| d.agent.as_str()).collect();
            sqlx::query(INSERT_DELIVERIES)
                .bind(ids)
                .bind(agents)
                .bind(&event.key)
                .bind(&event.event)
                .bind(&event.website_id)
                .bind(&event.session_id)
                .bind(&event.body)
                .bind(event.received_at_ms)
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
            .fetch_all(&self.pool)
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
            .bind(status.map(i32::from));
        if let Some(error) = error {
            query = query.bind(error);
        }
        let changed = query
            .execute(&self.pool)
            .await
            .map_err(failed("recording a webhook delivery's attempt"))?
            .rows_affected();
        Ok(changed == 1)
    }

    async fn clean(&self, now_ms: i64) -> Result<Cleaned, StoreError> {
        const ACTION: &str = "cleaning up webhook events and deliveries";
        let keys = sqlx::query("DELETE FROM webhook_seen WHERE expires_at_ms < $1")
            .bind(now_ms)
            .execute(&self.pool)
            .await
            .map_err(failed(ACTION))?
            .rows_affected();
        let rows = sqlx::query(
            "DELETE FROM webhook_outbox WHERE state <> 'pending' AND finished_at_ms < $1",
        )
        .bind(now_ms.saturating_sub(FINISHED_KEPT_MS))
        .execute(&self.pool)
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
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading webhook deliveries"))?;
        rows.iter().map(entry).collect()
    }
}

impl Outbox for PostgresStore {
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

fn attempts(value: i32) -> Result<u32, StoreError> {
    u32::try_from(to_u64(i64::from(value), "an outbox row's attempts")?).map_err(|_| {
        StoreError::Corrupt {
            detail: format!("an outbox row's attempts are out of range ({value})"),
        }
    })
}

fn status(value: Option<i32>) -> Result<Option<u16>, StoreError> {
    value
        .map(|s| {
            u16::try_from(s).map_err(|_| StoreError::Corrupt {
                detail: format!("an outbox row's status {s} is not an HTTP status"),
            })
        })
        .transpose()
}

fn claimed(row: &PgRow) -> Result<Claimed, StoreError> {
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

fn entry(row: &PgRow) -> Result<OutboxEntry, StoreError> {
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

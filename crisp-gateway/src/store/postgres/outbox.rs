//! The webhook outbox on PostgreSQL ([`Outbox`](crate::store::Outbox) for [`PostgresStore`]),
//! shared by replicas, stamped by `outbox_store!`: an event's key is inserted if absent with its
//! rows in one transaction, and due rows are claimed with `FOR UPDATE SKIP LOCKED`, so replicas
//! claiming at once never wait for each other nor take the same row.

use sqlx::PgConnection;

use super::PostgresStore;
use crate::store::shared::outbox::outbox_store;

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

/// Writes the event's deliveries, all in one statement, inside the enqueue's transaction.
async fn insert_deliveries(tx: &mut PgConnection, event: &NewEvent) -> Result<(), StoreError> {
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
    Ok(())
}

outbox_store! {
    store: PostgresStore,
    row: ::sqlx::postgres::PgRow,
    int: i32,
    claim: CLAIM,
    insert_deliveries: insert_deliveries,
    writer: pool,
    reader: pool,
}

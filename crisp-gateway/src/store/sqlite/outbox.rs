//! The webhook outbox on SQLite ([`Outbox`](crate::store::Outbox) for [`SqliteStore`]), stamped
//! by `outbox_store!`: one writer, so a claim (one `UPDATE ... RETURNING` over the due rows) and
//! an enqueue (one transaction) are never interleaved with another's, in this process or another
//! on the same file.

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::SqliteStore;
use crate::store::shared::outbox::outbox_store;

/// Outbox rows per `INSERT` statement (11 parameters each, under SQLite's 32,766).
const ROWS_PER_INSERT: usize = 500;

/// The claim: the due rows, longest due first, leased in one statement.
const CLAIM: &str = "UPDATE webhook_outbox SET attempts = attempts + 1, next_at_ms = $1, lease = $2 \
     WHERE id IN (SELECT id FROM webhook_outbox WHERE state = 'pending' AND next_at_ms <= $3 \
     ORDER BY next_at_ms, id LIMIT $4) \
     RETURNING id, webhook_id, agent, event, website_id, session_id, body, attempts";

/// Writes the event's deliveries, in statements of [`ROWS_PER_INSERT`] rows, inside the
/// enqueue's transaction.
async fn insert_deliveries(tx: &mut SqliteConnection, event: &NewEvent) -> Result<(), StoreError> {
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
    Ok(())
}

outbox_store! {
    store: SqliteStore,
    row: ::sqlx::sqlite::SqliteRow,
    int: i64,
    claim: CLAIM,
    insert_deliveries: insert_deliveries,
    writer: writer,
    reader: reader,
}

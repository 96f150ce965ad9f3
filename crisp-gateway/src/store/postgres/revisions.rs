//! [`PolicyRevisions`] on PostgreSQL: a revision is a row of `policy_revisions`, announced with
//! `NOTIFY` in the transaction that writes it (so a replica that hears it can read it), and
//! heard with `LISTEN` on a connection of the watch's own.

use futures::future::BoxFuture;
use sqlx::Row as _;
use sqlx::postgres::PgListener;

use super::{PostgresStore, failed};
use crate::store::error::StoreError;
use crate::store::revisions::{PolicyRevisions, Revision, RevisionWatch};

/// The channel replicas listen on; the payload is the revision's number.
pub const CHANNEL: &str = "crisp_gateway_policy";

const PUBLISH: &str = "INSERT INTO policy_revisions (text, source, published_ms) \
     VALUES ($1, $2, $3) RETURNING revision";
const NOTIFY: &str = "SELECT pg_notify($1, $2)";
const LATEST: &str = "SELECT revision, text, source, published_ms FROM policy_revisions \
     ORDER BY revision DESC LIMIT 1";

impl PolicyRevisions for PostgresStore {
    fn publish<'a>(
        &'a self,
        text: &'a str,
        source: &'a str,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<i64, StoreError>> {
        Box::pin(async move {
            let publishing = failed("writing the policy's revision");
            let mut tx = self.pool.begin().await.map_err(&publishing)?;
            let revision: i64 = sqlx::query_scalar(PUBLISH)
                .bind(text)
                .bind(source)
                .bind(now_ms)
                .fetch_one(&mut *tx)
                .await
                .map_err(&publishing)?;
            // Delivered to the listeners when the transaction commits, never before.
            sqlx::query(NOTIFY)
                .bind(CHANNEL)
                .bind(revision.to_string())
                .execute(&mut *tx)
                .await
                .map_err(&publishing)?;
            tx.commit().await.map_err(&publishing)?;
            Ok(revision)
        })
    }

    fn latest(&self) -> BoxFuture<'_, Result<Option<Revision>, StoreError>> {
        Box::pin(async move {
            let reading = failed("reading the policy's revision");
            let Some(row) = sqlx::query(LATEST)
                .fetch_optional(&self.pool)
                .await
                .map_err(&reading)?
            else {
                return Ok(None);
            };
            Ok(Some(Revision {
                revision: row.try_get("revision").map_err(&reading)?,
                text: row.try_get("text").map_err(&reading)?,
                source: row.try_get("source").map_err(&reading)?,
                published_ms: row.try_get("published_ms").map_err(&reading)?,
            }))
        })
    }

    fn watch(&self) -> BoxFuture<'_, Result<Box<dyn RevisionWatch>, StoreError>> {
        Box::pin(async move {
            let watching = failed("listening for the policy's revisions");
            let mut listener = PgListener::connect_with(&self.pool)
                .await
                .map_err(&watching)?;
            listener.listen(CHANNEL).await.map_err(&watching)?;
            Ok(Box::new(Watch { listener }) as Box<dyn RevisionWatch>)
        })
    }
}

struct Watch {
    listener: PgListener,
}

impl RevisionWatch for Watch {
    fn changed(&mut self) -> BoxFuture<'_, Result<Option<i64>, StoreError>> {
        Box::pin(async move {
            // `try_recv` answers `None` when the connection was lost, once it is back.
            let heard = self
                .listener
                .try_recv()
                .await
                .map_err(failed("listening for the policy's revisions"))?;
            Ok(heard.map(|n| n.payload().parse().unwrap_or(i64::MAX)))
        })
    }
}

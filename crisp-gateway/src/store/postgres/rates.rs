//! [`SharedRates`] on PostgreSQL: each agent's GCRA state in a row of `rate_limits`, judged and
//! moved on in one statement on the database server's clock.

use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::Row as _;

use super::{PostgresStore, failed};
use crate::store::error::StoreError;
use crate::store::rates::SharedRates;

/// A take of one call: `$1` the agent, `$2` the emission interval (the window over the count)
/// and `$3` the burst (the window), in microseconds.
///
/// The GCRA: a call at `now` passes when `max(tat, now) + interval - now <= burst`, and then
/// `tat` becomes `max(tat, now) + interval`. `INSERT ... ON CONFLICT DO UPDATE ... WHERE` locks
/// the agent's row and judges the row as the last take committed it (not as a snapshot had it),
/// so two replicas cannot both take the last call; a refused take updates nothing. `now` is read
/// from the server's clock once, before any wait for the lock: a take that waited is judged as
/// of when it started, which can only refuse a call a moment early, never let one more through.
/// The answer: the new `tat` when it passed, no row otherwise.
const TAKE_RATE: &str = "WITH clock AS MATERIALIZED (\
     SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::bigint AS now_us) \
     INSERT INTO rate_limits AS r (agent, tat_us) SELECT $1, clock.now_us + $2 FROM clock \
     ON CONFLICT (agent) DO UPDATE \
     SET tat_us = GREATEST(r.tat_us, (SELECT now_us FROM clock)) + $2 \
     WHERE GREATEST(r.tat_us, (SELECT now_us FROM clock)) + $2 - (SELECT now_us FROM clock) <= $3 \
     RETURNING r.tat_us";

/// After a refused take, for its wait: the agent's `tat` and the clock, read by a new statement
/// (so as the take that refused it committed the row: the refused statement's own snapshot may
/// predate it).
const HELD: &str = "SELECT tat_us, \
     (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::bigint AS now_us \
     FROM rate_limits WHERE agent = $1";

impl SharedRates for PostgresStore {
    fn take_rate<'a>(
        &'a self,
        agent: &'a str,
        count: u32,
        window: Duration,
    ) -> BoxFuture<'a, Result<Option<Duration>, StoreError>> {
        Box::pin(async move {
            let taking = failed("taking from an agent's rate");
            let burst = i64::try_from(window.as_micros()).unwrap_or(i64::MAX);
            let interval = burst / i64::from(count.max(1));
            let taken = sqlx::query(TAKE_RATE)
                .bind(agent)
                .bind(interval)
                .bind(burst)
                .fetch_optional(&self.pool)
                .await
                .map_err(&taking)?;
            if taken.is_some() {
                return Ok(None);
            }
            let Some(row) = sqlx::query(HELD)
                .bind(agent)
                .fetch_optional(&self.pool)
                .await
                .map_err(&taking)?
            else {
                // Refused, so the row exists; rows are never deleted. Wait one interval.
                return Ok(Some(Duration::from_micros(
                    u64::try_from(interval).unwrap_or(1).max(1),
                )));
            };
            let held: i64 = row.try_get("tat_us").map_err(&taking)?;
            let now: i64 = row.try_get("now_us").map_err(&taking)?;
            // It passes once `held + interval - later <= burst`.
            let wait = held
                .saturating_add(interval)
                .saturating_sub(burst)
                .saturating_sub(now);
            Ok(Some(Duration::from_micros(
                u64::try_from(wait).unwrap_or(0).max(1),
            )))
        })
    }
}

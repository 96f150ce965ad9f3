//! [`PostgresStore`]: the shared store, one PostgreSQL database for every replica of the gateway.

use std::fmt;

use futures::future::BoxFuture;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgPool, PgRow};
use sqlx::{Postgres, Row as _};

use super::approvals::ApprovalStore;
use super::confirmations::ConfirmationStore;
use super::error::StoreError;
use super::outbox::Outbox;
use super::rates::SharedRates;
use super::revisions::PolicyRevisions;
use super::shared::audit::{PER_HOUR, audit_row, hour_counts, select_audit};
use super::shared::counters::{ADD_BOTH, CREATE_BOTH, USAGE, usage};
use super::shared::{failed, path_ids_json, to_i64, to_u64};
use super::types::{AuditFilter, AuditRow, HourCount, Store, Take, Taken, Usage, hour_start};
use target::Target;

mod approvals;
mod confirmations;
mod outbox;
mod rates;
mod revisions;
mod target;

/// The schema, embedded at build time.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

const TAKING: &str = "taking from the daily counters";

/// Connections of a replica's pool. A take holds one for one statement; the token's counter is
/// one row, so takes queue on its lock whatever the pool's size.
const CONNECTIONS: u32 = 10;

/// Connections of a read-only pool (`crisp-gateway audit`).
const READERS: u32 = 2;

/// A batch of audit rows in one statement (so one transaction, one round trip, whatever the
/// batch's size): one array parameter per column, unnested into rows.
const INSERT_AUDIT: &str = "INSERT INTO audit (at_ms, agent, key_id, front, client, operation, \
     method, path_ids, decision, why, outcome, status, reason, error, attempts, \
     upstream_requests, latency_us) \
     SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], \
     $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::integer[], \
     $13::text[], $14::text[], $15::bigint[], $16::bigint[], $17::bigint[])";

/// The two counters of a take, on day `$1`: the agent `$2`'s and the token's.
macro_rules! both {
    ($table:literal) => {
        concat!(
            $table,
            ".day = $1 AND ((",
            $table,
            ".kind = 'agent' AND ",
            $table,
            ".name = $2) OR (",
            $table,
            ".kind = 'token' AND ",
            $table,
            ".name = ''))"
        )
    };
}

/// A take: raises both counters of day `$1` (the agent `$2`'s and the token's) by `$3` when both
/// exist and neither would pass its limit (`$4` the agent's, `$5` the token's; NULL: none), in
/// one statement, so both or neither.
///
/// Why this shape. Under READ COMMITTED, a plain `UPDATE ... WHERE (SELECT used ...) + n <= limit`
/// is not enough: the subquery reads the statement's snapshot, so two takes that start together
/// would both see the last unit free, and the second, after waiting for the first's row lock,
/// re-checks only the row it updates, not the other counter. So the statement first locks both
/// rows (`locked`: `SELECT ... FOR UPDATE`, which waits for a concurrent take and then reads the
/// rows as that take committed them, not as the snapshot had them), then judges on those locked
/// counts (`verdict`), then raises both (`raised`), all before it commits:
/// - no two takes can both get the last unit: the second one's `locked` reads the first one's
///   committed counts;
/// - both or neither: `raised` updates the two rows it locked, or none (its WHERE is one
///   verdict for both); the statement is one transaction;
/// - no deadlock: the rows are locked in one order, the agent's before the token's (`ORDER BY
///   kind`: `'agent' < 'token'`, sorted before locking), and `add` raises them in that order;
/// - the day's first take (a new UTC day, or a new agent) finds fewer than two rows (`found` is
///   false) and raises nothing; the caller creates the missing rows at zero (`CREATE_BOTH`, which
///   waits for a concurrent creation of the same row) and takes again. Counters are never
///   deleted, so the second attempt finds both. The day is the caller's (`Take::day`): replicas
///   whose clocks disagree around midnight count in the day each one believes.
///
/// The answer is one row: whether both counters exist, their counts when locked (to say which
/// limit refused), how many rows were raised (2 or 0), and their counts after.
const TAKE: &str = concat!(
    "WITH locked AS MATERIALIZED (",
    " SELECT kind, used FROM counters WHERE ",
    both!("counters"),
    " ORDER BY kind FOR UPDATE",
    "), verdict AS MATERIALIZED (",
    " SELECT COUNT(*) = 2 AS found,",
    " COALESCE(MAX(used) FILTER (WHERE kind = 'agent'), 0) AS agent_used,",
    " COALESCE(MAX(used) FILTER (WHERE kind = 'token'), 0) AS token_used",
    " FROM locked",
    "), raised AS (",
    " UPDATE counters SET used = counters.used + $3 FROM verdict",
    " WHERE verdict.found",
    " AND ($4::bigint IS NULL OR verdict.agent_used + $3 <= $4)",
    " AND ($5::bigint IS NULL OR verdict.token_used + $3 <= $5)",
    " AND ",
    both!("counters"),
    " RETURNING counters.kind, counters.used",
    ")",
    " SELECT verdict.found, verdict.agent_used, verdict.token_used,",
    " (SELECT COUNT(*) FROM raised) AS raised,",
    " (SELECT used FROM raised WHERE kind = 'agent') AS agent_now,",
    " (SELECT used FROM raised WHERE kind = 'token') AS token_now",
    " FROM verdict"
);

/// Gives back the unused rest of a lease: both counters of the day lowered by `$3`, never
/// below zero (rows that do not exist have nothing to give back).
const GIVE_BACK: &str = "UPDATE counters SET used = GREATEST(used - $3, 0) \
     WHERE day = $1 AND ((kind = 'agent' AND name = $2) OR (kind = 'token' AND name = ''))";

/// The shared store: one PostgreSQL database that every replica of the gateway uses, so that a
/// budget or the token's quota is counted once however many replicas take from it.
///
/// - A take is one statement that locks both counters, judges them and raises both or neither
///   (see the comment on its SQL in the source): exact across connections, pools and
///   processes.
/// - A batch of audit rows is one `INSERT ... SELECT FROM UNNEST(...)` statement: one
///   transaction, one round trip.
/// - The schema is versioned migrations under `migrations/postgres/`, embedded in the binary and
///   applied at [`connect`](Self::connect) by sqlx's migrator, which holds an advisory lock
///   while it works, so replicas that start together migrate once. A database with a migration
///   this binary does not know (a newer crisp-gateway's) is refused.
/// - The pool does not ping a connection before each use (a round trip per call for nothing):
///   a connection the server dropped fails one call, and is then replaced.
///
/// Its `Debug` and its errors show the database's URL without its password.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    database: String,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the PostgreSQL database at `url` (`postgres://USER:PASSWORD@HOST:PORT/DB`;
    /// `?host=/run/postgresql` for a Unix socket) and brings its schema up to date.
    ///
    /// # Errors
    /// [`StoreError::DatabaseUrl`] when `url` is not a PostgreSQL URL, [`StoreError::Connect`]
    /// when the server cannot be reached or refuses the connection,
    /// [`StoreError::SchemaTooNew`] when a newer crisp-gateway migrated the database (it is then
    /// left untouched), [`StoreError::Migrate`] when the upgrade fails.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let target = Target::parse(url)?;
        let found = target.applied_version().await?;
        if found > known_version() {
            return Err(too_new(&target, found));
        }
        // The migrator gets a connection of its own, closed whatever happened: a failed
        // migration may leave the migrator's advisory lock held by that session, and closing it
        // releases the lock.
        let migrator = target.pool(1).await?;
        let migrated = MIGRATOR.run(&migrator).await;
        migrator.close().await;
        migrated.map_err(|e| match e {
            // A newer replica migrated between the check above and the migrator's lock.
            MigrateError::VersionMissing(version) => too_new(&target, version),
            other => StoreError::Migrate {
                store: target.shown.clone(),
                detail: target.scrub(&other.to_string()),
            },
        })?;
        Ok(Self {
            pool: target.pool(CONNECTIONS).await?,
            database: target.shown,
        })
    }

    /// Connects to an existing gateway database at `url` read-only (for `crisp-gateway audit`,
    /// beside running replicas): never migrates or writes (every transaction is read-only).
    ///
    /// # Errors
    /// As [`connect`](Self::connect), and [`StoreError::SchemaTooOld`] when the database's
    /// schema is older than this binary reads (0: not a gateway database yet).
    pub async fn connect_read_only(url: &str) -> Result<Self, StoreError> {
        let mut target = Target::parse(url)?;
        target.options = target
            .options
            .options([("default_transaction_read_only", "on")]);
        let (found, known) = (target.applied_version().await?, known_version());
        if found > known {
            return Err(too_new(&target, found));
        }
        if found < known {
            return Err(StoreError::SchemaTooOld {
                store: target.shown,
                found,
                known,
            });
        }
        Ok(Self {
            pool: target.pool(READERS).await?,
            database: target.shown,
        })
    }

    /// The database's URL, without its password.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The newest schema version this binary knows (its last migration).
    pub fn schema_version() -> i64 {
        known_version()
    }

    /// Closes the pool's connections, once the statements in flight are done. Later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn take_counts(&self, take: Take) -> Result<Taken, StoreError> {
        // The usual take is one statement; the day's first take creates the counters, then
        // takes again (they are never deleted, so a second attempt finds them).
        for _ in 0..3 {
            let row = sqlx::query(TAKE)
                .bind(day(take.day))
                .bind(&take.agent)
                .bind(to_i64(take.n))
                .bind(take.agent_limit.map(to_i64))
                .bind(take.quota_limit.map(to_i64))
                .fetch_one(&self.pool)
                .await
                .map_err(failed(TAKING))?;
            let get = |e: sqlx::Error| StoreError::Failed {
                action: TAKING,
                detail: format!("the take's answer cannot be read: {e}"),
            };
            let found: bool = row.try_get("found").map_err(get)?;
            let raised: i64 = row.try_get("raised").map_err(get)?;
            match (found, raised) {
                (true, 2) => {
                    let agent_now: i64 = row.try_get("agent_now").map_err(get)?;
                    let token_now: i64 = row.try_get("token_now").map_err(get)?;
                    return Ok(Taken::Taken {
                        agent_used: to_u64(agent_now, "an agent's daily count")?,
                        quota_used: to_u64(token_now, "the token's daily count")?,
                    });
                }
                (true, 0) => {
                    let agent_used: i64 = row.try_get("agent_used").map_err(get)?;
                    let token_used: i64 = row.try_get("token_used").map_err(get)?;
                    return spent(
                        &take,
                        to_u64(agent_used, "an agent's daily count")?,
                        to_u64(token_used, "the token's daily count")?,
                    );
                }
                (false, _) => self.create_both(&take).await?,
                (true, other) => {
                    return Err(StoreError::Failed {
                        action: TAKING,
                        detail: format!("the take raised {other} counters instead of 2 or 0"),
                    });
                }
            }
        }
        Err(StoreError::Failed {
            action: TAKING,
            detail: "the day's counters could not be created".to_owned(),
        })
    }

    async fn create_both(&self, take: &Take) -> Result<(), StoreError> {
        sqlx::query(CREATE_BOTH)
            .bind(day(take.day))
            .bind(&take.agent)
            .execute(&self.pool)
            .await
            .map_err(failed(TAKING))?;
        Ok(())
    }

    async fn add_counts(&self, on: u32, agent: &str, n: u64) -> Result<(), StoreError> {
        sqlx::query(ADD_BOTH)
            .bind(day(on))
            .bind(agent)
            .bind(to_i64(n))
            .execute(&self.pool)
            .await
            .map_err(failed("adding to the daily counters"))?;
        Ok(())
    }

    async fn give_back_counts(&self, on: u32, agent: &str, n: u64) -> Result<(), StoreError> {
        sqlx::query(GIVE_BACK)
            .bind(day(on))
            .bind(agent)
            .bind(to_i64(n))
            .execute(&self.pool)
            .await
            .map_err(failed("giving back to the daily counters"))?;
        Ok(())
    }

    async fn write_rows(&self, rows: &[AuditRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let text = |f: fn(&AuditRow) -> Option<&str>| rows.iter().map(f).collect::<Vec<_>>();
        let number = |f: fn(&AuditRow) -> i64| rows.iter().map(f).collect::<Vec<_>>();
        sqlx::query(INSERT_AUDIT)
            .bind(number(|r| r.at_ms))
            .bind(text(|r| r.agent.as_deref()))
            .bind(text(|r| r.key_id.as_deref()))
            .bind(text(|r| Some(&r.front)))
            .bind(text(|r| r.client.as_deref()))
            .bind(text(|r| r.operation.as_deref()))
            .bind(text(|r| r.method.as_deref()))
            .bind(
                rows.iter()
                    .map(|r| path_ids_json(&r.path_ids))
                    .collect::<Vec<_>>(),
            )
            .bind(text(|r| Some(&r.decision)))
            .bind(text(|r| r.why.as_deref()))
            .bind(text(|r| r.outcome.as_deref()))
            .bind(
                rows.iter()
                    .map(|r| r.status.map(i32::from))
                    .collect::<Vec<_>>(),
            )
            .bind(text(|r| r.reason.as_deref()))
            .bind(text(|r| r.error.as_deref()))
            .bind(number(|r| i64::from(r.attempts)))
            .bind(number(|r| i64::from(r.upstream_requests)))
            .bind(number(|r| to_i64(r.latency_us)))
            .execute(&self.pool)
            .await
            .map_err(failed("writing audit rows"))?;
        Ok(())
    }

    async fn read_rows(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>, StoreError> {
        let mut query = select_audit::<Postgres>(filter);
        if let Some(limit) = filter.limit {
            query.push(" LIMIT ").push_bind(i64::from(limit));
        }
        if let Some(offset) = filter.offset {
            query.push(" OFFSET ").push_bind(i64::from(offset));
        }
        let rows = query
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(failed("reading audit rows"))?;
        rows.iter().map(audit_row).collect()
    }

    async fn read_usage(&self, on: u32) -> Result<Usage, StoreError> {
        let counts: Vec<(String, String, i64)> = sqlx::query_as(USAGE)
            .bind(day(on))
            .fetch_all(&self.pool)
            .await
            .map_err(failed("reading the daily counters"))?;
        usage(on, counts)
    }
}

impl PostgresStore {
    async fn read_hours(&self, since_ms: i64) -> Result<Vec<HourCount>, StoreError> {
        let counts: Vec<(String, i64, i64)> = sqlx::query_as(PER_HOUR)
            .bind(hour_start(since_ms))
            .fetch_all(&self.pool)
            .await
            .map_err(failed("counting requests per hour"))?;
        hour_counts(counts)
    }
}

impl Store for PostgresStore {
    fn take(&self, take: Take) -> BoxFuture<'_, Result<Taken, StoreError>> {
        Box::pin(self.take_counts(take))
    }

    fn add<'a>(
        &'a self,
        day: u32,
        agent: &'a str,
        n: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.add_counts(day, agent, n))
    }

    fn give_back<'a>(
        &'a self,
        day: u32,
        agent: &'a str,
        n: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.give_back_counts(day, agent, n))
    }

    fn write_audit<'a>(&'a self, rows: &'a [AuditRow]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.write_rows(rows))
    }

    fn query_audit<'a>(
        &'a self,
        filter: &'a AuditFilter,
    ) -> BoxFuture<'a, Result<Vec<AuditRow>, StoreError>> {
        Box::pin(self.read_rows(filter))
    }

    fn usage(&self, day: u32) -> BoxFuture<'_, Result<Usage, StoreError>> {
        Box::pin(self.read_usage(day))
    }

    fn requests_per_hour(
        &self,
        since_ms: i64,
    ) -> BoxFuture<'_, Result<Vec<HourCount>, StoreError>> {
        Box::pin(self.read_hours(since_ms))
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(PostgresStore::close(self))
    }

    fn revisions(&self) -> Option<&dyn PolicyRevisions> {
        Some(self)
    }

    fn rates(&self) -> Option<&dyn SharedRates> {
        Some(self)
    }

    fn outbox(&self) -> Option<&dyn Outbox> {
        Some(self)
    }

    fn approvals(&self) -> Option<&dyn ApprovalStore> {
        Some(self)
    }

    fn confirmations(&self) -> Option<&dyn ConfirmationStore> {
        Some(self)
    }

    fn shared(&self) -> bool {
        true
    }
}

/// The answer to a database a newer crisp-gateway migrated.
fn too_new(target: &Target, found: i64) -> StoreError {
    StoreError::SchemaTooNew {
        store: target.shown.clone(),
        found,
        known: known_version(),
    }
}

/// The newest migration this binary knows.
fn known_version() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// A day as the schema stores it (`integer`): days since the epoch fit until the year 5.8
/// million; past that, saturated.
fn day(day: u32) -> i32 {
    i32::try_from(day).unwrap_or(i32::MAX)
}

/// A refused take: which limit the locked counts reach (the agent's budget first, as SQLite's
/// store says).
fn spent(take: &Take, agent_used: u64, token_used: u64) -> Result<Taken, StoreError> {
    let past =
        |used: u64, limit: Option<u64>| limit.filter(|limit| used.saturating_add(take.n) > *limit);
    if let Some(limit) = past(agent_used, take.agent_limit) {
        Ok(Taken::BudgetSpent { limit })
    } else if let Some(limit) = past(token_used, take.quota_limit) {
        Ok(Taken::QuotaSpent { limit })
    } else {
        Err(StoreError::Failed {
            action: TAKING,
            detail: "the counters neither took the request nor show a limit reached".to_owned(),
        })
    }
}

audit_row! { row: PgRow, int: i32 }

//! [`SqliteStore`]: the embedded store, one SQLite file in the gateway's data directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite};

use super::approvals::ApprovalStore;
use super::confirmations::ConfirmationStore;
use super::error::StoreError;
use super::outbox::Outbox;
use super::shared::audit::{AUDIT_COLUMNS, PER_HOUR, audit_row, hour_counts, select_audit};
use super::shared::counters::{ADD_BOTH, CREATE_BOTH, USAGE, usage};
use super::shared::{failed, path_ids_json, to_i64, to_u64};
use super::types::{AuditFilter, AuditRow, HourCount, Store, Take, Taken, Usage, hour_start};

mod approvals;
mod confirmations;
mod outbox;

/// The schema, embedded at build time.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// SQLite takes an OFFSET only after a LIMIT: -1 is none.
const NO_LIMIT: i64 = -1;

const TAKING: &str = "taking from the daily counters";

/// How long a statement waits for the database lock (another process writing) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections of the read pool: audit queries and usage. Two cores, so two.
const READERS: u32 = 2;

/// Rows per `INSERT` statement (18 parameters each, under SQLite's 32,766).
const ROWS_PER_INSERT: usize = 500;

/// The two counters of a take, on day `$1`: the agent `$2`'s and the token's.
macro_rules! both {
    () => {
        "day = $1 AND ((kind = 'agent' AND name = $2) OR (kind = 'token' AND name = ''))"
    };
}

/// Raises both counters of day `$1` by `$3` when both exist and neither passes its limit (`$4`
/// the agent's, `$5` the token's; NULL: none), and returns them; no row otherwise. One
/// statement, so both or neither: SQLite evaluates an UPDATE's WHERE for every row before it
/// changes any when the WHERE reads the table it updates (the "two-pass" update), so both rows
/// see the counts from before the take. (PostgreSQL needs its own form: a subquery there reads
/// the statement's snapshot, not the rows another transaction locked.)
const TAKE: &str = concat!(
    "UPDATE counters SET used = used + $3 WHERE ",
    both!(),
    " AND (SELECT COUNT(*) FROM counters WHERE ",
    both!(),
    ") = 2",
    " AND ($4 IS NULL OR (SELECT used FROM counters",
    " WHERE day = $1 AND kind = 'agent' AND name = $2) + $3 <= $4)",
    " AND ($5 IS NULL OR (SELECT used FROM counters",
    " WHERE day = $1 AND kind = 'token' AND name = '') + $3 <= $5)",
    " RETURNING kind, used"
);

/// Both counters' counts.
const READ_BOTH: &str = concat!("SELECT kind, used FROM counters WHERE ", both!());

/// Lowers both counters of day `$1` by `$3`, never below zero: one statement, both or neither.
const GIVE_BACK: &str = concat!(
    "UPDATE counters SET used = MAX(used - $3, 0) WHERE ",
    both!()
);

/// The embedded store: one SQLite file in the gateway's data directory.
///
/// - WAL and `synchronous=NORMAL`: a commit is not a disk sync (a power cut may lose the last
///   commits, never corrupt the file), and readers (`crisp-gateway audit` in another process)
///   never block the writer.
/// - One writing connection: SQLite takes one writer at a time anyway, and queueing writers in
///   the pool (async, in order) beats letting them sleep on the database lock. Reads (the audit
///   query, today's usage) have a small read-only pool of their own.
/// - A take is one `UPDATE` of both counters (one table: the agent's row and the token's), so
///   both or neither with no transaction to open and close: the usual take is one round trip
///   to SQLite's thread. A day's first take creates the two rows first.
/// - The schema is versioned migrations under `migrations/sqlite/`, embedded in the binary and
///   applied at open; a database with a migration this binary does not know is refused.
///
/// The SQL is kept portable where that costs nothing (`$n` parameters, `ON CONFLICT ... DO
/// UPDATE`, `RETURNING`), so that the PostgreSQL store can share its shape.
///
/// Cheap to share behind an `Arc<dyn Store>`; [`close`](Self::close) it on shutdown so the
/// write-ahead log is folded back into the file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    path: PathBuf,
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens the store at `path` for the gateway, creating the file (and its directory) if
    /// missing and bringing its schema up to date.
    ///
    /// # Errors
    /// [`StoreError::Open`] when the file cannot be opened or is not a database,
    /// [`StoreError::SchemaTooNew`] when a newer crisp-gateway wrote it (it is then left
    /// untouched), [`StoreError::Migrate`] when the upgrade fails.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                path: path.clone(),
                detail: format!("cannot create its directory {}: {e}", dir.display()),
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            // A ping before each use is a round trip to SQLite's thread for nothing: a local
            // file does not drop connections.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(|e| open_error(&path, &e))?;

        let store = Self {
            reader: reader_pool(&path).await?,
            writer,
            path,
        };
        let found = applied_version(&store.writer, &store.path).await?;
        if found > known_version() {
            return Err(store.too_new(found));
        }
        MIGRATOR.run(&store.writer).await.map_err(|e| match e {
            MigrateError::VersionMissing(version) => store.too_new(version),
            other => StoreError::Migrate {
                store: store.path.display().to_string(),
                detail: other.to_string(),
            },
        })?;
        Ok(store)
    }

    /// Opens an existing store at `path` read-only (for `crisp-gateway audit`, beside a running
    /// gateway): never creates, migrates or writes; every write fails.
    ///
    /// # Errors
    /// [`StoreError::Missing`] when there is no file at `path`, [`StoreError::Open`] when it
    /// cannot be opened, [`StoreError::SchemaTooNew`] or [`StoreError::SchemaTooOld`] when its
    /// schema is not the one this binary reads.
    pub async fn open_read_only(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if !path.is_file() {
            return Err(StoreError::Missing { path });
        }
        let reader = reader_pool(&path).await?;
        let store = Self {
            writer: reader.clone(),
            reader,
            path,
        };
        let found = applied_version(&store.reader, &store.path).await?;
        let known = known_version();
        if found > known {
            return Err(store.too_new(found));
        }
        if found < known {
            return Err(StoreError::SchemaTooOld {
                store: store.path.display().to_string(),
                found,
                known,
            });
        }
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The newest schema version this binary knows (its last migration).
    pub fn schema_version() -> i64 {
        known_version()
    }

    /// Closes the connections, once the requests in flight are done: the write-ahead log is
    /// folded back into the file. Later calls fail.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    fn too_new(&self, found: i64) -> StoreError {
        StoreError::SchemaTooNew {
            store: self.path.display().to_string(),
            found,
            known: known_version(),
        }
    }

    async fn take_counts(&self, take: Take) -> Result<Taken, StoreError> {
        // The usual take is one statement (one round trip to SQLite's thread). A day's first
        // take creates the counters first; a refused take reads them to say which limit.
        for _ in 0..3 {
            let raised = self.raise_both(&take).await?;
            let used = |kind: &str| raised.iter().find(|(k, _)| k == kind).map(|(_, u)| *u);
            if let (Some(agent_used), Some(quota_used)) = (used("agent"), used("token")) {
                return Ok(Taken::Taken {
                    agent_used: to_u64(agent_used, "an agent's daily count")?,
                    quota_used: to_u64(quota_used, "the token's daily count")?,
                });
            }
            if let Some(spent) = self.spent(&take).await? {
                return Ok(spent);
            }
        }
        Err(StoreError::Failed {
            action: TAKING,
            detail: "the counters neither took the request nor show a limit reached".to_owned(),
        })
    }

    async fn raise_both(&self, take: &Take) -> Result<Vec<(String, i64)>, StoreError> {
        sqlx::query_as(TAKE)
            .bind(i64::from(take.day))
            .bind(&take.agent)
            .bind(to_i64(take.n))
            .bind(take.agent_limit.map(to_i64))
            .bind(take.quota_limit.map(to_i64))
            .fetch_all(&self.writer)
            .await
            .map_err(failed(TAKING))
    }

    /// After a take that raised nothing: which limit is reached, if any (counts only grow
    /// within a day, so a limit reached stays reached). Creates missing counters.
    async fn spent(&self, take: &Take) -> Result<Option<Taken>, StoreError> {
        let created = sqlx::query(CREATE_BOTH)
            .bind(i64::from(take.day))
            .bind(&take.agent)
            .execute(&self.writer)
            .await
            .map_err(failed(TAKING))?
            .rows_affected();
        if created > 0 {
            return Ok(None);
        }
        let counts: Vec<(String, i64)> = sqlx::query_as(READ_BOTH)
            .bind(i64::from(take.day))
            .bind(&take.agent)
            .fetch_all(&self.writer)
            .await
            .map_err(failed(TAKING))?;
        let used = |kind: &str| {
            counts
                .iter()
                .find(|(k, _)| k == kind)
                .map_or(0, |(_, used)| u64::try_from(*used).unwrap_or(0))
        };
        let past = |used: u64, limit: Option<u64>| {
            limit.filter(|limit| used.saturating_add(take.n) > *limit)
        };
        Ok(if let Some(limit) = past(used("agent"), take.agent_limit) {
            Some(Taken::BudgetSpent { limit })
        } else {
            past(used("token"), take.quota_limit).map(|limit| Taken::QuotaSpent { limit })
        })
    }

    async fn add_counts(&self, day: u32, agent: &str, n: u64) -> Result<(), StoreError> {
        sqlx::query(ADD_BOTH)
            .bind(i64::from(day))
            .bind(agent)
            .bind(to_i64(n))
            .execute(&self.writer)
            .await
            .map_err(failed("adding to the daily counters"))?;
        Ok(())
    }

    async fn give_back_counts(&self, day: u32, agent: &str, n: u64) -> Result<(), StoreError> {
        sqlx::query(GIVE_BACK)
            .bind(i64::from(day))
            .bind(agent)
            .bind(to_i64(n))
            .execute(&self.writer)
            .await
            .map_err(failed("giving back to the daily counters"))?;
        Ok(())
    }

    async fn write_rows(&self, rows: &[AuditRow]) -> Result<(), StoreError> {
        const ACTION: &str = "writing audit rows";
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.writer.begin().await.map_err(failed(ACTION))?;
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let mut insert =
                QueryBuilder::<Sqlite>::new(format!("INSERT INTO audit ({AUDIT_COLUMNS}) "));
            insert.push_values(chunk, |mut values, row| {
                values
                    .push_bind(row.at_ms)
                    .push_bind(row.agent.clone())
                    .push_bind(row.key_id.clone())
                    .push_bind(row.front.clone())
                    .push_bind(row.client.clone())
                    .push_bind(row.operation.clone())
                    .push_bind(row.method.clone())
                    .push_bind(path_ids_json(&row.path_ids))
                    .push_bind(row.decision.clone())
                    .push_bind(row.why.clone())
                    .push_bind(row.outcome.clone())
                    .push_bind(row.status.map(i64::from))
                    .push_bind(row.reason.clone())
                    .push_bind(row.error.clone())
                    .push_bind(i64::from(row.attempts))
                    .push_bind(i64::from(row.upstream_requests))
                    .push_bind(to_i64(row.latency_us));
            });
            insert
                .build()
                .execute(&mut *tx)
                .await
                .map_err(failed(ACTION))?;
        }
        tx.commit().await.map_err(failed(ACTION))
    }

    async fn read_rows(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>, StoreError> {
        const ACTION: &str = "reading audit rows";
        let mut query = select_audit::<Sqlite>(filter);
        if filter.limit.is_some() || filter.offset.is_some() {
            query
                .push(" LIMIT ")
                .push_bind(filter.limit.map(i64::from).unwrap_or(NO_LIMIT));
        }
        if let Some(offset) = filter.offset {
            query.push(" OFFSET ").push_bind(i64::from(offset));
        }
        let rows = query
            .build()
            .fetch_all(&self.reader)
            .await
            .map_err(failed(ACTION))?;
        rows.iter().map(audit_row).collect()
    }

    async fn read_usage(&self, day: u32) -> Result<Usage, StoreError> {
        let counts: Vec<(String, String, i64)> = sqlx::query_as(USAGE)
            .bind(i64::from(day))
            .fetch_all(&self.reader)
            .await
            .map_err(failed("reading the daily counters"))?;
        usage(day, counts)
    }
}

impl SqliteStore {
    async fn read_hours(&self, since_ms: i64) -> Result<Vec<HourCount>, StoreError> {
        let counts: Vec<(String, i64, i64)> = sqlx::query_as(PER_HOUR)
            .bind(hour_start(since_ms))
            .fetch_all(&self.reader)
            .await
            .map_err(failed("counting requests per hour"))?;
        hour_counts(counts)
    }
}

impl Store for SqliteStore {
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
        Box::pin(SqliteStore::close(self))
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
}

/// The read-only pool: the journal mode is the file's own (set by the writer), so it is not
/// set here (setting it would be a write).
async fn reader_pool(path: &Path) -> Result<SqlitePool, StoreError> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .busy_timeout(BUSY_TIMEOUT);
    SqlitePoolOptions::new()
        .max_connections(READERS)
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .map_err(|e| open_error(path, &e))
}

/// The newest migration this binary knows.
fn known_version() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// The newest migration applied to the database (0: none, a new or foreign database).
async fn applied_version(pool: &SqlitePool, path: &Path) -> Result<i64, StoreError> {
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(pool)
    .await
    .map_err(|e| open_error(path, &e))?;
    if tables == 0 {
        return Ok(0);
    }
    let version: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(pool)
        .await
        .map_err(|e| open_error(path, &e))?;
    Ok(version.unwrap_or(0))
}

fn open_error(path: &Path, error: &sqlx::Error) -> StoreError {
    StoreError::Open {
        path: path.to_path_buf(),
        detail: error.to_string(),
    }
}

audit_row! { row: SqliteRow, int: i64 }

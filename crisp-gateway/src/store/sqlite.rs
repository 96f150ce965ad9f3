//! [`SqliteStore`]: the embedded store, one SQLite file in the gateway's data directory.
//!
//! - WAL and `synchronous=NORMAL`: a commit is not a disk sync (a power cut may lose the last
//!   commits, never corrupt the file), and readers (`crisp-gateway audit` in another process)
//!   never block the writer.
//! - One writing connection: SQLite takes one writer at a time anyway, and queueing writers in
//!   the pool (async, in order) beats letting them sleep on the database lock. Reads (the audit
//!   query, today's usage) have a small read-only pool of their own.
//! - The schema is versioned migrations under `migrations/sqlite/`, embedded in the binary and
//!   applied at open; a database with a migration this binary does not know is refused.
//!
//! The SQL is kept portable where that costs nothing (`$n` parameters, `ON CONFLICT ... DO
//! UPDATE`, `RETURNING`), so that the PostgreSQL store can share its shape.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row as _, Sqlite};

use super::{AuditFilter, AuditRow, Store, StoreError, Take, Taken, Usage};

/// The schema, embedded at build time.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a statement waits for the database lock (another process writing) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections of the read pool: audit queries and usage. Two cores, so two.
const READERS: u32 = 2;

/// Rows per `INSERT` statement (18 parameters each, under SQLite's 32,766).
const ROWS_PER_INSERT: usize = 500;

/// The audit columns, in the order they are written and read.
const AUDIT_COLUMNS: &str = "at_ms, agent, key_id, front, client, operation, method, path_ids, \
     decision, why, outcome, status, reason, error, attempts, upstream_requests, latency_us";

/// Raises an agent's counter by `$3` unless that passes its limit `$4` (NULL: no limit); returns
/// the new count, or no row when the limit would be passed.
const TAKE_AGENT: &str = "INSERT INTO agent_usage (day, agent, used) \
     SELECT $1, $2, $3 WHERE $4 IS NULL OR $3 <= $4 \
     ON CONFLICT (day, agent) DO UPDATE SET used = agent_usage.used + excluded.used \
     WHERE $4 IS NULL OR agent_usage.used + excluded.used <= $4 \
     RETURNING used";

/// The same for the token's counter: `$2` requests against the quota `$3`.
const TAKE_TOKEN: &str = "INSERT INTO token_usage (day, used) \
     SELECT $1, $2 WHERE $3 IS NULL OR $2 <= $3 \
     ON CONFLICT (day) DO UPDATE SET used = token_usage.used + excluded.used \
     WHERE $3 IS NULL OR token_usage.used + excluded.used <= $3 \
     RETURNING used";

const ADD_AGENT: &str = "INSERT INTO agent_usage (day, agent, used) VALUES ($1, $2, $3) \
     ON CONFLICT (day, agent) DO UPDATE SET used = agent_usage.used + excluded.used";

const ADD_TOKEN: &str = "INSERT INTO token_usage (day, used) VALUES ($1, $2) \
     ON CONFLICT (day) DO UPDATE SET used = token_usage.used + excluded.used";

/// The embedded store: one SQLite file (see the [module docs](self)).
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
                path: store.path.clone(),
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
                path: store.path.clone(),
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
            path: self.path.clone(),
            found,
            known: known_version(),
        }
    }

    async fn take_counts(&self, take: Take) -> Result<Taken, StoreError> {
        const ACTION: &str = "taking from the daily counters";
        let n = to_i64(take.n);
        let mut tx = self.writer.begin().await.map_err(failed(ACTION))?;
        let agent_used: Option<i64> = sqlx::query_scalar(TAKE_AGENT)
            .bind(i64::from(take.day))
            .bind(&take.agent)
            .bind(n)
            .bind(take.agent_limit.map(to_i64))
            .fetch_optional(&mut *tx)
            .await
            .map_err(failed(ACTION))?;
        let Some(agent_used) = agent_used else {
            tx.rollback().await.map_err(failed(ACTION))?;
            return Ok(Taken::BudgetSpent {
                limit: take.agent_limit.unwrap_or(0),
            });
        };
        let quota_used: Option<i64> = sqlx::query_scalar(TAKE_TOKEN)
            .bind(i64::from(take.day))
            .bind(n)
            .bind(take.quota_limit.map(to_i64))
            .fetch_optional(&mut *tx)
            .await
            .map_err(failed(ACTION))?;
        let Some(quota_used) = quota_used else {
            // The agent's count was raised in this transaction: rolled back with it.
            tx.rollback().await.map_err(failed(ACTION))?;
            return Ok(Taken::QuotaSpent {
                limit: take.quota_limit.unwrap_or(0),
            });
        };
        tx.commit().await.map_err(failed(ACTION))?;
        Ok(Taken::Taken {
            agent_used: to_u64(agent_used, "an agent's daily count")?,
            quota_used: to_u64(quota_used, "the token's daily count")?,
        })
    }

    async fn add_counts(&self, day: u32, agent: &str, n: u64) -> Result<(), StoreError> {
        const ACTION: &str = "adding to the daily counters";
        let mut tx = self.writer.begin().await.map_err(failed(ACTION))?;
        sqlx::query(ADD_AGENT)
            .bind(i64::from(day))
            .bind(agent)
            .bind(to_i64(n))
            .execute(&mut *tx)
            .await
            .map_err(failed(ACTION))?;
        sqlx::query(ADD_TOKEN)
            .bind(i64::from(day))
            .bind(to_i64(n))
            .execute(&mut *tx)
            .await
            .map_err(failed(ACTION))?;
        tx.commit().await.map_err(failed(ACTION))
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
        let mut query =
            QueryBuilder::<Sqlite>::new(format!("SELECT {AUDIT_COLUMNS} FROM audit WHERE 1 = 1"));
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
        query.push(" ORDER BY at_ms DESC, id DESC");
        if let Some(limit) = filter.limit {
            query.push(" LIMIT ").push_bind(i64::from(limit));
        }
        let rows = query
            .build()
            .fetch_all(&self.reader)
            .await
            .map_err(failed(ACTION))?;
        rows.iter().map(audit_row).collect()
    }

    async fn read_usage(&self, day: u32) -> Result<Usage, StoreError> {
        const ACTION: &str = "reading the daily counters";
        let agents: Vec<(String, i64)> =
            sqlx::query_as("SELECT agent, used FROM agent_usage WHERE day = $1 ORDER BY agent")
                .bind(i64::from(day))
                .fetch_all(&self.reader)
                .await
                .map_err(failed(ACTION))?;
        let quota_used: Option<i64> =
            sqlx::query_scalar("SELECT used FROM token_usage WHERE day = $1")
                .bind(i64::from(day))
                .fetch_optional(&self.reader)
                .await
                .map_err(failed(ACTION))?;
        Ok(Usage {
            day,
            agents: agents
                .into_iter()
                .map(|(agent, used)| Ok((agent, to_u64(used, "an agent's daily count")?)))
                .collect::<Result<_, StoreError>>()?,
            quota_used: to_u64(quota_used.unwrap_or(0), "the token's daily count")?,
        })
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

fn failed(action: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |error| StoreError::Failed {
        action,
        detail: error.to_string(),
    }
}

/// SQLite integers are signed: a count or limit past `i64::MAX` (never reached) saturates.
fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn to_u64(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt {
        detail: format!("{what} is negative ({value})"),
    })
}

fn path_ids_json(path_ids: &[(String, String)]) -> String {
    // A list of string pairs always serializes.
    serde_json::to_string(path_ids).unwrap_or_else(|_| "[]".to_owned())
}

fn audit_row(row: &SqliteRow) -> Result<AuditRow, StoreError> {
    let get_failed = |e: sqlx::Error| StoreError::Corrupt {
        detail: format!("an audit row cannot be read: {e}"),
    };
    let path_ids: String = row.try_get("path_ids").map_err(get_failed)?;
    let path_ids = serde_json::from_str(&path_ids).map_err(|e| StoreError::Corrupt {
        detail: format!("an audit row's path ids are not a list of [name, value] pairs: {e}"),
    })?;
    let status: Option<i64> = row.try_get("status").map_err(get_failed)?;
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

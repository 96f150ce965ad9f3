//! [`Db`]: one test's store, on either backend, and [`on_both_backends!`], which runs a
//! behaviour test on each.

use std::path::PathBuf;
use std::sync::Arc;

use crisp_gateway::store::{self, SQLITE_FILE, Store, StoreError};
use sqlx::Connection as _;

use crate::cluster::Cluster;

/// Which database a [`Db`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One test's store: a SQLite file in a temp dir, or a fresh database on the test binary's
/// PostgreSQL cluster. It can be opened any number of times (a restart, or several replicas).
pub struct Db {
    pub backend: Backend,
    dir: tempfile::TempDir,
    url: Option<String>,
}

impl Db {
    pub fn sqlite() -> Db {
        Db {
            backend: Backend::Sqlite,
            dir: tempfile::tempdir().expect("a temp dir"),
            url: None,
        }
    }

    /// A fresh database, or `None` when the PostgreSQL tests are skipped.
    pub async fn postgres() -> Option<Db> {
        let url = Cluster::shared()?.create_database().await;
        Some(Db {
            backend: Backend::Postgres,
            dir: tempfile::tempdir().expect("a temp dir"),
            url: Some(url),
        })
    }

    /// The store, opened as the gateway opens it (`store::open`, migrations applied).
    pub async fn open(&self) -> Arc<dyn Store> {
        self.try_open().await.expect("the store opens")
    }

    pub async fn try_open(&self) -> Result<Arc<dyn Store>, StoreError> {
        store::open(self.dir.path(), self.url.as_deref()).await
    }

    pub async fn try_open_read_only(&self) -> Result<Arc<dyn Store>, StoreError> {
        store::open_read_only(self.dir.path(), self.url.as_deref()).await
    }

    /// `count` stores opened on this one database: as many replicas (pools, or SQLite
    /// connections to one file) taking from the same counters.
    pub async fn replicas(&self, count: usize) -> Vec<Arc<dyn Store>> {
        let mut stores = Vec::new();
        for _ in 0..count {
            stores.push(self.open().await);
        }
        stores
    }

    /// How the store's errors name it: the SQLite file's path, or the database's URL.
    pub fn location(&self) -> String {
        match &self.url {
            Some(url) => url.clone(),
            None => self.sqlite_path().display().to_string(),
        }
    }

    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.dir.path().join(SQLITE_FILE)
    }

    /// Runs `sql` (one statement) on a connection of its own, outside the store.
    pub async fn execute(&self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match &self.url {
            Some(url) => {
                let mut db = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::query(sql).execute(&mut db).await.unwrap();
                db.close().await.unwrap();
            }
            None => {
                let mut db = self.sqlite_connection().await;
                sqlx::query(sql).execute(&mut db).await.unwrap();
                db.close().await.unwrap();
            }
        }
    }

    /// The plan of `query`, one line per step, with the indexes it can use (PostgreSQL is told
    /// not to scan the table whole or by bitmap, which it prefers on a table this small).
    pub async fn plan(&self, query: &str) -> Vec<String> {
        match &self.url {
            Some(url) => {
                let mut db = sqlx::PgConnection::connect(url).await.unwrap();
                for setting in ["SET enable_seqscan = off", "SET enable_bitmapscan = off"] {
                    sqlx::query(setting).execute(&mut db).await.unwrap();
                }
                let lines: Vec<(String,)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN {query}")))
                        .fetch_all(&mut db)
                        .await
                        .unwrap();
                lines.into_iter().map(|(line,)| line).collect()
            }
            None => {
                let mut db = self.sqlite_connection().await;
                let lines: Vec<(i64, i64, i64, String)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {query}")))
                        .fetch_all(&mut db)
                        .await
                        .unwrap();
                lines.into_iter().map(|(.., detail)| detail).collect()
            }
        }
    }

    /// Whether a plan from [`plan`](Self::plan) sorts rows rather than reading them in order.
    pub fn sorts(&self, plan: &[String]) -> bool {
        let marker = match self.backend {
            Backend::Sqlite => "TEMP B-TREE",
            Backend::Postgres => "Sort",
        };
        plan.iter().any(|line| line.contains(marker))
    }

    async fn sqlite_connection(&self) -> sqlx::SqliteConnection {
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", self.sqlite_path().display()))
            .await
            .unwrap()
    }
}

/// For each behaviour test `name(db: Db)`, a module `name` with a test on each backend:
/// `name::sqlite` and `name::postgres`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name($crate::backend::Db::sqlite()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(db) = $crate::backend::Db::postgres().await {
                    super::$name(db).await;
                }
            }
        }
    )*};
}

pub(crate) use on_both_backends;

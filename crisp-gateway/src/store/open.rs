//! Which store the gateway opens: the embedded SQLite file in its data directory, or the
//! PostgreSQL database that `--database postgres://...` names (shared by replicas).

use std::path::Path;
use std::sync::Arc;

use super::error::StoreError;
use super::postgres::PostgresStore;
use super::sqlite::SqliteStore;
use super::types::{SQLITE_FILE, Store};

/// Opens the gateway's store, bringing its schema up to date: PostgreSQL when `database` is
/// given (`--database postgres://USER:PASSWORD@HOST:PORT/DB`), the SQLite file
/// [`SQLITE_FILE`] in `data_dir` (created if missing) otherwise.
///
/// [`Store::close`] it at shutdown, after the audit log's last batch.
///
/// # Errors
/// Those of [`SqliteStore::open`] or [`PostgresStore::connect`]: a `database` that is not a
/// PostgreSQL URL, a store that cannot be opened or reached, a schema written by a newer
/// crisp-gateway, a failed upgrade. None of them holds the database's password.
pub async fn open(data_dir: &Path, database: Option<&str>) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match database {
        Some(url) => Arc::new(PostgresStore::connect(url).await?),
        None => Arc::new(SqliteStore::open(data_dir.join(SQLITE_FILE)).await?),
    })
}

/// Opens an existing store read-only, for `crisp-gateway audit` beside a running gateway: never
/// creates, migrates or writes. The same choice as [`open`].
///
/// # Errors
/// Those of [`SqliteStore::open_read_only`] or [`PostgresStore::connect_read_only`]: no store
/// yet, one that cannot be opened or reached, or a schema this binary does not read.
pub async fn open_read_only(
    data_dir: &Path,
    database: Option<&str>,
) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match database {
        Some(url) => Arc::new(PostgresStore::connect_read_only(url).await?),
        None => Arc::new(SqliteStore::open_read_only(data_dir.join(SQLITE_FILE)).await?),
    })
}

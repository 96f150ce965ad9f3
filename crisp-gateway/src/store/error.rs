//! [`StoreError`]: what failed in the store, and what to do about it.

use std::fmt;
use std::path::PathBuf;

/// A store operation that failed. Its message says what failed and what to do; it never holds
/// a secret (the store holds none) nor a row's content.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// There is no store at `path` (only a read-only open, which never creates one, says this).
    Missing {
        /// Where the store was looked for.
        path: PathBuf,
    },
    /// The database at `path` could not be opened.
    Open {
        /// The database file.
        path: PathBuf,
        /// The database's own words.
        detail: String,
    },
    /// The PostgreSQL database could not be reached or refused the connection.
    Connect {
        /// The database's URL, without its password.
        database: String,
        /// What the connection attempt said (never the password).
        detail: String,
    },
    /// The `--database` value is not a PostgreSQL URL.
    DatabaseUrl {
        /// What is wrong with it (never the password).
        detail: String,
    },
    /// The database was written by a newer crisp-gateway: its schema has migrations this binary
    /// does not know, so it refuses to touch it.
    SchemaTooNew {
        /// The store: the database file, or the PostgreSQL database's URL without its password.
        store: String,
        /// The newest migration applied to the database.
        found: i64,
        /// The newest migration this binary knows.
        known: i64,
    },
    /// The database has an older schema, and a read-only open cannot upgrade it.
    SchemaTooOld {
        /// The store: the database file, or the PostgreSQL database's URL without its password.
        store: String,
        /// The newest migration applied to the database (0: none, not a gateway store).
        found: i64,
        /// The newest migration this binary knows.
        known: i64,
    },
    /// Applying the schema migrations failed.
    Migrate {
        /// The store: the database file, or the PostgreSQL database's URL without its password.
        store: String,
        /// What the migration tool said.
        detail: String,
    },
    /// A read or a write failed (the disk, a lock, the connection).
    Failed {
        /// What the store was doing: "taking from the counters", "writing audit rows", ...
        action: &'static str,
        /// The database's own words.
        detail: String,
    },
    /// A stored value is not one the store writes (edited by hand, or a bug).
    Corrupt {
        /// Which value, and what is wrong with it.
        detail: String,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing { path } => write!(
                f,
                "no gateway store at {}: start the gateway with `--data {}` to create it, or pass \
                 the --data directory it was started with",
                path.display(),
                path.parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .map_or_else(|| ".".into(), |p| p.display().to_string()),
            ),
            Self::Open { path, detail } => write!(
                f,
                "cannot open the gateway store {}: {detail}; check the path and its permissions \
                 (a file that is not a gateway store must be moved aside)",
                path.display()
            ),
            Self::Connect { database, detail } => write!(
                f,
                "cannot connect to the gateway's PostgreSQL database {database}: {detail}; check \
                 --database (host, port, user, password, database name) and that the server is \
                 running and lets this user connect"
            ),
            Self::DatabaseUrl { detail } => write!(
                f,
                "--database is not a PostgreSQL URL: {detail}; give \
                 postgres://USER:PASSWORD@HOST:PORT/DATABASE, or leave it out for the embedded \
                 SQLite store in the --data directory"
            ),
            Self::SchemaTooNew {
                store,
                found,
                known,
            } => write!(
                f,
                "the gateway store {store} has schema version {found}, newer than this \
                 crisp-gateway knows ({known}): it was written by a newer crisp-gateway; run that \
                 version (this one refuses to touch the store)"
            ),
            Self::SchemaTooOld {
                store,
                found,
                known,
            } => write!(
                f,
                "the gateway store {store} has schema version {found}, older than this \
                 crisp-gateway reads ({known}): start this version of the gateway once on it to \
                 upgrade it"
            ),
            Self::Migrate { store, detail } => write!(
                f,
                "cannot upgrade the schema of the gateway store {store}: {detail}; each migration \
                 is applied whole or not at all; check the disk, and that the store may be \
                 written (the file's permissions, or the database user's right to create tables)"
            ),
            Self::Failed { action, detail } => write!(
                f,
                "the gateway store failed {action}: {detail}; check the disk (space, permissions) \
                 and the database"
            ),
            Self::Corrupt { detail } => write!(
                f,
                "the gateway store holds a value it never writes: {detail}; the store may have \
                 been edited by hand"
            ),
        }
    }
}

impl std::error::Error for StoreError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_store_says_where_and_how_to_start() {
        let error = StoreError::Missing {
            path: PathBuf::from("data/gateway.sqlite"),
        };
        let message = error.to_string();
        assert!(message.contains("data/gateway.sqlite"), "{message}");
        assert!(message.contains("--data data"), "{message}");
    }
}

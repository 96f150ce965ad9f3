//! [`Target`]: the database a `--database` URL names, how it is shown (never with its
//! password), and the first connections to it.

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions as _, Connection as _};

use crate::store::error::StoreError;

/// How long a call waits for a free connection (or a new one) before it fails: a store that
/// cannot be reached refuses calls (503) after this, rather than holding them.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The database a URL names: its connect options, how it is shown (without the password), and
/// the password's forms to scrub from what the driver says.
pub(super) struct Target {
    /// How to connect (the password included).
    pub(super) options: PgConnectOptions,
    /// The URL without its password: what errors and `Debug` show.
    pub(super) shown: String,
    /// The password, as written in the URL and decoded: scrubbed from what the driver says.
    secrets: Vec<String>,
}

impl Target {
    /// Reads `url`, refusing what is not a PostgreSQL URL.
    pub(super) fn parse(url: &str) -> Result<Self, StoreError> {
        let bad = |detail: String| StoreError::DatabaseUrl { detail };
        let url = url.trim();
        if url.is_empty() {
            return Err(bad("it is empty".to_owned()));
        }
        let parsed = url::Url::parse(url).map_err(|e| bad(format!("it is not a URL ({e})")))?;
        if !matches!(parsed.scheme(), "postgres" | "postgresql") {
            return Err(bad(format!(
                "its scheme is `{}`, not postgres:// or postgresql://",
                parsed.scheme()
            )));
        }
        let mut secrets = Vec::new();
        if let Some(password) = parsed.password() {
            secrets.push(password.to_owned());
            let decoded = percent_encoding::percent_decode_str(password).decode_utf8_lossy();
            secrets.push(decoded.into_owned());
        }
        for (key, value) in parsed.query_pairs() {
            if key == "password" {
                secrets.push(value.into_owned());
            }
        }
        secrets.retain(|s| !s.is_empty());
        let options = PgConnectOptions::from_str(url).map_err(|e| {
            bad(scrub(
                &format!("its options cannot be read ({e})"),
                &secrets,
            ))
        })?;
        let shown = shown(&options);
        Ok(Self {
            options,
            shown,
            secrets,
        })
    }

    /// The newest migration applied to the database (0: none, a new or foreign database), on a
    /// connection of its own: the first contact, so that a server that cannot be reached says
    /// why at once (a pool retries until its timeout and then says only that it timed out).
    pub(super) async fn applied_version(&self) -> Result<i64, StoreError> {
        const ACTION: &str = "reading its schema version";
        let mut connection = self
            .options
            .connect()
            .await
            .map_err(|e| self.connect_error(&e))?;
        let exists: Result<bool, _> =
            sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                .fetch_one(&mut connection)
                .await;
        let version: Result<Option<i64>, _> = match exists {
            Ok(true) => {
                sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
                    .fetch_one(&mut connection)
                    .await
            }
            Ok(false) => Ok(None),
            Err(e) => Err(e),
        };
        let _ = connection.close().await;
        Ok(version
            .map_err(|e| StoreError::Failed {
                action: ACTION,
                detail: self.scrub(&e.to_string()),
            })?
            .unwrap_or(0))
    }

    /// A pool of at most `connections`, one of them opened now.
    pub(super) async fn pool(&self, connections: u32) -> Result<PgPool, StoreError> {
        PgPoolOptions::new()
            .max_connections(connections)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
            .connect_with(self.options.clone())
            .await
            .map_err(|e| self.connect_error(&e))
    }

    fn connect_error(&self, error: &sqlx::Error) -> StoreError {
        StoreError::Connect {
            database: self.shown.clone(),
            detail: self.scrub(&error.to_string()),
        }
    }

    /// `text` with the password replaced, wherever it appears.
    pub(super) fn scrub(&self, text: &str) -> String {
        scrub(text, &self.secrets)
    }
}

/// The URL of the database without its password (nor any option): what errors and `Debug` show.
fn shown(options: &PgConnectOptions) -> String {
    let database = options.get_database().unwrap_or_default();
    let user = options.get_username();
    match options.get_socket() {
        // The socket's directory in `host=`, as libpq and sqlx read it (`localhost` stands in
        // for the host, which a URL needs).
        Some(socket) => format!(
            "postgres://{user}@localhost:{}/{database}?host={}",
            options.get_port(),
            socket.display()
        ),
        None => format!(
            "postgres://{user}@{}:{}/{database}",
            options.get_host(),
            options.get_port()
        ),
    }
}

/// `text` with every form of the password replaced: what the driver says is shown as is, but
/// it must never carry the password.
fn scrub(text: &str, secrets: &[String]) -> String {
    secrets.iter().fold(text.to_owned(), |text, secret| {
        text.replace(secret, "[password]")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_shown_without_its_password() {
        let target = Target::parse("postgres://gw:s3cr%40t@db.internal:6432/gateway").unwrap();
        assert_eq!(target.shown, "postgres://gw@db.internal:6432/gateway");
        assert_eq!(
            scrub("user gw with s3cr@t and s3cr%40t", &target.secrets),
            "user gw with [password] and [password]"
        );
        let socket = Target::parse("postgresql:///gateway?host=/run/postgresql&user=gw").unwrap();
        assert_eq!(
            socket.shown,
            "postgres://gw@localhost:5432/gateway?host=/run/postgresql"
        );
    }

    #[test]
    fn what_is_not_a_postgres_url_is_refused_with_why() {
        for (url, says) in [
            ("", "empty"),
            ("gateway.sqlite", "not a URL"),
            ("sqlite://data/gateway.sqlite", "scheme is `sqlite`"),
            ("mysql://gw:pw@db/gateway", "scheme is `mysql`"),
        ] {
            let Err(error) = Target::parse(url) else {
                panic!("{url} was taken for a PostgreSQL URL");
            };
            let message = error.to_string();
            assert!(matches!(error, StoreError::DatabaseUrl { .. }), "{error:?}");
            assert!(message.contains(says), "{url}: {message}");
            assert!(!message.contains("pw@"), "{message}");
        }
    }
}

//! What only the PostgreSQL store has: a URL (shown without its password, refused when it is
//! not PostgreSQL's), a server that may be unreachable, replicas that start together and
//! migrate once, a database that is not a gateway's yet.

use std::path::Path;

use crisp_gateway::store::{self, PostgresStore, StoreError};
use sqlx::Connection as _;

use crate::backend::Db;
use crate::cluster::Cluster;

const PASSWORD: &str = "hunter2-Sekr1t";

#[tokio::test]
async fn an_unreachable_server_is_named_without_the_password() {
    // Port 1 on loopback: nothing listens there.
    let url = format!("postgres://gateway:{PASSWORD}@127.0.0.1:1/crisp");
    let error = PostgresStore::connect(&url).await.unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(&error, StoreError::Connect { database, .. } if database == "postgres://gateway@127.0.0.1:1/crisp"),
        "{error:?}"
    );
    assert!(message.contains("127.0.0.1:1"), "{message}");
    assert!(message.contains("--database"), "{message}");
    assert!(!message.contains(PASSWORD), "{message}");
    assert!(!format!("{error:?}").contains(PASSWORD), "{error:?}");
}

#[tokio::test]
async fn what_is_not_a_postgres_url_is_refused_before_any_connection() {
    for url in ["", "sqlite://data/gateway.sqlite", "data/gateway.sqlite"] {
        let Err(error) = store::open(Path::new("unused"), Some(url)).await else {
            panic!("{url:?} was opened as a PostgreSQL store");
        };
        assert!(matches!(error, StoreError::DatabaseUrl { .. }), "{error:?}");
        assert!(error.to_string().contains("postgres://"), "{error}");
    }
    assert!(
        !Path::new("unused").exists(),
        "no SQLite store was created instead"
    );
}

#[tokio::test]
async fn a_store_never_shows_its_password() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let url = cluster.create_database().await;
    // The test cluster trusts its socket: the password is sent nowhere, but it is in the URL.
    let with_password = url.replacen("crisp@", &format!("crisp:{PASSWORD}@"), 1);
    let store = PostgresStore::connect(&with_password).await.unwrap();
    assert!(!format!("{store:?}").contains(PASSWORD), "{store:?}");
    assert!(!store.database().contains(PASSWORD), "{}", store.database());

    let missing = with_password.replacen("/store_", "/missing_", 1);
    let error = PostgresStore::connect(&missing).await.unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, StoreError::Connect { .. }), "{error:?}");
    assert!(message.contains("does not exist"), "{message}");
    assert!(!message.contains(PASSWORD), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_that_start_together_migrate_the_database_once() {
    let Some(db) = Db::postgres().await else {
        return;
    };
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url().unwrap_or_default().to_owned();
            tokio::spawn(async move { PostgresStore::connect(&url).await })
        })
        .collect();
    for start in starts {
        start.await.unwrap().expect("every replica starts");
    }
    let mut connection = sqlx::PgConnection::connect(db.url().unwrap())
        .await
        .unwrap();
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut connection)
            .await
            .unwrap();
    // Every migration of the binary, once: the versions of the files under migrations/postgres
    // (numbered by the feature that adds them, so the list may have gaps until all are merged).
    let mut files: Vec<i64> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
            .unwrap()
            .filter_map(|entry| {
                let name = entry.unwrap().file_name().into_string().unwrap();
                name.split('_').next()?.parse().ok()
            })
            .collect();
    files.sort_unstable();
    assert_eq!(versions, files);
    assert_eq!(versions.last(), Some(&PostgresStore::schema_version()));
    connection.close().await.unwrap();
}

#[tokio::test]
async fn a_database_that_is_not_a_gateway_store_yet_is_not_read() {
    let Some(db) = Db::postgres().await else {
        return;
    };
    let Err(error) = db.try_open_read_only().await else {
        panic!("a read-only open took an empty database for a gateway store");
    };
    assert_eq!(
        error,
        StoreError::SchemaTooOld {
            store: db.location(),
            found: 0,
            known: PostgresStore::schema_version(),
        }
    );
    // And it wrote nothing: the migrations table is still missing.
    db.try_open().await.expect("the gateway itself migrates it");
    let reader = db.try_open_read_only().await.expect("now it reads");
    reader.close().await;
}

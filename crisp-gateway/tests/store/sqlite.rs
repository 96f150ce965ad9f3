//! What only the SQLite store has: a file in the data directory, which a read-only open never
//! creates, and which may turn out not to be a database.

use crisp_gateway::store::{AuditFilter, SqliteStore, Store as _, StoreError};

use crate::backend::Db;
use crate::behaviour::row;

#[tokio::test]
async fn a_read_only_open_needs_a_store_and_creates_none() {
    let db = Db::sqlite();
    let path = db.sqlite_path();
    let Err(error) = db.try_open_read_only().await else {
        panic!("a read-only open found a store where there is none");
    };
    assert_eq!(error, StoreError::Missing { path: path.clone() });
    assert!(!path.exists(), "a read-only open creates nothing");
}

#[tokio::test]
async fn a_read_only_open_after_the_gateway_closed_reads_everything() {
    let db = Db::sqlite();
    let gateway = SqliteStore::open(db.sqlite_path()).await.unwrap();
    gateway
        .write_audit(&[row(1, "a", "list_conversations", "allowed")])
        .await
        .unwrap();
    // The write-ahead log is folded back into the file.
    gateway.close().await;
    let reader = SqliteStore::open_read_only(db.sqlite_path()).await.unwrap();
    assert_eq!(
        reader
            .query_audit(&AuditFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_refused_with_its_path() {
    let db = Db::sqlite();
    let path = db.sqlite_path();
    std::fs::write(&path, vec![b'x'; 4096]).unwrap();
    for result in [db.try_open().await, db.try_open_read_only().await] {
        let Err(error) = result else {
            panic!("a file of x's was opened as a store");
        };
        assert!(matches!(error, StoreError::Open { .. }), "{error:?}");
        assert!(
            error.to_string().contains(&path.display().to_string()),
            "{error}"
        );
    }
}

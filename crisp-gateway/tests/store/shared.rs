//! What only a store that replicas share keeps (PostgreSQL): each agent's rate, taken exactly
//! by many replicas at once, and the policy's revisions, heard by every replica's watch.
//! SQLite keeps neither (its gateway limits rates in memory and reads its own file).

use std::time::Duration;

use crate::backend::Db;

#[tokio::test]
async fn sqlite_shares_no_rate_and_no_revisions() {
    let store = Db::sqlite().open().await;
    assert!(!store.shared());
    assert!(store.rates().is_none());
    assert!(store.revisions().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_taking_one_rate_at_once_let_through_its_count_exactly() {
    let Some(db) = Db::postgres().await else {
        return;
    };
    let replicas = db.replicas(3).await;
    assert!(replicas.iter().all(|store| store.shared()));
    // 10 an hour: none comes back while the test runs.
    let takes = (0..60).map(|i| {
        let store = std::sync::Arc::clone(&replicas[i % 3]);
        tokio::spawn(async move {
            store
                .rates()
                .unwrap()
                .take_rate("triage", 10, Duration::from_secs(3600))
                .await
                .unwrap()
        })
    });
    let mut waits = Vec::new();
    for take in takes {
        if let Some(wait) = take.await.unwrap() {
            waits.push(wait);
        }
    }
    assert_eq!(waits.len(), 50, "exactly 10 of 60 passed");
    // The 11th passes a tenth of an hour after the first: each refused take is told about
    // that (what the locked row says, not a stale snapshot of it).
    assert!(
        waits
            .iter()
            .all(|w| *w > Duration::from_secs(300) && *w <= Duration::from_secs(360)),
        "{waits:?}"
    );
    // Another agent's rate is its own.
    let other = replicas[0].rates().unwrap();
    assert_eq!(
        other
            .take_rate("reply", 10, Duration::from_secs(3600))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revision_written_by_one_replica_is_heard_and_read_by_another() {
    let Some(db) = Db::postgres().await else {
        return;
    };
    let replicas = db.replicas(2).await;
    let (writer, reader) = (
        replicas[0].revisions().unwrap(),
        replicas[1].revisions().unwrap(),
    );
    assert_eq!(reader.latest().await.unwrap(), None);
    let mut watch = reader.watch().await.unwrap();
    let first = writer
        .publish("daily_quota = 1\n", "a.toml", 1_000)
        .await
        .unwrap();
    let heard = tokio::time::timeout(Duration::from_secs(60), watch.changed())
        .await
        .expect("the notification arrives")
        .unwrap();
    assert_eq!(heard, Some(first));
    let latest = reader.latest().await.unwrap().unwrap();
    assert_eq!(
        (
            latest.revision,
            latest.text.as_str(),
            latest.source.as_str()
        ),
        (first, "daily_quota = 1\n", "a.toml")
    );
    assert_eq!(latest.published_ms, 1_000);
    let second = writer
        .publish("daily_quota = 2\n", "b.toml", 2_000)
        .await
        .unwrap();
    assert!(second > first);
    assert_eq!(reader.latest().await.unwrap().unwrap().revision, second);
    // The text is not in its Debug (it is the operator's policy).
    assert!(!format!("{latest:?}").contains("daily_quota"));
}

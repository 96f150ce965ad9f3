//! The audit log: nothing lost on a clean shutdown, a store that cannot be written is reported
//! (the health flag, a full queue, rows given up at shutdown) and recovered from.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crisp_gateway::audit::{AuditConfig, AuditError, AuditLog};
use crisp_gateway::store::{
    AuditFilter, AuditRow, HourCount, SqliteStore, Store, StoreError, Take, Taken, Usage,
};
use futures::future::BoxFuture;

/// A guard against a hang (a test that fails says so instead of waiting forever); no test
/// asserts how long anything takes.
async fn surely<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), future)
        .await
        .unwrap_or_else(|_| panic!("{what} never happened"))
}

fn row(i: i64) -> AuditRow {
    AuditRow {
        at_ms: i,
        agent: Some(format!("agent-{}", i % 7)),
        key_id: Some("9f86d081".to_owned()),
        front: if i % 2 == 0 { "rest" } else { "mcp" }.to_owned(),
        client: None,
        operation: Some("list_conversations".to_owned()),
        method: Some("GET".to_owned()),
        path_ids: vec![("website_id".to_owned(), format!("website-{i}"))],
        decision: "allowed".to_owned(),
        why: None,
        outcome: Some("succeeded".to_owned()),
        status: Some(200),
        reason: Some("resolved".to_owned()),
        error: None,
        attempts: 1,
        upstream_requests: 1,
        latency_us: 900,
    }
}

/// Retries fast, so that the tests that make a store fail do not wait on backoff.
fn quick() -> AuditConfig {
    AuditConfig {
        batch_wait: Duration::from_millis(1),
        retry_wait: Duration::from_millis(1),
        max_retry_wait: Duration::from_millis(5),
        ..AuditConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_rows_recorded_concurrently_are_all_written_by_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open(dir.path().join("gateway.sqlite"))
            .await
            .unwrap(),
    );
    let log = Arc::new(AuditLog::start(store.clone(), AuditConfig::default()));

    let tasks: Vec<_> = (0..20)
        .map(|task| {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                for i in 0..500 {
                    log.record(row(task * 500 + i))
                        .expect("the queue has room for every row");
                    if i % 50 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    surely("shutdown", log.shutdown()).await.unwrap();

    let written = store.query_audit(&AuditFilter::default()).await.unwrap();
    let mut times: Vec<i64> = written.iter().map(|r| r.at_ms).collect();
    times.sort_unstable();
    assert_eq!(
        times,
        (0..10_000).collect::<Vec<_>>(),
        "each row exactly once"
    );
    assert_eq!(written.iter().find(|r| r.at_ms == 4_321), Some(&row(4_321)));
    assert_eq!(log.record(row(10_000)), Err(AuditError::Closed));
    assert!(!log.is_writable(), "a shut-down log takes nothing more");
}

/// A store whose audit writes fail while `failing` is set (and then write nothing, as a failed
/// transaction does), and whose writes can be held at a gate.
#[derive(Default)]
struct Flaky {
    failing: AtomicBool,
    gate: Option<tokio::sync::Semaphore>,
    attempts: AtomicUsize,
    rows: Mutex<Vec<AuditRow>>,
}

impl Flaky {
    fn gated() -> Self {
        Self {
            gate: Some(tokio::sync::Semaphore::new(0)),
            ..Self::default()
        }
    }

    fn written(&self) -> Vec<i64> {
        self.rows.lock().unwrap().iter().map(|r| r.at_ms).collect()
    }
}

impl Store for Flaky {
    fn take(&self, _: Take) -> BoxFuture<'_, Result<Taken, StoreError>> {
        unimplemented!("the audit log takes nothing")
    }

    fn add<'a>(&'a self, _: u32, _: &'a str, _: u64) -> BoxFuture<'a, Result<(), StoreError>> {
        unimplemented!("the audit log adds nothing")
    }

    fn give_back<'a>(
        &'a self,
        _: u32,
        _: &'a str,
        _: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        unimplemented!("the audit log gives nothing back")
    }

    fn write_audit<'a>(&'a self, rows: &'a [AuditRow]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            // A real store yields to the runtime while it writes; so does this one.
            tokio::task::yield_now().await;
            if let Some(gate) = &self.gate {
                gate.acquire().await.unwrap().forget();
            }
            self.attempts.fetch_add(1, Ordering::SeqCst);
            if self.failing.load(Ordering::SeqCst) {
                return Err(StoreError::Failed {
                    action: "writing audit rows",
                    detail: "disk I/O error".to_owned(),
                });
            }
            self.rows.lock().unwrap().extend_from_slice(rows);
            Ok(())
        })
    }

    fn query_audit<'a>(
        &'a self,
        _: &'a AuditFilter,
    ) -> BoxFuture<'a, Result<Vec<AuditRow>, StoreError>> {
        unimplemented!("the audit log reads nothing")
    }

    fn usage(&self, _: u32) -> BoxFuture<'_, Result<Usage, StoreError>> {
        unimplemented!("the audit log reads nothing")
    }

    fn requests_per_hour(&self, _: i64) -> BoxFuture<'_, Result<Vec<HourCount>, StoreError>> {
        unimplemented!("the audit log reads nothing")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_cannot_be_written_turns_the_flag_off_until_a_write_succeeds() {
    let store = Arc::new(Flaky::default());
    let log = AuditLog::start(store.clone(), quick());
    let mut writable = log.watch_writable();
    assert!(log.is_writable());

    store.failing.store(true, Ordering::SeqCst);
    for i in 0..5 {
        log.record(row(i)).unwrap();
    }
    surely("the flag turning off", writable.wait_for(|w| !*w))
        .await
        .unwrap();
    assert!(!log.is_writable());
    assert!(store.written().is_empty());
    // Rows recorded meanwhile are kept too.
    log.record(row(5)).unwrap();

    // The writer retries, and writes the rows it kept once the store is back.
    let failed_attempts = store.attempts.load(Ordering::SeqCst);
    store.failing.store(false, Ordering::SeqCst);
    surely("the flag turning on", writable.wait_for(|w| *w))
        .await
        .unwrap();
    surely("the flush", log.flush()).await.unwrap();
    assert!(log.is_writable());
    assert!(store.attempts.load(Ordering::SeqCst) > failed_attempts);
    assert_eq!(
        store.written(),
        [0, 1, 2, 3, 4, 5],
        "each row once, in order"
    );
    surely("shutdown", log.shutdown()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_is_reported_and_every_row_taken_is_written() {
    let store = Arc::new(Flaky::gated());
    let config = AuditConfig {
        capacity: 4,
        batch_rows: 2,
        ..quick()
    };
    let log = AuditLog::start(store.clone(), config);

    // The writer is held at its first write: the queue fills, and `record` says so.
    let mut taken = 0;
    let mut full = None;
    for i in 0..100 {
        match log.record(row(i)) {
            Ok(()) => taken += 1,
            Err(error) => {
                full = Some(error);
                break;
            }
        }
        tokio::task::yield_now().await;
    }
    let error = full.expect("a queue of 4 fills while the store holds its writes");
    assert_eq!(error, AuditError::Full { capacity: 4 });
    assert!(error.to_string().contains("refused"), "{error}");
    assert!(taken <= 4 + 2, "at most the queue and one batch: {taken}");

    store.gate.as_ref().unwrap().add_permits(1_000);
    surely("shutdown", log.shutdown()).await.unwrap();
    assert_eq!(store.written(), (0..taken).collect::<Vec<i64>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_on_a_store_that_stays_down_says_how_many_rows_are_lost() {
    let store = Arc::new(Flaky::default());
    store.failing.store(true, Ordering::SeqCst);
    let config = AuditConfig {
        shutdown_attempts: 3,
        ..quick()
    };
    let log = Arc::new(AuditLog::start(store.clone(), config));
    for i in 0..7 {
        log.record(row(i)).unwrap();
    }
    let flush = tokio::spawn({
        let log = Arc::clone(&log);
        async move { log.flush().await }
    });
    let mut writable = log.watch_writable();
    surely("the flag turning off", writable.wait_for(|w| !*w))
        .await
        .unwrap();

    let error = surely("shutdown", log.shutdown()).await.unwrap_err();
    let AuditError::Unwritten { rows, error: cause } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(*rows, 7);
    assert!(matches!(cause, StoreError::Failed { .. }));
    assert!(error.to_string().starts_with("7 audit rows"), "{error}");
    // The flush that waited for those rows is told too.
    let flushed = surely("the flush", flush).await.unwrap();
    assert!(matches!(
        flushed,
        Err(AuditError::Unwritten { rows: 7, .. })
    ));
    assert!(store.written().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_writes_what_was_recorded_before_it_without_waiting_for_a_full_batch() {
    let store = Arc::new(Flaky::default());
    let config = AuditConfig {
        batch_wait: Duration::from_secs(3_600),
        ..AuditConfig::default()
    };
    let log = AuditLog::start(store.clone(), config);
    for i in 0..3 {
        log.record(row(i)).unwrap();
    }
    surely("the flush", log.flush()).await.unwrap();
    assert_eq!(store.written(), [0, 1, 2]);
    assert_eq!(log.queued(), 0);

    log.record(row(3)).unwrap();
    surely("shutdown", log.shutdown()).await.unwrap();
    assert_eq!(store.written(), [0, 1, 2, 3]);
    assert_eq!(log.flush().await, Err(AuditError::Closed));
    // A second shutdown has nothing left to do.
    assert_eq!(log.shutdown().await, Ok(()));
}

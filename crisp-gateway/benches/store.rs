//! The store's throughput on a temp SQLite database: counter takes per second (one after
//! another, and 32 at once) and audit rows per second through `AuditLog` (what `record` costs
//! the request path, and how fast the writer empties the queue).
//!
//! ```text
//! cargo bench -p crisp-gateway --bench store
//! ```
//!
//! It prints its figures; it checks that every take and row it made is in the store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crisp_gateway::audit::{AuditConfig, AuditError, AuditLog};
use crisp_gateway::store::{AuditFilter, AuditRow, SqliteStore, Store, Take, Taken};

const DAY: u32 = 20_454;
const SEQUENTIAL_TAKES: usize = 5_000;
const TASKS: usize = 32;
const TAKES_PER_TASK: usize = 500;
const AGENTS: usize = 8;
const ROWS: usize = 200_000;
const RECORDERS: usize = 8;
const RECORD_ONLY: usize = 20_000;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = Arc::new(
            SqliteStore::open(dir.path().join("gateway.sqlite"))
                .await
                .expect("the store opens"),
        );
        println!(
            "crisp-gateway store bench ({} cores, SQLite WAL, synchronous=NORMAL)",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );
        sequential_takes(&store).await;
        concurrent_takes(&store).await;
        audit_rows(&store).await;
        store.close().await;
    });
}

fn take(agent: usize) -> Take {
    Take {
        day: DAY,
        agent: format!("agent-{agent}"),
        agent_limit: Some(1_000_000),
        quota_limit: Some(10_000_000),
        n: 1,
    }
}

fn per_second(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

async fn sequential_takes(store: &Arc<SqliteStore>) {
    let mut latencies = Vec::with_capacity(SEQUENTIAL_TAKES);
    let cpu_before = cpu();
    let started = Instant::now();
    for i in 0..SEQUENTIAL_TAKES {
        let one = Instant::now();
        let taken = store.take(take(i % AGENTS)).await.expect("a take");
        assert!(matches!(taken, Taken::Taken { .. }), "{taken:?}");
        latencies.push(one.elapsed());
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    println!(
        "takes, one at a time: {:>7.0}/s   {:>5.1} us CPU a take   p50 {:>6.1} us   p99 {:>6.1} us   ({SEQUENTIAL_TAKES} takes)",
        per_second(SEQUENTIAL_TAKES, elapsed),
        cpu_per(cpu_before, SEQUENTIAL_TAKES),
        micros(latencies[latencies.len() / 2]),
        micros(latencies[latencies.len() * 99 / 100]),
    );
}

async fn concurrent_takes(store: &Arc<SqliteStore>) {
    let before = store.usage(DAY).await.expect("usage").quota_used;
    let cpu_before = cpu();
    let started = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let store = Arc::clone(store);
            tokio::spawn(async move {
                for _ in 0..TAKES_PER_TASK {
                    store.take(take(task % AGENTS)).await.expect("a take");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("no panic");
    }
    let elapsed = started.elapsed();
    let count = TASKS * TAKES_PER_TASK;
    let after = store.usage(DAY).await.expect("usage").quota_used;
    assert_eq!(after - before, count as u64, "every take counted once");
    println!(
        "takes, {TASKS} at once:    {:>7.0}/s   {:>5.1} us CPU a take   ({count} takes, {AGENTS} agents)",
        per_second(count, elapsed),
        cpu_per(cpu_before, count)
    );
}

fn row(i: usize) -> AuditRow {
    AuditRow {
        at_ms: 1_767_225_600_000 + i as i64,
        agent: Some(format!("agent-{}", i % AGENTS)),
        key_id: Some("9f86d081".to_owned()),
        front: "rest".to_owned(),
        client: Some("node-crisp-api/11.3.0".to_owned()),
        operation: Some("list_conversations".to_owned()),
        method: Some("GET".to_owned()),
        path_ids: vec![(
            "website_id".to_owned(),
            "8c842203-7ed8-4e29-a608-7cf78a7d2fcc".to_owned(),
        )],
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

async fn audit_rows(store: &Arc<SqliteStore>) {
    // What `record` costs the request path, with room in the queue (as in normal running).
    let log = AuditLog::start(store.clone(), AuditConfig::default());
    let started = Instant::now();
    for i in 0..RECORD_ONLY {
        log.record(row(i)).expect("room in the queue");
    }
    let recording = started.elapsed();
    log.shutdown().await.expect("every row written");
    println!(
        "audit record():       {:>7.2} us a row on the request path   ({RECORD_ONLY} rows, one task)",
        micros(recording) / RECORD_ONLY as f64,
    );

    // How fast the writer empties the queue, with more rows than it holds.
    let log = Arc::new(AuditLog::start(store.clone(), AuditConfig::default()));
    let cpu_before = cpu();
    let started = Instant::now();
    let tasks: Vec<_> = (0..RECORDERS)
        .map(|task| {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let mut full = 0_usize;
                for i in (task..ROWS).step_by(RECORDERS) {
                    loop {
                        match log.record(row(RECORD_ONLY + i)) {
                            Ok(()) => break,
                            // The gateway would refuse this call; the bench waits its turn.
                            Err(AuditError::Full { .. }) => {
                                full += 1;
                                tokio::time::sleep(Duration::from_millis(1)).await;
                            }
                            Err(other) => panic!("{other}"),
                        }
                    }
                    if i % 64 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
                full
            })
        })
        .collect();
    let mut full = 0;
    for task in tasks {
        full += task.await.expect("no panic");
    }
    log.shutdown().await.expect("every row written");
    let elapsed = started.elapsed();

    let written = store
        .query_audit(&AuditFilter::default())
        .await
        .expect("the rows read back")
        .len();
    assert_eq!(written, RECORD_ONLY + ROWS, "every row written once");
    println!(
        "audit rows written:   {:>7.0}/s   {:>5.1} us CPU a row   ({ROWS} rows from {RECORDERS} tasks, batches of up to {}; the queue was full {full} times)",
        per_second(ROWS, elapsed),
        cpu_per(cpu_before, ROWS),
        AuditConfig::default().batch_rows,
    );
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

/// The process's CPU time so far (user and system, every thread: SQLite's included), from
/// `/proc/self/stat` in clock ticks of 10 ms; zero where there is no `/proc`.
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// CPU microseconds per item between two readings of [`cpu`].
fn cpu_per(before: Duration, count: usize) -> f64 {
    micros(cpu().saturating_sub(before)) / count as f64
}

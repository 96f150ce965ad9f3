//! The store's throughput on each backend, side by side: a temp SQLite database, and a
//! throwaway PostgreSQL cluster on this machine (over a Unix socket): counter takes per second
//! (one after another, and 32 at once) and audit rows per second through `AuditLog` (what
//! `record` costs the request path, and how fast the writer empties the queue).
//!
//! ```text
//! cargo bench -p crisp-gateway --bench store
//! ```
//!
//! It prints its figures; it checks that every take and row it made is in the store. Without
//! the PostgreSQL server binaries (`apt-get install postgresql`), it says so and measures SQLite
//! alone.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crisp_gateway::audit::{AuditConfig, AuditError, AuditLog};
use crisp_gateway::store::{self, AuditFilter, AuditRow, Store, Take, Taken};

#[path = "../tests/support/postgres.rs"]
mod cluster;

const DAY: u32 = 20_454;
const SEQUENTIAL_TAKES: usize = 5_000;
const TASKS: usize = 32;
const TAKES_PER_TASK: usize = 500;
const AGENTS: usize = 8;
const ROWS: usize = 200_000;
const RECORDERS: usize = 8;
const RECORD_ONLY: usize = 20_000;

/// The PostgreSQL server's settings for the bench: durable (`fsync` and full page writes on,
/// as in production), but a commit does not wait for its flush (`synchronous_commit=off`), as
/// SQLite's `synchronous=NORMAL` does not: a crash may lose the last commits, never corrupt.
const POSTGRES_SETTINGS: &[&str] = &["synchronous_commit=off", "shared_buffers=128MB"];

/// What one backend measured.
struct Figures {
    sequential_per_second: f64,
    sequential_cpu_us: f64,
    p50_us: f64,
    p99_us: f64,
    concurrent_per_second: f64,
    concurrent_cpu_us: f64,
    record_us: f64,
    rows_per_second: f64,
    rows_cpu_us: f64,
    queue_full: usize,
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let dir = tempfile::tempdir().expect("a temp dir");
    let sqlite = runtime.block_on(measure(dir.path(), None));

    let postgres = match cluster::Cluster::start_with(POSTGRES_SETTINGS) {
        Ok(cluster) => {
            let figures = runtime.block_on(async {
                let url = cluster.create_database().await;
                measure(dir.path(), Some(&url)).await
            });
            Some((cluster, figures))
        }
        Err(why) => {
            println!("PostgreSQL not measured: {why}");
            None
        }
    };

    println!(
        "crisp-gateway store bench ({} cores; client and database share them)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let columns = [
        ("SQLite", Some(&sqlite)),
        ("PostgreSQL", postgres.as_ref().map(|(_, f)| f)),
    ];
    println!("{:<44}{:>14}{:>14}", "", "SQLite", "PostgreSQL");
    let line = |what: &str, value: fn(&Figures) -> String| {
        let cells: Vec<String> = columns
            .iter()
            .map(|(_, figures)| figures.map_or_else(|| "-".to_owned(), value))
            .collect();
        println!("{what:<44}{:>14}{:>14}", cells[0], cells[1]);
    };
    line("takes, one at a time (/s)", |f| {
        format!("{:.0}", f.sequential_per_second)
    });
    line("  latency p50 / p99 (us)", |f| {
        format!("{:.0} / {:.0}", f.p50_us, f.p99_us)
    });
    line("  CPU a take, this process (us)", |f| {
        format!("{:.1}", f.sequential_cpu_us)
    });
    line(&format!("takes, {TASKS} at once (/s)"), |f| {
        format!("{:.0}", f.concurrent_per_second)
    });
    line("  CPU a take, this process (us)", |f| {
        format!("{:.1}", f.concurrent_cpu_us)
    });
    line("audit record() on the request path (us)", |f| {
        format!("{:.2}", f.record_us)
    });
    line(
        &format!("audit rows written, {RECORDERS} tasks (/s)"),
        |f| format!("{:.0}", f.rows_per_second),
    );
    line("  CPU a row, this process (us)", |f| {
        format!("{:.1}", f.rows_cpu_us)
    });
    line("  times the queue was full", |f| f.queue_full.to_string());
    println!(
        "SQLite: WAL, synchronous=NORMAL, in this process (its CPU is counted). PostgreSQL: a \
         local server over a Unix socket, fsync on, synchronous_commit=off, a pool of 10 \
         connections; its server's CPU is in its own processes, not counted here. Takes: \
         {SEQUENTIAL_TAKES} one at a time, {} from {TASKS} tasks, {AGENTS} agents; audit: \
         {RECORD_ONLY} rows recorded by one task, then {ROWS} by {RECORDERS} tasks, in batches \
         of up to {}.",
        TASKS * TAKES_PER_TASK,
        AuditConfig::default().batch_rows,
    );
    // The cluster stops (and its directory goes) when it is dropped, here.
    drop(postgres);
}

/// Every measurement on one backend: SQLite in `data_dir`, or PostgreSQL at `database`.
async fn measure(data_dir: &Path, database: Option<&str>) -> Figures {
    let store = store::open(data_dir, database)
        .await
        .expect("the store opens");
    let (sequential_per_second, sequential_cpu_us, p50_us, p99_us) = sequential_takes(&store).await;
    let (concurrent_per_second, concurrent_cpu_us) = concurrent_takes(&store).await;
    let (record_us, rows_per_second, rows_cpu_us, queue_full) = audit_rows(&store).await;
    store.close().await;
    Figures {
        sequential_per_second,
        sequential_cpu_us,
        p50_us,
        p99_us,
        concurrent_per_second,
        concurrent_cpu_us,
        record_us,
        rows_per_second,
        rows_cpu_us,
        queue_full,
    }
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

/// Takes per second one after another, CPU per take, p50 and p99 latency.
async fn sequential_takes(store: &Arc<dyn Store>) -> (f64, f64, f64, f64) {
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
    (
        per_second(SEQUENTIAL_TAKES, elapsed),
        cpu_per(cpu_before, SEQUENTIAL_TAKES),
        micros(latencies[latencies.len() / 2]),
        micros(latencies[latencies.len() * 99 / 100]),
    )
}

/// Takes per second from `TASKS` tasks at once, and CPU per take.
async fn concurrent_takes(store: &Arc<dyn Store>) -> (f64, f64) {
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
    (per_second(count, elapsed), cpu_per(cpu_before, count))
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

/// What `record` costs the request path (us a row), then rows written per second through the
/// log, CPU per row, and how often the queue was full.
async fn audit_rows(store: &Arc<dyn Store>) -> (f64, f64, f64, usize) {
    // What `record` costs the request path, with room in the queue (as in normal running).
    let log = AuditLog::start(Arc::clone(store), AuditConfig::default());
    let started = Instant::now();
    for i in 0..RECORD_ONLY {
        log.record(row(i)).expect("room in the queue");
    }
    let recording = started.elapsed();
    log.shutdown().await.expect("every row written");

    // How fast the writer empties the queue, with more rows than it holds.
    let log = Arc::new(AuditLog::start(Arc::clone(store), AuditConfig::default()));
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
    (
        micros(recording) / RECORD_ONLY as f64,
        per_second(ROWS, elapsed),
        cpu_per(cpu_before, ROWS),
        full,
    )
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

//! The gateway between a crisp-api client and the sandbox, all on loopback on this machine: what
//! it adds to a forwarded call (p50 and p99, against the same calls straight to the sandbox),
//! its CPU per forwarded call, and its throughput with 8 agents over 32 connections, its audit
//! store on (SQLite, a row per call).
//!
//! ```text
//! cargo bench -p crisp-gateway --bench gateway
//! ```
//!
//! The gateway runs as its own process (the `crisp-gateway` binary, release build, forwarding
//! to the sandbox through `CRISP_BASE_URL`), so its CPU time is read whole from
//! `/proc/PID/stat`: every thread of it, SQLite's and the audit writer's included. The sandbox
//! and the client share this process. It checks every answer and, at the end, that the audit
//! log holds a row for every call.

mod support;

use support::{client, cpu_of, micros, percentile, sequential, stop};

use std::sync::Arc;
use std::time::Instant;

use crisp_api::{Client, Credentials};
use crisp_gateway::store::{AuditFilter, SQLITE_FILE, SqliteStore, Store as _};

const AGENTS: usize = 8;
const CONNECTIONS: usize = 32;
const WARM_UP: usize = 500;
const SEQUENTIAL: usize = 3_000;
const CONCURRENT: usize = 24_000;

fn main() {
    support::block_on(run());
}

async fn run() {
    let sandbox = support::sandbox().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let (keys, policy_file) = support::agents(&sandbox, AGENTS, "", dir.path());
    let data = dir.path().join("data");

    let (mut gateway, base_url) =
        support::start(&mut support::gateway_command(&sandbox, &data, &policy_file));
    let pid = gateway.id();

    let website = sandbox.website_id().to_owned();
    let direct = client(sandbox.credentials(), sandbox.base_url());
    let agents: Vec<Client> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| client(Credentials::plugin(format!("agent-{i}"), key), &base_url))
        .collect();

    println!(
        "crisp-gateway bench ({} cores; client and sandbox in this process, the gateway in its \
         own; get_conversation; audit store on)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    sequential(&direct, &website, WARM_UP).await;
    sequential(&agents[0], &website, WARM_UP).await;

    // One at a time: straight to the sandbox, then through the gateway.
    let straight = sequential(&direct, &website, SEQUENTIAL).await;
    let cpu_before = cpu_of(pid);
    let through = sequential(&agents[0], &website, SEQUENTIAL).await;
    let cpu_sequential = cpu_of(pid).saturating_sub(cpu_before);
    let (p50, p99) = (percentile(&straight, 50), percentile(&straight, 99));
    let (g50, g99) = (percentile(&through, 50), percentile(&through, 99));
    println!(
        "one at a time ({SEQUENTIAL} calls): straight p50 {:>6.1} us  p99 {:>6.1} us;  through the \
         gateway p50 {:>6.1} us  p99 {:>6.1} us;  the gateway adds p50 {:>6.1} us  p99 {:>6.1} us",
        micros(p50),
        micros(p99),
        micros(g50),
        micros(g99),
        micros(g50.saturating_sub(p50)),
        micros(g99.saturating_sub(p99)),
    );
    println!(
        "    gateway CPU per forwarded call, one at a time: {:>6.1} us (goal: under 150 us)",
        micros(cpu_sequential) / SEQUENTIAL as f64
    );

    // 8 agents over 32 connections: 4 calls in flight per agent.
    let agents: Vec<Arc<Client>> = agents.into_iter().map(Arc::new).collect();
    let cpu_before = cpu_of(pid);
    let clock = Instant::now();
    let per_task = CONCURRENT / CONNECTIONS;
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|task| {
            let client = Arc::clone(&agents[task % AGENTS]);
            let website = website.clone();
            tokio::spawn(async move { sequential(&client, &website, per_task).await.len() })
        })
        .collect();
    let mut calls = 0;
    for task in tasks {
        calls += task.await.expect("a bench task");
    }
    let elapsed = clock.elapsed();
    let cpu_concurrent = cpu_of(pid).saturating_sub(cpu_before);
    println!(
        "{AGENTS} agents over {CONNECTIONS} connections ({calls} calls): {:>7.0} forwarded calls/s \
         (goal: at least 3,000);  gateway CPU per call {:>6.1} us;  gateway CPU {:.0}% of one \
         core",
        calls as f64 / elapsed.as_secs_f64(),
        micros(cpu_concurrent) / calls as f64,
        100.0 * cpu_concurrent.as_secs_f64() / elapsed.as_secs_f64(),
    );

    stop(&mut gateway);
    let store = SqliteStore::open_read_only(data.join(SQLITE_FILE))
        .await
        .expect("the gateway's store");
    let rows = store
        .query_audit(&AuditFilter::default())
        .await
        .expect("the audit rows");
    let expected = WARM_UP + SEQUENTIAL + calls;
    assert_eq!(rows.len(), expected, "one audit row per forwarded call");
    assert!(rows.iter().all(|r| r.status == Some(200)));
    println!(
        "audit: {} rows, one per forwarded call, all 200",
        rows.len()
    );
    store.close().await;
    sandbox.shutdown().await;
}

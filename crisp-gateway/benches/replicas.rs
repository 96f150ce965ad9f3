//! Replicas: the throughput and latency of forwarded calls through one gateway on SQLite, one
//! on PostgreSQL, and two on one PostgreSQL database, under the gateway bench's load (8 agents
//! over 32 connections, `get_conversation` forwarded to the sandbox), all on this machine.
//!
//! ```text
//! cargo bench -p crisp-gateway --bench replicas
//! ```
//!
//! Each gateway is the `crisp-gateway` binary (release build) in its own process; PostgreSQL is
//! a throwaway cluster (`tests/support/postgres.rs`) with durable settings but asynchronous
//! commits (as SQLite's `synchronous=NORMAL`); the client and the sandbox share this process.
//! With two replicas, the connections alternate between them. Per configuration it prints
//! calls per second, p50 and p99, and the CPU of the gateways, of PostgreSQL and of the whole
//! machine, then checks that the audit holds a row for every call. Needs PostgreSQL's binaries.

mod support;

use support::{client, cpu_of, micros, percentile, sequential, stat_fields, stop};

use std::path::Path;
use std::process::Child;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crisp_api::{Client, Credentials};
use crisp_gateway::store::{self, AuditFilter};
use crisp_sandbox::Sandbox;

#[path = "../tests/support/postgres.rs"]
mod cluster;

const AGENTS: usize = 8;
const CONNECTIONS: usize = 32;
const WARM_UP: usize = 300;
const CALLS: usize = 12_000;

/// As the store bench: durable, but a commit does not wait for its flush.
const POSTGRES_SETTINGS: &[&str] = &["synchronous_commit=off", "shared_buffers=128MB"];

fn main() {
    support::block_on(run());
}

async fn run() {
    let sandbox = support::sandbox().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let (keys, policy_file) =
        support::agents(&sandbox, AGENTS, "daily_budget = 100000000\n", dir.path());
    let cluster = cluster::Cluster::start_with(POSTGRES_SETTINGS).expect("PostgreSQL starts");

    println!(
        "crisp-gateway replicas bench ({} cores shared by everything: client and sandbox in this \
         process, each gateway in its own, PostgreSQL; {AGENTS} agents over {CONNECTIONS} \
         connections, {CALLS} get_conversation calls, each with a budget and the quota taken \
         and an audit row)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:<28} {:>9} {:>9} {:>9} {:>13} {:>13} {:>9}",
        "", "calls/s", "p50 us", "p99 us", "gateways CPU", "postgres CPU", "machine"
    );
    let bench = Bench {
        sandbox: &sandbox,
        keys: &keys,
        policy: &policy_file,
    };
    bench
        .measure("SQLite, one gateway", dir.path(), None, 1, None)
        .await;
    let one = cluster.create_database().await;
    bench
        .measure(
            "PostgreSQL, one gateway",
            dir.path(),
            Some(&one),
            1,
            Some(&cluster),
        )
        .await;
    let two = cluster.create_database().await;
    bench
        .measure(
            "PostgreSQL, two replicas",
            dir.path(),
            Some(&two),
            2,
            Some(&cluster),
        )
        .await;
    drop(cluster);
    sandbox.shutdown().await;
}

struct Bench<'a> {
    sandbox: &'a Sandbox,
    keys: &'a [String],
    policy: &'a Path,
}

impl Bench<'_> {
    async fn measure(
        &self,
        name: &str,
        dir: &Path,
        database: Option<&str>,
        replicas: usize,
        cluster: Option<&cluster::Cluster>,
    ) {
        let label = name.replace([',', ' '], "-");
        let mut gateways: Vec<(Child, String)> = (0..replicas)
            .map(|i| self.start(&dir.join(format!("{label}-{i}")), database))
            .collect();
        let website = self.sandbox.website_id().to_owned();
        // Connection `c` is agent `c % AGENTS` on replica `c % replicas`.
        let clients: Vec<Arc<Client>> = (0..CONNECTIONS)
            .map(|c| {
                let agent = c % AGENTS;
                Arc::new(client(
                    Credentials::plugin(format!("agent-{agent}"), &self.keys[agent]),
                    &gateways[c % replicas].1,
                ))
            })
            .collect();
        for client in clients.iter().take(replicas) {
            sequential(client, &website, WARM_UP).await;
        }

        let pids: Vec<u32> = gateways.iter().map(|(child, _)| child.id()).collect();
        let gateways_cpu = || pids.iter().map(|pid| cpu_of(*pid)).sum::<Duration>();
        let postgres_cpu = || cluster.map_or(Duration::ZERO, |c| tree_cpu(c.pid()));
        let (g0, p0, m0) = (gateways_cpu(), postgres_cpu(), machine());
        let clock = Instant::now();
        let per_task = CALLS / CONNECTIONS;
        let tasks: Vec<_> = clients
            .iter()
            .map(|client| {
                let client = Arc::clone(client);
                let website = website.clone();
                tokio::spawn(async move { sequential(&client, &website, per_task).await })
            })
            .collect();
        let mut latencies = Vec::with_capacity(CALLS);
        for task in tasks {
            latencies.extend(task.await.expect("a bench task"));
        }
        let elapsed = clock.elapsed();
        let (g1, p1, m1) = (gateways_cpu(), postgres_cpu(), machine());
        let share = |cpu: Duration| 100.0 * cpu.as_secs_f64() / elapsed.as_secs_f64();
        let (busy0, total0) = m0;
        let (busy1, total1) = m1;
        let machine_busy = 100.0 * (busy1 - busy0) as f64 / (total1 - total0).max(1) as f64;
        println!(
            "{name:<28} {:>9.0} {:>9.0} {:>9.0} {:>12.0}% {:>12.0}% {:>8.0}%",
            latencies.len() as f64 / elapsed.as_secs_f64(),
            micros(percentile(&latencies, 50)),
            micros(percentile(&latencies, 99)),
            share(g1.saturating_sub(g0)),
            share(p1.saturating_sub(p0)),
            machine_busy,
        );

        for (child, _) in &mut gateways {
            stop(child);
        }
        let store = store::open_read_only(&dir.join(format!("{label}-0")), database)
            .await
            .expect("the gateway's store");
        let rows = store
            .query_audit(&AuditFilter {
                limit: Some(u32::MAX),
                ..AuditFilter::default()
            })
            .await
            .expect("the audit rows");
        assert_eq!(
            rows.len(),
            replicas * WARM_UP + latencies.len(),
            "one audit row per forwarded call"
        );
        assert!(rows.iter().all(|r| r.status == Some(200)));
        store.close().await;
    }

    /// A gateway process: the process and its REST base URL.
    fn start(&self, data: &Path, database: Option<&str>) -> (Child, String) {
        let mut command = support::gateway_command(self.sandbox, data, self.policy);
        if let Some(database) = database {
            command.args(["--database", database]);
        }
        support::start(&mut command)
    }
}

/// The CPU time of `pid` and its children (PostgreSQL's server and its backends).
fn tree_cpu(pid: u32) -> Duration {
    let children = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        // The parent's pid is field 4 of the line, 1 after the name.
        .filter(|child| stat_fields(*child).get(1).copied() == Some(u64::from(pid)));
    cpu_of(pid) + children.map(cpu_of).sum::<Duration>()
}

/// The whole machine's (busy, total) clock ticks so far, from `/proc/stat`.
fn machine() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let total: u64 = ticks.iter().sum();
    // idle and iowait are the 4th and 5th.
    let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

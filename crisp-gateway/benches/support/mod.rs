//! What the gateway's benches share: a client without retries, calls one after another with
//! their latencies, percentiles, and a process's CPU time read from `/proc` (Linux).

use std::process::Child;
use std::time::{Duration, Instant};

use crisp_api::{Client, Credentials, Operation, RetryPolicy};

/// A client of `base_url` that never retries (a bench counts each call once).
pub fn client(credentials: Credentials, base_url: &str) -> Client {
    Client::builder(credentials)
        .base_url(base_url)
        .retry(RetryPolicy::never())
        .build()
        .expect("a client")
}

/// `count` calls of `get_conversation` one after another; each call's latency.
pub async fn sequential(client: &Client, website: &str, count: usize) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(count);
    for _ in 0..count {
        let one = Instant::now();
        client
            .call(&Operation::GET_CONVERSATION)
            .path("website_id", website)
            .path("session_id", crisp_sandbox::demo::SESSION_ID)
            .send()
            .await
            .expect("a forwarded call");
        latencies.push(one.elapsed());
    }
    latencies
}

/// The `p`th percentile of `latencies`.
pub fn percentile(latencies: &[Duration], p: usize) -> Duration {
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

/// A duration in microseconds.
pub fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

/// The fields of `/proc/PID/stat` after the command name (which may hold spaces); empty where
/// there is no `/proc`.
pub fn stat_fields(pid: u32) -> Vec<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect()
}

/// A process's CPU time so far (user and system, every thread), from `/proc/PID/stat` in
/// clock ticks (USER_HZ, 100 a second on Linux); zero where there is no `/proc`.
pub fn cpu_of(pid: u32) -> Duration {
    let fields = stat_fields(pid);
    let ticks = |i: usize| fields.get(i).copied().unwrap_or(0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// Stops a gateway with SIGINT (it writes its audit log) and waits for it.
pub fn stop(gateway: &mut Child) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(gateway.id()).expect("a pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("the signal is sent");
    let status = gateway.wait().expect("the gateway exits");
    assert!(status.success(), "the gateway exited with {status}");
}

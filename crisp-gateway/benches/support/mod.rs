//! What the gateway's benches share: the sandbox and the agents' policy, a gateway process
//! started, a client without retries, calls one after another with their latencies,
//! percentiles, and a process's CPU time read from `/proc` (Linux).

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crisp_api::{Client, Credentials, Operation, RetryPolicy};
use crisp_gateway::policy::KeyHash;
use crisp_sandbox::{Sandbox, Token};

/// Runs `bench` on a Tokio runtime of two worker threads.
pub fn block_on<F: std::future::Future>(bench: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime")
        .block_on(bench)
}

/// A sandbox with a plugin token without a daily quota.
pub async fn sandbox() -> Sandbox {
    Sandbox::builder()
        .token(Token::plugin("bench-identifier", "bench-upstream-key").with_daily_quota(None))
        .start()
        .await
        .expect("the sandbox starts")
}

/// `count` agents' keys, and a policy file in `dir` naming them `agent-0`, `agent-1`... each
/// allowed to read the sandbox's conversations, with `extra` (TOML lines) in each entry.
pub fn agents(
    sandbox: &Sandbox,
    count: usize,
    extra: &str,
    dir: &Path,
) -> (Vec<String>, std::path::PathBuf) {
    let keys: Vec<String> = (0..count)
        .map(|i| format!("bench-agent-key-{i}-{}", "k".repeat(40)))
        .collect();
    let mut policy = String::from("daily_quota = 1000000000\n\n");
    for (i, key) in keys.iter().enumerate() {
        policy.push_str(&format!(
            "[[agents]]\nname = \"agent-{i}\"\nkey_sha256 = \"{}\"\n\
             grants = \"website:conversation:sessions=read\"\nwebsites = [\"{}\"]\n{extra}\n",
            KeyHash::of(key.as_bytes()),
            sandbox.website_id()
        ));
    }
    let policy_file = dir.join("gateway.toml");
    std::fs::write(&policy_file, policy).expect("the policy is written");
    (keys, policy_file)
}

/// A `crisp-gateway` command on a free port with `data` and `policy`, forwarding to `sandbox`
/// with its credentials (no other `CRISP_*` setting of this environment), logging warnings only.
pub fn gateway_command(sandbox: &Sandbox, data: &Path, policy: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_crisp-gateway"));
    for variable in crisp_api::env::VARIABLES {
        command.env_remove(variable);
    }
    command
        .args(["--port", "0", "--data"])
        .arg(data)
        .arg("--policy")
        .arg(policy)
        .env_remove("CRISP_GATEWAY_DATABASE")
        .env("CRISP_IDENTIFIER", sandbox.identifier())
        .env("CRISP_KEY", sandbox.key())
        .env("CRISP_TIER", "plugin")
        .env("CRISP_BASE_URL", sandbox.base_url())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    command
}

/// Starts `command` (a gateway) and reads its start-up line: the process and its REST base URL.
pub fn start(command: &mut Command) -> (Child, String) {
    let mut gateway = command.spawn().expect("the gateway binary starts");
    let mut line = String::new();
    BufReader::new(gateway.stdout.take().expect("its stdout"))
        .read_line(&mut line)
        .expect("its start-up line");
    let started: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
    let base_url = started["base_url"].as_str().expect("base_url").to_owned();
    (gateway, base_url)
}

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

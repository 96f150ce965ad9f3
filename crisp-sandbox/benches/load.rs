//! Load benchmark of the sandbox on loopback (not a test): `cargo bench -p crisp-sandbox`.
//!
//! 1. A mixed read/write workload over a few concurrent keep-alive connections for a few
//!    seconds: requests per second, p50 and p99 latency.
//! 2. Memory: the process's resident set size before and after 100,000 messages are sent.
//!
//! `BENCH_SECONDS` (default 5), `BENCH_CONNECTIONS` (default 4) and `BENCH_MESSAGES` (default
//! 100000) change the run.

use std::time::{Duration, Instant};

use crisp_sandbox::{Sandbox, Token, demo};
use serde_json::json;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The resident set size of this process, in MiB (Linux).
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

struct Target {
    client: reqwest::Client,
    base: String,
    identifier: String,
    key: String,
}

impl Target {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(
                method,
                format!("{}/website/{}{path}", self.base, demo::WEBSITE_ID),
            )
            .basic_auth(&self.identifier, Some(&self.key))
            .header("X-Crisp-Tier", "plugin")
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let seconds = env("BENCH_SECONDS", 5);
    let connections = env("BENCH_CONNECTIONS", 4) as usize;
    let messages = env("BENCH_MESSAGES", 100_000) as usize;

    let sandbox = Sandbox::builder()
        .token(Token::plugin("bench", "bench-key").with_daily_quota(None))
        .start()
        .await
        .expect("the sandbox starts");
    let fixtures = sandbox.fixtures();
    let sessions: Vec<String> = fixtures
        .conversations
        .iter()
        .filter_map(|c| c["session_id"].as_str().map(str::to_owned))
        .collect();
    let target = |_: usize| Target {
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()
            .expect("a client"),
        base: sandbox.base_url().to_owned(),
        identifier: "bench".into(),
        key: "bench-key".into(),
    };

    // 1. Mixed workload: 40% list conversations, 20% get a conversation, 20% list messages,
    //    15% send a message, 5% change a state.
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..connections {
        let t = target(c);
        let sessions = sessions.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = c * 7919;
            while Instant::now() < deadline {
                i += 1;
                let session = &sessions[i % sessions.len()];
                let started = Instant::now();
                let request = match i % 20 {
                    0..8 => t.request(reqwest::Method::GET, "/conversations/1"),
                    8..12 => t.request(reqwest::Method::GET, &format!("/conversation/{session}")),
                    12..16 => t.request(
                        reqwest::Method::GET,
                        &format!("/conversation/{session}/messages"),
                    ),
                    16..19 => t
                        .request(reqwest::Method::POST, &format!("/conversation/{session}/message"))
                        .json(&json!({"type": "text", "from": "operator", "origin": "chat", "content": "bench"})),
                    _ => t
                        .request(reqwest::Method::PATCH, &format!("/conversation/{session}/state"))
                        .json(&json!({"state": "unresolved"})),
                };
                let response = request.send().await.expect("an answer");
                assert!(response.status().is_success(), "{}", response.status());
                let _ = response.bytes().await.expect("a body");
                latencies.push(started.elapsed().as_micros() as u64);
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("a worker"));
    }
    latencies.sort_unstable();
    let rate = latencies.len() as f64 / seconds as f64;

    // 2. Memory after `messages` messages.
    let before = rss_mib();
    let per_connection = messages / connections;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let t = target(c);
        let sessions = sessions.clone();
        tasks.push(tokio::spawn(async move {
            for m in 0..per_connection {
                let session = &sessions[(c * per_connection + m) % sessions.len()];
                let body = json!({"type": "text", "from": "user", "origin": "chat",
                                  "content": format!("Message {m} from connection {c}: where is my order?")});
                let response = t
                    .request(reqwest::Method::POST, &format!("/conversation/{session}/message"))
                    .json(&body)
                    .send()
                    .await
                    .expect("an answer");
                assert!(response.status().is_success(), "{}", response.status());
                let _ = response.bytes().await;
            }
        }));
    }
    for task in tasks {
        task.await.expect("a writer");
    }
    let fill = started.elapsed();
    let after = rss_mib();

    println!("crisp-sandbox load benchmark (loopback, {connections} connections, release build)");
    println!(
        "mixed read/write: {} requests in {seconds} s = {rate:.0} requests/s; latency p50 {} us, p99 {} us",
        latencies.len(),
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
    );
    println!(
        "memory: RSS {before:.1} MiB before, {after:.1} MiB after {} more messages (+{:.1} MiB, {:.0} bytes a message); sent in {:.1} s ({:.0} messages/s)",
        per_connection * connections,
        after - before,
        (after - before) * 1024.0 * 1024.0 / (per_connection * connections) as f64,
        fill.as_secs_f64(),
        (per_connection * connections) as f64 / fill.as_secs_f64(),
    );
    sandbox.shutdown().await;
}

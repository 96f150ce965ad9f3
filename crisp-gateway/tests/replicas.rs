//! Two gateway replicas (the binary, two processes) on one PostgreSQL database behave as one
//! gateway: 400 concurrent requests split across them spend the token's quota, or an agent's
//! budget, exactly; every other request is refused 429 with `Retry-After`; every request is one
//! audit row. Needs PostgreSQL's binaries, as the store tests do (`CRISP_SKIP_POSTGRES=1` skips
//! it).

#![cfg(unix)]

use crisp_gateway::policy::KeyHash;
use crisp_gateway::store::{self, AuditFilter};
use crisp_sandbox::{Sandbox, Token};

#[path = "support/postgres.rs"]
mod cluster;
#[path = "support/replicas.rs"]
mod replicas;

use replicas::Replica;

const REQUESTS: usize = 400;

/// The agents' names and keys.
fn agents(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            (
                format!("agent-{i}"),
                format!("replica-agent-key-{i}-0123456789abcdef"),
            )
        })
        .collect()
}

fn policy(head: &str, agents: &[(String, String)], website: &str, extra: &str) -> String {
    let mut text = format!("{head}\n");
    for (name, key) in agents {
        text.push_str(&format!(
            "[[agents]]\nname = \"{name}\"\nkey_sha256 = \"{}\"\n\
             grants = \"website:settings=read\"\nwebsites = [\"{website}\"]\n{extra}\n",
            KeyHash::of(key.as_bytes())
        ));
    }
    text
}

/// What the 400 requests got: (200s, 429s with Retry-After, anything else).
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    ok: usize,
    limited: usize,
    other: Vec<u16>,
}

/// Sends [`REQUESTS`] requests at once, request `i` by agent `i % agents` to replica `i % 2`.
async fn burst(replicas: [&Replica; 2], agents: &[(String, String)], website: &str) -> Tally {
    let client = reqwest::Client::new();
    let sends = (0..REQUESTS).map(|i| {
        let (name, key) = &agents[i % agents.len()];
        client
            .get(format!(
                "{}/website/{website}/settings",
                replicas[i % 2].base_url
            ))
            .basic_auth(name, Some(key))
            .send()
    });
    let mut tally = Tally::default();
    for answer in futures::future::join_all(sends).await {
        let answer = answer.expect("the replica answers");
        match answer.status().as_u16() {
            200 => tally.ok += 1,
            429 if answer.headers().contains_key("retry-after") => tally.limited += 1,
            other => tally.other.push(other),
        }
    }
    tally
}

struct Setup {
    _dir: tempfile::TempDir,
    sandbox: Sandbox,
    database: String,
    a: Replica,
    b: Replica,
}

async fn two_replicas(policy_text: impl Fn(&str) -> String) -> Option<Setup> {
    let cluster = cluster::Cluster::shared()?;
    let database = cluster.create_database().await;
    // The sandbox's own quota is out of the way: the gateway's is what is tested.
    let sandbox = Sandbox::builder()
        .token(Token::plugin("replica-identifier", "replica-upstream-key").with_daily_quota(None))
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.toml");
    std::fs::write(&file, policy_text(sandbox.website_id())).unwrap();
    let a = Replica::start(&dir.path().join("a"), &file, &database, &sandbox, &[]);
    let b = Replica::start(&dir.path().join("b"), &file, &database, &sandbox, &[]);
    Some(Setup {
        _dir: dir,
        sandbox,
        database,
        a,
        b,
    })
}

/// Stops both replicas (every audit row written) and counts the rows.
async fn audit_rows(setup: Setup) -> (Sandbox, usize) {
    let Setup {
        _dir,
        sandbox,
        database,
        a,
        b,
    } = setup;
    a.stop();
    b.stop();
    let store = store::open_read_only(_dir.path(), Some(&database))
        .await
        .unwrap();
    let rows = store
        .query_audit(&AuditFilter {
            limit: Some(10_000),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    store.close().await;
    // `crisp-gateway audit --database` reads the same rows.
    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_crisp-gateway"))
        .args([
            "audit",
            "--json",
            "--limit",
            "10000",
            "--database",
            &database,
        ])
        .arg("--data")
        .arg(_dir.path())
        .output()
        .unwrap();
    assert!(listed.status.success(), "{listed:?}");
    assert_eq!(
        String::from_utf8(listed.stdout).unwrap().lines().count(),
        rows.len()
    );
    (sandbox, rows.len())
}

/// A burst of `REQUESTS` from `count` agents over two replicas sharing a policy with
/// `token_line` and `agent_line` (in each agent's entry): exactly `allowed` pass and reach the
/// sandbox, the rest are limited, and every request has its audit row.
async fn spend_exactly(count: usize, token_line: &str, agent_line: &str, allowed: usize) {
    let agents = agents(count);
    let Some(setup) =
        two_replicas(|website| policy(token_line, &agents, website, agent_line)).await
    else {
        return;
    };
    let before = setup.sandbox.api_requests();
    let tally = burst([&setup.a, &setup.b], &agents, setup.sandbox.website_id()).await;
    let sent = setup.sandbox.api_requests() - before;
    assert_eq!(
        tally,
        Tally {
            ok: allowed,
            limited: REQUESTS - allowed,
            other: vec![]
        },
        "stderr of A: {}\nstderr of B: {}",
        setup.a.stderr(),
        setup.b.stderr()
    );
    assert_eq!(sent, allowed as u64, "requests that reached the sandbox");
    let (sandbox, rows) = audit_rows(setup).await;
    assert_eq!(rows, REQUESTS, "one audit row per request");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_spend_the_tokens_quota_exactly() {
    spend_exactly(4, "daily_quota = 150", "", 150).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_spend_an_agents_budget_exactly() {
    spend_exactly(1, "daily_quota = 100000", "daily_budget = 50", 50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_an_agents_rate() {
    let agents = agents(1);
    // 10 an hour: nothing comes back during the test, so exactly 10 of the 50 pass.
    let Some(setup) = two_replicas(|website| {
        policy(
            "daily_quota = 100000",
            &agents,
            website,
            "rate = \"10/hour\"",
        )
    })
    .await
    else {
        return;
    };
    let before = setup.sandbox.api_requests();
    let client = reqwest::Client::new();
    let (name, key) = &agents[0];
    let sends = (0..50).map(|i| {
        let replica = [&setup.a, &setup.b][i % 2];
        client
            .get(format!(
                "{}/website/{}/settings",
                replica.base_url,
                setup.sandbox.website_id()
            ))
            .basic_auth(name, Some(key))
            .send()
    });
    let mut passed = 0;
    let mut waits = Vec::new();
    for answer in futures::future::join_all(sends).await {
        let answer = answer.unwrap();
        match answer.status().as_u16() {
            200 => passed += 1,
            429 => {
                let wait: u64 = answer.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                let body: serde_json::Value = answer.json().await.unwrap();
                assert_eq!(body["reason"], "rate_limited", "{body}");
                waits.push(wait);
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((passed, waits.len()), (10, 40));
    assert_eq!(setup.sandbox.api_requests() - before, 10);
    // The next call passes a sixth of an hour after the burst: about 360 s.
    assert!(waits.iter().all(|w| (300..=360).contains(w)), "{waits:?}");
    let (sandbox, rows) = audit_rows(setup).await;
    assert_eq!(rows, 50);
    sandbox.shutdown().await;
}

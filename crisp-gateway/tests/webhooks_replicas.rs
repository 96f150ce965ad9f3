//! Two gateway processes on one PostgreSQL database (the shared outbox): an agent's endpoint
//! is down when the event arrives, so the replica that took it retries; that replica is killed
//! mid-retry (SIGKILL: nothing is handed over); once the endpoint is back, the other replica
//! delivers the event, once, signed with the agent's secret. Needs PostgreSQL's binaries, as
//! the store tests do (`CRISP_SKIP_POSTGRES=1` skips it).

#![cfg(unix)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crisp_gateway::policy::KeyHash;
use crisp_gateway::store::outbox::DeliveryState;
use crisp_gateway::store::{self, Store};
use crisp_gateway::webhooks::{AgentSecret, MASTER_SECRET_VAR, SIGNING_SECRET_VAR};
use crisp_sandbox::Sandbox;
use serde_json::{Value, json};

#[path = "support/postgres.rs"]
mod cluster;

mod support;

#[path = "support/webhooks.rs"]
mod hooks;

#[path = "support/replicas.rs"]
mod replicas;

use hooks::{call, endpoint, retrying_sandbox, wait_until};
use replicas::Replica;

const MASTER: &str = "replicas-master-webhook-secret-0123456789abcdef";

/// A replica receiving Crisp's webhooks, retrying an agent's endpoint quickly.
fn start(data: &Path, policy: &Path, database: &str, sandbox: &Sandbox) -> Replica {
    Replica::start_with(
        data,
        policy,
        database,
        sandbox,
        &[
            "--webhook-attempts",
            "50",
            "--webhook-backoff-ms",
            "50",
            "--webhook-timeout-ms",
            "2000",
        ],
        &[
            (SIGNING_SECRET_VAR, sandbox.signing_secret()),
            (MASTER_SECRET_VAR, MASTER),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_for_a_down_agent_is_delivered_by_the_other_replica_after_the_first_dies() {
    let Some(cluster) = cluster::Cluster::shared() else {
        return;
    };
    let database = cluster.create_database().await;
    let sandbox = retrying_sandbox(3).await;

    let (url, endpoint) = endpoint().await;
    endpoint.down.store(true, Ordering::SeqCst);

    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("gateway.toml");
    std::fs::write(
        &policy,
        format!(
            "[[agents]]\nname = \"triage\"\nkey_sha256 = \"{}\"\n\
             grants = \"website:conversation:messages=read\"\nwebsites = [\"{}\"]\n\
             events = [\"message:send\"]\nwebhook_url = \"{url}\"\n",
            KeyHash::of(b"triage-key"),
            sandbox.website_id()
        ),
    )
    .unwrap();
    let (data_a, data_b) = (dir.path().join("a"), dir.path().join("b"));
    let first = start(&data_a, &policy, &database, &sandbox);
    sandbox.set_webhook_urls(&[first.webhook_url.as_deref().expect("a webhook URL")]);

    // A visitor writes: the event reaches the first replica, which tries the agent, down.
    let session = sandbox.fixtures().conversations[0]["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    call(
        &sandbox,
        http::Method::POST,
        &format!("/conversation/{session}/message"),
        json!({"type": "text", "from": "user", "origin": "chat", "content": "Help"}),
    )
    .await;
    wait_until("two failed attempts", async || {
        endpoint.received.lock().len() >= 2
    })
    .await;

    // The second replica joins; the first dies mid-retry, without a word.
    let second = start(&data_b, &policy, &database, &sandbox);
    first.kill();
    let refused_while_down = endpoint.received.lock().len();
    endpoint.down.store(false, Ordering::SeqCst);

    let store: Arc<dyn Store> = store::open(dir.path(), Some(&database)).await.unwrap();
    let outbox = store.outbox().unwrap();
    wait_until("the delivery by the second replica", async || {
        let rows = outbox.deliveries(10).await.unwrap();
        rows.len() == 1 && rows[0].state == DeliveryState::Delivered
    })
    .await;
    let row = &outbox.deliveries(10).await.unwrap()[0];
    assert_eq!(
        (row.agent.as_str(), row.event.as_str()),
        ("triage", "message:send")
    );
    // Delivered once (one 200), every attempt the same message, signed with the agent's secret.
    let received = endpoint.received.lock().clone();
    // Every request was one claim of the row (a claim cut short by the kill counts too).
    assert!(refused_while_down >= 2 && received.len() > refused_while_down);
    assert!(row.attempts as usize >= received.len(), "{row:?}");
    let delivered: Vec<_> = received.iter().filter(|r| r.status == 200).collect();
    assert_eq!(delivered.len(), 1, "{received:?}");
    let secret =
        crisp_gateway::webhooks::agent_webhook_secret("triage", |_| Some(MASTER.to_owned()))
            .unwrap();
    let ids: std::collections::BTreeSet<&str> = received.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), 1, "one message, retried: {ids:?}");
    for request in &received {
        let timestamp: i64 = request.timestamp.parse().unwrap();
        let expected = secret.sign(&request.id, timestamp, request.body.as_bytes());
        assert_eq!(request.signature, expected);
        let event: Value = serde_json::from_str(&request.body).unwrap();
        assert_eq!(event["event"], "message:send");
        assert_eq!(event["data"]["session_id"], session.as_str());
    }
    // The agent's own check: the whsec it is given verifies what it got.
    let given = AgentSecret::from_whsec(&secret.whsec()).unwrap();
    assert_eq!(given, secret);

    drop(second);
    store.close().await;
    sandbox.shutdown().await;
}

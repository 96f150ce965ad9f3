//! The webhook secrets appear in no byte the gateway sends or writes: the plugin's signing
//! secret, the gateway's master secret and the agent's derived secret (as `whsec_...` and as
//! raw base64) are searched for in the gateway's answers to Crisp (a good delivery, a bad
//! signature), what it posts to the agent (headers and body), its logs (every target at
//! `TRACE`), its audit rows, the store's file on disk and the `Debug` of its webhook values.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crisp_gateway::webhooks::{self, MasterSecret};
use crisp_sandbox::Sandbox;
use serde_json::json;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;

#[path = "support/postgres.rs"]
mod cluster;

#[allow(dead_code, unused_imports, unused_macros)]
#[path = "store/backend.rs"]
mod backend;

mod support;

#[path = "support/webhooks.rs"]
mod hooks;

use backend::Db;
use hooks::{MASTER, Replica, endpoint, secrets, subscribed_policy, wait_until, whsec};
use support::Captured;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_webhook_secret_is_in_any_answer_post_log_row_or_file() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .with_filter(tracing_subscriber::filter::LevelFilter::TRACE),
    );
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let sandbox = Sandbox::start().await.unwrap();
    let website = sandbox.website_id().to_owned();
    let (url, agent) = endpoint().await;
    // The agent is down at first: failed attempts are logged and recorded too.
    agent.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let policy = subscribed_policy("triage", &website, &url);
    let db = Db::sqlite();
    let store = db.open().await;
    let replica = Replica::start(Arc::clone(&store), &sandbox, &policy, secrets(&sandbox)).await;

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    let body = json!({
        "website_id": website, "event": "message:send", "timestamp": 1,
        "data": {"website_id": website, "session_id": "session_s", "type": "text",
                 "from": "user", "origin": "chat", "content": "Hi", "fingerprint": 7,
                 "timestamp": 1}
    })
    .to_string();
    let signing = sandbox.signing_secret().to_owned();
    let mut answers = Vec::new();
    for signature in [
        crisp_api::webhook::sign(signing.as_bytes(), &now, body.as_bytes()),
        crisp_api::webhook::sign(b"a-wrong-secret", &now, body.as_bytes()),
    ] {
        let response = reqwest::Client::new()
            .post(&replica.url)
            .header("x-crisp-signature", signature)
            .header("x-crisp-request-timestamp", &now)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let head = format!("{} {:?}", response.status(), response.headers());
        answers.push(format!("{head} {}", response.text().await.unwrap()));
    }
    assert!(answers[0].starts_with("200"), "{}", answers[0]);
    assert!(answers[1].starts_with("401"), "{}", answers[1]);
    wait_until("a failed attempt", async || {
        !agent.received.lock().is_empty()
    })
    .await;
    agent.down.store(false, std::sync::atomic::Ordering::SeqCst);
    wait_until("the delivery", async || agent.received.lock().len() >= 2).await;
    let rows = replica.rows().await;
    assert!(rows.iter().any(|r| r.outcome.as_deref() == Some("failed")));
    assert!(rows.iter().any(|r| r.why.as_deref() == Some("signature")));
    replica.stop().await;

    let agent_secret = whsec("triage");
    let raw = agent_secret.strip_prefix("whsec_").unwrap().to_owned();
    let master = MasterSecret::new(MASTER).unwrap();
    let secrets_debug = format!("{:?} {:?}", secrets(&sandbox), master.agent("triage"));
    let posts: Vec<String> = agent
        .received
        .lock()
        .iter()
        .map(|r| format!("{} {} {} {}", r.id, r.timestamp, r.signature, r.body))
        .collect();
    let mut file = std::fs::read(db.sqlite_path()).unwrap();
    for extra in ["-wal", "-shm"] {
        if let Ok(bytes) = std::fs::read(format!("{}{extra}", db.sqlite_path().display())) {
            file.extend(bytes);
        }
    }
    let file = String::from_utf8_lossy(&file).into_owned();
    let logged = logs.text();
    assert!(logged.contains("webhook"), "the logs were captured");
    let places = [
        ("answers", answers.join("\n")),
        ("posts to the agent", posts.join("\n")),
        ("logs", logged),
        ("audit rows", format!("{rows:?}")),
        ("the store's file", file),
        ("Debug", secrets_debug),
    ];
    let secrets = [
        ("the plugin's signing secret", signing.clone()),
        ("the master secret", MASTER.to_owned()),
        ("the agent's secret", agent_secret.clone()),
        ("the agent's secret's base64", raw.clone()),
        (
            "the agent's secret's bytes as hex",
            hex::encode(STANDARD.decode(&raw).unwrap()),
        ),
    ];
    for (place, text) in &places {
        for (what, secret) in &secrets {
            assert!(!text.contains(secret.as_str()), "{what} is in the {place}");
        }
    }
    // The search can find: the secrets are where they belong.
    assert_eq!(
        webhooks::agent_webhook_secret("triage", |_| Some(MASTER.to_owned()))
            .unwrap()
            .whsec(),
        agent_secret
    );
    sandbox.shutdown().await;
}

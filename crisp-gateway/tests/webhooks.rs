//! Crisp's webhooks through the gateway, over real HTTP on loopback: the sandbox posts every
//! event to two gateway replicas on one store (SQLite and PostgreSQL alike) and posts some
//! twice; each agent's endpoint gets each event its grants let it see exactly once, signed in
//! the Standard Webhooks format (checked from the format's definition with the test's own
//! HMAC, not the gateway's signer, and by the `standardwebhooks` reference library from PyPI
//! when `CRISP_STANDARDWEBHOOKS_PYTHON` names its interpreter, as `.ci/run` does); an agent
//! without the messages scope, or on other websites, or outside the conversation's inbox,
//! never gets it. A delivery whose signature does not check is refused with 401 and an audit
//! row, and nothing of it is used; without the plugin's signing secret the route says how to
//! set it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::num::NonZeroU32;
use std::sync::Arc;

use crisp_api::{Client, RetryPolicy};
use crisp_gateway::Gateway;
use crisp_gateway::audit::AuditLog;
use crisp_gateway::policy::Policy;
use crisp_gateway::store::AuditRow;
use crisp_gateway::store::outbox::DeliveryState;
use crisp_gateway::upstream::Upstream;
use crisp_gateway::webhooks::{MASTER_SECRET_VAR, SIGNING_SECRET_VAR, WebhookSecrets, Webhooks};
use crisp_sandbox::Sandbox;
use serde_json::{Value, json};

#[path = "support/postgres.rs"]
mod cluster;

#[allow(dead_code)]
#[path = "store/backend.rs"]
mod backend;

mod support;

#[path = "support/webhooks.rs"]
mod hooks;

use backend::{Db, on_both_backends};
use hooks::*;
use support::{INBOX, TestAgent, conversations, quick_audit, surely};

on_both_backends!(each_agent_gets_each_event_it_may_see_once_signed_from_two_replicas);

/// The scope each event of the test is about (what the gateway reads from the spec).
fn scope_of(event: &str) -> &'static str {
    match event {
        "message:send" | "message:received" => "website:conversation:messages",
        "session:set_state" => "website:conversation:states",
        "session:request:initiated" => "website:conversation:sessions",
        other => panic!("the test fires no `{other}`"),
    }
}

async fn each_agent_gets_each_event_it_may_see_once_signed_from_two_replicas(db: Db) {
    let sandbox = retrying_sandbox(5).await;
    let website = sandbox.website_id().to_owned();
    let all_events = r#"events = ["message:send", "message:received", "session:set_state", "session:request:initiated"]"#;
    let read_all = "website:conversation:sessions=read, website:conversation:messages=read, \
                    website:conversation:states=read";
    let (all_url, all) = endpoint().await;
    let (no_messages_url, no_messages) = endpoint().await;
    let (elsewhere_url, elsewhere) = endpoint().await;
    let (in_inbox_url, in_inbox) = endpoint().await;
    let agents = [
        TestAgent::new("all", read_all, &website).with(all_events),
        TestAgent::new(
            "no-messages",
            "website:conversation:sessions=read, website:conversation:states=read",
            &website,
        )
        .with(all_events),
        TestAgent::new("elsewhere", read_all, "another-website").with(all_events),
        TestAgent::new("in-inbox", read_all, &website)
            .with(&format!("inboxes = [\"{INBOX}\"]"))
            .with(all_events),
    ];
    let urls = [&all_url, &no_messages_url, &elsewhere_url, &in_inbox_url];
    let policy: String = agents
        .iter()
        .zip(urls)
        .map(|(agent, url)| {
            agent
                .clone()
                .with(&format!("webhook_url = \"{url}\""))
                .toml()
                + "\n"
        })
        .collect();
    let stores = db.replicas(2).await;
    let a = Replica::start(Arc::clone(&stores[0]), &sandbox, &policy, secrets(&sandbox)).await;
    let b = Replica::start(Arc::clone(&stores[1]), &sandbox, &policy, secrets(&sandbox)).await;
    // Every event to both replicas at once; every second one posted again after delivery.
    sandbox.set_webhook_urls(&[&a.url, &b.url]);
    sandbox.set_webhook_repeat(NonZeroU32::new(2));

    let fixtures = conversations(&sandbox);
    let in_inbox_session = &fixtures
        .iter()
        .find(|c| c.inbox.as_deref() == Some(INBOX))
        .unwrap()
        .session;
    let other_session = &fixtures.iter().find(|c| c.inbox.is_none()).unwrap().session;
    let text =
        |from: &str| json!({"type": "text", "from": from, "origin": "chat", "content": "Hello"});
    use http::Method;
    for session in [in_inbox_session, other_session] {
        let messages = format!("/conversation/{session}/message");
        call(&sandbox, Method::POST, &messages, text("user")).await;
        call(&sandbox, Method::POST, &messages, text("operator")).await;
        let state = format!("/conversation/{session}/state");
        call(
            &sandbox,
            Method::PATCH,
            &state,
            json!({"state": "resolved"}),
        )
        .await;
    }
    call(&sandbox, Method::POST, "/conversation", json!({})).await;

    // The sandbox is done: every event posted to both replicas, the repeats too (recorded
    // once their answer is back, after the gateway stored the event).
    let fired = 7;
    wait_until("the sandbox's deliveries", async || {
        let records = sandbox.deliveries();
        records.len() == 2 * fired
            && records.iter().all(|r| r.delivered)
            && records.iter().filter(|r| r.attempts == 2).count() == 2 * (fired / 2)
    })
    .await;
    // The gateway is done: every outbox row delivered (none pending, none failed).
    let outbox = stores[0].outbox().unwrap();
    wait_until("the gateway's deliveries", async || {
        let rows = outbox.deliveries(1000).await.unwrap();
        rows.iter().all(|r| r.state == DeliveryState::Delivered)
    })
    .await;

    // What each agent may see, by the rules (website, scope at read level, inbox).
    let bodies: BTreeSet<String> = sandbox.deliveries().into_iter().map(|r| r.body).collect();
    assert_eq!(bodies.len(), fired);
    let may_see = |agent: &str, body: &str| -> bool {
        let event: Value = serde_json::from_str(body).unwrap();
        let name = event["event"].as_str().unwrap();
        let session = event["data"]["session_id"].as_str().unwrap_or_default();
        match agent {
            "all" => true,
            "no-messages" => scope_of(name) != "website:conversation:messages",
            "elsewhere" => false,
            "in-inbox" => session == in_inbox_session,
            _ => unreachable!(),
        }
    };
    let mut rows_per_agent = BTreeMap::new();
    let mut to_check: Vec<(String, Received)> = Vec::new();
    for (agent, endpoint) in [
        ("all", &all),
        ("no-messages", &no_messages),
        ("elsewhere", &elsewhere),
        ("in-inbox", &in_inbox),
    ] {
        let received = endpoint.received.lock().clone();
        let got: Vec<&str> = received.iter().map(|r| r.body.as_str()).collect();
        let expected: BTreeSet<&str> = bodies
            .iter()
            .map(String::as_str)
            .filter(|body| may_see(agent, body))
            .collect();
        // Each event it may see, once, and nothing else.
        assert_eq!(got.len(), expected.len(), "{agent}: {got:#?}");
        assert_eq!(
            got.iter().copied().collect::<BTreeSet<_>>(),
            expected,
            "{agent}"
        );
        let secret = whsec(agent);
        let ids: BTreeSet<&str> = received.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids.len(),
            received.len(),
            "{agent}: one webhook-id per event"
        );
        for one in &received {
            assert!(signed(&secret, one), "{agent}: a bad signature on {one:?}");
            assert!(one.id.starts_with("msg_"), "{one:?}");
            // Another agent's secret does not check it.
            assert!(!signed(&whsec("someone-else"), one));
            to_check.push((secret.clone(), one.clone()));
        }
        rows_per_agent.insert(agent, expected.len());
    }
    // The reference library agrees: each is signed; a body with one more byte, or checked
    // with another agent's secret, is not.
    let mut tampered = to_check[0].clone();
    tampered.1.body.push(' ');
    let mut foreign = to_check[0].clone();
    foreign.0 = whsec("someone-else");
    let count = to_check.len();
    to_check.extend([tampered, foreign]);
    match reference_verdicts(&to_check) {
        Some(verdicts) => {
            assert_eq!(verdicts.len(), count + 2, "{verdicts:?}");
            assert!(verdicts[..count].iter().all(|v| v == "ok"), "{verdicts:?}");
            assert!(
                verdicts[count..].iter().all(|v| v.starts_with("refused")),
                "{verdicts:?}"
            );
        }
        // Straight to stderr: the test harness captures `eprintln!` of passing tests, and
        // this check left out must show.
        None => {
            let _ = writeln!(
                std::io::stderr(),
                "{STANDARDWEBHOOKS_PYTHON} is not set: the signatures were checked by this \
                 test's own HMAC only (.ci/run sets it)"
            );
        }
    }
    // The expectations are not empty ones: the scope, website and inbox rules each held an
    // event back from someone.
    assert_eq!(rows_per_agent["all"], 7);
    assert_eq!(rows_per_agent["no-messages"], 3);
    assert_eq!(rows_per_agent["elsewhere"], 0);
    assert_eq!(rows_per_agent["in-inbox"], 3);

    // The audit: one receipt fanned out per event, every other post a duplicate; a row per
    // delivery attempt; a refusal per subscribed agent an event was held back from.
    let rows = {
        surely("a's audit flush", a.gateway.audit().flush())
            .await
            .unwrap();
        b.rows().await
    };
    let webhook_rows: Vec<&AuditRow> = rows.iter().filter(|r| r.front == "webhook").collect();
    let receipts: Vec<&&AuditRow> = webhook_rows.iter().filter(|r| r.agent.is_none()).collect();
    assert_eq!(receipts.len(), 2 * fired + 2 * (fired / 2), "{receipts:#?}");
    assert!(receipts.iter().all(|r| r.status == Some(200)));
    let fanned = receipts.iter().filter(|r| r.why.is_none()).count();
    let duplicates = receipts
        .iter()
        .filter(|r| r.why.as_deref() == Some("duplicate"))
        .count();
    assert_eq!((fanned, duplicates), (fired, fired + 2 * (fired / 2)));
    let delivered = webhook_rows
        .iter()
        .filter(|r| r.outcome.as_deref() == Some("succeeded"))
        .count();
    assert_eq!(delivered, 7 + 3 + 3);
    let refused: BTreeMap<(String, String), usize> = webhook_rows
        .iter()
        .filter(|r| r.decision == "refused")
        .fold(BTreeMap::new(), |mut counts, r| {
            let key = (r.agent.clone().unwrap(), r.why.clone().unwrap());
            *counts.entry(key).or_default() += 1;
            counts
        });
    let expected_refusals: BTreeMap<(String, String), usize> = [
        (("no-messages", "grants"), 4),
        (("elsewhere", "website"), 7),
        (("in-inbox", "inbox"), 4),
    ]
    .into_iter()
    .map(|((agent, why), n)| ((agent.to_owned(), why.to_owned()), n))
    .collect();
    assert_eq!(refused, expected_refusals);
    // The inbox rule read the conversations through the upstream: it counts.
    assert!(receipts.iter().any(|r| r.upstream_requests > 0));

    a.stop().await;
    b.stop().await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_delivery_whose_signature_does_not_check_is_refused_and_unused() {
    let sandbox = Sandbox::start().await.unwrap();
    let website = sandbox.website_id().to_owned();
    let (url, agent_endpoint) = endpoint().await;
    let policy = subscribed_policy("all", &website, &url);
    let db = Db::sqlite();
    let store = db.open().await;
    let replica = Replica::start(Arc::clone(&store), &sandbox, &policy, secrets(&sandbox)).await;
    let body = json!({
        "website_id": website, "event": "message:send", "timestamp": 1_765_000_000_000_i64,
        "data": {"website_id": website, "session_id": "session_x", "type": "text",
                 "from": "user", "origin": "chat", "content": "Hi", "fingerprint": 42,
                 "timestamp": 1_765_000_000_000_i64}
    })
    .to_string();
    let http = reqwest::Client::new();
    let post = |signature: String, timestamp: &str| {
        http.post(&replica.url)
            .header("content-type", "application/json")
            .header("x-crisp-signature", signature)
            .header("x-crisp-request-timestamp", timestamp)
            .body(body.clone())
            .send()
    };
    // Signed with another secret; then a signature of another body.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let timestamp = &now_ms.to_string();
    let wrong = crisp_api::webhook::sign(b"not-the-secret", timestamp, body.as_bytes());
    let other = crisp_api::webhook::sign(
        sandbox.signing_secret().as_bytes(),
        timestamp,
        b"{\"event\":\"message:send\"}",
    );
    for signature in [wrong, other, "garbage".to_owned()] {
        let answer = post(signature, timestamp).await.unwrap();
        assert_eq!(answer.status(), 401);
        let envelope: Value = answer.json().await.unwrap();
        assert_eq!(envelope["reason"], "invalid_session");
    }
    // Nothing of it was used: no event seen, no delivery; each refusal is an audit row.
    assert!(
        store
            .outbox()
            .unwrap()
            .deliveries(10)
            .await
            .unwrap()
            .is_empty()
    );
    let rows = replica.rows().await;
    let refusals: Vec<&AuditRow> = rows
        .iter()
        .filter(|r| r.front == "webhook" && r.why.as_deref() == Some("signature"))
        .collect();
    assert_eq!(refusals.len(), 3, "{rows:#?}");
    assert!(
        refusals
            .iter()
            .all(|r| r.operation.is_none() && r.status == Some(401))
    );

    // The same body, signed as Crisp signs: received and delivered.
    let good = crisp_api::webhook::sign(
        sandbox.signing_secret().as_bytes(),
        timestamp,
        body.as_bytes(),
    );
    assert_eq!(post(good, timestamp).await.unwrap().status(), 200);
    wait_until("the agent's delivery", async || {
        !agent_endpoint.received.lock().is_empty()
    })
    .await;
    assert_eq!(agent_endpoint.received.lock()[0].body, body);
    replica.stop().await;

    // Without the plugin's signing secret the route says how to set it.
    let unset =
        WebhookSecrets::from_lookup(|name| (name == MASTER_SECRET_VAR).then(|| MASTER.to_owned()))
            .unwrap();
    let replica = Replica::start(db.open().await, &sandbox, &policy, unset).await;
    let answer = reqwest::Client::new()
        .post(&replica.url)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 503);
    let text = answer.text().await.unwrap();
    assert!(text.contains(SIGNING_SECRET_VAR), "{text}");
    replica.stop().await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn subscribed_agents_without_a_master_secret_are_refused_at_start() {
    let sandbox = Sandbox::start().await.unwrap();
    let policy = TestAgent::new("all", "website:conversation:messages=read", "w")
        .with(r#"events = ["message:send"]"#)
        .with(r#"webhook_url = "https://agent.example.com/hook""#)
        .toml();
    let store = Db::sqlite().open().await;
    let audit = AuditLog::start(Arc::clone(&store), quick_audit());
    let client = Client::builder(sandbox.credentials())
        .base_url(sandbox.base_url())
        .retry(RetryPolicy::never())
        .build()
        .unwrap();
    let gateway = Arc::new(Gateway::new(
        Policy::parse(&policy, "test.toml").unwrap(),
        store,
        audit,
        Upstream::new(client),
    ));
    let error = Webhooks::new(
        Arc::clone(&gateway),
        WebhookSecrets::default(),
        fast_delivery(),
    )
    .unwrap_err();
    assert!(
        error.contains(MASTER_SECRET_VAR) && error.contains("all"),
        "{error}"
    );
    gateway.close().await.unwrap();
    sandbox.shutdown().await;
}

//! Webhook deliveries: every state change that the spec maps to an event reaches a receiver on
//! loopback, verifies with `crisp_api::webhook`, parses into its typed event, and is retried
//! while the receiver answers 500, without the API call that fired it waiting; an endpoint that
//! never answers holds no more connections than the limits allow, and the rest is dropped.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use crisp_api::webhook::{ATTEMPT_COUNT_HEADER, Event, Verifier};
use crisp_sandbox::{Sandbox, WebhookLimits, WebhookRetry, demo};
use serde_json::json;
use support::{Api, Logs};

#[derive(Default)]
struct Received {
    /// (event name, attempt) of every verified request.
    verified: Vec<(String, u32)>,
    /// Typed events of the requests answered 200.
    events: Vec<Event>,
    rejected: usize,
}

struct Receiver {
    verifier: Verifier,
    /// Attempts below this one are answered 500.
    succeed_from: u32,
    received: Mutex<Received>,
}

async fn receive(State(rx): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut received = rx.received.lock().unwrap();
    let delivery = match rx.verifier.verify_and_parse(&headers, &body) {
        Ok(delivery) => delivery,
        Err(_) => {
            received.rejected += 1;
            return StatusCode::UNAUTHORIZED;
        }
    };
    let attempt: u32 = headers[ATTEMPT_COUNT_HEADER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    received
        .verified
        .push((delivery.event.name().to_owned(), attempt));
    if attempt < rx.succeed_from {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    received.events.push(delivery.event);
    StatusCode::OK
}

async fn start_receiver(secret: &str, succeed_from: u32) -> (String, Arc<Receiver>) {
    let rx = Arc::new(Receiver {
        verifier: Verifier::new(secret)
            .expect("the sandbox's secret is not blank")
            .with_tolerance(Duration::from_secs(60)),
        succeed_from,
        received: Mutex::new(Received::default()),
    });
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(Arc::clone(&rx));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}

fn fast_retries(max_attempts: u32) -> WebhookRetry {
    WebhookRetry {
        max_attempts,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        timeout: Duration::from_secs(2),
    }
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn every_state_change_is_delivered_signed_typed_and_retried() {
    let secret = "test-signing-secret";
    let (url, rx) = start_receiver(secret, 3).await;
    let sandbox = Sandbox::builder()
        .signing_secret(secret)
        .webhook_url(url)
        .webhook_retry(fast_retries(5))
        .start()
        .await
        .unwrap();
    let api = Api::new(&sandbox);

    let created = ok(api.post("/conversation", json!({})).await);
    let session = created["data"]["session_id"].as_str().unwrap().to_owned();
    let path = format!("/conversation/{session}");
    let message = json!({"type": "text", "from": "operator", "origin": "chat", "content": "Hello"});
    let sent = ok(api.post(&format!("{path}/message"), message).await);
    let fingerprint = sent["data"]["fingerprint"].as_i64().unwrap();
    let visitor = json!({"type": "text", "from": "user", "origin": "chat", "content": "Hi!"});
    ok(api.post(&format!("{path}/message"), visitor).await);
    ok(api
        .patch(
            &format!("{path}/message/{fingerprint}"),
            json!({"content": "Hello!"}),
        )
        .await);
    ok(api
        .patch(&format!("{path}/state"), json!({"state": "resolved"}))
        .await);
    ok(api
        .patch(
            &format!("{path}/meta"),
            json!({"email": "jane@example.com"}),
        )
        .await);
    ok(api
        .patch(
            &format!("{path}/routing"),
            json!({"assigned": {"user_id": demo::OPERATOR_ID}}),
        )
        .await);
    ok(api
        .patch(&format!("{path}/block"), json!({"blocked": true}))
        .await);
    let person = ok(api
        .post("/people/profile", json!({"email": "ada@example.com"}))
        .await);
    let people = format!(
        "/people/profile/{}",
        person["data"]["people_id"].as_str().unwrap()
    );
    ok(api
        .patch(&people, json!({"person": {"nickname": "Ada"}}))
        .await);
    ok(api.put(&people, json!({"email": "ada@example.org"})).await);
    ok(api.delete(&people).await);
    ok(api
        .post(
            &format!("/campaign/{}/dispatch", demo::CAMPAIGN_ID),
            json!({}),
        )
        .await);
    ok(api.delete(&path).await);
    // Reads fire nothing.
    api.get("/conversations/1").await;

    let expected = [
        "session:request:initiated",
        "message:received",
        "message:send",
        "message:updated",
        "session:set_state",
        "session:set_email",
        "session:set_routing",
        "session:set_block",
        "people:profile:created",
        "people:profile:updated",
        "people:profile:updated",
        "people:profile:removed",
        "campaign:dispatched",
        "session:removed",
    ];
    wait_until("every delivery", || {
        sandbox.deliveries().iter().filter(|d| d.delivered).count() == expected.len()
    })
    .await;

    let deliveries = sandbox.deliveries();
    let names: Vec<&str> = deliveries.iter().map(|d| d.event.as_str()).collect();
    assert_eq!(names, expected, "one delivery per change, in order fired");
    assert!(
        deliveries
            .iter()
            .all(|d| d.attempts == 3 && d.last_status == Some(200))
    );

    let received = rx.received.lock().unwrap();
    assert_eq!(received.rejected, 0, "every delivery verifies");
    assert_eq!(
        received.verified.len(),
        expected.len() * 3,
        "two 500s, then 200"
    );
    for name in expected {
        let attempts: Vec<u32> = received
            .verified
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, a)| *a)
            .collect();
        let times = expected.iter().filter(|n| **n == name).count();
        assert_eq!(attempts.len(), 3 * times, "{name}");
        for a in 1..=3 {
            assert_eq!(
                attempts.iter().filter(|x| **x == a).count(),
                times,
                "{name}"
            );
        }
    }
    // Each parsed into its own typed variant, with the data of the change.
    let mut typed = 0;
    for event in &received.events {
        match event {
            Event::SessionSetState(data) => {
                assert_eq!(data.session_id, session);
                assert_eq!(data.state.to_string(), "resolved");
            }
            Event::MessageReceived(data) => {
                assert_eq!(data.fingerprint, fingerprint);
                assert_eq!(data.website_id, demo::WEBSITE_ID);
            }
            Event::SessionSetEmail(data) => assert_eq!(data.email, "jane@example.com"),
            Event::SessionSetBlock(data) => assert!(data.is_blocked),
            Event::SessionSetRouting(data) => {
                assert_eq!(data.routing_id.as_deref(), Some(demo::OPERATOR_ID));
            }
            Event::CampaignDispatched(data) => assert_eq!(data.campaign_id, demo::CAMPAIGN_ID),
            Event::Unknown { name, .. } => panic!("{name} did not parse into its type"),
            _ => {}
        }
        typed += 1;
    }
    assert_eq!(typed, expected.len());
}

#[tokio::test]
async fn a_failing_endpoint_never_blocks_the_api_and_is_given_up_on() {
    // Nothing listens on this port once the listener is dropped.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    drop(listener);
    let sandbox = Sandbox::builder()
        .webhook_retry(fast_retries(3))
        .start()
        .await
        .unwrap();
    sandbox.set_webhook_url(Some(&url));
    let api = Api::new(&sandbox);
    let started = Instant::now();
    for _ in 0..5 {
        assert_eq!(api.post("/conversation", json!({})).await.0, 200);
    }
    assert!(started.elapsed() < Duration::from_secs(2));
    wait_until("giving up", || {
        let d = sandbox.deliveries();
        d.len() == 5 && d.iter().all(|d| d.gave_up)
    })
    .await;
    assert!(
        sandbox
            .deliveries()
            .iter()
            .all(|d| d.attempts == 3 && !d.delivered)
    );
}

/// An endpoint that accepts connections and never answers: the URL, and how many connections
/// it has accepted (it keeps them all open).
async fn silent_endpoint() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    (url, accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_never_answers_holds_only_the_senders_and_the_rest_is_dropped() {
    let (url, accepted) = silent_endpoint().await;
    let sandbox = Sandbox::builder()
        .webhook_url(url)
        .webhook_retry(WebhookRetry {
            max_attempts: 1,
            timeout: Duration::from_secs(120),
            ..fast_retries(1)
        })
        .webhook_limits(WebhookLimits {
            queue: 4,
            concurrency: 2,
        })
        .start()
        .await
        .unwrap();
    let api = Api::new(&sandbox);
    for _ in 0..20 {
        ok(api.post("/conversation", json!({})).await);
    }
    wait_until("both senders to connect", || {
        accepted.load(Ordering::SeqCst) >= 2
    })
    .await;

    let deliveries = sandbox.deliveries();
    assert_eq!(deliveries.len(), 20, "every event is recorded");
    let dropped: Vec<_> = deliveries.iter().filter(|d| d.dropped).collect();
    // 2 in progress and 4 waiting; 2 more waited if the senders had not yet taken the first.
    assert!(
        (14..=16).contains(&dropped.len()),
        "{} dropped",
        dropped.len()
    );
    assert!(dropped.iter().all(|d| d.gave_up && d.attempts == 0));
    assert_eq!(sandbox.dropped_deliveries(), dropped.len() as u64);
    // Time for a sandbox without the bound to open more connections (each attempt waits 120 s
    // for an answer, so none frees its sender during the test).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 2, "connections held");
}

#[tokio::test]
async fn an_attempt_that_gets_no_answer_times_out_and_is_retried() {
    let (url, accepted) = silent_endpoint().await;
    let sandbox = Sandbox::builder()
        .webhook_url(url)
        .webhook_retry(WebhookRetry {
            timeout: Duration::from_millis(200),
            ..fast_retries(2)
        })
        .start()
        .await
        .unwrap();
    ok(Api::new(&sandbox).post("/conversation", json!({})).await);
    wait_until("giving up", || {
        sandbox.deliveries().first().is_some_and(|d| d.gave_up)
    })
    .await;
    let delivery = &sandbox.deliveries()[0];
    assert_eq!((delivery.attempts, delivery.last_status), (2, None));
    assert!(!delivery.dropped);
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        2,
        "one connection per attempt"
    );
}

#[tokio::test]
async fn webhook_urls_are_logged_and_recorded_without_their_credentials() {
    let (logs, _guard) = Logs::capture();
    // Nothing listens on this port once the listener is dropped: every attempt fails.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://hook-user:hunter2@127.0.0.1:{port}/hook?token=s3cr3t#k3y");
    let sandbox = Sandbox::builder()
        .webhook_url(url)
        .webhook_retry(fast_retries(2))
        .start()
        .await
        .unwrap();
    ok(Api::new(&sandbox).post("/conversation", json!({})).await);
    wait_until("giving up", || {
        sandbox.deliveries().first().is_some_and(|d| d.gave_up)
    })
    .await;

    let logs = logs.text();
    let record = format!("{:?}", sandbox.deliveries());
    for secret in ["hook-user", "hunter2", "s3cr3t", "k3y"] {
        assert!(!logs.contains(secret), "{secret} logged: {logs}");
        assert!(!record.contains(secret), "{secret} recorded: {record}");
    }
    let redacted = format!("http://redacted@127.0.0.1:{port}/hook?redacted#redacted");
    assert!(logs.contains("webhook delivery failed"), "{logs}");
    assert!(logs.contains(&redacted), "{logs}");
    assert_eq!(sandbox.deliveries()[0].url, redacted);
}

#[tokio::test]
async fn each_event_reaches_every_endpoint_and_some_are_posted_again_after_delivery() {
    let secret = "test-signing-secret";
    let (first, rx1) = start_receiver(secret, 1).await;
    let (second, rx2) = start_receiver(secret, 1).await;
    let sandbox = Sandbox::builder()
        .signing_secret(secret)
        .webhook_retry(fast_retries(3))
        .start()
        .await
        .unwrap();
    sandbox.set_webhook_urls(&[&first, &second]);
    sandbox.set_webhook_repeat(Some(std::num::NonZeroU32::new(2).unwrap()));
    let api = Api::new(&sandbox);

    let created = ok(api.post("/conversation", json!({})).await);
    let session = created["data"]["session_id"].as_str().unwrap().to_owned();
    let message = json!({"type": "text", "from": "user", "origin": "chat", "content": "Hi!"});
    ok(api
        .post(&format!("/conversation/{session}/message"), message)
        .await);

    // Two events, each to both endpoints; the second one posted twice to each.
    let attempts = |rx: &Receiver| rx.received.lock().unwrap().verified.clone();
    // The sandbox records a repeat once its answer is back, after the receiver saw it.
    let repeats_recorded = || {
        sandbox
            .deliveries()
            .iter()
            .filter(|r| r.attempts == 2)
            .count()
    };
    wait_until("both endpoints' deliveries", || {
        attempts(&rx1).len() == 3 && attempts(&rx2).len() == 3 && repeats_recorded() == 2
    })
    .await;
    for rx in [&rx1, &rx2] {
        let mut seen = attempts(rx);
        seen.sort();
        assert_eq!(
            seen,
            [
                ("message:send".to_owned(), 1),
                ("message:send".to_owned(), 2),
                ("session:request:initiated".to_owned(), 1),
            ]
        );
    }
    let records = sandbox.deliveries();
    assert_eq!(records.len(), 4, "{records:?}");
    for event in ["session:request:initiated", "message:send"] {
        let bodies: Vec<&str> = records
            .iter()
            .filter(|r| r.event == event)
            .map(|r| r.body.as_str())
            .collect();
        assert_eq!(bodies.len(), 2);
        assert_eq!(bodies[0], bodies[1], "one body for both endpoints");
    }
    assert!(records.iter().all(|r| r.delivered));
    let repeated: Vec<u32> = records.iter().map(|r| r.attempts).collect();
    assert_eq!(
        repeated.iter().filter(|a| **a == 2).count(),
        2,
        "{repeated:?}"
    );

    // One endpoint again, as the admin route sets it.
    sandbox.set_webhook_url(Some(&first));
    sandbox.set_webhook_repeat(None);
    ok(api.delete(&format!("/conversation/{session}")).await);
    wait_until("the last delivery", || attempts(&rx1).len() == 4).await;
    // A delivery is recorded when it is queued: one more record, for the one endpoint.
    assert_eq!(sandbox.deliveries().len(), 5);
    assert_eq!(attempts(&rx2).len(), 3);
}

/// The data of an answer that must be a success: a rejected call would otherwise only show as
/// a missing delivery after the wait.
fn ok((status, answer): (u16, serde_json::Value)) -> serde_json::Value {
    assert_eq!(status, 200, "{answer}");
    answer
}

//! The `webhook_receiver` example over real HTTP on loopback: every spec example delivery is
//! accepted and reaches the worker's channel as its typed event; forged, unsigned, replayed,
//! malformed and oversized requests are rejected with the documented status, never reach it,
//! and are logged with their reason.

// The example's `main` (and what only it uses) is not called here.
#[allow(dead_code)]
#[path = "../examples/webhook_receiver.rs"]
mod receiver;

#[path = "support/webhook_deliveries.rs"]
mod deliveries;

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crisp_api::webhook::{
    self, ATTEMPT_COUNT_HEADER, DEFAULT_TOLERANCE, Delivery, Event, SIGNATURE_HEADER,
    TIMESTAMP_HEADER, Verifier,
};
use reqwest::StatusCode;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TryRecvError;

use deliveries::{DELIVERIES, delivery};

const SECRET: &str = "3f0c1a7e9b2d4c6f8a0e1b3d5c7f9a1e";

/// A receiver served on an ephemeral loopback port, its channel, and a client for it.
struct Server {
    url: String,
    events: mpsc::Receiver<Delivery>,
    client: reqwest::Client,
}

/// Serves the example's router with the verifier its `main` builds: the default replay window
/// and the real clock.
async fn serve() -> Server {
    serve_with_capacity(receiver::QUEUE_CAPACITY).await
}

async fn serve_with_capacity(capacity: usize) -> Server {
    capture_logs();
    let verifier = Verifier::new(SECRET).expect("a usable secret");
    let (sender, events) = mpsc::channel(capacity);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, receiver::app(verifier, sender))
            .await
            .expect("serve");
    });
    Server {
        url: format!("http://{address}{}", receiver::WEBHOOK_PATH),
        events,
        // Loopback only: never route through a proxy from the environment.
        client: reqwest::Client::builder().no_proxy().build().unwrap(),
    }
}

/// Everything the tests' `tracing` events have logged, in the example's format.
static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// A `tracing` writer appending to [`LOGS`].
struct Captured;

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs one global subscriber for the whole binary, before any test logs. (A per-test
/// `set_default` races with the callsite interest cache when tests run in parallel.)
fn capture_logs() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        tracing_subscriber::fmt()
            .with_writer(|| Captured)
            .with_ansi(false)
            .init();
    });
}

fn logs() -> String {
    String::from_utf8(LOGS.lock().unwrap().clone()).expect("UTF-8 logs")
}

fn now_millis() -> u64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    u64::try_from(since_epoch.as_millis()).unwrap()
}

fn millis_from_now(offset: i64) -> String {
    now_millis().checked_add_signed(offset).unwrap().to_string()
}

impl Server {
    /// Posts `body` with the given header values (`None` leaves the header out).
    async fn post(
        &self,
        body: &[u8],
        timestamp: Option<&str>,
        signature: Option<&str>,
        attempt: &str,
    ) -> StatusCode {
        let mut request = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header(ATTEMPT_COUNT_HEADER, attempt)
            .body(body.to_vec());
        if let Some(timestamp) = timestamp {
            request = request.header(TIMESTAMP_HEADER, timestamp);
        }
        if let Some(signature) = signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        request
            .send()
            .await
            .expect("the request completes")
            .status()
    }

    /// Posts `body` signed the way Crisp signs it, stamped now.
    async fn post_signed(&self, body: &[u8]) -> StatusCode {
        let timestamp = millis_from_now(0);
        let signature = webhook::sign(SECRET.as_bytes(), &timestamp, body);
        self.post(body, Some(&timestamp), Some(&signature), "1")
            .await
    }

    /// The handler queues before it answers, so after a response the channel is up to date.
    fn next_event(&mut self) -> Option<Delivery> {
        match self.events.try_recv() {
            Ok(delivery) => Some(delivery),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => panic!("the router dropped its sender"),
        }
    }
}

#[tokio::test]
async fn every_spec_example_is_accepted_as_its_typed_event() {
    let mut server = serve().await;
    for (name, body) in DELIVERIES {
        let status = server.post_signed(body.as_bytes()).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        let delivery = server
            .next_event()
            .unwrap_or_else(|| panic!("{name}: nothing queued"));
        assert!(!delivery.event.is_unknown(), "{name}");
        assert_eq!(delivery.event.name(), *name);
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(delivery.website_id.as_deref(), json["website_id"].as_str());
        assert_eq!(delivery.timestamp, json["timestamp"].as_i64());
        assert!(server.next_event().is_none(), "{name}: queued twice");
    }
}

#[tokio::test]
async fn a_typed_event_keeps_its_data() {
    let mut server = serve().await;
    let (_, body) = DELIVERIES[0];
    assert_eq!(server.post_signed(body.as_bytes()).await, StatusCode::OK);
    let Some(Delivery {
        event: Event::MessageSend(message),
        ..
    }) = server.next_event()
    else {
        panic!("expected message:send");
    };
    assert_eq!(
        message.session_id,
        "session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881"
    );
    assert_eq!(message.fingerprint, 170_000_000_012_345);
    assert_eq!(message.origin, "chat");
}

#[tokio::test]
async fn an_unknown_event_is_accepted_as_unknown() {
    let mut server = serve().await;
    let body = br#"{"website_id":"w1","event":"plugin:new_thing","data":{"answer":42,"nested":{"list":[1,"two",null]}},"timestamp":1700000000000}"#;
    assert_eq!(server.post_signed(body).await, StatusCode::OK);
    match server.next_event().expect("queued").event {
        Event::Unknown { name, data } => {
            assert_eq!(name, "plugin:new_thing");
            assert_eq!(
                data,
                serde_json::json!({"answer": 42, "nested": {"list": [1, "two", null]}})
            );
        }
        other => panic!("expected Event::Unknown, got {other:?}"),
    }
}

#[tokio::test]
async fn a_tampered_body_is_rejected_and_not_queued() {
    let mut server = serve().await;
    let (name, body) = DELIVERIES[0];
    let timestamp = millis_from_now(0);
    let signature = webhook::sign(SECRET.as_bytes(), &timestamp, body.as_bytes());
    // One byte of the content changed, the JSON still valid: "Hi" becomes "Hj".
    let tampered = body.replacen("\"Hi,", "\"Hj,", 1);
    assert_ne!(tampered, body, "{name}: the tamper did not apply");
    for position in [0, tampered.len() / 2, tampered.len() - 1] {
        let mut bytes = body.as_bytes().to_vec();
        bytes[position] ^= 0x01;
        let status = server
            .post(&bytes, Some(&timestamp), Some(&signature), "1")
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "byte {position} flipped");
    }
    let status = server
        .post(tampered.as_bytes(), Some(&timestamp), Some(&signature), "1")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The untouched body with the same headers still passes: only the tamper was refused.
    let status = server
        .post(body.as_bytes(), Some(&timestamp), Some(&signature), "2")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server.next_event().expect("queued").event.name(), name);
    assert!(
        server.next_event().is_none(),
        "a rejected request was queued"
    );
}

#[tokio::test]
async fn a_wrong_secret_is_rejected() {
    let mut server = serve().await;
    let (_, body) = DELIVERIES[0];
    let timestamp = millis_from_now(0);
    let signature = webhook::sign(b"some other plugin's secret", &timestamp, body.as_bytes());
    let status = server
        .post(body.as_bytes(), Some(&timestamp), Some(&signature), "1")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(server.next_event().is_none());
}

#[tokio::test]
async fn missing_or_malformed_headers_are_rejected() {
    let mut server = serve().await;
    let (_, body) = DELIVERIES[0];
    let body = body.as_bytes();
    let timestamp = millis_from_now(0);
    let signature = webhook::sign(SECRET.as_bytes(), &timestamp, body);
    let cases: [(&str, Option<&str>, Option<&str>); 5] = [
        ("no signature", Some(&timestamp), None),
        ("no timestamp", None, Some(&signature)),
        ("neither header", None, None),
        ("signature not hex", Some(&timestamp), Some(&"z".repeat(64))),
        ("timestamp not a number", Some("soon"), Some(&signature)),
    ];
    for (what, timestamp, signature) in cases {
        let status = server.post(body, timestamp, signature, "1").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
    }
    assert!(
        server.next_event().is_none(),
        "a rejected request was queued"
    );
}

#[tokio::test]
async fn a_timestamp_outside_the_window_is_rejected() {
    let mut server = serve().await;
    let (_, body) = DELIVERIES[0];
    let body = body.as_bytes();
    let window = i64::try_from(DEFAULT_TOLERANCE.as_millis()).unwrap();
    for (what, offset) in [
        ("stale", -window - 60_000),
        ("six minutes old", -360_000),
        ("ten minutes old", -600_000),
        ("from the future", window + 60_000),
    ] {
        // Correctly signed over its own (old) timestamp: a replay.
        let timestamp = millis_from_now(offset);
        let signature = webhook::sign(SECRET.as_bytes(), &timestamp, body);
        let status = server
            .post(body, Some(&timestamp), Some(&signature), "3")
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
    }
    // Four minutes late (a slow retry) is still inside the window.
    let timestamp = millis_from_now(-240_000);
    let signature = webhook::sign(SECRET.as_bytes(), &timestamp, body);
    let status = server
        .post(body, Some(&timestamp), Some(&signature), "2")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(server.next_event().is_some());
    assert!(
        server.next_event().is_none(),
        "a rejected request was queued"
    );
}

#[tokio::test]
async fn a_signed_body_that_is_not_a_delivery_is_a_bad_request() {
    let mut server = serve().await;
    let cases: [&[u8]; 6] = [
        b"",
        b"not json",
        b"[1,2,3]",
        br#"{"website_id":"w1","timestamp":1700000000000}"#,
        br#"{"event":42,"data":{}}"#,
        // A known event whose data does not fit its type (no session, content, ...).
        br#"{"website_id":"w1","event":"message:send","data":{"website_id":"w1"},"timestamp":1}"#,
    ];
    for body in cases {
        let status = server.post_signed(body).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    assert!(
        server.next_event().is_none(),
        "a rejected request was queued"
    );
}

#[tokio::test]
async fn only_post_on_the_webhook_path_is_routed() {
    let server = serve().await;
    let response = server.client.get(&server.url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let elsewhere = server.url.replace(receiver::WEBHOOK_PATH, "/crisp/other");
    let response = server.client.post(&elsewhere).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_full_queue_asks_crisp_to_retry() {
    let mut server = serve_with_capacity(1).await;
    let (_, body) = DELIVERIES[0];
    assert_eq!(server.post_signed(body.as_bytes()).await, StatusCode::OK);
    assert_eq!(
        server.post_signed(body.as_bytes()).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert!(server.next_event().is_some());
    assert_eq!(server.post_signed(body.as_bytes()).await, StatusCode::OK);
}

#[tokio::test]
async fn a_stopped_worker_asks_crisp_to_retry() {
    let mut server = serve().await;
    server.events.close();
    let (_, body) = DELIVERIES[0];
    assert_eq!(
        server.post_signed(body.as_bytes()).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn the_worker_drains_the_queue_and_stops_with_the_senders() {
    capture_logs();
    let (sender, events) = mpsc::channel(4);
    let worker = tokio::spawn(receiver::work(events));
    for (_, body) in DELIVERIES.iter().take(3) {
        let delivery = Delivery::from_slice(body.as_bytes()).unwrap();
        sender.send(delivery).await.unwrap();
    }
    drop(sender);
    tokio::time::timeout(Duration::from_secs(1), worker)
        .await
        .expect("the worker stops once every sender is dropped")
        .expect("the worker does not panic");
}

/// The logs name the event and the attempt count, and never contain the secret or a signature.
#[tokio::test]
async fn logs_show_the_event_and_attempt_but_no_secret() {
    let server = serve().await;
    let body = delivery("campaign:dispatched");
    let timestamp = millis_from_now(0);
    let signature = webhook::sign(SECRET.as_bytes(), &timestamp, body.as_bytes());
    let status = server
        .post(body.as_bytes(), Some(&timestamp), Some(&signature), "7")
        .await;
    assert_eq!(status, StatusCode::OK);
    let forged = webhook::sign(b"wrong", &timestamp, body.as_bytes());
    let status = server
        .post(body.as_bytes(), Some(&timestamp), Some(&forged), "8")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let stale = millis_from_now(-3_600_000);
    let stale_signature = webhook::sign(SECRET.as_bytes(), &stale, body.as_bytes());
    let status = server
        .post(body.as_bytes(), Some(&stale), Some(&stale_signature), "9")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The handler logs before it answers. Other tests log here too, with other attempt counts.
    let logs = logs();
    let line = |attempt: &str| {
        logs.lines()
            .find(|line| line.contains(&format!("attempt=\"{attempt}\"")))
            .unwrap_or_else(|| panic!("no log line for attempt {attempt}:\n{logs}"))
    };
    assert!(
        line("7").contains(r#"event="campaign:dispatched""#),
        "{logs}"
    );
    assert!(line("8").contains("signature does not match"), "{logs}");
    assert!(line("9").contains("outside the"), "{logs}");
    // Every test's logs so far: no secret, and no signature, accepted or not.
    for secret in [SECRET, &signature, &forged, &stale_signature] {
        assert!(!logs.contains(secret), "the logs leak {secret}:\n{logs}");
    }
}

/// A delivery of an event this crate does not know, padded to exactly `size` bytes.
fn padded_delivery(size: usize) -> Vec<u8> {
    let (head, tail) = (
        r#"{"website_id":"w1","event":"plugin:padding","data":{"pad":""#,
        r#""},"timestamp":1700000000000}"#,
    );
    let padding = size - head.len() - tail.len();
    let body = format!("{head}{}{tail}", "x".repeat(padding));
    assert_eq!(body.len(), size);
    body.into_bytes()
}

/// The log lines carrying this attempt count (each test uses counts of its own).
fn log_lines<'a>(logs: &'a str, attempt: &str) -> Vec<&'a str> {
    let needle = format!("attempt=\"{attempt}\"");
    logs.lines().filter(|line| line.contains(&needle)).collect()
}

/// A body over the limit is answered 413, correctly signed or not, and never reaches the
/// worker; a delivery of exactly the limit is read, checked and queued.
#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413() {
    let mut server = serve().await;
    let at_limit = padded_delivery(receiver::BODY_LIMIT);
    assert_eq!(server.post_signed(&at_limit).await, StatusCode::OK);
    assert_eq!(
        server.next_event().expect("queued").event.name(),
        "plugin:padding"
    );

    for size in [receiver::BODY_LIMIT + 1, 10 * 1024 * 1024] {
        let body = padded_delivery(size);
        assert_eq!(
            server.post_signed(&body).await,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{size} bytes, signed"
        );
        assert_eq!(
            server.post(&body, None, None, "1").await,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{size} bytes, unsigned"
        );
    }
    assert!(
        server.next_event().is_none(),
        "an oversized request was queued"
    );
}

/// Every refusal leaves one `warn` line (`error` for a stopped worker) with its status and
/// reason, and the attempt count; none leaks the secret or a signature.
#[tokio::test]
async fn every_refusal_is_logged_with_its_reason() {
    let mut server = serve_with_capacity(1).await;
    let (_, body) = DELIVERIES[0];
    let body = body.as_bytes();
    let timestamp = millis_from_now(0);
    let signature = webhook::sign(SECRET.as_bytes(), &timestamp, body);
    let forged = webhook::sign(b"not the secret", &timestamp, body);
    let old = millis_from_now(-360_000);
    let old_signature = webhook::sign(SECRET.as_bytes(), &old, body);
    let junk = b"not json";
    let junk_signature = webhook::sign(SECRET.as_bytes(), &timestamp, junk);
    let oversized = padded_delivery(10 * 1024 * 1024);
    let oversized_signature = webhook::sign(SECRET.as_bytes(), &timestamp, &oversized);

    let sent = [
        (
            "101",
            server.post(body, Some(&timestamp), None, "101").await,
        ),
        (
            "102",
            server
                .post(body, Some(&timestamp), Some(&forged), "102")
                .await,
        ),
        (
            "103",
            server
                .post(body, Some(&old), Some(&old_signature), "103")
                .await,
        ),
        (
            "104",
            server
                .post(junk, Some(&timestamp), Some(&junk_signature), "104")
                .await,
        ),
        (
            "105",
            server
                .post(body, Some(&timestamp), Some(&signature), "105")
                .await,
        ),
        (
            "106",
            server
                .post(body, Some(&timestamp), Some(&signature), "106")
                .await,
        ),
        (
            "107",
            server
                .post(
                    &oversized,
                    Some(&timestamp),
                    Some(&oversized_signature),
                    "107",
                )
                .await,
        ),
    ];
    server.events.close();
    let stopped = server
        .post(body, Some(&timestamp), Some(&signature), "108")
        .await;

    let statuses: Vec<(&str, u16)> = sent
        .iter()
        .map(|(attempt, status)| (*attempt, status.as_u16()))
        .chain([("108", stopped.as_u16())])
        .collect();
    assert_eq!(
        statuses,
        [
            ("101", 401),
            ("102", 401),
            ("103", 401),
            ("104", 400),
            ("105", 200),
            ("106", 503),
            ("107", 413),
            ("108", 503),
        ]
    );

    // The handler logs before it answers. Other tests log here too, with other attempt counts.
    let logs = logs();
    let expected: [(&str, &str, &[&str]); 8] = [
        ("101", "WARN", &["(401)", "no `x-crisp-signature` header"]),
        ("102", "WARN", &["(401)", "signature does not match"]),
        (
            "103",
            "WARN",
            &["(401)", "in the past, outside the 300s tolerance"],
        ),
        (
            "104",
            "WARN",
            &["not a delivery (400)", "not a Crisp delivery"],
        ),
        (
            "105",
            "INFO",
            &["accepted a webhook", r#"event="message:send""#],
        ),
        ("106", "WARN", &["worker queue full", "(503)"]),
        (
            "107",
            "WARN",
            &[
                "body over the size limit (413)",
                "limit=2097152",
                "content_length=\"10485760\"",
            ],
        ),
        ("108", "ERROR", &["worker has stopped", "(503)"]),
    ];
    for (attempt, level, needles) in expected {
        let lines = log_lines(&logs, attempt);
        assert!(
            lines
                .iter()
                .any(|line| line.contains(level) && needles.iter().all(|n| line.contains(n))),
            "attempt {attempt}: no {level} line with {needles:?} in {lines:#?}"
        );
    }
    // A refusal before the queue is one line, not one per check.
    for attempt in ["101", "102", "103", "104", "107"] {
        assert_eq!(log_lines(&logs, attempt).len(), 1, "attempt {attempt}");
    }
    for leak in [
        SECRET,
        &signature,
        &forged,
        &old_signature,
        &junk_signature,
        &oversized_signature,
    ] {
        assert!(!logs.contains(leak), "the logs leak {leak}:\n{logs}");
    }
}

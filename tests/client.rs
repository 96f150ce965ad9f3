//! The client layer over real HTTP on loopback: errors and their hints, retries that never
//! repeat a write, grants/confirmation/budget refusals before any I/O, the audit record, the
//! response cap, redirects, paging streams, and the key kept out of everything.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crisp_api::types::{ErrorReason, NewMessage};
use crisp_api::{
    AuditRecord, BuildError, Client, ClientBuilder, Credentials, Error, Grants, Operation, Outcome,
    Refusal, RetryPolicy,
};
use futures::TryStreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const WEBSITE: &str = "8c842203-7ed8-4e29-a608-7cf78a7d2fcc";
const SESSION: &str = "session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881";
const KEY: &str = "k3y-7f1c0e9a5b2d4c6e8a0b1c2d3e4f5a6b";

/// A client on `server` with the test key, quick retries, and every audit record kept.
fn builder(base: &str) -> ClientBuilder {
    Client::builder(Credentials::plugin("ident-3f2a", KEY))
        .base_url(base)
        .retry(
            RetryPolicy::default()
                .initial_delay(Duration::from_millis(5))
                .max_delay(Duration::from_millis(20)),
        )
}

#[derive(Clone, Default)]
struct Audit(Arc<Mutex<Vec<AuditRecord>>>);

impl Audit {
    fn attach(&self, builder: ClientBuilder) -> ClientBuilder {
        let sink = self.clone();
        builder.on_audit(move |record| sink.0.lock().unwrap().push(record.clone()))
    }

    fn records(&self) -> Vec<AuditRecord> {
        self.0.lock().unwrap().clone()
    }

    fn only(&self) -> AuditRecord {
        let records = self.records();
        assert_eq!(records.len(), 1, "one record per call: {records:#?}");
        records.into_iter().next().unwrap()
    }
}

fn envelope(data: Value) -> Value {
    json!({"error": false, "reason": "resolved", "data": data})
}

fn message() -> NewMessage {
    NewMessage::text("We are on it!")
}

async fn send_message(client: &Client) -> Result<crisp_api::types::SendMessageResponse, Error> {
    client
        .send_message()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .body(message())
        .send()
        .await
}

async fn get_state(
    client: &Client,
) -> Result<crisp_api::types::GetConversationStateResponse, Error> {
    client
        .get_conversation_state()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .send()
        .await
}

async fn received(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

// ---------------------------------------------------------------------------------------------
// Errors

#[tokio::test]
async fn each_status_and_reason_maps_to_its_case_and_hint() {
    let cases: &[(u16, &str, ErrorReason, &str)] = &[
        (
            400,
            "invalid_data",
            ErrorReason::InvalidData,
            "fix the request fields",
        ),
        (
            401,
            "invalid_session",
            ErrorReason::InvalidSession,
            "identifier and key",
        ),
        (
            403,
            "not_allowed",
            ErrorReason::NotAllowed,
            "website:conversation:states` at read level",
        ),
        (
            404,
            "not_found",
            ErrorReason::NotFound,
            "Verify the website_id",
        ),
        (
            404,
            "not_subscribed",
            ErrorReason::NotSubscribed,
            "has not installed the plugin",
        ),
        (
            403,
            "restricted_route_tier",
            ErrorReason::RestrictedRouteTier,
            "tier",
        ),
        (409, "conflict", ErrorReason::Conflict, "current state"),
        (
            418,
            "brand_new_reason",
            ErrorReason::Unknown("brand_new_reason".into()),
            "not one this crate knows",
        ),
    ];
    for (status, reason, expected, hint) in cases {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(*status).set_body_json(json!({
                "error": true, "reason": reason, "data": {"message": "what Crisp said"}
            })))
            .mount(&server)
            .await;
        let client = builder(&server.uri()).build().unwrap();
        let error = get_state(&client).await.unwrap_err();
        match &error {
            Error::Api {
                operation,
                status: s,
                reason: r,
                message,
            } => {
                assert_eq!(operation.id, "get_conversation_state");
                assert_eq!(s.as_u16(), *status);
                assert_eq!(r, expected);
                assert_eq!(message.as_deref(), Some("what Crisp said"));
            }
            other => panic!("{status} {reason}: {other:?}"),
        }
        assert_eq!(error.status().map(|s| s.as_u16()), Some(*status));
        assert_eq!(error.operation().id, "get_conversation_state");
        assert!(
            error.hint().contains(hint),
            "{status} {reason}: {}",
            error.hint()
        );
        assert!(!error.is_retryable());
        assert_eq!(
            received(&server).await,
            1,
            "{status}: API errors are not retried"
        );
    }
}

#[tokio::test]
async fn rate_limits_are_their_own_case_with_retry_after() {
    for status in [429, 420] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("retry-after", "120")
                    .set_body_json(json!({"error": true, "reason": "rate_limited", "data": {}})),
            )
            .mount(&server)
            .await;
        let client = builder(&server.uri()).build().unwrap();
        match get_state(&client).await.unwrap_err() {
            Error::RateLimited {
                status: s,
                retry_after,
                attempts,
                ..
            } => {
                assert_eq!(s.as_u16(), status);
                assert_eq!(retry_after, Some(Duration::from_secs(120)));
                assert_eq!(attempts, 1, "a wait over the cap is not waited for");
            }
            other => panic!("{status}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn bodies_that_are_not_the_expected_json_give_clear_errors() {
    let html = "<html><head><title>502 Bad Gateway</title></head><body>cloudflare</body></html>";
    let cases: Vec<(&str, ResponseTemplate, u16, &str)> = vec![
        (
            "an HTML 502 from an edge proxy",
            ResponseTemplate::new(502).set_body_raw(html, "text/html"),
            502,
            "502 Bad Gateway",
        ),
        ("an empty 500", ResponseTemplate::new(500), 500, "(empty)"),
        (
            "malformed JSON in a 200",
            ResponseTemplate::new(200)
                .set_body_raw("{\"error\":false,\"reason\":", "application/json"),
            200,
            "JSON cut short",
        ),
        (
            "an empty 200",
            ResponseTemplate::new(200),
            200,
            "the body is empty",
        ),
        (
            "a 200 of another shape",
            ResponseTemplate::new(200)
                .set_body_json(json!({"error": false, "reason": "resolved", "data": {"state": 7}})),
            200,
            "at `data.state`",
        ),
    ];
    for (what, response, status, expected) in cases {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(response)
            .mount(&server)
            .await;
        let client = builder(&server.uri())
            .retry(RetryPolicy::never())
            .build()
            .unwrap();
        let error = get_state(&client).await.unwrap_err();
        match &error {
            Error::UnexpectedBody { status: s, .. } => assert_eq!(s.as_u16(), status, "{what}"),
            other => panic!("{what}: {other:?}"),
        }
        let text = error.to_string();
        assert!(text.contains(expected), "{what}: {text}");
        assert!(
            text.len() < 1200,
            "{what}: a short message, got {} bytes",
            text.len()
        );
        assert!(
            !text.contains(KEY) && !text.contains("Basic "),
            "{what}: {text}"
        );
    }
}

/// `error: true` on a 2xx is an API error (any 2xx with an envelope is success: see
/// `tests/success_status.rs`).
#[tokio::test]
async fn error_true_on_a_200_is_an_api_error() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "error": true, "reason": "invalid_data", "data": {"message": "content is empty"}
        })))
        .mount(&server)
        .await;
    let client = builder(&server.uri()).build().unwrap();
    match send_message(&client).await.unwrap_err() {
        Error::Api {
            status,
            reason,
            message,
            ..
        } => {
            assert_eq!(status.as_u16(), 200);
            assert_eq!(reason, ErrorReason::InvalidData);
            // The message survives where the route's data is untyped; a typed route's data
            // has no room for it.
            assert_eq!(message, None);
        }
        other => panic!("{other:?}"),
    }
    let error = client
        .change_conversation_state()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .body(
            crisp_api::types::ConversationStateUpdate::builder()
                .state(crisp_api::types::ConversationState::Resolved),
        )
        .send()
        .await
        .unwrap_err();
    match error {
        Error::Api {
            status,
            reason,
            message,
            ..
        } => {
            assert_eq!(status.as_u16(), 200);
            assert_eq!(reason, ErrorReason::InvalidData);
            assert_eq!(message.as_deref(), Some("content is empty"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn oversized_answers_end_with_too_large_without_being_read_whole() {
    let server = MockServer::start().await;
    let big = json!({"error": false, "reason": "resolved", "data": {"state": "x".repeat(3000)}});
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(big))
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .max_response_bytes(1024)
        .build()
        .unwrap();
    match get_state(&client).await.unwrap_err() {
        Error::TooLarge { limit, length, .. } => {
            assert_eq!(limit, 1024);
            assert!(length.unwrap() > 3000);
        }
        other => panic!("{other:?}"),
    }

    // Without a Content-Length (chunked), the body is cut off at the cap while read.
    let url = chunked_server(200, 1 << 20).await;
    let client = builder(&url).max_response_bytes(64 * 1024).build().unwrap();
    match get_state(&client).await.unwrap_err() {
        Error::TooLarge { limit, length, .. } => {
            assert_eq!(limit, 64 * 1024);
            assert_eq!(length, None);
        }
        other => panic!("{other:?}"),
    }
}

/// A server that answers every request with a chunked body of `size` bytes of `x`.
async fn chunked_server(status: u16, size: usize) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = read_request(&mut socket).await;
                let head = format!(
                    "HTTP/1.1 {status} OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
                );
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b'x'; 8192];
                let mut sent = 0;
                while sent < size {
                    let frame =
                        [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
                    if socket.write_all(&frame).await.is_err() {
                        return;
                    }
                    sent += chunk.len();
                }
                let _ = socket.write_all(b"0\r\n\r\n").await;
            });
        }
    });
    url
}

/// Reads one HTTP/1.1 request (head and Content-Length body) from `socket`.
async fn read_request(socket: &mut tokio::net::TcpStream) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(buf);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return Ok(buf);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Retries

/// Answers the first `failures` requests with `failure`, then 200 with `body`.
struct FailThen {
    failures: usize,
    failure: ResponseTemplate,
    body: Value,
    seen: Arc<Mutex<Vec<Instant>>>,
}

impl Respond for FailThen {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let mut seen = self.seen.lock().unwrap();
        seen.push(Instant::now());
        if seen.len() <= self.failures {
            self.failure.clone()
        } else {
            ResponseTemplate::new(200).set_body_json(self.body.clone())
        }
    }
}

#[tokio::test]
async fn a_get_answered_429_then_200_succeeds_after_waiting_retry_after() {
    let server = MockServer::start().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("GET"))
        .respond_with(FailThen {
            failures: 1,
            failure: ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"error": true, "reason": "rate_limited", "data": {}})),
            body: envelope(json!({"state": "unresolved"})),
            seen: Arc::clone(&seen),
        })
        .mount(&server)
        .await;
    let audit = Audit::default();
    let client = audit.attach(builder(&server.uri())).build().unwrap();
    let state = get_state(&client).await.unwrap();
    assert_eq!(
        serde_json::to_value(&state.data).unwrap()["state"],
        "unresolved"
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert!(
        seen[1] - seen[0] >= Duration::from_secs(1),
        "waited {:?}",
        seen[1] - seen[0]
    );
    let record = audit.only();
    assert_eq!(
        (record.outcome, record.attempts, record.status),
        (Outcome::Succeeded, 2, Some(200))
    );
}

#[tokio::test]
async fn a_message_answered_502_reaches_the_server_exactly_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(502).set_body_raw("<html>Bad Gateway</html>", "text/html"),
        )
        .mount(&server)
        .await;
    let audit = Audit::default();
    let client = audit.attach(builder(&server.uri())).build().unwrap();
    let error = send_message(&client).await.unwrap_err();
    assert!(matches!(error, Error::UnexpectedBody { .. }), "{error:?}");
    assert!(error.is_retryable(), "the caller may decide to repeat it");
    assert_eq!(
        received(&server).await,
        1,
        "a message that may have been sent is not repeated"
    );
    assert_eq!(audit.only().attempts, 1);
}

#[tokio::test]
async fn a_message_opted_in_per_call_or_per_client_is_repeated() {
    for per_call in [true, false] {
        let server = MockServer::start().await;
        let seen = Arc::new(Mutex::new(Vec::new()));
        Mock::given(method("POST"))
            .respond_with(FailThen {
                failures: 1,
                failure: ResponseTemplate::new(503),
                body: envelope(json!({"fingerprint": 163_408_221_955_193_i64})),
                seen: Arc::clone(&seen),
            })
            .mount(&server)
            .await;
        let mut b = builder(&server.uri());
        if !per_call {
            b = b.retry(
                RetryPolicy::default()
                    .initial_delay(Duration::from_millis(5))
                    .retry_writes(true),
            );
        }
        let client = b.build().unwrap();
        let call = client
            .send_message()
            .website_id(WEBSITE)
            .session_id(SESSION)
            .body(message());
        let call = if per_call {
            call.retry_writes(true)
        } else {
            call
        };
        let sent = call.send().await.unwrap();
        assert_eq!(sent.data.fingerprint, Some(163_408_221_955_193));
        assert_eq!(received(&server).await, 2);
    }
}

#[tokio::test]
async fn a_message_cut_off_after_it_was_sent_is_not_repeated() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(Mutex::new(0usize));
    let counter = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let request = read_request(&mut socket).await.unwrap_or_default();
            if !request.is_empty() {
                *counter.lock().unwrap() += 1;
            }
            drop(socket); // the request arrived; the answer never comes
        }
    });
    let audit = Audit::default();
    let client = audit.attach(builder(&url)).build().unwrap();
    let error = send_message(&client).await.unwrap_err();
    match &error {
        Error::Transport { sent, attempts, .. } => {
            assert!(*sent, "the request may have reached Crisp");
            assert_eq!(*attempts, 1);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        *count.lock().unwrap(),
        1,
        "the message reached the server exactly once"
    );
    // A read is repeated on the same failure.
    let error = get_state(&client).await.unwrap_err();
    assert!(
        matches!(error, Error::Transport { attempts: 3, .. }),
        "{error:?}"
    );
    assert_eq!(*count.lock().unwrap(), 4);
}

#[tokio::test]
async fn a_refused_connection_is_retried_even_for_a_write_and_attempts_are_bounded() {
    // A port nobody listens on: bind, note it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let audit = Audit::default();
    let client = audit
        .attach(builder(&format!("http://127.0.0.1:{port}")))
        .build()
        .unwrap();
    let error = send_message(&client).await.unwrap_err();
    match &error {
        Error::Transport { sent, attempts, .. } => {
            assert!(!sent, "provably never sent");
            assert_eq!(*attempts, 3);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        error.hint().contains("nothing reached Crisp"),
        "{}",
        error.hint()
    );
    let record = audit.only();
    assert_eq!(
        (record.outcome, record.attempts, record.error),
        (Outcome::Failed, 3, Some("transport"))
    );
}

#[tokio::test]
async fn reads_are_retried_a_bounded_number_of_times_within_a_bounded_time() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .retry(
            RetryPolicy::default()
                .initial_delay(Duration::from_millis(5))
                .max_attempts(4),
        )
        .build()
        .unwrap();
    let started = Instant::now();
    let error = get_state(&client).await.unwrap_err();
    assert!(error.is_retryable());
    assert_eq!(received(&server).await, 4);
    assert!(started.elapsed() < Duration::from_secs(2));

    // The total-time bound wins over attempts: a 1 s wait does not fit in 500 ms.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "1"))
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .retry(RetryPolicy::default().max_total(Duration::from_millis(500)))
        .build()
        .unwrap();
    let started = Instant::now();
    get_state(&client).await.unwrap_err();
    assert_eq!(received(&server).await, 1);
    assert!(started.elapsed() < Duration::from_millis(900));

    // Retries can be switched off.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .retry(RetryPolicy::never())
        .build()
        .unwrap();
    get_state(&client).await.unwrap_err();
    assert_eq!(received(&server).await, 1);
}

#[tokio::test]
async fn timeouts_are_their_own_case() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .timeout(Duration::from_millis(100))
        .retry(
            RetryPolicy::default()
                .initial_delay(Duration::from_millis(5))
                .max_attempts(2),
        )
        .build()
        .unwrap();
    match get_state(&client).await.unwrap_err() {
        Error::Timeout {
            after, attempts, ..
        } => {
            assert_eq!(after, Duration::from_millis(100));
            assert_eq!(attempts, 2);
        }
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Refusals before any I/O

#[tokio::test]
async fn grants_confirmation_and_budget_refuse_with_zero_requests_and_an_audit_record() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(envelope(json!({"state": "pending"}))),
        )
        .mount(&server)
        .await;

    // Not granted.
    let audit = Audit::default();
    let grants: Grants = "website:conversation:states=write".parse().unwrap();
    let client = audit
        .attach(builder(&server.uri()).grants(grants))
        .build()
        .unwrap();
    match get_state(&client).await.unwrap_err() {
        Error::NotGranted {
            scope,
            needed,
            granted,
            ..
        } => {
            assert_eq!(scope, "website:conversation:states");
            assert_eq!(needed, crisp_api::Access::Read);
            assert_eq!(granted, Some(crisp_api::Level::Write));
        }
        other => panic!("{other:?}"),
    }
    let record = audit.only();
    assert_eq!(record.outcome, Outcome::Refused(Refusal::NotGranted));
    assert_eq!((record.attempts, record.status), (0, None));
    assert_eq!(
        record.path_ids,
        [
            ("website_id", WEBSITE.to_owned()),
            ("session_id", SESSION.to_owned())
        ]
    );

    // Not confirmed: the callback sees the operation and ids, never the key.
    let audit = Audit::default();
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&asked);
    let client = audit
        .attach(builder(&server.uri()))
        .confirm(move |request| {
            log.lock().unwrap().push(request.to_string());
            false
        })
        .build()
        .unwrap();
    assert!(matches!(
        send_message(&client).await.unwrap_err(),
        Error::NotConfirmed { .. }
    ));
    get_state(&client).await.expect("reads are not confirmed");
    assert_eq!(
        *asked.lock().unwrap(),
        [format!(
            "send_message (customer-visible) on website_id={WEBSITE}, session_id={SESSION}"
        )]
    );
    let records = audit.records();
    assert_eq!(records[0].outcome, Outcome::Refused(Refusal::NotConfirmed));
    assert_eq!(records[1].outcome, Outcome::Succeeded);

    // Budget: two requests a day.
    let audit = Audit::default();
    let client = audit
        .attach(builder(&server.uri()))
        .daily_budget(2)
        .build()
        .unwrap();
    get_state(&client).await.unwrap();
    get_state(&client).await.unwrap();
    let budget = client.budget().unwrap();
    assert_eq!((budget.used, budget.remaining), (2, 0));
    match get_state(&client).await.unwrap_err() {
        Error::BudgetSpent {
            limit, resets_in, ..
        } => {
            assert_eq!(limit, 2);
            assert!(resets_in <= Duration::from_secs(24 * 3600));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        audit.records()[2].outcome,
        Outcome::Refused(Refusal::BudgetSpent)
    );

    // Only the successful reads ever reached the server.
    assert_eq!(received(&server).await, 1 + 2);
}

#[tokio::test]
async fn the_budget_counts_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let audit = Audit::default();
    let client = audit
        .attach(builder(&server.uri()).daily_budget(5))
        .build()
        .unwrap();
    get_state(&client).await.unwrap_err();
    assert_eq!(client.budget().unwrap().used, 3);
    let error = get_state(&client).await.unwrap_err();
    assert!(matches!(error, Error::BudgetSpent { .. }), "{error:?}");
    assert_eq!(received(&server).await, 5);
    // Spent between retries: two requests went out, so the record says failed, not refused.
    let record = audit.records().pop().unwrap();
    assert_eq!(record.outcome, Outcome::Failed);
    assert_eq!(record.attempts, 2);
    assert_eq!(record.error, Some("budget_spent"));
    assert_eq!(record.status, Some(503));
    // And once spent, the next call is refused before any request.
    get_state(&client).await.unwrap_err();
    let record = audit.records().pop().unwrap();
    assert_eq!(record.outcome, Outcome::Refused(Refusal::BudgetSpent));
    assert_eq!(record.attempts, 0);
    assert_eq!(received(&server).await, 5);
}

#[tokio::test]
async fn credentials_a_header_cannot_carry_are_refused_when_building() {
    for (identifier, key) in [
        ("ident", "key\r\nX-Evil: 1"),
        ("ident", ""),
        ("id:ent", "key"),
        ("ident", "key\n"),
    ] {
        let error = Client::builder(Credentials::plugin(identifier, key))
            .build()
            .unwrap_err();
        assert!(
            matches!(error, BuildError::InvalidCredentials { .. }),
            "{identifier:?}: {error}"
        );
        assert!(!error.to_string().contains("X-Evil"), "{error}");
    }
}

// ---------------------------------------------------------------------------------------------
// Redirects

#[tokio::test]
async fn redirects_to_another_origin_are_refused_and_same_origin_ones_recorded() {
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(envelope(json!({"state": "pending"}))),
        )
        .mount(&elsewhere)
        .await;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex("/away/state$"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/stolen", elsewhere.uri())),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("/moved/state$"))
        .respond_with(ResponseTemplate::new(301).insert_header("location", "/v2/state"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/state"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(envelope(json!({"state": "resolved"}))),
        )
        .mount(&server)
        .await;
    let audit = Audit::default();
    let client = audit.attach(builder(&server.uri())).build().unwrap();
    let call = |session: &'static str| {
        let client = client.clone();
        async move {
            client
                .get_conversation_state()
                .website_id(WEBSITE)
                .session_id(session)
                .send()
                .await
        }
    };
    match call("away").await.unwrap_err() {
        Error::Redirect { location, .. } => assert_eq!(location, elsewhere.uri()),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        received(&elsewhere).await,
        0,
        "the other origin got nothing"
    );
    call("moved").await.unwrap();
    let records = audit.records();
    assert_eq!(records[0].error, Some("redirect"));
    assert_eq!(records[1].redirected_to.as_deref(), Some("/v2/state"));
}

#[tokio::test]
async fn a_redirect_loop_ends_in_a_redirect_error_not_a_retried_broken_connection() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex("/state$"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/v1/loop/state"))
        .mount(&server)
        .await;
    let client = builder(&server.uri()).build().unwrap();
    let error = client
        .get_conversation_state()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .send()
        .await
        .unwrap_err();
    match &error {
        Error::Redirect { location, .. } => assert_eq!(location, "/v1/loop/state"),
        other => panic!("{other:?}"),
    }
    assert!(!error.is_retryable());
    // One attempt: the first request and its 5 followed hops.
    assert_eq!(received(&server).await, 6);
}

// ---------------------------------------------------------------------------------------------
// Streams

#[tokio::test]
async fn a_conversation_stream_walks_five_full_pages_and_a_short_one_then_stops() {
    let server = MockServer::start().await;
    for page in 1..=6u32 {
        let count = if page < 6 { 20 } else { 7 };
        let items: Vec<Value> = (0..count)
            .map(|i| json!({"session_id": format!("session_{page}_{i}"), "website_id": WEBSITE, "state": "unresolved"}))
            .collect();
        Mock::given(method("GET"))
            .and(path(format!("/website/{WEBSITE}/conversations/{page}")))
            .and(query_param("filter_not_resolved", "1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(envelope(json!(items))))
            .expect(1)
            .mount(&server)
            .await;
    }
    let audit = Audit::default();
    let client = audit.attach(builder(&server.uri())).build().unwrap();
    let conversations: Vec<_> = client
        .list_conversations()
        .website_id(WEBSITE)
        .filter_not_resolved(1)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(conversations.len(), 5 * 20 + 7);
    assert_eq!(conversations[0].session_id, "session_1_0");
    assert_eq!(conversations[106].session_id, "session_6_6");
    assert_eq!(received(&server).await, 6, "exactly 6 pages fetched");
    assert_eq!(audit.records().len(), 6, "one audit record per page");

    // per_page changes the page size the stream expects.
    let server = MockServer::start().await;
    for page in 1..=2u32 {
        let count = if page == 1 { 50 } else { 49 };
        let items: Vec<Value> = (0..count)
            .map(|i| json!({"session_id": format!("s{i}"), "website_id": WEBSITE}))
            .collect();
        Mock::given(method("GET"))
            .and(path(format!("/website/{WEBSITE}/conversations/{page}")))
            .and(query_param("per_page", "50"))
            .respond_with(ResponseTemplate::new(200).set_body_json(envelope(json!(items))))
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = builder(&server.uri()).build().unwrap();
    let all: Vec<_> = client
        .list_conversations()
        .website_id(WEBSITE)
        .per_page(50)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 99);
}

#[tokio::test]
async fn an_error_mid_stream_ends_it_with_that_error() {
    let server = MockServer::start().await;
    let full: Vec<Value> = (0..20)
        .map(|i| json!({"session_id": format!("s{i}"), "website_id": WEBSITE}))
        .collect();
    Mock::given(method("GET"))
        .and(path(format!("/website/{WEBSITE}/conversations/1")))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(json!(full))))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/website/{WEBSITE}/conversations/2")))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"error": true, "reason": "not_allowed", "data": {}})),
        )
        .mount(&server)
        .await;
    let client = builder(&server.uri()).build().unwrap();
    let items: Vec<_> =
        futures::StreamExt::collect(client.list_conversations().website_id(WEBSITE).stream()).await;
    assert_eq!(items.len(), 21);
    assert!(items[..20].iter().all(Result::is_ok));
    assert!(matches!(
        &items[20],
        Err(Error::Api {
            reason: ErrorReason::NotAllowed,
            ..
        })
    ));
    assert_eq!(received(&server).await, 2);
}

#[tokio::test]
async fn the_messages_stream_walks_back_in_time() {
    let server = MockServer::start().await;
    let batch = |stamps: &[i64]| {
        let items: Vec<Value> = stamps
            .iter()
            .map(|t| json!({"type": "text", "content": format!("m{t}"), "timestamp": t, "fingerprint": t * 10}))
            .collect();
        ResponseTemplate::new(200).set_body_json(envelope(json!(items)))
    };
    let messages = format!("/website/{WEBSITE}/conversation/{SESSION}/messages");
    Mock::given(method("GET"))
        .and(path(messages.as_str()))
        .and(query_param("timestamp_before", "1000"))
        .respond_with(batch(&[900, 950]))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(messages.as_str()))
        .and(query_param("timestamp_before", "900"))
        .respond_with(batch(&[]))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(messages.as_str()))
        .respond_with(batch(&[1000, 1100, 1200]))
        .with_priority(10)
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server.uri()).build().unwrap();
    let stamps: Vec<i64> = client
        .list_messages()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .stream()
        .map_ok(|m| m.timestamp.unwrap())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(stamps, [1200, 1100, 1000, 950, 900]);
}

// ---------------------------------------------------------------------------------------------
// Dynamic calls

#[tokio::test]
async fn dynamic_calls_go_through_the_same_pipeline() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path(format!(
            "/website/{WEBSITE}/conversation/{SESSION}/state"
        )))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"error": false, "reason": "updated", "data": {}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let audit = Audit::default();
    let client = audit
        .attach(builder(&server.uri()))
        .grants("website:conversation:states=write".parse().unwrap())
        .build()
        .unwrap();
    let (result, record) = client
        .call(&Operation::CHANGE_CONVERSATION_STATE)
        .path("website_id", WEBSITE)
        .path("session_id", SESSION)
        .body(json!({"state": "resolved"}))
        .send_audited()
        .await;
    assert_eq!(result.unwrap()["reason"], "updated");
    assert_eq!(
        (record.outcome, record.reason.as_deref()),
        (Outcome::Succeeded, Some("updated"))
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&requests[0].body).unwrap(),
        json!({"state": "resolved"})
    );

    let refused = client
        .call(&Operation::GET_CONVERSATION_STATE)
        .path("website_id", WEBSITE)
        .path("session_id", SESSION)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::NotGranted { .. }));
    let bad = client
        .call(&Operation::CHANGE_CONVERSATION_STATE)
        .path("website_id", WEBSITE)
        .path("session_id", "..")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            bad,
            Error::InvalidRequest {
                parameter: Some("session_id"),
                ..
            }
        ),
        "{bad}"
    );
    assert_eq!(received(&server).await, 1);
    let records = audit.records();
    assert_eq!(records.len(), 3, "{records:#?}");
}

// ---------------------------------------------------------------------------------------------
// Types an async program moves across tasks

#[test]
fn clients_errors_futures_and_streams_can_cross_tasks() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let client = builder("http://127.0.0.1:9").build().unwrap();
    send_sync(&client);
    send_sync(&Error::NotConfirmed {
        operation: &Operation::SEND_MESSAGE,
    });
    let call = client
        .get_conversation()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .send();
    send(&call);
    let stream = client.list_conversations().website_id(WEBSITE).stream();
    send(&stream);
    let dynamic = client.call(&Operation::COUNT_VISITORS).send();
    send(&dynamic);
}

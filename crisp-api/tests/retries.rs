//! Retries that never repeat a write: `Retry-After`, a message answered 502 or cut off after it
//! was sent reaching the server exactly once, opt-ins, bounded attempts and time, timeouts.

#[path = "support/client.rs"]
mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crisp_api::{Error, Outcome, RetryPolicy};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use support::*;

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
        error.hint().contains("Nothing reached Crisp"),
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

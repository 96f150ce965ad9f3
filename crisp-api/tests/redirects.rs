//! Redirects: another origin refused, same-origin ones followed and recorded, loops ended.

#[path = "support/client.rs"]
mod support;

use crisp_api::{AuditRecord, Error, Method, Operation, Outcome};
use serde_json::json;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use support::*;

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

/// Where the redirected writes below point: a read of the same origin that would answer
/// 200 with a conversation list, as "the answer" to a write.
fn list_path() -> String {
    format!("/website/{WEBSITE}/conversations/1")
}

/// A server whose every write answers `status` with `Location: list_path()`, and whose list
/// answers 200.
async fn redirecting_writes(status: u16) -> MockServer {
    let server = MockServer::start().await;
    for verb in ["POST", "PATCH", "PUT", "DELETE"] {
        Mock::given(method(verb))
            .respond_with(ResponseTemplate::new(status).insert_header("location", list_path()))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(list_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(json!([
            {"session_id": SESSION, "website_id": WEBSITE}
        ]))))
        .mount(&server)
        .await;
    server
}

/// The requests `server` received, as `METHOD path`.
async fn requests(server: &MockServer) -> Vec<String> {
    let requests = server.received_requests().await.unwrap_or_default();
    requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect()
}

fn assert_unfollowed(error: &Error, status: u16) {
    match error {
        Error::Redirect { location, .. } => assert_eq!(location, &list_path(), "{status}"),
        other => panic!("{status}: a redirected write must end as a redirect error: {other:?}"),
    }
    assert!(!error.is_retryable());
}

fn assert_failed_record(record: &AuditRecord, status: u16) {
    assert_eq!(record.outcome, Outcome::Failed, "{status}: {record}");
    assert_eq!(record.error, Some("redirect"), "{status}: {record}");
    assert_eq!(record.status, Some(status), "{status}: {record}");
    assert_eq!(record.attempts, 1, "{status}: {record}");
    assert_eq!(record.redirected_to, None, "{status}: {record}");
}

#[tokio::test]
async fn a_redirect_that_would_turn_a_typed_write_into_a_get_is_not_followed() {
    for status in [301, 302, 303] {
        let server = redirecting_writes(status).await;
        let audit = Audit::default();
        let client = audit.attach(builder(&server.uri())).build().unwrap();
        let error = send_message(&client).await.unwrap_err();
        assert_unfollowed(&error, status);
        assert_failed_record(&audit.only(), status);
        let message = format!("POST /website/{WEBSITE}/conversation/{SESSION}/message");
        assert_eq!(
            requests(&server).await,
            [message],
            "{status}: no GET follows"
        );
    }
}

#[tokio::test]
async fn a_redirect_that_would_turn_a_dynamic_write_into_a_get_is_not_followed() {
    let writes = [
        &Operation::SEND_MESSAGE,
        &Operation::CHANGE_CONVERSATION_STATE,
        &Operation::SAVE_PEOPLE_PROFILE,
        &Operation::REMOVE_CONVERSATION,
    ];
    for status in [301, 302, 303] {
        let server = redirecting_writes(status).await;
        let audit = Audit::default();
        let client = audit.attach(builder(&server.uri())).build().unwrap();
        for operation in writes {
            let mut call = client.call(operation);
            for name in operation.path_params() {
                call = call.path(name, format!("{name}-1"));
            }
            if operation.method != Method::Delete {
                call = call.body(json!({"content": "hello", "type": "text", "from": "operator", "origin": "chat"}));
            }
            let (result, record) = call.send_audited().await;
            let error = result.expect_err("a redirected write is not an answer");
            assert_unfollowed(&error, status);
            assert_failed_record(&record, status);
        }
        let sent = requests(&server).await;
        assert_eq!(
            sent.len(),
            writes.len(),
            "{status}: only the writes: {sent:?}"
        );
        assert!(
            sent.iter().all(|r| !r.starts_with("GET")),
            "{status}: {sent:?}"
        );
    }
}

#[tokio::test]
async fn same_origin_307_and_308_keep_the_method_and_body_and_are_followed() {
    for status in [307, 308] {
        let server = MockServer::start().await;
        let moved = format!("/v2/website/{WEBSITE}/conversation/{SESSION}/message");
        Mock::given(method("POST"))
            .and(path(format!(
                "/website/{WEBSITE}/conversation/{SESSION}/message"
            )))
            .respond_with(ResponseTemplate::new(status).insert_header("location", moved.as_str()))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(moved.as_str()))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(envelope(json!({"fingerprint": 163408221955193_i64}))),
            )
            .mount(&server)
            .await;
        let audit = Audit::default();
        let client = audit.attach(builder(&server.uri())).build().unwrap();
        send_message(&client).await.unwrap();
        let record = audit.only();
        assert_eq!(record.outcome, Outcome::Succeeded, "{status}: {record}");
        assert_eq!(record.redirected_to.as_deref(), Some(moved.as_str()));
        let received = server.received_requests().await.unwrap();
        assert_eq!(received.len(), 2, "{status}");
        assert_eq!(received[1].method.as_str(), "POST");
        assert_eq!(
            received[1].body, received[0].body,
            "{status}: the same body"
        );
        assert!(!received[1].body.is_empty());
    }
}

#[tokio::test]
async fn a_write_whose_redirect_cannot_connect_counts_as_sent_and_is_not_retried() {
    // The server answers the POST with a same-origin 307, then stops listening: the write
    // reached it, so the failed hop must not pass for a request that never left.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let moved = format!("{base}/v2/message");
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        read_request(&mut socket).await.unwrap();
        drop(listener);
        let answer = format!(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: {moved}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        );
        tokio::io::AsyncWriteExt::write_all(&mut socket, answer.as_bytes())
            .await
            .unwrap();
    });
    let audit = Audit::default();
    let client = audit.attach(builder(&base)).build().unwrap();
    let error = send_message(&client).await.unwrap_err();
    assert!(
        matches!(error, Error::Transport { sent: true, .. }),
        "{error:?}"
    );
    let record = audit.only();
    assert_eq!(
        record.attempts, 1,
        "a write that reached Crisp is not repeated: {record}"
    );
}

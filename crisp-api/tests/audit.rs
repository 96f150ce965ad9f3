//! Every call leaves one audit record on the `crisp_api::audit` tracing target (refused calls
//! included), with what was called on which ids and how it ended; and the key never appears in
//! `Debug`, errors or traces, across the error paths.
//!
//! One global subscriber captures everything this binary traces (a per-test subscriber races
//! with tracing's callsite cache when tests run in parallel); each test picks its own lines by
//! a website id of its own.

use std::sync::{Arc, Mutex, OnceLock};

use crisp_api::types::{BlockUpdate, NewMessage};
use crisp_api::{AUDIT_TARGET, Client, ClientBuilder, Credentials, Error, Grants, RetryPolicy};
use serde_json::json;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "k3y-7f1c0e9a5b2d4c6e8a0b1c2d3e4f5a6b";
const SESSION: &str = "session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything traced so far by this test binary.
fn log() -> String {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    let captured = CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::TRACE)
            .init();
        captured
    });
    String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned()
}

fn builder(server: &MockServer) -> ClientBuilder {
    log();
    Client::builder(Credentials::plugin("audit-identifier", KEY))
        .base_url(server.uri())
        .retry(RetryPolicy::never())
}

/// The audit lines that mention `website`.
fn records_for(website: &str) -> Vec<String> {
    log()
        .lines()
        .filter(|l| l.contains(AUDIT_TARGET) && l.contains(website))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn each_call_leaves_one_record_with_what_and_how_it_ended() {
    let website = "website-audit-fields";
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("bloom-status", "HIT")
                .set_body_json(
                    json!({"error": false, "reason": "resolved", "data": {"state": "resolved"}}),
                ),
        )
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "error": true, "reason": "not_allowed", "data": {}
        })))
        .mount(&server)
        .await;
    let client = builder(&server).build().unwrap();
    client
        .get_conversation_state()
        .website_id(website)
        .session_id(SESSION)
        .send()
        .await
        .unwrap();
    client
        .block_conversation()
        .website_id(website)
        .session_id(SESSION)
        .body(BlockUpdate::builder().blocked(true))
        .send()
        .await
        .unwrap_err();
    let refusing = builder(&server)
        .grants("website:conversation:states=read".parse().unwrap())
        .build()
        .unwrap();
    refusing
        .block_conversation()
        .website_id(website)
        .session_id(SESSION)
        .body(BlockUpdate::builder().blocked(true))
        .send()
        .await
        .unwrap_err();

    let records = records_for(website);
    assert_eq!(records.len(), 3, "{records:#?}");
    let expect = |line: &str, fields: &[&str]| {
        for field in fields {
            assert!(line.contains(field), "{field} missing from {line}");
        }
    };
    expect(
        &records[0],
        &[
            "INFO",
            "operation=\"get_conversation_state\"",
            "method=\"GET\"",
            "path=\"/website/{website_id}/conversation/{session_id}/state\"",
            &format!("ids=website_id={website} session_id={SESSION}"),
            "scope=\"website:conversation:states\"",
            "access=\"read\"",
            "outcome=\"succeeded\"",
            "status=200",
            "reason=\"resolved\"",
            "attempts=1",
            "bloom_status=\"HIT\"",
            "latency_ms=",
        ],
    );
    expect(
        &records[1],
        &[
            "WARN",
            "operation=\"block_conversation\"",
            "scope=\"website:conversation:sessions\"",
            "access=\"write\"",
            "outcome=\"failed\"",
            "status=403",
            "reason=\"not_allowed\"",
            "error=\"api\"",
        ],
    );
    expect(
        &records[2],
        &[
            "WARN",
            "operation=\"block_conversation\"",
            "outcome=\"refused:not_granted\"",
            "error=\"not_granted\"",
            "attempts=0",
        ],
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn the_key_never_appears_in_debug_errors_or_traces() {
    let website = "website-audit-secrets";
    let server = MockServer::start().await;
    // An answer that echoes a token key, in a body that does not decode.
    Mock::given(method("GET"))
        .and(path_regex("/operator/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "error": false, "reason": "resolved",
            "data": {"user_id": 12, "token": {"identifier": "i", "key": KEY}}
        })))
        .mount(&server)
        .await;
    // A proxy page that quotes it.
    Mock::given(method("GET"))
        .and(path_regex("/state$"))
        .respond_with(
            ResponseTemplate::new(502).set_body_raw(format!("<html>{KEY}</html>"), "text/html"),
        )
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": true, "reason": "invalid_session", "data": {"message": "bad"}
        })))
        .mount(&server)
        .await;

    let grants: Grants = "website:operators=read, website:conversation:states=read, \
                          website:conversation:sessions=write"
        .parse()
        .unwrap();
    let client = builder(&server)
        .grants(grants.clone())
        .daily_budget(100)
        .confirm(|_| true)
        .build()
        .unwrap();
    let mut texts = vec![
        format!("{client:?}"),
        format!("{:?}", Credentials::plugin("i", KEY)),
        format!("{grants:?} {grants}"),
        format!("{:?}", builder(&server)),
    ];
    let errors = vec![
        client
            .get_operator()
            .website_id(website)
            .user_id("aa0b0c3b-1b11-4c9f-b6e5-0e1b5d6a7c42")
            .send()
            .await
            .unwrap_err(),
        client
            .get_conversation_state()
            .website_id(website)
            .session_id(SESSION)
            .send()
            .await
            .unwrap_err(),
        client
            .block_conversation()
            .website_id(website)
            .session_id(SESSION)
            .body(BlockUpdate::builder().blocked(true))
            .send()
            .await
            .unwrap_err(),
        client
            .send_message()
            .website_id(website)
            .session_id(SESSION)
            .body(NewMessage::text("hello"))
            .send()
            .await
            .unwrap_err(),
        client
            .get_conversation()
            .website_id(website)
            .session_id("..")
            .send()
            .await
            .unwrap_err(),
    ];
    let kinds: Vec<_> = errors.iter().map(Error::kind).collect();
    assert_eq!(
        kinds,
        [
            "unexpected_body",
            "unexpected_body",
            "api",
            "not_granted",
            "invalid_request"
        ]
    );
    assert!(
        errors[0].to_string().contains(r#""key":"[redacted]""#),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].to_string().contains("<html>[redacted]</html>"),
        "{}",
        errors[1]
    );
    for error in &errors {
        texts.push(format!("{error} {error:?} {}", error.hint()));
    }
    let records = records_for(website);
    // The refused `..` call's record leaves its ids out (they are not safe to log).
    assert_eq!(records.len(), errors.len() - 1, "{records:#?}");
    assert!(
        log()
            .lines()
            .any(|l| l.contains("operation=\"get_conversation\"")
                && l.contains("outcome=\"refused:invalid_request\"")),
        "{}",
        log()
    );
    texts.extend(records);
    texts.push(log());
    for text in &texts {
        assert!(!text.contains(KEY), "the key leaked: {text}");
        assert!(
            !text.contains("Basic "),
            "an Authorization header leaked: {text}"
        );
        assert!(
            !text.contains("YXVkaXQtaWRlbnRpZmllcjprM3kt"),
            "the encoded credentials leaked: {text}"
        );
    }
}

/// Answers that quote the key where no field name gives it away: the `Basic` credential in a
/// request echo, the key across the point where the excerpt is cut, and the key as a value
/// serde rejects (its detail quotes the value). None of it reaches the error.
#[tokio::test]
async fn answers_that_echo_the_key_are_scrubbed_before_an_error_quotes_them() {
    const BASIC: &str = "YXVkaXQtaWRlbnRpZmllcjprM3ktN2YxYzBlOWE1YjJkNGM2ZThhMGIxYzJkM2U0ZjVhNmI=";
    let website = "website-audit-echoes";
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex("/meta$"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            format!("GET /meta HTTP/1.1\nauthorisation-was: Basic {BASIC}\n"),
            "text/plain",
        ))
        .mount(&server)
        .await;
    // The key starts a few bytes before the excerpt's 200-byte cut.
    let padding = "x".repeat(190);
    Mock::given(method("GET"))
        .and(path_regex("/operators/list$"))
        .respond_with(
            ResponseTemplate::new(503).set_body_raw(format!("<p>{padding} {KEY}</p>"), "text/html"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("/visitors/count$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "error": false, "reason": "resolved", "data": {"count": KEY}
        })))
        .mount(&server)
        .await;
    let client = builder(&server).build().unwrap();
    let errors = [
        client
            .get_conversation_meta()
            .website_id(website)
            .session_id(SESSION)
            .send()
            .await
            .unwrap_err(),
        client
            .list_operators()
            .website_id(website)
            .send()
            .await
            .unwrap_err(),
        client
            .count_visitors()
            .website_id(website)
            .send()
            .await
            .unwrap_err(),
    ];
    for error in &errors {
        assert_eq!(error.kind(), "unexpected_body", "{error}");
        let text = format!("{error} {error:?}");
        assert!(text.contains("[redac"), "{text}");
        assert!(
            !text.contains(BASIC) && !text.contains(&BASIC[..24]),
            "{text}"
        );
        assert!(!text.contains(KEY) && !text.contains(&KEY[..8]), "{text}");
    }
    assert!(
        errors[2].to_string().contains("data.count"),
        "{}",
        errors[2]
    );
}

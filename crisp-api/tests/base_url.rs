//! What a wrong base URL gets, over loopback: a connection error names the URL it was for
//! (never credentials or the query), and a 404 for a route the server does not know, rather
//! than for an id, says to check the base URL, by the rule of `Error::UnknownRoute`.

#[path = "support/client.rs"]
mod support;

use std::time::Duration;

use crisp_api::types::ErrorReason;
use crisp_api::{BuildError, Error, RetryPolicy};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use support::*;

/// A loopback port nobody listens on: bound, noted, closed.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The path `get_state` asks for.
fn state_path() -> String {
    format!("/website/{WEBSITE}/conversation/{SESSION}/state")
}

#[tokio::test]
async fn a_refused_connection_names_the_url_and_the_setting_to_check() {
    let base = format!("http://127.0.0.1:{}/v1", closed_port());
    let client = builder(&base).build().unwrap();
    let error = get_state(&client).await.unwrap_err();
    let url = format!("{base}{}", state_path());
    match &error {
        Error::Transport {
            sent,
            url: named,
            message,
            ..
        } => {
            assert!(!sent);
            assert_eq!(named, &url);
            assert_eq!(message, "connection refused");
        }
        other => panic!("{other:?}"),
    }
    let text = error.to_string();
    assert!(
        text.starts_with(&format!(
            "get_conversation_state: could not connect to {url} after 3 attempt(s): connection \
             refused. "
        )),
        "{text}"
    );
    assert!(
        text.ends_with(
            "Nothing reached Crisp: check the base URL (CRISP_BASE_URL or \
             ClientBuilder::base_url; Crisp's is https://api.crisp.chat/v1) and the network."
        ),
        "{text}"
    );
}

#[tokio::test]
async fn the_url_named_has_no_query() {
    let base = format!("http://127.0.0.1:{}/v1", closed_port());
    let client = builder(&base).retry(RetryPolicy::never()).build().unwrap();
    let error = client
        .list_conversations()
        .website_id(WEBSITE)
        .page_number(2)
        .filter_not_resolved(1)
        .send()
        .await
        .unwrap_err();
    match &error {
        Error::Transport { url, .. } => {
            assert_eq!(url, &format!("{base}/website/{WEBSITE}/conversations/2"));
        }
        other => panic!("{other:?}"),
    }
    assert!(!error.to_string().contains("filter"), "{error}");
}

#[tokio::test]
async fn https_to_a_plain_http_server_names_the_https_url() {
    let server = MockServer::start().await;
    let base = format!("{}/v1", server.uri().replace("http://", "https://"));
    let client = builder(&base).retry(RetryPolicy::never()).build().unwrap();
    let error = get_state(&client).await.unwrap_err();
    match &error {
        Error::Transport { sent, url, .. } => {
            assert!(!sent, "the TLS handshake failed: nothing was sent");
            assert_eq!(url, &format!("{base}{}", state_path()));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        error
            .to_string()
            .contains(&format!("could not connect to {base}")),
        "{error}"
    );
}

#[tokio::test]
async fn a_connection_cut_after_sending_and_a_timeout_name_the_url_too() {
    // Reads the request, then closes without answering.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let _ = read_request(&mut socket).await;
        }
    });
    let client = builder(&base).retry(RetryPolicy::never()).build().unwrap();
    let error = send_message(&client).await.unwrap_err();
    let url = format!("{base}/website/{WEBSITE}/conversation/{SESSION}/message");
    match &error {
        Error::Transport {
            sent, url: named, ..
        } => {
            assert!(sent);
            assert_eq!(named, &url);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        error.to_string().starts_with(&format!(
            "send_message: the connection to {url} broke after 1 attempt(s)"
        )),
        "{error}"
    );

    // Accepts, reads, and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((mut socket, _)) = listener.accept().await {
            let _ = read_request(&mut socket).await;
            open.push(socket);
        }
    });
    let client = builder(&base)
        .retry(RetryPolicy::never())
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let error = get_state(&client).await.unwrap_err();
    let url = format!("{base}{}", state_path());
    match &error {
        Error::Timeout { url: named, .. } => assert_eq!(named, &url),
        other => panic!("{other:?}"),
    }
    assert!(
        error.to_string().starts_with(&format!(
            "get_conversation_state: no answer from {url} within 0.2 s after 1 attempt(s)."
        )),
        "{error}"
    );
    assert!(error.hint().contains("CRISP_BASE_URL"), "{}", error.hint());
}

#[test]
fn a_base_url_with_credentials_a_query_or_a_fragment_is_refused_when_built() {
    for (base, shown) in [
        ("http://admin:pa55word@127.0.0.1:8080/v1", false),
        ("http://admin@127.0.0.1:8080/v1", false),
        ("http://127.0.0.1:8080/v1?key=1", true),
        ("http://127.0.0.1:8080/v1#top", true),
    ] {
        match builder(base).build() {
            Err(error @ BuildError::InvalidBaseUrl { .. }) => {
                let text = error.to_string();
                assert_eq!(text.contains(base), shown, "{text}");
                assert!(!text.contains("pa55word"), "{text}");
            }
            other => panic!("{base}: {other:?}"),
        }
    }
}

/// A mock that answers every request with `response`, and a client on `base` (the mock's URI
/// followed by `path`) that never retries.
async fn answering(response: ResponseTemplate, path: &str) -> (MockServer, String) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(response)
        .mount(&server)
        .await;
    let base = format!("{}{path}", server.uri());
    (server, base)
}

fn not_found_envelope() -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({
        "error": true, "reason": "not_found", "data": {"message": "no such thing"}
    }))
}

#[tokio::test]
async fn a_404_envelope_under_a_base_url_without_v1_is_the_route_not_the_id() {
    for path in ["", "/api"] {
        let (server, base) = answering(not_found_envelope(), path).await;
        let audit = Audit::default();
        let client = audit.attach(builder(&base)).build().unwrap();
        let error = get_state(&client).await.unwrap_err();
        let url = format!("{base}{}", state_path());
        match &error {
            Error::UnknownRoute {
                url: named,
                base_url,
                reason,
                detail,
                ..
            } => {
                assert_eq!(named, &url);
                assert_eq!(base_url, &base);
                assert_eq!(reason, &Some(ErrorReason::NotFound));
                assert_eq!(detail, "Crisp's envelope, `not_found`: no such thing");
            }
            other => panic!("{path:?}: {other:?}"),
        }
        assert_eq!(error.kind(), "unknown_route");
        assert_eq!(error.status().map(|s| s.as_u16()), Some(404));
        assert_eq!(error.reason(), Some(&ErrorReason::NotFound));
        assert!(!error.is_retryable());
        let fix = if path.is_empty() {
            format!("{base}/v1")
        } else {
            "a URL ending in /v1".to_owned()
        };
        assert_eq!(
            error.to_string(),
            format!(
                "get_conversation_state: GET {url} answered 404 for a route it does not know, \
                 not for an id (Crisp's envelope, `not_found`: no such thing). The base URL in \
                 use, {base}, does not end in /v1, where Crisp's API lives: set CRISP_BASE_URL \
                 or ClientBuilder::base_url to {fix} (Crisp's is https://api.crisp.chat/v1)."
            )
        );
        assert_eq!(received(&server).await, 1, "not retried");
        let record = audit.only();
        assert_eq!(record.error, Some("unknown_route"));
        assert_eq!(record.reason.as_deref(), Some("not_found"));
    }
}

/// Crisp's own answer to a route it does not know (as crisp-im/node-crisp-api#63 shows it).
#[tokio::test]
async fn crisp_s_the_route_does_not_exist_is_the_route_under_v1_too() {
    let (_server, base) = answering(
        ResponseTemplate::new(404).set_body_json(json!({
            "error": true, "reason": "not_found", "data": {"message": "the route does not exist"}
        })),
        "/v1",
    )
    .await;
    let client = builder(&base).build().unwrap();
    let error = get_state(&client).await.unwrap_err();
    match &error {
        Error::UnknownRoute { reason, detail, .. } => {
            assert_eq!(reason, &Some(ErrorReason::NotFound));
            assert_eq!(
                detail,
                "Crisp's envelope, `not_found`: the route does not exist"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        error.hint().starts_with(&format!(
            "The server at the base URL in use, {base}, does not know this route"
        )),
        "{error}"
    );
}

#[tokio::test]
async fn a_404_envelope_under_v1_is_an_unknown_id() {
    let (_server, base) = answering(not_found_envelope(), "/v1").await;
    let client = builder(&base).build().unwrap();
    let error = get_state(&client).await.unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Api {
                reason: ErrorReason::NotFound,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.hint().contains("Verify the website_id"), "{error}");
}

#[tokio::test]
async fn a_404_that_is_not_crisp_s_envelope_is_the_route_whatever_the_base_url() {
    let page = "<html><body><h1>404 Not Found</h1>nginx</body></html>";
    let cases = [
        (
            ResponseTemplate::new(404).set_body_raw(page, "text/html"),
            format!(
                "not Crisp's envelope but text/html, {} bytes: {page}",
                page.len()
            ),
        ),
        (
            ResponseTemplate::new(404).set_body_raw("Not Found", "text/plain"),
            "not Crisp's envelope but text/plain, 9 bytes: Not Found".to_owned(),
        ),
        (
            ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})),
            "not Crisp's envelope but application/json, 23 bytes: {\"message\":\"Not Found\"}"
                .to_owned(),
        ),
        (ResponseTemplate::new(404), "the body is empty".to_owned()),
    ];
    for (response, expected) in cases {
        for path in ["/v1", ""] {
            let (_server, base) = answering(response.clone(), path).await;
            let client = builder(&base).build().unwrap();
            let error = get_state(&client).await.unwrap_err();
            match &error {
                Error::UnknownRoute { reason, detail, .. } => {
                    assert_eq!(reason, &None);
                    assert_eq!(detail, &expected);
                }
                other => panic!("{path:?} {expected}: {other:?}"),
            }
            let hint = error.hint();
            if path == "/v1" {
                assert_eq!(
                    hint,
                    format!(
                        "The server at the base URL in use, {base}, does not know this \
                         route: check that CRISP_BASE_URL or ClientBuilder::base_url points at \
                         Crisp's API (https://api.crisp.chat/v1) or a sandbox's \
                         (http://127.0.0.1:<port>/v1), not at a web site or a proxy that does \
                         not forward to it."
                    )
                );
            } else {
                assert!(hint.contains(&format!("{base}/v1")), "{hint}");
            }
        }
    }
}

#[tokio::test]
async fn a_route_the_mock_does_not_know_is_the_route_case() {
    // No mock mounted: wiremock answers 404 with an empty body, as many servers do.
    let server = MockServer::start().await;
    let client = builder(&format!("{}/v1", server.uri())).build().unwrap();
    let error = get_state(&client).await.unwrap_err();
    assert_eq!(error.kind(), "unknown_route", "{error}");
}

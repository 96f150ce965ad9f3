//! Errors and their hints: each status and reason to its case, rate limits, bodies that are not
//! the expected JSON, `error: true` on a 2xx, and the response-size cap.

#[path = "support/client.rs"]
mod support;

use std::time::Duration;

use crisp_api::types::ErrorReason;
use crisp_api::{Error, RetryPolicy};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use support::*;

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
        // Under `/v1`, as Crisp's API is: elsewhere a 404 is taken for an unknown route
        // (tests/base_url.rs).
        let client = builder(&format!("{}/v1", server.uri())).build().unwrap();
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

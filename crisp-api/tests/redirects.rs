//! Redirects: another origin refused, same-origin ones followed and recorded, loops ended.

#[path = "support/client.rs"]
mod support;

use crisp_api::Error;
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

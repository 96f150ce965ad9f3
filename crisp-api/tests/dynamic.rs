//! `Client::call`: dynamic calls through the same pipeline as the typed builders; and the types
//! an async program moves across tasks.

#[path = "support/client.rs"]
mod support;

use crisp_api::{Error, Operation, Outcome};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use support::*;

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

//! Any 2xx status is success: the spec's success responses are `2XX`, so a Crisp envelope
//! answered with 201, 202 or 299 decodes like one answered with 200, and a 3xx is not success.

use std::sync::{Arc, Mutex};

use crisp_api::types::{ConversationState, ConversationStateUpdate};
use crisp_api::{Client, Credentials, Error};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const WEBSITE: &str = "8c842203-7ed8-4e29-a608-7cf78a7d2fcc";
const SESSION: &str = "session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881";

fn client(server: &MockServer) -> Client {
    client_with_statuses(server, Arc::default())
}

/// A client that records the status of every answer (its audit records carry it).
fn client_with_statuses(server: &MockServer, statuses: Arc<Mutex<Vec<Option<u16>>>>) -> Client {
    Client::builder(Credentials::plugin("identifier", "key"))
        .base_url(server.uri())
        .on_audit(move |record| statuses.lock().unwrap().push(record.status))
        .build()
        .expect("a client")
}

#[tokio::test(flavor = "current_thread")]
async fn every_2xx_status_with_an_envelope_is_success() {
    let server = MockServer::start().await;
    let conversation = format!("/website/{WEBSITE}/conversation");
    let state = format!("/website/{WEBSITE}/conversation/{SESSION}/state");
    Mock::given(method("POST"))
        .and(path(conversation.as_str()))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "error": false, "reason": "added", "data": {"session_id": SESSION}
        })))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(state.as_str()))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({
            "error": false, "reason": "updated", "data": {}
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(state.as_str()))
        .respond_with(ResponseTemplate::new(299).set_body_json(json!({
            "error": false, "reason": "resolved", "data": {"state": "pending"}
        })))
        .mount(&server)
        .await;
    let statuses: Arc<Mutex<Vec<Option<u16>>>> = Arc::default();
    let client = client_with_statuses(&server, Arc::clone(&statuses));

    let created = client
        .create_conversation()
        .website_id(WEBSITE)
        .send()
        .await
        .expect("201 is success");
    assert_eq!(created.data.session_id.as_deref(), Some(SESSION));

    let changed = client
        .change_conversation_state()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .body(ConversationStateUpdate::builder().state(ConversationState::Resolved))
        .send()
        .await
        .expect("202 is success");
    assert_eq!(changed.reason, "updated");

    let read = client
        .get_conversation_state()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .send()
        .await
        .expect("299 is success");
    assert_eq!(read.data.state, Some(ConversationState::Pending));
    assert_eq!(*statuses.lock().unwrap(), [Some(201), Some(202), Some(299)]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_3xx_status_is_not_success() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(304).set_body_json(json!({
            "error": false, "reason": "added", "data": {"session_id": SESSION}
        })))
        .mount(&server)
        .await;
    let err = client(&server)
        .create_conversation()
        .website_id(WEBSITE)
        .send()
        .await
        .expect_err("304 is not success");
    assert!(
        matches!(&err, Error::UnexpectedBody { status, .. } if status.as_u16() == 304),
        "{err:?}"
    );
}

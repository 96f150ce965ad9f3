//! Paging streams: page-numbered lists walked until a short page, the messages walk back in
//! time, an error mid-stream ends it.

#[path = "support/client.rs"]
mod support;

use crisp_api::Error;
use crisp_api::types::ErrorReason;
use futures::TryStreamExt;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use support::*;

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

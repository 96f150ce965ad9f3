//! Concurrent writes lose nothing: 50 clients send messages to the same 5 conversations at
//! once; afterwards every message is there exactly once, and fingerprints are unique.

mod support;

use std::collections::{HashMap, HashSet};

use crisp_sandbox::{Sandbox, Token};
use serde_json::json;
use support::Api;

const CLIENTS: usize = 50;
const CONVERSATIONS: usize = 5;
const MESSAGES_PER_CLIENT: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_clients_five_conversations_no_lost_or_doubled_message() {
    let sandbox = Sandbox::builder()
        .token(Token::plugin("load", "load-key").with_daily_quota(None))
        .start()
        .await
        .unwrap();
    let api = Api::new(&sandbox);
    let mut sessions = Vec::new();
    for _ in 0..CONVERSATIONS {
        let (_, created) = api.post("/conversation", json!({})).await;
        sessions.push(created["data"]["session_id"].as_str().unwrap().to_owned());
    }

    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        // A client (and so a connection pool) of its own for each.
        let api = Api {
            client: reqwest::Client::new(),
            ..api.clone()
        };
        let sessions = sessions.clone();
        tasks.push(tokio::spawn(async move {
            let mut sent = Vec::new();
            for m in 0..MESSAGES_PER_CLIENT {
                let session = &sessions[(client + m) % CONVERSATIONS];
                let text = format!("client {client} message {m}");
                let (status, body) = api
                    .post(
                        &format!("/conversation/{session}/message"),
                        json!({"type": "text", "from": "user", "origin": "chat", "content": text}),
                    )
                    .await;
                assert_eq!(status, 200, "{body}");
                sent.push((
                    session.clone(),
                    text,
                    body["data"]["fingerprint"].as_i64().unwrap(),
                ));
            }
            sent
        }));
    }
    let mut sent = Vec::new();
    for task in tasks {
        sent.extend(task.await.unwrap());
    }
    assert_eq!(sent.len(), CLIENTS * MESSAGES_PER_CLIENT);

    // Read every conversation back, walking pages with `timestamp_before`.
    let mut stored: HashMap<String, i64> = HashMap::new();
    let mut fingerprints = HashSet::new();
    for session in &sessions {
        let mut query = String::new();
        loop {
            let batch = api
                .data(&format!("/conversation/{session}/messages{query}"))
                .await;
            let batch = batch.as_array().unwrap();
            if batch.is_empty() {
                break;
            }
            for message in batch {
                let text = message["content"].as_str().unwrap().to_owned();
                let fingerprint = message["fingerprint"].as_i64().unwrap();
                assert!(
                    fingerprints.insert(fingerprint),
                    "fingerprint {fingerprint} twice"
                );
                assert!(
                    stored.insert(text.clone(), fingerprint).is_none(),
                    "{text} twice"
                );
            }
            query = format!("?timestamp_before={}", batch[0]["timestamp"]);
        }
    }
    assert_eq!(stored.len(), sent.len(), "every message, once");
    for (_, text, fingerprint) in &sent {
        assert_eq!(stored.get(text), Some(fingerprint), "{text}");
    }
}

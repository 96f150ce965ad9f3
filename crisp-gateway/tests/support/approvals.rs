//! What the approvals tests share: the reviewer, the clock, a message proposed on the REST
//! front, the agent's status call, and how many copies of a message the sandbox holds.

use crisp_gateway::Reviewer;
use crisp_sandbox::Sandbox;
use serde_json::{Value, json};

use super::{Harness, TestAgent, http};

/// The grants of an agent that sends messages to the sandbox's conversations.
pub const MESSAGES: &str =
    "website:conversation:messages=write, website:conversation:sessions=read";

/// The person who approves and denies in the tests.
pub fn alice() -> Reviewer {
    Reviewer::new("alice", "test")
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A text message from an operator with the content `text`.
pub fn text_message(text: &str) -> Value {
    json!({"type": "text", "from": "operator", "origin": "chat", "content": text})
}

/// POSTs `text` as a message to `session` with `agent`'s key: the status and the envelope.
pub async fn send(harness: &Harness, agent: &TestAgent, session: &str, text: &str) -> (u16, Value) {
    let url = format!(
        "{}/website/{}/conversation/{session}/message",
        harness.base_url,
        harness.sandbox.website_id()
    );
    let answer = http()
        .post(url)
        .header("Authorization", agent.basic())
        .json(&text_message(text))
        .send()
        .await
        .unwrap();
    (answer.status().as_u16(), answer.json().await.unwrap())
}

/// Proposes `text` (the answer must be 202 `pending_approval`) and returns the approval id.
pub async fn propose(harness: &Harness, agent: &TestAgent, session: &str, text: &str) -> String {
    let (status, envelope) = send(harness, agent, session, text).await;
    assert_eq!(status, 202, "{envelope}");
    assert_eq!(envelope["reason"], "pending_approval", "{envelope}");
    envelope["data"]["approval_id"]
        .as_str()
        .expect("an approval id")
        .to_owned()
}

/// The agent's status call for approval `id`: the status and the envelope.
pub async fn status_of(harness: &Harness, agent: &TestAgent, id: &str) -> (u16, Value) {
    let answer = http()
        .get(format!("{}/_gateway/approvals/{id}", harness.base_url))
        .header("Authorization", agent.basic())
        .send()
        .await
        .unwrap();
    (answer.status().as_u16(), answer.json().await.unwrap())
}

/// How many messages of `session`, read from the sandbox directly, have the content `text`.
pub async fn copies(sandbox: &Sandbox, session: &str, text: &str) -> usize {
    let url = format!(
        "{}/website/{}/conversation/{session}/messages",
        sandbox.base_url(),
        sandbox.website_id()
    );
    let answer: Value = http()
        .get(url)
        .basic_auth(sandbox.identifier(), Some(sandbox.key()))
        .header("X-Crisp-Tier", "plugin")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let messages = answer["data"].as_array().expect("a list of messages");
    messages.iter().filter(|m| m["content"] == text).count()
}

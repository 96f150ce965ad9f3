//! The approvals page's seam: [`ApprovalDesk`], what the page reads proposals from and decides
//! them through, and the values it passes. The gateway's own approvals implement it
//! (`gateway_desk.rs`); a test may give another.

use futures::future::BoxFuture;
use serde_json::Value;

/// One proposal waiting for a person: exactly the request that approving it sends.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingApproval {
    /// The approval's id.
    pub id: String,
    /// The agent that proposed it.
    pub agent: String,
    /// The operation id (`send_message`).
    pub operation: String,
    /// The HTTP method.
    pub method: String,
    /// The path with its ids filled in (`/website/{website_id}/conversation/{session_id}/message`
    /// with the ids).
    pub path: String,
    /// The query, as it would be sent.
    pub query: Vec<(String, String)>,
    /// The JSON body, as it would be sent.
    pub body: Option<Value>,
    /// When it was proposed (Unix ms).
    pub created_ms: i64,
    /// When it expires unless decided (Unix ms).
    pub expires_ms: i64,
}

impl PendingApproval {
    /// For a message, the text the customer will see: the `content` of a `text` (or `note`,
    /// seen by operators only) message body.
    pub fn message_text(&self) -> Option<&str> {
        let body = self.body.as_ref()?;
        let kind = body.get("type")?.as_str()?;
        matches!(kind, "text" | "note")
            .then(|| body.get("content")?.as_str())
            .flatten()
    }
}

/// A reviewer's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send the stored request, once.
    Approve,
    /// Do not send it; the agent is told, with the note.
    Deny,
}

/// A decision on one proposal, by a reviewer, with an optional note for the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// The approval's id.
    pub id: String,
    /// Approve or deny.
    pub verdict: Verdict,
    /// The reviewer's note (the agent reads it).
    pub note: Option<String>,
    /// Who decided: the name given at sign-in.
    pub reviewer: String,
    /// When (Unix ms).
    pub at_ms: i64,
}

/// What the approvals page reads and decides through: the gateway's approvals (the same code
/// as `crisp-gateway approvals`). Errors are one sentence for the reviewer.
pub trait ApprovalDesk: Send + Sync + 'static {
    /// The pending proposals at `now_ms`, oldest first.
    fn pending(&self, now_ms: i64) -> BoxFuture<'_, Result<Vec<PendingApproval>, String>>;

    /// Approves (sends, once) or denies one proposal: a sentence saying what happened
    /// (Crisp's answer for a send), or why nothing was done.
    fn review<'a>(&'a self, review: &'a Review) -> BoxFuture<'a, Result<String, String>>;
}

/// A pending proposal with `body`, for the dashboard's unit tests.
#[cfg(test)]
pub(super) fn sample(body: Option<Value>) -> PendingApproval {
    PendingApproval {
        id: "ap_1".into(),
        agent: "reply".into(),
        operation: "send_message".into(),
        method: "POST".into(),
        path: "/website/w/conversation/s/message".into(),
        query: Vec::new(),
        body,
        created_ms: 0,
        expires_ms: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_message_shows_its_text_and_other_bodies_none() {
        let text = sample(Some(serde_json::json!({
            "type": "text", "from": "operator", "origin": "chat", "content": "<b>Hi</b>"
        })));
        assert_eq!(text.message_text(), Some("<b>Hi</b>"));
        let picker = sample(Some(serde_json::json!({"type": "picker", "content": {}})));
        assert_eq!(picker.message_text(), None);
        assert_eq!(sample(None).message_text(), None);
    }
}

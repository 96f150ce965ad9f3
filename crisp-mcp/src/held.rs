//! A call a [`Dispatch`](crate::Dispatch) held for a person's approval instead of sending it
//! (a gateway whose policy has a person approve an agent's replies): the agent's answer says
//! nothing was sent yet, gives the approval id, and previews exactly the request that would be
//! sent once approved, rendered as a confirmation preview is (the method, the filled path, the
//! query, the body, and for a message the text as the customer will see it).
//!
//! A tool whose calls a dispatch holds ([`Dispatch::holds`](crate::Dispatch::holds)) takes no
//! confirmation token, even with confirmation on: nothing is sent when it is called, so there is
//! nothing for the agent to confirm; the person's approval is the one step. Its output schema
//! has the held answer's shape beside Crisp's envelope and the tool error.

use std::time::Duration;

use crisp_api::Operation;
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Value, json};

use crate::wire::Wire;

/// A call held for a person's approval: what a dispatch answers with
/// [`Dispatched::held`](crate::Dispatched::held). Built with [`Held::new`] and its setters.
///
/// ```
/// use std::time::Duration;
/// use crisp_api::Operation;
/// use crisp_mcp::Held;
///
/// let held = Held::new("0123456789abcdef0123456789abcdef", &Operation::SEND_MESSAGE)
///     .ids(vec![("website_id", "w".into()), ("session_id", "s".into())])
///     .body(Some(serde_json::json!({"type": "text", "content": "Hello"})))
///     .expires_in(Duration::from_secs(3600))
///     .follow_up("Read its status with the `approval_status` tool.");
/// assert_eq!(held.approval_id(), "0123456789abcdef0123456789abcdef");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Held {
    approval_id: String,
    operation: &'static Operation,
    ids: Vec<(&'static str, String)>,
    query: Vec<(String, String)>,
    body: Option<Value>,
    expires_in: Option<Duration>,
    follow_up: Option<String>,
}

impl Held {
    /// A call of `operation` held under `approval_id`, with no ids, query or body yet.
    pub fn new(approval_id: impl Into<String>, operation: &'static Operation) -> Self {
        Self {
            approval_id: approval_id.into(),
            operation,
            ids: Vec::new(),
            query: Vec::new(),
            body: None,
            expires_in: None,
            follow_up: None,
        }
    }

    /// The path ids that would be sent, `(name, value)`, in path order.
    #[must_use]
    pub fn ids(mut self, ids: Vec<(&'static str, String)>) -> Self {
        self.ids = ids;
        self
    }

    /// The query that would be sent (the dispatch's, which may differ from the agent's: a
    /// gateway sets filters its rules require).
    #[must_use]
    pub fn query(mut self, query: Vec<(String, String)>) -> Self {
        self.query = query;
        self
    }

    /// The JSON body that would be sent.
    #[must_use]
    pub fn body(mut self, body: Option<Value>) -> Self {
        self.body = body;
        self
    }

    /// How long a person has to approve it.
    #[must_use]
    pub fn expires_in(mut self, expires_in: Duration) -> Self {
        self.expires_in = Some(expires_in);
        self
    }

    /// What the agent should do next (such as which tool reads the approval's status): the
    /// answer's last paragraph.
    #[must_use]
    pub fn follow_up(mut self, follow_up: impl Into<String>) -> Self {
        self.follow_up = Some(follow_up.into());
        self
    }

    /// The approval's id.
    pub fn approval_id(&self) -> &str {
        &self.approval_id
    }

    /// The operation that would be called.
    pub fn operation(&self) -> &'static Operation {
        self.operation
    }

    /// The tool result the agent reads: not an error (the call was taken, and waits), text for
    /// the model, and as structured content `{approval_required: true, approval_id, status:
    /// "pending", tool, effect, request: {method, path, query, body}, webhook,
    /// expires_in_seconds, follow_up}`. The path is filled as the client fills it; ids that do
    /// not fit the path (a dispatch's bug) show the path's template.
    pub(crate) fn answer(&self) -> CallToolResult {
        let operation = self.operation;
        let name = operation.id;
        let path = operation
            .fill_path(self.ids.iter().map(|(n, v)| (*n, v.as_str())))
            .unwrap_or_else(|_| operation.path.to_owned());
        let wire = Wire {
            operation,
            path: &path,
            query: self
                .query
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect(),
            body: self.body.as_ref(),
        };
        let within = self
            .expires_in
            .map(|ttl| format!(" (within {} seconds)", ttl.as_secs()))
            .unwrap_or_default();
        let mut text = format!(
            "NOT DONE YET: `{name}` waits for a person's approval (approval {}). Nothing was \
             sent to Crisp yet.\nIf a person approves it{within}, this request is sent, once:\
             \n\n{}",
            self.approval_id,
            wire.text()
        );
        if let Some(follow_up) = &self.follow_up {
            text.push_str("\n\n");
            text.push_str(follow_up);
        }
        let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
        result.structured_content = Some(json!({
            "approval_required": true,
            "approval_id": self.approval_id,
            "status": "pending",
            "tool": name,
            "effect": operation.effect.map(|e| e.as_str()),
            "request": wire.shown(),
            "webhook": operation.webhook,
            "expires_in_seconds": self.expires_in.map(|ttl| ttl.as_secs()),
            "follow_up": self.follow_up,
        }));
        result
    }
}

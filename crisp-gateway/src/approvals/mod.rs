//! Approvals: calls an agent may only propose, sent once a person approves them.
//!
//! - **Policy**: an agent's `approve = ["send_message", "remove_*"]` names the operations it may
//!   only propose ([`Approve`](crate::policy::Approve)); the top-level `approval_ttl` (default
//!   24 h) says how long a proposal stays approvable.
//! - **Decision**: such a call is checked as any other (credentials, website, grants, resource
//!   rules, rate), then, instead of taking from the budget and being sent, it is stored whole
//!   (operation, path ids, query, body, agent, front, time, expiry) and answered with a
//!   [`Proposal`]: nothing is sent, and nothing is taken from the agent's budget or the token's
//!   quota (a conversation read that its resource rules needed is, as for any call).
//! - **Fronts**: the REST front answers 202 with Crisp's envelope, `reason: "pending_approval"`
//!   and `data: {approval_id, status_url, expires_at}`, and serves `GET
//!   /v1/_gateway/approvals/{id}` to the agent that proposed it ([`ApprovalView`]); the MCP front
//!   renders the same [`Proposal`] as a tool result with a preview, and its `approval_status`
//!   tool reads the same view ([`Gateway::approval_status`](crate::Gateway::approval_status)).
//! - **Review**: a person approves or denies
//!   ([`Gateway::approve`](crate::Gateway::approve), [`Gateway::deny`](crate::Gateway::deny);
//!   `crisp-gateway approvals approve|deny ID`). Approving checks the call again under the policy
//!   in force, takes one request from the budget and the quota, claims the send in the store (one
//!   conditional update, committed before anything leaves: two reviewers or replicas at once
//!   send it once), sends exactly the stored request through the gateway's upstream, and records
//!   Crisp's answer.
//! - **For the MCP front** ([`mcp`](mod@crate::mcp)): its dispatch calls the same two gateway
//!   functions as the REST front. A tool call becomes an [`Incoming`](crate::Incoming) with
//!   `front: Front::Mcp` and goes through [`Gateway::handle`](crate::Gateway::handle), which
//!   answers [`Outcome::Proposed`](crate::Outcome::Proposed) with this module's [`Proposal`]:
//!   everything crisp-mcp's preview shows (operation, path ids, query, body; and
//!   [`Proposal::request`], the method and filled path) and the id. Its `approval_status` tool,
//!   listed when [`Agent::has_approvals`](crate::policy::Agent::has_approvals), calls
//!   [`Gateway::approval_status`](crate::Gateway::approval_status) with
//!   [`Lookup::new(Front::Mcp, id)`](crate::Lookup::new) and renders the envelope's `data`
//!   ([`ApprovalView::data`]).
//! - **Store**: the state machine and its guarantees are in
//!   [`ApprovalStore`](crate::store::ApprovalStore). Every step is an audit row: `proposed` (the
//!   call's own row), `approved`, `denied`, `expired`, `sent` (with Crisp's status and reason),
//!   `unknown_outcome`.

use std::time::Duration;

use crisp_api::Operation;
use serde_json::{Value, json};

use crate::store::{Approval, ApprovalState};

/// Where the REST front serves an approval's status: this, then the approval's id.
pub const STATUS_PATH: &str = "/v1/_gateway/approvals/";

/// The MCP tool an agent with approvals reads them with, and the audit rows' operation of a
/// lookup on either front.
pub const APPROVAL_STATUS: &str = "approval_status";

/// Crisp-style `reason` of the answer to a call that waits for approval.
pub const PENDING_APPROVAL: &str = "pending_approval";

/// How long a send may stay claimed before the gateway holds that its sender stopped and marks
/// it `unknown_outcome`: 10 minutes, far more than any send takes (crisp-api's client gives up on
/// a call after 3 attempts of 10 s; a write that may have reached Crisp is never retried).
pub const SEND_STALE: Duration = Duration::from_secs(600);

/// A call that waits for a person's approval: nothing was sent. What both fronts render (REST:
/// [`envelope`](Self::envelope), 202; MCP: a tool result with a preview of exactly this
/// request).
#[derive(Clone, Debug, PartialEq)]
pub struct Proposal {
    /// The approval's id (32 hex digits).
    pub approval_id: String,
    /// The operation that would be called.
    pub operation: &'static Operation,
    /// Its path ids, in path order.
    pub ids: Vec<(&'static str, String)>,
    /// The query that would be sent (the agent's, with the filters its rules set).
    pub query: Vec<(String, String)>,
    /// The JSON body that would be sent, if any.
    pub body: Option<Value>,
    /// When it was proposed (Unix ms).
    pub created_ms: i64,
    /// When it stops being approvable (Unix ms).
    pub expires_ms: i64,
}

impl Proposal {
    /// Where the agent reads its status on the REST front: `/v1/_gateway/approvals/{id}`
    /// (relative to the gateway's address).
    pub fn status_path(&self) -> String {
        format!("{STATUS_PATH}{}", self.approval_id)
    }

    /// The request as it would go on the wire: `{method, path, query, body}`, the path filled
    /// from the ids as crisp-api fills it (`None` if they do not fit it: the gateway checked
    /// them before storing, so only a changed spec could do that).
    pub fn request(&self) -> Option<Value> {
        let path = self
            .operation
            .fill_path(self.ids.iter().map(|(name, value)| (*name, value.as_str())))
            .ok()?;
        Some(json!({
            "method": self.operation.method.as_str(),
            "path": path,
            "query": self.query,
            "body": self.body,
        }))
    }

    /// How long a person has to approve it.
    pub fn ttl(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.expires_ms - self.created_ms).unwrap_or(0))
    }

    /// One sentence for the agent: nothing was sent, and how to follow it.
    pub fn message(&self) -> String {
        format!(
            "not sent: the gateway's policy has a person approve {} first (within {}); nothing \
             was sent to Crisp and nothing was charged to the budget. Do not send it again: \
             read its status (approval {}) until it is approved, denied or expired",
            self.operation.id,
            human(self.ttl()),
            self.approval_id
        )
    }

    /// The REST answer's envelope (with status 202): `{"error": false, "reason":
    /// "pending_approval", "data": {approval_id, status_url, expires_at, message}}`.
    pub fn envelope(&self) -> Value {
        json!({
            "error": false,
            "reason": PENDING_APPROVAL,
            "data": {
                "approval_id": self.approval_id,
                "status_url": self.status_path(),
                "expires_at": self.expires_ms,
                "message": self.message(),
            },
        })
    }
}

/// What an agent reads about one of its approvals (REST `GET /v1/_gateway/approvals/{id}`, the
/// MCP `approval_status` tool): its status, and Crisp's answer once it was sent. Never who
/// reviewed it, nor another agent's approvals.
#[derive(Clone, Debug, PartialEq)]
pub struct ApprovalView {
    /// The approval.
    pub approval: Approval,
    /// Its state, as of the lookup (a pending one past its expiry reads `expired`).
    pub state: ApprovalState,
}

impl ApprovalView {
    /// The view of `approval` at `now_ms`.
    pub fn new(approval: Approval, now_ms: i64) -> Self {
        let stale_before = now_ms.saturating_sub(millis(SEND_STALE));
        let state = approval.state_at(now_ms, stale_before);
        Self { approval, state }
    }

    /// `pending`, `approved` (sending or sent), `denied`, `expired` or `unknown_outcome`.
    pub fn status(&self) -> &'static str {
        self.state.status()
    }

    /// One sentence for the agent on what the status means and what to do.
    pub fn message(&self) -> &'static str {
        match self.state {
            ApprovalState::Pending => {
                "waiting for a person's approval: nothing was sent yet; read the status again later"
            }
            ApprovalState::Sending => {
                "approved, and being sent: Crisp's answer follows; do not send it again"
            }
            ApprovalState::Sent => "approved and sent: `answer` is what Crisp answered",
            ApprovalState::Denied => {
                "denied by a person: it was not sent; `note` says why. Do not propose it again \
                 unchanged"
            }
            ApprovalState::Expired => {
                "nobody approved it in time: it was not sent; propose it again if it is still \
                 needed"
            }
            ApprovalState::UnknownOutcome => {
                "approved and sent, but what happened is not known (the connection broke, or the \
                 gateway stopped, after the request left): it is never sent again; check in \
                 Crisp before proposing it again"
            }
        }
    }

    /// The `data` of the status answer: `{approval_id, status, message, operation, created_at,
    /// expires_at, decided_at, note, answer}`; `answer` is `{status, error, reason, data}` as
    /// Crisp answered, once sent.
    pub fn data(&self) -> Value {
        let approval = &self.approval;
        let answer = match (&approval.answer, approval.answer_status) {
            (Some(envelope), Some(status)) if self.state == ApprovalState::Sent => json!({
                "status": status,
                "error": envelope.get("error").cloned().unwrap_or(Value::Bool(status >= 400)),
                "reason": envelope.get("reason").cloned().unwrap_or(Value::Null),
                "data": envelope.get("data").cloned().unwrap_or(Value::Null),
            }),
            _ => Value::Null,
        };
        let decided_at = match self.state {
            ApprovalState::Expired => Some(approval.expires_ms),
            _ => approval.decided_ms,
        };
        json!({
            "approval_id": approval.id,
            "status": self.status(),
            "message": self.message(),
            "operation": approval.operation,
            "created_at": approval.created_ms,
            "expires_at": approval.expires_ms,
            "decided_at": decided_at,
            "note": approval.note,
            "answer": answer,
        })
    }

    /// The status answer's envelope: `{"error": false, "reason": "resolved", "data": ...}`.
    pub fn envelope(&self) -> Value {
        json!({ "error": false, "reason": "resolved", "data": self.data() })
    }
}

/// A new approval id: 128 random bits as 32 lower-case hex digits.
///
/// # Errors
///
/// When the operating system gives no random bytes.
pub fn new_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

/// Whether `id` has the form of an approval id (32 lower-case hex digits): anything else is
/// answered "not found" without reading the store.
pub fn is_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A duration in milliseconds, saturated.
pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// `24h`, `30m`, `90s`: a duration as the policy writes it (the largest whole unit).
pub fn human(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s >= 3600 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_hex_digits_and_differ() {
        let (a, b) = (new_id().unwrap(), new_id().unwrap());
        assert!(is_id(&a) && is_id(&b), "{a} {b}");
        assert_ne!(a, b);
        for bad in ["", "../x", &a.to_uppercase(), &a[1..], &format!("{a}0")] {
            assert!(!is_id(bad), "{bad}");
        }
    }

    #[test]
    fn durations_read_as_the_policy_writes_them() {
        assert_eq!(human(Duration::from_secs(86_400)), "1d");
        assert_eq!(human(Duration::from_secs(7200)), "2h");
        assert_eq!(human(Duration::from_secs(90)), "90s");
        assert_eq!(human(Duration::from_secs(1800)), "30m");
    }

    #[test]
    fn the_view_says_approved_with_crisps_answer_once_sent() {
        let mut approval = Approval::pending("a".repeat(32), "reply".into(), 1_000, 9_000);
        approval.operation = "send_message".into();
        let view = ApprovalView::new(approval.clone(), 2_000);
        assert_eq!(view.data()["status"], "pending");
        assert_eq!(view.data()["answer"], Value::Null);
        assert_eq!(
            ApprovalView::new(approval.clone(), 9_000).status(),
            "expired"
        );
        approval.state = ApprovalState::Sent;
        approval.answer_status = Some(200);
        approval.answer =
            Some(json!({"error": false, "reason": "dispatched", "data": {"fingerprint": 1}}));
        let data = ApprovalView::new(approval, 2_000).data();
        assert_eq!(data["status"], "approved");
        assert_eq!(
            data["answer"],
            json!({"status": 200, "error": false, "reason": "dispatched", "data": {"fingerprint": 1}})
        );
    }
}

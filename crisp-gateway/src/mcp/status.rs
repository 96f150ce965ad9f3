//! The `approval_status` tool, listed only for an agent that has approvals
//! ([`Agent::has_approvals`]): what became of one of its proposals, read with
//! [`Gateway::approval_status`] (the same view and the same audit row as REST's `GET
//! /v1/_gateway/approvals/{id}`, front `mcp`). A tool of the gateway's own beside crisp-mcp's
//! generated ones ([`crisp_mcp::ExtraTool`]).

use std::sync::Arc;
use std::time::Instant;

use crisp_mcp::{Caller, ExtraTool, Refusal as ToolRefusal, ToolReply, ToolSpec};
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use super::agent::{agent_in, removed, tool_refusal};
use crate::approvals::APPROVAL_STATUS;
use crate::gateway::{Front, Gateway, Lookup, Outcome, Unhandled};
use crate::policy::Agent;

/// The argument: the id a proposal was answered with.
const APPROVAL_ID: &str = "approval_id";

/// The `approval_status` tool of one agent.
pub(super) struct ApprovalStatus {
    gateway: Arc<Gateway>,
    /// The agent as its server was built: its name and key find it in the policy in force.
    built: Agent,
}

impl ApprovalStatus {
    pub(super) fn new(gateway: Arc<Gateway>, built: Agent) -> Self {
        Self { gateway, built }
    }
}

impl ExtraTool for ApprovalStatus {
    fn spec(&self) -> ToolSpec {
        let string_or_null = json!({"type": ["string", "null"]});
        let integer_or_null = json!({"type": ["integer", "null"]});
        ToolSpec::new(
            APPROVAL_STATUS,
            "What became of a call this agent may only propose (its answer said \
             `approval_required` and gave an `approval_id`): `pending` (nobody decided yet; \
             nothing was sent), `approved` (sent once; `answer` is Crisp's answer, or null \
             while it is being sent), `denied` (not sent; `note` says why), `expired` (nobody \
             approved it in time; not sent) or `unknown_outcome` (sent, but what happened is \
             not known; it is never sent again: check in Crisp). Reads only.",
        )
        .title("Approval status")
        .input_schema(json!({
            "type": "object",
            "required": [APPROVAL_ID],
            "properties": {
                (APPROVAL_ID): {
                    "type": "string",
                    "maxLength": 64,
                    "description": "The approval id a proposal was answered with (32 hex digits).",
                },
            },
            "additionalProperties": false,
        }))
        .output_schema(json!({
            "type": "object",
            "description": "The approval's status and, once sent, Crisp's answer.",
            "required": ["approval_id", "status", "message", "operation"],
            "properties": {
                "approval_id": {"type": "string"},
                "status": {
                    "type": "string",
                    "description": "pending, approved, denied, expired or unknown_outcome",
                },
                "message": {"type": "string"},
                "operation": {"type": "string"},
                "created_at": integer_or_null,
                "expires_at": integer_or_null,
                "decided_at": integer_or_null,
                "note": string_or_null,
                "answer": {
                    "description": "Crisp's answer once sent: {status, error, reason, data}; null before.",
                    "anyOf": [
                        {"type": "null"},
                        {
                            "type": "object",
                            "required": ["status", "error"],
                            "properties": {
                                "status": {"type": "integer"},
                                "error": {"type": "boolean"},
                                "reason": {},
                                "data": {},
                            },
                        },
                    ],
                },
            },
        }))
    }

    fn call<'a>(
        &'a self,
        arguments: Map<String, Value>,
        caller: &'a Caller,
    ) -> BoxFuture<'a, Result<ToolReply, ToolRefusal>> {
        Box::pin(async move {
            let received = Instant::now();
            let id = arguments
                .get(APPROVAL_ID)
                .and_then(Value::as_str)
                .unwrap_or_default();
            let policy = self.gateway.policy();
            let Some(agent) = agent_in(&self.built, &policy) else {
                let unhandled = Unhandled {
                    client: caller.client.clone(),
                    key_id: Some(self.built.key_sha256.key_id()),
                    ..Unhandled::new(Front::Mcp, received)
                };
                let outcome = self.gateway.refuse(&unhandled, removed());
                return Err(refusal_of(outcome));
            };
            let lookup = Lookup {
                client: caller.client.clone(),
                received,
                ..Lookup::new(Front::Mcp, id)
            };
            match self.gateway.approval_status(agent, lookup).await {
                Outcome::Answered {
                    status: 200,
                    envelope,
                    ..
                } => Ok(reply(envelope)),
                outcome => Err(refusal_of(outcome)),
            }
        })
    }
}

/// A status answer as the tool's reply: its `data` as structured content, and a few lines of
/// text (the status and what it means, the note, Crisp's answer).
fn reply(envelope: Value) -> ToolReply {
    let data = envelope.get("data").cloned().unwrap_or(Value::Null);
    let field = |name: &str| data.get(name).and_then(Value::as_str).unwrap_or_default();
    let mut text = format!(
        "Approval {} ({}): {}. {}.",
        field("approval_id"),
        field("operation"),
        field("status"),
        field("message")
    );
    if let Some(note) = data.get("note").and_then(Value::as_str) {
        text.push_str("\nNote: ");
        text.push_str(note);
    }
    if let Some(answer) = data.get("answer").filter(|a| !a.is_null()) {
        text.push_str("\nCrisp answered: ");
        text.push_str(&answer.to_string());
    }
    ToolReply::new(text, data)
}

/// Anything but a status answer, as the tool's refusal: the gateway's refusal as on every
/// tool, an unknown approval as `not_found` (Crisp's 404, with what to do).
fn refusal_of(outcome: Outcome) -> ToolRefusal {
    match outcome {
        Outcome::Refused(refusal) => tool_refusal(&refusal),
        other => {
            let (status, envelope, _) = other.into_parts();
            let reason = envelope
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or("not_found")
                .to_owned();
            let message = envelope
                .pointer("/data/message")
                .and_then(Value::as_str)
                .unwrap_or("the gateway could not read this approval")
                .to_owned();
            ToolRefusal::new(reason.clone(), message)
                .with_status(status, reason)
                .with_hint(
                    "Give the approval_id one of this agent's proposals was answered with \
                     (32 hex digits).",
                )
        }
    }
}

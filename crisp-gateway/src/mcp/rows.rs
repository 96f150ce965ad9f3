//! The audit rows of MCP tool calls that never reached the decision path, from crisp-mcp's
//! audit lines: previews (`awaiting_confirmation`), calls refused before the send step (by the
//! agent's `check`, with the gateway's rule as `why`, or by crisp-mcp itself:
//! `invalid_arguments`, `unknown_tool`, `unknown_token`, ...), and calls refused at the door
//! for want of a valid key. A line whose call was dispatched is left out: the decision path
//! wrote that call's row. So every tool call is one row.
//!
//! Like every row: the agent's name and key id, never a key, a token, a query or a body.

use std::time::Duration;

use crisp_api::Operation;
use crisp_mcp::{AuditLine, Verdict};

use crate::approvals::APPROVAL_STATUS;
use crate::gateway::{Front, Gateway};
use crate::refusal::Rule;
use crate::store::{AuditRow, unix_ms};

/// Records the row of a tool call by agent `name` (key id `key_id`), unless its call was
/// dispatched (then the decision path recorded it).
pub(super) fn call(gateway: &Gateway, name: &str, key_id: &str, line: &AuditLine) {
    if line.dispatched {
        return;
    }
    let mut row = row(line);
    row.agent = Some(name.to_owned());
    row.key_id = Some(key_id.to_owned());
    record(gateway, row);
}

/// Records the row of a tool call refused at the door: no key, or one that names no agent.
/// It is refused by the `auth` rule, as REST's would be.
pub(super) fn door(gateway: &Gateway, line: &AuditLine) {
    let mut row = row(line);
    let rule = Rule::Auth;
    row.why = Some(rule.as_str().to_owned());
    row.status = Some(rule.status());
    row.reason = Some(rule.reason().to_owned());
    record(gateway, row);
}

fn record(gateway: &Gateway, row: AuditRow) {
    // A full or closed queue: the call is over; say so (the row holds no secret).
    if let Err(error) = gateway.audit().record(row) {
        tracing::warn!(%error, "the audit row of an MCP tool call was not recorded");
    }
}

/// The row of `line`, with no agent.
fn row(line: &AuditLine) -> AuditRow {
    let latency = Duration::try_from_secs_f64(line.latency_ms / 1000.0).unwrap_or_default();
    let started = line.ended_at.checked_sub(latency).unwrap_or(line.ended_at);
    let at_ms = unix_ms(started);
    let operation = Operation::find(&line.tool);
    // The ids in the operation's path order.
    let mut path_ids: Vec<(String, String)> = line
        .path_ids
        .iter()
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    if let Some(operation) = operation {
        path_ids.sort_by_key(|(name, _)| operation.path_params().position(|p| p == name));
    }
    AuditRow {
        at_ms,
        agent: None,
        key_id: None,
        front: Front::Mcp.as_str().to_owned(),
        client: line.client.clone(),
        // The gateway's own tool is not an operation, but its rows name it as REST's do.
        operation: match operation {
            Some(op) => Some(op.id.to_owned()),
            None if line.tool == APPROVAL_STATUS => Some(APPROVAL_STATUS.to_owned()),
            None => None,
        },
        method: operation.map(|op| op.method.as_str().to_owned()),
        path_ids,
        decision: decision(line.decision).to_owned(),
        why: line.refusal.clone(),
        outcome: Some(line.outcome.unwrap_or("not_sent").to_owned()),
        status: line.status,
        reason: line.reason.clone(),
        error: line.error.map(str::to_owned),
        attempts: line.attempts,
        upstream_requests: line.attempts.saturating_add(line.lookups),
        latency_us: u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
    }
}

/// The row's decision for crisp-mcp's verdict.
fn decision(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Allowed => "allowed",
        Verdict::Refused => "refused",
        Verdict::AwaitingConfirmation => "awaiting_confirmation",
        Verdict::Confirmed => "confirmed",
        // The decision path wrote the row of a call it held (`proposed`); not reached.
        Verdict::AwaitingApproval => "proposed",
    }
}

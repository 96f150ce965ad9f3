//! The audit rows of approvals' steps, as both backends write them in the transaction of the
//! step: the proposal's agent, operation, method and path ids, the transition's decision, and
//! the step's own facts ([`Step`]). Never a query or a body (those stay in the approval).

use super::approvals::{Approval, ApprovalState, Step, Sweep};
use super::types::AuditRow;

/// The audit row of the step `step` that left `approval` in its current state.
pub(super) fn row(approval: &Approval, step: &Step) -> AuditRow {
    let decision = match approval.state {
        ApprovalState::Sending => "approved",
        other => other.as_str(),
    };
    AuditRow {
        at_ms: step.at_ms,
        agent: Some(approval.agent.clone()),
        key_id: None,
        front: step.front.clone(),
        client: step.client.clone(),
        operation: Some(approval.operation.clone()),
        method: Some(approval.method.clone()),
        path_ids: approval.path_ids.clone(),
        decision: decision.to_owned(),
        why: None,
        outcome: match approval.state {
            ApprovalState::Sent | ApprovalState::UnknownOutcome => step.outcome.clone(),
            _ => Some("not_sent".to_owned()),
        },
        status: step.status,
        reason: step.reason.clone(),
        error: step.error.clone(),
        attempts: step.attempts,
        upstream_requests: step.upstream_requests,
        latency_us: step.latency_us,
    }
}

/// The step of a sweep: `expired`, or `unknown_outcome` for a send whose sender stopped.
pub(super) fn swept(approval: &Approval, sweep: &Sweep) -> AuditRow {
    let step = Step {
        at_ms: sweep.at_ms,
        front: sweep.front.clone(),
        error: (approval.state == ApprovalState::UnknownOutcome).then(|| "stale_send".to_owned()),
        ..Step::default()
    };
    row(approval, &step)
}

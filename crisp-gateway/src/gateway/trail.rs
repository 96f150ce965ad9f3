//! A request's audit row as it is made: started when the request is read, filled in as the
//! decision path goes, finished with the answer. Never a key, query or body: the agent's name,
//! its key id, the operation and the path ids.

use std::time::Instant;

use crisp_api::Operation;

use super::types::{Incoming, Lookup, Outcome, Unhandled};
use crate::approvals::{APPROVAL_STATUS, PENDING_APPROVAL};
use crate::audit::kept_text;
use crate::policy::Agent;
use crate::refusal::Refusal;
use crate::store::{AuditRow, now_ms};

/// An audit row being made.
#[derive(Debug)]
pub(super) struct Trail {
    row: AuditRow,
    received: Instant,
    /// The call was confirmed with a token: sent, its decision is `confirmed`.
    confirmed: bool,
}

impl Trail {
    /// The row of a call by `agent`.
    pub(super) fn call(agent: &Agent, incoming: &Incoming) -> Self {
        let mut trail = Self::new(
            incoming.front.as_str(),
            incoming.client.as_deref(),
            incoming.received,
        );
        trail.row.agent = Some(agent.name.clone());
        trail.row.key_id = Some(agent.key_sha256.key_id());
        trail.confirmed = incoming.confirmed;
        trail.operation(incoming.operation);
        trail.row.path_ids = incoming
            .ids
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect();
        trail
    }

    /// The row of a request a front refused before it was a call.
    pub(super) fn unhandled(request: &Unhandled<'_>) -> Self {
        let mut trail = Self::new(
            request.front.as_str(),
            request.client.as_deref(),
            request.received,
        );
        trail.row.agent = request.agent.map(|agent| agent.name.clone());
        trail.row.key_id = match request.agent {
            Some(agent) => Some(agent.key_sha256.key_id()),
            None => request.key_id.clone(),
        };
        if let Some(operation) = request.operation {
            trail.operation(operation);
        }
        trail
    }

    /// The row of `agent`'s lookup of the approval `approval_id` (operation
    /// `approval_status`).
    pub(super) fn lookup(agent: &Agent, lookup: &Lookup) -> Self {
        let mut trail = Self::new(
            lookup.front.as_str(),
            lookup.client.as_deref(),
            lookup.received,
        );
        trail.row.agent = Some(agent.name.clone());
        trail.row.key_id = Some(agent.key_sha256.key_id());
        trail.row.operation = Some(APPROVAL_STATUS.to_owned());
        trail.row.method = Some("GET".to_owned());
        trail.row.path_ids = vec![("approval_id".to_owned(), lookup.approval_id.clone())];
        trail
    }

    fn new(front: &str, client: Option<&str>, received: Instant) -> Self {
        let waited = i64::try_from(received.elapsed().as_millis()).unwrap_or(0);
        Self {
            row: AuditRow {
                at_ms: now_ms().saturating_sub(waited),
                agent: None,
                key_id: None,
                front: front.to_owned(),
                client: client.map(kept_text),
                operation: None,
                method: None,
                path_ids: Vec::new(),
                decision: "refused".to_owned(),
                why: None,
                outcome: Some("not_sent".to_owned()),
                status: None,
                reason: None,
                error: None,
                attempts: 0,
                upstream_requests: 0,
                latency_us: 0,
            },
            received,
            confirmed: false,
        }
    }

    fn operation(&mut self, operation: &Operation) {
        self.row.operation = Some(operation.id.to_owned());
        self.row.method = Some(operation.method.as_str().to_owned());
    }

    /// Requests sent upstream for this request (a resource check's read, the call's attempts).
    pub(super) fn spent(&mut self, requests: u32) {
        self.row.upstream_requests = self.row.upstream_requests.saturating_add(requests);
    }

    /// The call was allowed (or confirmed) and sent: `attempts` requests, ending in `error`
    /// (the crisp-api error's kind) if it failed.
    pub(super) fn sent(&mut self, attempts: u32, error: Option<&'static str>) {
        let decision = if self.confirmed {
            "confirmed"
        } else {
            "allowed"
        };
        self.row.decision = decision.to_owned();
        self.row.why = None;
        self.row.attempts = attempts;
        self.spent(attempts);
        self.row.outcome = Some(
            if error.is_some() {
                "failed"
            } else {
                "succeeded"
            }
            .to_owned(),
        );
        self.row.error = error.map(str::to_owned);
    }

    /// The call waits for a person's approval: stored, not sent (see
    /// [`approvals`](crate::approvals)).
    pub(super) fn proposed(&mut self) {
        self.row.decision = "proposed".to_owned();
        self.row.why = Some("approval".to_owned());
        self.row.outcome = Some("not_sent".to_owned());
    }

    /// The lookup was answered (nothing is sent upstream for it).
    pub(super) fn answered(&mut self) {
        self.row.decision = "allowed".to_owned();
        self.row.why = None;
    }

    /// The lookup named no approval of the agent's.
    pub(super) fn not_found(&mut self) {
        self.row.decision = "refused".to_owned();
        self.row.why = Some("not_found".to_owned());
    }

    /// The upstream requests this row counts so far.
    pub(super) fn upstream_requests(&self) -> u32 {
        self.row.upstream_requests
    }

    /// The call was refused by `refusal`'s rule.
    pub(super) fn refused(&mut self, refusal: &Refusal) {
        self.row.decision = "refused".to_owned();
        self.row.why = Some(refusal.rule.as_str().to_owned());
    }

    /// The call was not sent because what its rules needed could not be read upstream
    /// (`error`, the crisp-api error's kind).
    pub(super) fn unreadable(&mut self, error: &'static str) {
        self.row.decision = "refused".to_owned();
        self.row.why = Some("upstream".to_owned());
        self.row.error = Some(error.to_owned());
    }

    /// The finished row, answered with `outcome`.
    pub(super) fn finish(mut self, outcome: &Outcome) -> AuditRow {
        self.row.status = Some(outcome.status());
        self.row.reason = match outcome {
            Outcome::Refused(refusal) => Some(refusal.reason.to_owned()),
            Outcome::Answered { envelope, .. } => envelope
                .get("reason")
                .and_then(|r| r.as_str())
                .map(kept_text),
            Outcome::Proposed(_) => Some(PENDING_APPROVAL.to_owned()),
        };
        self.row.latency_us =
            u64::try_from(self.received.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.row
    }
}

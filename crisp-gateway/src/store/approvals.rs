//! Approvals in the store: the vocabulary ([`Approval`], [`ApprovalState`], what each
//! transition takes) and the [`ApprovalStore`] trait both backends implement. A leaf of
//! `store/` beside `types.rs`: the implementations import it, never the reverse.
//!
//! The state machine is on [`ApprovalStore`].

use std::fmt;

use futures::future::BoxFuture;
use serde_json::Value;

use super::error::StoreError;

/// Where a proposal is in its life. See [`ApprovalStore`] for the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApprovalState {
    /// Waiting for a person (until it expires).
    Pending,
    /// Approved, and its send claimed: the request is leaving, or left and its answer is not
    /// recorded yet.
    Sending,
    /// Approved and sent: Crisp's answer (possibly an error) is recorded.
    Sent,
    /// A person refused it: never sent.
    Denied,
    /// Nobody decided within the approval time: never sent.
    Expired,
    /// Approved and sent, but what happened is not known (the connection broke after the
    /// request left, or the sender stopped before recording the answer). Never retried.
    UnknownOutcome,
}

impl ApprovalState {
    /// Every state, in the order of the machine.
    pub const ALL: [Self; 6] = [
        Self::Pending,
        Self::Sending,
        Self::Sent,
        Self::Denied,
        Self::Expired,
        Self::UnknownOutcome,
    ];

    /// As stored: `pending`, `sending`, `sent`, `denied`, `expired` or `unknown_outcome`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Denied => "denied",
            Self::Expired => "expired",
            Self::UnknownOutcome => "unknown_outcome",
        }
    }

    /// The state stored as `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }

    /// What the agent is told: `pending`, `approved` (sending or sent), `denied`, `expired` or
    /// `unknown_outcome`.
    pub fn status(self) -> &'static str {
        match self {
            Self::Sending | Self::Sent => "approved",
            other => other.as_str(),
        }
    }

    /// Whether nothing can happen to it any more.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Pending | Self::Sending)
    }
}

impl fmt::Display for ApprovalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One proposal and what became of it: the exact request, who proposed it, and the decision,
/// the send and Crisp's answer as far as they went.
#[derive(Clone, Debug, PartialEq)]
pub struct Approval {
    /// Its id: 32 random hex digits (unguessable; only its agent can read it anyway).
    pub id: String,
    /// The agent that proposed it.
    pub agent: String,
    /// The short id of the key the agent proposed it with.
    pub key_id: Option<String>,
    /// The front it was proposed on: `rest` or `mcp`.
    pub front: String,
    /// The client that proposed it (the REST `User-Agent`, the MCP client's name).
    pub client: Option<String>,
    /// The operation id (`send_message`).
    pub operation: String,
    /// Its HTTP method.
    pub method: String,
    /// The path ids, by name, in path order.
    pub path_ids: Vec<(String, String)>,
    /// The query to send, in order (the agent's, with the filters its rules set).
    pub query: Vec<(String, String)>,
    /// The JSON body to send, if any.
    pub body: Option<Value>,
    /// When it was proposed (Unix ms).
    pub created_ms: i64,
    /// When it stops being approvable (Unix ms).
    pub expires_ms: i64,
    /// Where it is.
    pub state: ApprovalState,
    /// Who approved or denied it.
    pub decided_by: Option<String>,
    /// When it was approved, denied or expired (Unix ms).
    pub decided_ms: Option<i64>,
    /// The reviewer's note.
    pub note: Option<String>,
    /// When its send was claimed (Unix ms): the approval's time.
    pub sending_ms: Option<i64>,
    /// When its outcome was recorded (Unix ms).
    pub finished_ms: Option<i64>,
    /// The status the send was answered (Crisp's, or the gateway's 502 when Crisp could not be
    /// reached).
    pub answer_status: Option<u16>,
    /// The answer's envelope `{error, reason, data}`, as Crisp answered it.
    pub answer: Option<Value>,
    /// What went wrong, for an unknown outcome.
    pub error: Option<String>,
}

impl Approval {
    /// A new pending proposal of `operation` by `agent`, proposed at `created_ms` and
    /// approvable until `expires_ms`. The caller fills the request's fields.
    pub fn pending(id: String, agent: String, created_ms: i64, expires_ms: i64) -> Self {
        Self {
            id,
            agent,
            key_id: None,
            front: String::new(),
            client: None,
            operation: String::new(),
            method: String::new(),
            path_ids: Vec::new(),
            query: Vec::new(),
            body: None,
            created_ms,
            expires_ms,
            state: ApprovalState::Pending,
            decided_by: None,
            decided_ms: None,
            note: None,
            sending_ms: None,
            finished_ms: None,
            answer_status: None,
            answer: None,
            error: None,
        }
    }

    /// The state a sweep at `now_ms` would leave it in: a pending one past its expiry is
    /// expired, a send claimed at or before `stale_before_ms` has an unknown outcome. (What
    /// readers that do not write, such as `approvals list`, show.)
    pub fn state_at(&self, now_ms: i64, stale_before_ms: i64) -> ApprovalState {
        match self.state {
            ApprovalState::Pending if self.expires_ms <= now_ms => ApprovalState::Expired,
            ApprovalState::Sending if self.sending_ms.unwrap_or(0) <= stale_before_ms => {
                ApprovalState::UnknownOutcome
            }
            state => state,
        }
    }
}

/// What a step's audit row says beyond the proposal's agent, operation and ids (which the
/// store copies from the approval) and its decision (which the transition names: `approved`,
/// `denied`, `sent`, `unknown_outcome`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// When (Unix ms).
    pub at_ms: i64,
    /// Where the step was taken: `cli`, `gateway`, `dashboard`.
    pub front: String,
    /// Who took it (the reviewer), if a person did.
    pub client: Option<String>,
    /// For a send: `succeeded` or `failed` (`None`: not known).
    pub outcome: Option<String>,
    /// For a send: the status answered.
    pub status: Option<u16>,
    /// For a send: Crisp's `reason`.
    pub reason: Option<String>,
    /// A short error description (the crisp-api error's kind).
    pub error: Option<String>,
    /// For a send: the attempts made upstream.
    pub attempts: u32,
    /// Upstream requests spent (a conversation read for the rules included).
    pub upstream_requests: u32,
    /// How long the step took, in microseconds.
    pub latency_us: u64,
}

/// A person's decision on a pending proposal ([`ApprovalStore::decide_approval`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// The approval.
    pub id: String,
    /// Approve (and claim the send), or deny.
    pub approve: bool,
    /// Who decided.
    pub by: String,
    /// Their note.
    pub note: Option<String>,
    /// The step's audit row (its time is the decision's: a proposal that expired at or before
    /// `step.at_ms` cannot be decided), written in the same transaction if the decision is
    /// taken.
    pub step: Step,
}

/// What the send of an approved proposal was answered ([`ApprovalStore::finish_approval`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Finish {
    /// The approval.
    pub id: String,
    /// `Sent` when the answer is known, `UnknownOutcome` otherwise.
    pub state: ApprovalState,
    /// The status answered.
    pub status: u16,
    /// The answer's envelope.
    pub answer: Value,
    /// What went wrong, for an unknown outcome.
    pub error: Option<String>,
    /// The step's audit row (its time is the finish's), written in the same transaction.
    pub step: Step,
}

/// What a sweep settles ([`ApprovalStore::sweep_approvals`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sweep {
    /// Now (Unix ms): pending proposals that expired at or before it become `expired`.
    pub at_ms: i64,
    /// Sends claimed at or before this (Unix ms) become `unknown_outcome`: no send takes that
    /// long, so their sender stopped mid-way.
    pub stale_before_ms: i64,
    /// Only this approval, or all.
    pub only: Option<String>,
    /// Who sweeps, for the audit rows' front (`gateway`, `cli`).
    pub front: String,
}

/// The message an approval left in `sending` by a sender that stopped is marked with.
pub const STALE_SEND: &str = "the send was claimed, but its sender stopped before recording what \
     Crisp answered: the request may have reached Crisp; it is never sent again";

/// Which approvals [`ApprovalStore::list_approvals`] returns, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApprovalFilter {
    /// Only in this state.
    pub state: Option<ApprovalState>,
    /// Only this agent's.
    pub agent: Option<String>,
    /// At most this many (the newest).
    pub limit: Option<u32>,
}

/// The approvals a store keeps. Both backends implement it;
/// [`Store::approvals`](super::Store::approvals) gives it.
///
/// The state machine, every transition one conditional `UPDATE` that holds only from the state
/// it leaves, committed in one transaction with its audit row (so a step happens once, and is
/// recorded once, however many reviewers or replicas try it at the same moment):
///
/// ```text
/// pending --approve--> sending --finish--> sent               (Crisp's answer is known)
///    |                    |       \------> unknown_outcome    (sent, what happened is not known)
///    |                    \--stale-------> unknown_outcome    (a sender that never finished)
///    |--deny--> denied
///    \--expire--> expired
/// ```
///
/// Approving *is* claiming the send: `pending -> sending` is one statement, committed before the
/// request leaves, so no two reviewers (or replicas) can both send, and no approved row is ever
/// left waiting for a sender. An agent reads `sending` and `sent` as `approved`
/// ([`ApprovalState::status`]). A row left in `sending` (its sender stopped mid-way) is never
/// sent again: once it is older than any send can take, a sweep marks it `unknown_outcome`.
///
/// Unlike an audit row, an approval holds the request's query and body: they are what a person
/// approves and what is then sent. Never a key.
pub trait ApprovalStore: Send + Sync {
    /// Stores a new proposal (its state must be `pending`; the decision's fields are not
    /// read).
    fn create_approval<'a>(
        &'a self,
        approval: &'a Approval,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// The approval `id`, as stored.
    fn approval<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Approval>, StoreError>>;

    /// The approvals matching `filter`, newest first.
    fn list_approvals<'a>(
        &'a self,
        filter: &'a ApprovalFilter,
    ) -> BoxFuture<'a, Result<Vec<Approval>, StoreError>>;

    /// `pending -> sending` (approve: the send is claimed) or `pending -> denied`, if it is
    /// pending and did not expire at or before the decision's time, with its audit row, in one
    /// transaction. The approval as decided, or `None` when it was not pending (another
    /// reviewer or replica was first, it expired, or there is no such approval).
    fn decide_approval<'a>(
        &'a self,
        decision: &'a Decision,
    ) -> BoxFuture<'a, Result<Option<Approval>, StoreError>>;

    /// `sending -> sent | unknown_outcome` with the answer and its audit row, in one
    /// transaction. `None` when it was not `sending` any more (a sweep marked it unknown).
    fn finish_approval<'a>(
        &'a self,
        finish: &'a Finish,
    ) -> BoxFuture<'a, Result<Option<Approval>, StoreError>>;

    /// Expires pending proposals past their time and marks stale sends `unknown_outcome`
    /// (see [`Sweep`]), each with its audit row, in one transaction. The approvals changed.
    fn sweep_approvals<'a>(
        &'a self,
        sweep: &'a Sweep,
    ) -> BoxFuture<'a, Result<Vec<Approval>, StoreError>>;
}

/// The columns of `approvals`, in the order [`Record`] reads them.
macro_rules! columns {
    () => {
        "id, agent, key_id, front, client, operation, method, path_ids, query, body, \
         created_ms, expires_ms, state, decided_by, decided_ms, note, sending_ms, finished_ms, \
         answer_status, answer, error"
    };
}

/// One approval by id (`$1`).
pub(super) const SELECT: &str = concat!("SELECT ", columns!(), " FROM approvals WHERE id = $1");

/// The start of a list query (the backends add the filters, the order and the limit).
pub(super) const LIST: &str = concat!("SELECT ", columns!(), " FROM approvals WHERE 1 = 1");

/// A new proposal (`$1`..`$12`).
pub(super) const INSERT: &str = "INSERT INTO approvals (id, agent, key_id, front, client, \
     operation, method, path_ids, query, body, created_ms, expires_ms, state) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending')";

/// Approve: `$1` the id, `$2` who, `$3` when, `$4` the note. Holds only from `pending`, and only
/// before its expiry: the one statement that claims the send.
pub(super) const APPROVE: &str = concat!(
    "UPDATE approvals SET state = 'sending', decided_by = $2, decided_ms = $3, note = $4, \
     sending_ms = $3 WHERE id = $1 AND state = 'pending' AND expires_ms > $3 RETURNING ",
    columns!()
);

/// Deny: as [`APPROVE`].
pub(super) const DENY: &str = concat!(
    "UPDATE approvals SET state = 'denied', decided_by = $2, decided_ms = $3, note = $4 \
     WHERE id = $1 AND state = 'pending' AND expires_ms > $3 RETURNING ",
    columns!()
);

/// Finish: `$1` the id, `$2` the state (`sent`, `unknown_outcome`), `$3` when, `$4` the status,
/// `$5` the answer, `$6` the error. Holds only from `sending`.
pub(super) const FINISH: &str = concat!(
    "UPDATE approvals SET state = $2, finished_ms = $3, answer_status = $4, answer = $5, \
     error = $6 WHERE id = $1 AND state = 'sending' RETURNING ",
    columns!()
);

/// Expire: `$1` now, `$2` one id or NULL for all.
pub(super) const EXPIRE: &str = concat!(
    "UPDATE approvals SET state = 'expired', decided_ms = expires_ms, finished_ms = $1 \
     WHERE state = 'pending' AND expires_ms <= $1 AND ($2 IS NULL OR id = $2) RETURNING ",
    columns!()
);

/// Mark stale sends: `$1` now, `$2` the stale bound, `$3` one id or NULL, `$4` the error.
pub(super) const STALE: &str = concat!(
    "UPDATE approvals SET state = 'unknown_outcome', finished_ms = $1, error = $4 \
     WHERE state = 'sending' AND sending_ms <= $2 AND ($3 IS NULL OR id = $3) RETURNING ",
    columns!()
);

/// One audit row (a step's), `$1`..`$17` in the audit table's column order.
pub(super) const INSERT_ROW: &str = "INSERT INTO audit (at_ms, agent, key_id, front, client, \
     operation, method, path_ids, decision, why, outcome, status, reason, error, attempts, \
     upstream_requests, latency_us) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, CAST($12 AS INTEGER), $13, $14, $15, \
     $16, $17)";

/// An approval as both backends read it (every integer a 64-bit one).
#[derive(sqlx::FromRow)]
pub(super) struct Record {
    id: String,
    agent: String,
    key_id: Option<String>,
    front: String,
    client: Option<String>,
    operation: String,
    method: String,
    path_ids: String,
    query: String,
    body: Option<String>,
    created_ms: i64,
    expires_ms: i64,
    state: String,
    decided_by: Option<String>,
    decided_ms: Option<i64>,
    note: Option<String>,
    sending_ms: Option<i64>,
    finished_ms: Option<i64>,
    answer_status: Option<i64>,
    answer: Option<String>,
    error: Option<String>,
}

impl Record {
    /// The approval it stores.
    pub(super) fn into_approval(self) -> Result<Approval, StoreError> {
        let corrupt = |what: &str, detail: String| StoreError::Corrupt {
            detail: format!("the approval {}'s {what} {detail}", self.id),
        };
        let pairs = |text: &str, what: &str| -> Result<Vec<(String, String)>, StoreError> {
            serde_json::from_str(text)
                .map_err(|e| corrupt(what, format!("is not a list of [name, value] pairs: {e}")))
        };
        let json = |text: &Option<String>, what: &str| -> Result<Option<Value>, StoreError> {
            text.as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| corrupt(what, format!("is not JSON: {e}")))
        };
        let state = ApprovalState::parse(&self.state)
            .ok_or_else(|| corrupt("state", format!("`{}` is not a state", self.state)))?;
        let answer_status = self
            .answer_status
            .map(|s| {
                u16::try_from(s)
                    .map_err(|_| corrupt("status", format!("{s} is not an HTTP status")))
            })
            .transpose()?;
        Ok(Approval {
            path_ids: pairs(&self.path_ids, "path ids")?,
            query: pairs(&self.query, "query")?,
            body: json(&self.body, "body")?,
            answer: json(&self.answer, "answer")?,
            answer_status,
            state,
            id: self.id,
            agent: self.agent,
            key_id: self.key_id,
            front: self.front,
            client: self.client,
            operation: self.operation,
            method: self.method,
            created_ms: self.created_ms,
            expires_ms: self.expires_ms,
            decided_by: self.decided_by,
            decided_ms: self.decided_ms,
            note: self.note,
            sending_ms: self.sending_ms,
            finished_ms: self.finished_ms,
            error: self.error,
        })
    }
}

/// A list of string pairs as stored: a JSON array of `[name, value]`.
pub(super) fn pairs_json(pairs: &[(String, String)]) -> String {
    // A list of string pairs always serializes.
    serde_json::to_string(pairs).unwrap_or_else(|_| "[]".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_agents_read_sending_and_sent_as_approved() {
        for state in ApprovalState::ALL {
            assert_eq!(ApprovalState::parse(state.as_str()), Some(state));
        }
        assert_eq!(ApprovalState::parse("approved"), None);
        assert_eq!(ApprovalState::Sending.status(), "approved");
        assert_eq!(ApprovalState::Sent.status(), "approved");
        assert_eq!(ApprovalState::Denied.status(), "denied");
        assert!(!ApprovalState::Sending.is_final());
        assert!(ApprovalState::UnknownOutcome.is_final());
    }

    #[test]
    fn readers_see_expired_and_stale_without_writing() {
        let mut approval = Approval::pending("a".into(), "reply".into(), 1_000, 2_000);
        assert_eq!(approval.state_at(1_999, 0), ApprovalState::Pending);
        assert_eq!(approval.state_at(2_000, 0), ApprovalState::Expired);
        approval.state = ApprovalState::Sending;
        approval.sending_ms = Some(1_500);
        assert_eq!(approval.state_at(3_000, 1_499), ApprovalState::Sending);
        assert_eq!(
            approval.state_at(3_000, 1_500),
            ApprovalState::UnknownOutcome
        );
    }
}

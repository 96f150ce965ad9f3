//! The decision path's vocabulary, shared by the fronts: what a front hands in ([`Incoming`],
//! [`Caller`], [`Unhandled`]) and what it gets back ([`Outcome`]). A leaf of `gateway/`.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Instant;

use crisp_api::Operation;
use serde_json::{Value, json};

use crate::approvals::Proposal;
use crate::policy::{Agent, Policy};
use crate::refusal::{Refusal, Rule};

/// The front a request came in on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Front {
    /// Crisp's REST API at `/v1`.
    Rest,
    /// MCP at `/mcp`.
    Mcp,
}

impl Front {
    /// `rest` or `mcp`, as audit rows hold it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rest => "rest",
            Self::Mcp => "mcp",
        }
    }
}

impl fmt::Display for Front {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One call, as a front read it: the operation, its ids, query and body. Made by the fronts;
/// [`Gateway::handle`](super::Gateway::handle) decides it, sends it and records it.
#[derive(Clone, Debug)]
pub struct Incoming {
    /// The front it came in on.
    pub front: Front,
    /// The client: the REST `User-Agent`, or the MCP client's name.
    pub client: Option<String>,
    /// The operation.
    pub operation: &'static Operation,
    /// The path ids, in path order, as `(name, value)`, already checked
    /// ([`Operation::fill_path`]).
    pub ids: Vec<(&'static str, String)>,
    /// The query parameters, in order.
    pub query: Vec<(String, String)>,
    /// The JSON body, if any.
    pub body: Option<Value>,
    /// When the request arrived: the audit row's time and latency count from it.
    pub received: Instant,
    /// The agent confirmed the call with a one-time token (MCP's preview and confirmation):
    /// its audit row's decision is `confirmed` rather than `allowed`.
    pub confirmed: bool,
}

impl Incoming {
    /// A call of `operation` from `front`, arriving now, with no ids, query or body yet.
    pub fn new(front: Front, operation: &'static Operation) -> Self {
        Self {
            front,
            client: None,
            operation,
            ids: Vec::new(),
            query: Vec::new(),
            body: None,
            received: Instant::now(),
            confirmed: false,
        }
    }
}

/// A call that passed every rule but the approval: what is stored.
pub(super) struct Proposing<'a> {
    pub front: Front,
    pub client: Option<&'a str>,
    pub operation: &'static Operation,
    pub ids: &'a [(&'static str, String)],
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
}

/// An agent's lookup of one of its approvals (REST `GET /v1/_gateway/approvals/{id}`, the MCP
/// `approval_status` tool): [`Gateway::approval_status`](super::Gateway::approval_status).
#[derive(Clone, Debug)]
pub struct Lookup {
    /// The front it came in on.
    pub front: Front,
    /// The client, as for [`Incoming::client`].
    pub client: Option<String>,
    /// The approval's id, as the agent gave it.
    pub approval_id: String,
    /// When the request arrived.
    pub received: Instant,
}

impl Lookup {
    /// A lookup of `approval_id` from `front`, arriving now.
    pub fn new(front: Front, approval_id: impl Into<String>) -> Self {
        Self {
            front,
            client: None,
            approval_id: approval_id.into(),
            received: Instant::now(),
        }
    }
}

/// A request a front refused before it became an [`Incoming`] (no credentials, an unknown
/// route, a malformed id or body): what its audit row can say.
#[derive(Clone, Debug)]
pub struct Unhandled<'a> {
    /// The front it came in on.
    pub front: Front,
    /// The client, as for [`Incoming::client`].
    pub client: Option<String>,
    /// The agent, when the request was authenticated.
    pub agent: Option<&'a Agent>,
    /// The key id of the key presented, when one was
    /// ([`presented_key_id`](crate::identity::presented_key_id)).
    pub key_id: Option<String>,
    /// The operation, when the route matched one.
    pub operation: Option<&'static Operation>,
    /// When the request arrived.
    pub received: Instant,
}

impl Unhandled<'_> {
    /// A request from `front` that arrived at `received`, about which nothing else is known.
    pub fn new(front: Front, received: Instant) -> Self {
        Self {
            front,
            client: None,
            agent: None,
            key_id: None,
            operation: None,
            received,
        }
    }
}

/// What the gateway answers a call: Crisp's answer, its own refusal, or a proposal waiting for
/// a person's approval. Both fronts render it (REST as Crisp's envelope and status, MCP as a
/// tool result or tool error).
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Crisp's answer, as it was: its status and its envelope `{error, reason, data}` (an error
    /// answered by Crisp, or a failure to reach it, has `error: true`).
    Answered {
        /// The HTTP status.
        status: u16,
        /// Crisp's envelope.
        envelope: Value,
        /// For a 429 from Crisp: the seconds it asked to wait, if it said.
        retry_after: Option<u64>,
    },
    /// The gateway refused the call: nothing was sent for it.
    Refused(Refusal),
    /// The agent's policy has a person approve this call first: it was stored, not sent, and
    /// nothing was taken from the budget. REST renders it as 202 with
    /// [`Proposal::envelope`]; MCP as a tool result previewing exactly this request.
    Proposed(Proposal),
}

impl Outcome {
    /// An error envelope of Crisp's shape, `{"error": true, "reason": ..., "data": {"message":
    /// ...}}`, with this status.
    pub fn error(status: u16, reason: &str, message: impl Into<String>) -> Self {
        Self::Answered {
            status,
            envelope: json!({
                "error": true,
                "reason": reason,
                "data": { "message": message.into() },
            }),
            retry_after: None,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::Answered { status, .. } => *status,
            Self::Refused(refusal) => refusal.status,
            Self::Proposed(_) => 202,
        }
    }

    /// The seconds to wait before calling again, for a 429.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Answered { retry_after, .. } => *retry_after,
            Self::Refused(refusal) => refusal.retry_after,
            Self::Proposed(_) => None,
        }
    }

    /// The body as Crisp's envelope (a refusal's is [`Refusal::envelope`], a proposal's
    /// [`Proposal::envelope`]).
    pub fn envelope(&self) -> Value {
        match self {
            Self::Answered { envelope, .. } => envelope.clone(),
            Self::Refused(refusal) => refusal.envelope(),
            Self::Proposed(proposal) => proposal.envelope(),
        }
    }

    /// Its status, envelope and `Retry-After` seconds, taken apart (to render it).
    pub fn into_parts(self) -> (u16, Value, Option<u64>) {
        match self {
            Self::Answered {
                status,
                envelope,
                retry_after,
            } => (status, envelope, retry_after),
            Self::Refused(refusal) => (refusal.status, refusal.envelope(), refusal.retry_after),
            Self::Proposed(proposal) => (202, proposal.envelope(), None),
        }
    }

    /// The rule that refused, if the gateway refused.
    pub fn rule(&self) -> Option<Rule> {
        match self {
            Self::Refused(refusal) => Some(refusal.rule),
            Self::Answered { .. } | Self::Proposed(_) => None,
        }
    }

    /// Whether it is a success (a 2xx answer from Crisp; a proposal is not one: nothing was
    /// sent).
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Answered { status, .. } if (200..300).contains(status))
    }
}

/// An authenticated agent, as the policy in force when it was authenticated has it: it stays
/// valid for the request even if a reload replaces the policy meanwhile. Derefs to [`Agent`].
#[derive(Clone)]
pub struct Caller {
    policy: Arc<Policy>,
    index: usize,
}

impl Caller {
    /// The agent at `index` of `policy`: an index [`identity::agent_index`] found in it.
    ///
    /// [`identity::agent_index`]: crate::identity::agent_index
    pub(crate) fn new(policy: Arc<Policy>, index: usize) -> Self {
        debug_assert!(
            index < policy.agents().len(),
            "an agent's index in its policy"
        );
        Self { policy, index }
    }

    /// The agent.
    pub fn agent(&self) -> &Agent {
        &self.policy.agents()[self.index]
    }

    /// The policy it was authenticated under.
    pub fn policy(&self) -> &Arc<Policy> {
        &self.policy
    }
}

impl Deref for Caller {
    type Target = Agent;

    fn deref(&self) -> &Agent {
        self.agent()
    }
}

impl fmt::Debug for Caller {
    /// The agent's name and key id only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Caller")
            .field("agent", &self.agent().name)
            .field("key_id", &self.agent().key_sha256.key_id())
            .finish()
    }
}

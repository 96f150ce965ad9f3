//! One agent's send step: crisp-mcp's [`Dispatch`] for a gateway agent. `check` refuses, before
//! a preview or token, what the gateway would refuse anyway and can tell without I/O;
//! `dispatch` hands the call to [`Gateway::handle`] (front `mcp`, the MCP client's name) and
//! turns its outcome into the tool's answer. Each call is decided with the agent as the policy
//! in force has it, not as it was when the agent's server was built.

use std::sync::Arc;
use std::time::Instant;

use crisp_api::Operation;
use crisp_mcp::{Caller, Dispatch, Dispatched, Held, Outgoing};
use futures::future::BoxFuture;

use crate::approvals::{APPROVAL_STATUS, Proposal};
use crate::decide::{self, Call, Needed};
use crate::gateway::{Front, Gateway, Incoming, Outcome, Unhandled};
use crate::identity;
use crate::policy::{Agent, Policy};
use crate::refusal::Refusal;

/// The dispatch of one agent's MCP server.
pub(super) struct AgentDispatch {
    gateway: Arc<Gateway>,
    /// The agent as its server was built: its name and key find it in the policy in force,
    /// and its rules say which tools are offered.
    built: Agent,
}

impl AgentDispatch {
    pub(super) fn new(gateway: Arc<Gateway>, built: Agent) -> Self {
        Self { gateway, built }
    }

    /// The agent in `policy`: the one with this server's name and key, if it is still there.
    fn agent_in<'p>(&self, policy: &'p Policy) -> Option<&'p Agent> {
        agent_in(&self.built, policy)
    }

    /// What `check` refuses: see the module docs.
    fn refusal(&self, request: &Outgoing<'_>) -> Option<Refusal> {
        let policy = self.gateway.policy();
        let Some(agent) = self.agent_in(&policy) else {
            return Some(removed());
        };
        if !self.gateway.audit().is_writable() {
            return Some(Refusal::store());
        }
        let query = owned(request.query);
        if let Err(refusal) = identity::refuse_key_in_query(&policy, &query) {
            return Some(refusal);
        }
        let call = Call {
            operation: request.operation,
            ids: request.ids,
            query: &query,
        };
        let facts = match decide::needs(agent, &call) {
            None => None,
            // Cheap only when the conversation was read lately; otherwise the decision path
            // reads it when the call is sent.
            Some(Needed::Conversation {
                website_id,
                session_id,
            }) => Some(
                self.gateway
                    .upstream()
                    .cached_facts(&website_id, &session_id)?,
            ),
        };
        decide::decide(agent, &call, facts.as_ref()).err()
    }

    /// Records the row of a call refused here, before the decision path, and answers it.
    fn refuse_here(
        &self,
        agent: Option<&Agent>,
        operation: &'static Operation,
        caller: &Caller,
        received: Instant,
        refusal: Refusal,
    ) -> Dispatched {
        let unhandled = Unhandled {
            client: caller.client.clone(),
            agent,
            key_id: Some(self.built.key_sha256.key_id()),
            operation: Some(operation),
            ..Unhandled::new(Front::Mcp, received)
        };
        answer(self.gateway.refuse(&unhandled, refusal))
    }
}

impl Dispatch for AgentDispatch {
    fn offers(&self, operation: &'static Operation) -> bool {
        decide::effective_operations(&self.built).any(|offered| offered.id == operation.id)
    }

    /// The operations the agent may only propose: no confirmation token is asked for them
    /// (nothing is sent when they are called; the person's approval is the one step).
    fn holds(&self, operation: &'static Operation) -> bool {
        self.built.must_approve(operation)
    }

    fn check(&self, request: &Outgoing<'_>, _caller: &Caller) -> Result<(), crisp_mcp::Refusal> {
        match self.refusal(request) {
            Some(refusal) => Err(tool_refusal(&refusal)),
            None => Ok(()),
        }
    }

    fn dispatch<'a>(
        &'a self,
        request: Outgoing<'a>,
        caller: &'a Caller,
    ) -> BoxFuture<'a, Dispatched> {
        Box::pin(async move {
            let received = Instant::now();
            let policy = self.gateway.policy();
            let Some(agent) = self.agent_in(&policy) else {
                return self.refuse_here(None, request.operation, caller, received, removed());
            };
            let query = owned(request.query);
            if let Err(refusal) = identity::refuse_key_in_query(&policy, &query) {
                return self.refuse_here(Some(agent), request.operation, caller, received, refusal);
            }
            let incoming = Incoming {
                client: caller.client.clone(),
                ids: request.ids.to_vec(),
                query,
                body: request.body.cloned(),
                received,
                confirmed: request.confirmed,
                ..Incoming::new(Front::Mcp, request.operation)
            };
            answer(self.gateway.handle(agent, incoming).await)
        })
    }
}

/// The decision path's outcome as the tool's answer: Crisp's answer as it was, a refusal as
/// [`tool_refusal`], a proposal as [`held`].
fn answer(outcome: Outcome) -> Dispatched {
    match outcome {
        Outcome::Refused(refusal) => Dispatched::refused(tool_refusal(&refusal)),
        Outcome::Answered {
            status, envelope, ..
        } => Dispatched::answered(status, envelope),
        Outcome::Proposed(proposal) => Dispatched::held(held(proposal)),
    }
}

/// A call stored for a person's approval, as the agent reads it: a tool result (not an error:
/// the call was taken) saying nothing was sent yet, with the approval id and crisp-mcp's preview
/// of exactly the stored request (the query with the filters the agent's rules set), and how
/// to follow it with the `approval_status` tool. Its audit row is the decision path's
/// (`proposed`).
fn held(proposal: Proposal) -> Held {
    let follow_up = format!(
        "A person reviews it: do not call `{}` again for it. Read what became of it with the \
         `{APPROVAL_STATUS}` tool and \"approval_id\": \"{}\" (pending, approved with Crisp's \
         answer, denied with the reviewer's note, expired, or unknown_outcome); or at GET {} on \
         the gateway's REST front with this agent's name and key.",
        proposal.operation.id,
        proposal.approval_id,
        proposal.status_path(),
    );
    let ttl = proposal.ttl();
    Held::new(proposal.approval_id, proposal.operation)
        .ids(proposal.ids)
        .query(proposal.query)
        .body(proposal.body)
        .expires_in(ttl)
        .follow_up(follow_up)
}

/// The gateway's refusal as crisp-mcp's: the rule as its code, the same status, reason and
/// message as on REST, the rule's hint, and `retry_after` for a 429. The agent reads it as
/// [`Refusal::tool_error`] says.
pub(super) fn tool_refusal(refusal: &Refusal) -> crisp_mcp::Refusal {
    let mut tool = crisp_mcp::Refusal::new(refusal.rule.as_str(), refusal.message.clone())
        .with_status(refusal.status, refusal.reason)
        .with_hint(refusal.rule.hint());
    if let Some(seconds) = refusal.retry_after {
        tool = tool.with_retry_after(seconds);
    }
    tool
}

/// The agent `built` names in `policy`: the one with its name and key, if it is still there.
pub(super) fn agent_in<'p>(built: &Agent, policy: &'p Policy) -> Option<&'p Agent> {
    policy
        .agent(&built.name)
        .filter(|agent| agent.key_sha256 == built.key_sha256)
}

/// The refusal of a call by an agent a reload removed (or whose key it changed) after its
/// request was let in.
pub(super) fn removed() -> Refusal {
    Refusal::auth(
        "this agent's key is no longer in the gateway's policy: ask the gateway's operator for a \
         key",
    )
}

/// The query as the decision path takes it.
fn owned(query: &[(&'static str, String)]) -> Vec<(String, String)> {
    query
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.clone()))
        .collect()
}

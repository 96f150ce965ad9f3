//! One agent's send step: crisp-mcp's [`Dispatch`] for a gateway agent. `check` refuses, before
//! a preview or token, what the gateway would refuse anyway and can tell without I/O;
//! `dispatch` hands the call to [`Gateway::handle`] (front `mcp`, the MCP client's name) and
//! turns its outcome into the tool's answer. Each call is decided with the agent as the policy
//! in force has it, not as it was when the agent's server was built.

use std::sync::Arc;
use std::time::Instant;

use crisp_api::Operation;
use crisp_mcp::{Caller, Dispatch, Dispatched, Outgoing};
use futures::future::BoxFuture;

use crate::approvals::{PENDING_APPROVAL, Proposal};
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
        policy
            .agent(&self.built.name)
            .filter(|agent| agent.key_sha256 == self.built.key_sha256)
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
/// [`tool_refusal`], a proposal as [`proposed`].
fn answer(outcome: Outcome) -> Dispatched {
    match outcome {
        Outcome::Refused(refusal) => Dispatched::refused(tool_refusal(&refusal)),
        Outcome::Answered {
            status, envelope, ..
        } => Dispatched::answered(status, envelope),
        Outcome::Proposed(proposal) => Dispatched::refused(proposed(&proposal)),
    }
}

/// A call stored for a person's approval, as the agent reads it: a tool error (nothing was
/// done), code and reason `pending_approval`, status 202 as on REST, the proposal's message
/// (its approval id, how long it waits) and where its status is read. Its audit row is the
/// decision path's (`proposed`).
fn proposed(proposal: &Proposal) -> crisp_mcp::Refusal {
    crisp_mcp::Refusal::new(PENDING_APPROVAL, proposal.message())
        .with_status(202, PENDING_APPROVAL)
        .with_hint(format!(
            "A person reviews it; do not call the tool again for it. Its status is at GET {} on \
             the gateway's REST front, with this agent's name and key (HTTP Basic)",
            proposal.status_path()
        ))
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

/// The refusal of a call by an agent a reload removed (or whose key it changed) after its
/// request was let in.
fn removed() -> Refusal {
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

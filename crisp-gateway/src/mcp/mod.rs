//! The MCP front: MCP over streamable HTTP at `/mcp`, each agent with its key as
//! `Authorization: Bearer`, served by crisp-mcp's tool layer (its tools, argument checks,
//! previews and confirmation tokens, answers), never a copy of it.
//!
//! - **Who**: every request's bearer key is checked by the same code as REST's
//!   ([`identity::authenticate`]: SHA-256, constant-time compare with every agent's hash),
//!   against the policy in force, before rmcp reads the body. No valid key: 401 with
//!   `WWW-Authenticate: Bearer resource_metadata="..."`, the OAuth protected-resource metadata
//!   (RFC 9728) served at `/.well-known/oauth-protected-resource` (and with `/mcp` after it).
//!   A removed agent's key stops working at once, also inside a session it opened; a session
//!   is used only with the key that opened it (crisp-mcp's `router_with`).
//! - **What it sees**: one [`CrispMcp`] per agent, built when the policy is put in force (a
//!   reload rebuilds those whose table changed, at the next request): exactly the tools its
//!   grants allow less those its rules always refuse ([`effective_operations`](crate::decide::effective_operations)), its
//!   `confirm` setting, and its website as the default `website_id` when it has exactly one
//!   (otherwise every call names one). A session keeps the server that opened it; each call is
//!   decided with the policy in force when it is made.
//! - **How a call is decided**: crisp-mcp checks the arguments, then asks the agent's
//!   [`Dispatch`](crisp_mcp::Dispatch) (`agent.rs`) to `check` the call (website, grants,
//!   resource rules when the conversation's facts are cached, a key in the query, the audit
//!   store), so a call the gateway refuses anyway gets no preview or token; a confirmed or
//!   unguarded call is then sent through [`Gateway::handle`], the decision path REST uses.
//!   The gateway's refusals are tool errors with the same code (the rule), status, reason and
//!   message as REST's; Crisp's answer is the tool's result (its envelope as structured
//!   content) or a tool error.
//! - **Approvals**: a call of an operation the agent may only propose (its `approve` list) is
//!   answered with a tool result, not an error: nothing was sent yet, the approval id, and
//!   crisp-mcp's preview of exactly the stored request (method, path with its ids, query, body,
//!   and for a message the text as the customer will see it); see [`crisp_mcp::Held`]. Such a
//!   tool asks for no confirmation token even with `confirm = "always"`: nothing is sent when it
//!   is called, so the person's approval is the one step (a token would only add a round trip).
//!   Its output schema allows the held answer. An agent with approvals also gets the
//!   `approval_status` tool (`status.rs`): pending, approved (with Crisp's answer), denied (with
//!   the reviewer's note), expired or unknown_outcome, read with
//!   [`Gateway::approval_status`](crate::Gateway::approval_status) as REST reads it.
//! - **Audit**: one row per `tools/call`, front `mcp`, the MCP client's name: the decision
//!   path writes the row of each call it is handed (`allowed`, `confirmed` or `refused` by a
//!   rule); the other calls' rows come from crisp-mcp's audit lines (`rows.rs`): previews
//!   (`awaiting_confirmation`), refusals before the send step (by the gateway's `check`, or
//!   crisp-mcp's own: `invalid_arguments`, `unknown_token`, ...), and calls refused at the door
//!   for want of a valid key (`auth`, no agent).
//!
//! - **Replicas**: confirmation tokens are kept in the gateway's store (`tokens.rs`: one row per
//!   unspent token, by its SHA-256, redeemed once by one `DELETE ... RETURNING`), and on a store
//!   replicas share ([`Store::shared`](crate::store::Store::shared): PostgreSQL) the front is
//!   served without sessions ([`HttpSettings::stateless`]), so any replica behind a load
//!   balancer that does not pin clients answers any request, and a token issued by one replica
//!   is redeemed on another, once. Without sessions the client's name in a row is its
//!   `User-Agent`. On the embedded SQLite store (one process) the front keeps sessions.
//!
//! Session caps, body limits and the `Host` check are crisp-mcp's
//! ([`crisp_mcp::http::router_with`]).

mod agent;
mod rows;
mod status;
mod tokens;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use crisp_mcp::http::{Bearer, HttpSettings, Unauthorized, router_with};
use crisp_mcp::{Audit, CrispMcp, Settings};
use parking_lot::RwLock;

use crate::gateway::Gateway;
use crate::identity;
use crate::policy::{Agent, ConfirmMode, Policy, Websites};

pub use crisp_mcp::http::{MCP_PATH, WELL_KNOWN};

/// Targets the gateway never logs below a level, whatever `RUST_LOG` asks: below `warn`, rmcp
/// (the MCP protocol layer under crisp-mcp) logs whole messages, with tool arguments (message
/// bodies, anything an agent puts there, a key included) and tool results (confirmation
/// tokens). For [`crisp_serve::tracing_to_stderr_capped`].
pub const LOG_CAPS: &[(&str, tracing::Level)] = &[("rmcp", tracing::Level::WARN)];

/// The MCP front as a router: `/mcp` and the protected-resource metadata, for the gateway
/// listening on `local` (on loopback, requests must name a loopback `Host`, against DNS
/// rebinding; elsewhere every request carries an agent's key). Merge it before the REST
/// front's catch-all.
///
/// # Errors
///
/// When crisp-mcp's HTTP layer refuses its settings (never with these).
pub fn router(gateway: Arc<Gateway>, local: SocketAddr) -> Result<Router, String> {
    let gateway_shared = gateway.store().shared();
    let front = Arc::new(Front {
        servers: RwLock::new(Arc::new(Servers::build(&gateway, gateway.policy(), None))),
        gateway: Arc::clone(&gateway),
    });
    let door = Audit::callback(move |line| rows::door(&gateway, line));
    // With a store replicas share, any replica must answer any request: no sessions.
    let settings = HttpSettings::new(local)
        .door_audit(door)
        .stateless(gateway_shared);
    router_with(
        move |bearer: Option<Bearer>| std::future::ready(front.resolve(bearer)),
        &settings,
    )
}

/// The per-agent servers, kept up to date with the gateway's policy.
struct Front {
    gateway: Arc<Gateway>,
    servers: RwLock<Arc<Servers>>,
}

/// The MCP server of each agent of one policy.
struct Servers {
    policy: Arc<Policy>,
    /// By agent name: the agent as its server was built for it, and the server.
    by_name: HashMap<String, (Agent, CrispMcp)>,
}

impl Front {
    /// The server of the agent whose key `bearer` is, under the policy in force.
    fn resolve(&self, bearer: Option<Bearer>) -> Result<CrispMcp, Unauthorized> {
        let servers = self.current();
        // The same check as REST's, on the header the request carried (as `Bearer <key>`).
        let header = bearer.map(|bearer| format!("Bearer {}", bearer.expose_secret()));
        let agent = identity::authenticate(&servers.policy, header.as_deref().map(str::as_bytes))
            .map_err(|refusal| Unauthorized::new(refusal.message))?;
        match servers.by_name.get(&agent.name) {
            Some((_, server)) => Ok(server.clone()),
            None => Err(Unauthorized::new(format!(
                "the gateway could not build the MCP tools of agent `{}`: its operator should \
                 check the gateway's log",
                agent.name
            ))),
        }
    }

    /// The servers of the policy in force, rebuilt first if a reload replaced it.
    fn current(&self) -> Arc<Servers> {
        let policy = self.gateway.policy();
        {
            let servers = self.servers.read();
            if Arc::ptr_eq(&servers.policy, &policy) {
                return Arc::clone(&servers);
            }
        }
        let mut servers = self.servers.write();
        // Another request may have rebuilt them meanwhile, or the policy changed again.
        let policy = self.gateway.policy();
        if !Arc::ptr_eq(&servers.policy, &policy) {
            let rebuilt = Servers::build(&self.gateway, policy, Some(&servers));
            tracing::info!(
                agents = rebuilt.by_name.len(),
                "the MCP front follows the policy reloaded"
            );
            *servers = Arc::new(rebuilt);
        }
        Arc::clone(&servers)
    }
}

impl Servers {
    /// A server per agent of `policy`, reusing `previous`'s for agents whose table is the same
    /// (their sessions and pending confirmations go on).
    fn build(gateway: &Arc<Gateway>, policy: Arc<Policy>, previous: Option<&Self>) -> Self {
        let mut by_name = HashMap::with_capacity(policy.agents().len());
        for agent in policy.agents() {
            let kept = previous
                .and_then(|previous| previous.by_name.get(&agent.name))
                .filter(|(built, _)| built == agent);
            let server = match kept {
                Some((_, server)) => server.clone(),
                None => match server(gateway, agent) {
                    Ok(server) => server,
                    Err(error) => {
                        tracing::error!(agent = %agent.name, %error, "the agent's MCP tools were not built: its MCP calls are refused");
                        continue;
                    }
                },
            };
            by_name.insert(agent.name.clone(), (agent.clone(), server));
        }
        Self { policy, by_name }
    }
}

/// The MCP server of `agent`: its tools, its confirmation setting, its default website, its
/// dispatch through the gateway, and its audit lines as rows.
fn server(gateway: &Arc<Gateway>, agent: &Agent) -> Result<CrispMcp, String> {
    let settings = match &agent.websites {
        Websites::Only(ids) if ids.len() == 1 => Settings::new(ids[0].clone()),
        _ => Settings::without_website(),
    };
    let audit = {
        let (gateway, name, key_id) = (
            Arc::clone(gateway),
            agent.name.clone(),
            agent.key_sha256.key_id(),
        );
        Audit::callback(move |line| rows::call(&gateway, &name, &key_id, line))
    };
    let mut settings = settings
        .confirm(agent.confirm == ConfirmMode::Always)
        .audit(audit);
    if gateway.store().confirmations().is_some() {
        let tokens = tokens::StoreTokens::new(Arc::clone(gateway), agent.name.clone());
        settings = settings.token_store(Arc::new(tokens));
    }
    if agent.has_approvals() {
        settings = settings.tool(status::ApprovalStatus::new(
            Arc::clone(gateway),
            agent.clone(),
        ));
    }
    let dispatch = agent::AgentDispatch::new(Arc::clone(gateway), agent.clone());
    CrispMcp::with_dispatch(agent.grants.clone(), settings, dispatch)
}

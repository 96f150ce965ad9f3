//! The MCP server: lists the tools the grants allow, and runs each call through the steps of
//! [`call`](crate::call) (find the tool, check arguments, bind the website, prepare, confirm,
//! send, answer), each of which writes one audit line.

use std::sync::Arc;
use std::time::Duration;

use crisp_api::{Client, Grants};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CustomRequest, CustomResult,
    ErrorCode, Implementation, JsonObject, ListToolsResult, PaginatedRequestParams,
    ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::common::http_header::HEADER_SESSION_ID;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::Value;

use crate::answer::Refusal;
use crate::audit::Audit;
use crate::call::Core;
use crate::caller::Caller;
use crate::confirm::{self, Confirmations, TokenStore};
use crate::dispatch::Dispatch;
use crate::extra::{Extra, ExtraTool, Extras};
use crate::hugo::HugoRequest;
use crate::tools;

/// How a server runs its tools.
#[derive(Debug)]
#[non_exhaustive]
pub struct Settings {
    /// The website a call acts on when it names none; `None`: every call must name one
    /// (`website_id` is then required in each tool's schema).
    pub website_id: Option<String>,
    /// Whether customer-visible and irreversible tools wait for a confirmation token.
    pub confirm: bool,
    /// How long a confirmation token lives: from [`confirm::MIN_TTL`] (1 s) to
    /// [`confirm::MAX_TTL`] (a day).
    pub confirm_ttl: Duration,
    /// Where the audit lines go.
    pub audit: Audit,
    /// Tools of the embedder's own ([`tool`](Self::tool)).
    extras: Extras,
    /// Where confirmation tokens are kept ([`token_store`](Self::token_store)); `None`: in
    /// memory.
    tokens: Option<Tokens>,
}

/// A [`TokenStore`] in [`Settings`]; `Debug` does not show it.
#[derive(Clone)]
struct Tokens(Arc<dyn TokenStore>);

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenStore")
    }
}

impl Settings {
    /// Settings for `website_id`: every tool, confirmation on (tokens live
    /// [`confirm::DEFAULT_TTL`]), audit to standard error.
    pub fn new(website_id: impl Into<String>) -> Self {
        Self {
            website_id: Some(website_id.into()),
            ..Self::without_website()
        }
    }

    /// Settings for a server with no default website (one that serves an agent of several
    /// websites): every call must name its `website_id`, and one that does not is refused with
    /// a message that says so. Otherwise as [`new`](Self::new).
    pub fn without_website() -> Self {
        Self {
            website_id: None,
            confirm: true,
            confirm_ttl: confirm::DEFAULT_TTL,
            audit: Audit::stderr(),
            extras: Extras::default(),
            tokens: None,
        }
    }

    /// Confirmation on (`true`, the default) or off (`false`: for trusted pipelines).
    #[must_use]
    pub fn confirm(mut self, confirm: bool) -> Self {
        self.confirm = confirm;
        self
    }

    /// How long a confirmation token lives (1 s to a day; [`CrispMcp::new`] refuses others).
    #[must_use]
    pub fn confirm_ttl(mut self, ttl: Duration) -> Self {
        self.confirm_ttl = ttl;
        self
    }

    /// Where the audit lines go.
    #[must_use]
    pub fn audit(mut self, audit: Audit) -> Self {
        self.audit = audit;
        self
    }

    /// Keeps confirmation tokens in `store` rather than in this server's memory: replicas of
    /// one server behind one address (that does not pin a client to one replica) share one
    /// store, so a token issued by one is redeemed on another, once. See [`TokenStore`].
    #[must_use]
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.tokens = Some(Tokens(store));
        self
    }

    /// Adds a tool of the embedder's own, listed after the operations' tools (see
    /// [`ExtraTool`]). [`CrispMcp::with_dispatch`] refuses one whose name or schemas are not
    /// usable.
    #[must_use]
    pub fn tool(mut self, tool: impl ExtraTool) -> Self {
        self.extras.0.push(Arc::new(tool));
        self
    }
}

/// The Crisp MCP server: cheap to clone, one per process (each HTTP session gets a clone).
#[derive(Clone)]
pub struct CrispMcp {
    core: Arc<Core>,
}

impl std::fmt::Debug for CrispMcp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrispMcp")
            .field("website_id", &self.core.website_id)
            .field("grants", &self.core.grants.to_string())
            .field("confirm", &self.core.confirmations.is_some())
            .field("tools", &self.core.tools.len())
            .finish_non_exhaustive()
    }
}

impl CrispMcp {
    /// A server that calls Crisp through `client`, offering the tools the client's grants
    /// allow (every tool for a client without grants). The client refuses anything else too,
    /// as a second wall. Give it no confirmation callback: the server asks.
    ///
    /// # Errors
    ///
    /// When confirmation is on and its time to live is outside 1 s to a day, or a generated
    /// schema does not compile (a broken build).
    pub fn new(client: Client, settings: Settings) -> Result<Self, String> {
        let grants = client.grants().cloned().unwrap_or_else(Grants::all);
        Self::with_dispatch(grants, settings, client)
    }

    /// A server that offers the tools `grants` allow and sends each call through `dispatch`
    /// (after its own steps: arguments, website, preview and confirmation), such as a gateway
    /// that decides on each call for one agent and writes its own audit store. With a
    /// [`Client`] as the dispatch this is [`new`](Self::new) with explicit grants.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn with_dispatch(
        grants: Grants,
        settings: Settings,
        dispatch: impl Dispatch,
    ) -> Result<Self, String> {
        let ttl = settings.confirm_ttl;
        if settings.confirm && !(confirm::MIN_TTL..=confirm::MAX_TTL).contains(&ttl) {
            return Err(format!(
                "a confirmation token cannot live {} s: give {} to {} seconds",
                ttl.as_secs_f64(),
                confirm::MIN_TTL.as_secs(),
                confirm::MAX_TTL.as_secs()
            ));
        }
        let tools = tools::compile(
            &grants,
            settings.website_id.as_deref(),
            settings.confirm,
            |operation| dispatch.offers(operation),
            |operation| dispatch.holds(operation),
        )?;
        let mut extras: Vec<Extra> = Vec::with_capacity(settings.extras.0.len());
        for tool in settings.extras.0 {
            let extra = Extra::compile(tool, |name| {
                tools::tool(name).is_some() || extras.iter().any(|e| e.name() == name)
            })?;
            extras.push(extra);
        }
        Ok(Self {
            core: Arc::new(Core {
                dispatch: Arc::new(dispatch),
                website_id: settings.website_id,
                grants,
                confirmations: settings.confirm.then(|| match settings.tokens {
                    Some(Tokens(store)) => Confirmations::with_store(ttl, store),
                    None => Confirmations::new(ttl),
                }),
                tools,
                extras,
                audit: settings.audit,
            }),
        })
    }

    /// The tools listed: those the grants allow, in the spec's order, then the embedder's
    /// own ([`Settings::tool`]).
    pub fn tools(&self) -> Vec<Tool> {
        self.core
            .tools
            .iter()
            .map(|c| c.tool.clone())
            .chain(self.core.extras.iter().map(|e| e.tool.clone()))
            .collect()
    }

    /// The website calls default to, if the server has one.
    pub fn website_id(&self) -> Option<&str> {
        self.core.website_id.as_deref()
    }

    /// Runs one tool call and writes its audit line. Never fails: every problem is a tool
    /// error the agent can read.
    pub async fn call(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        caller: &Caller,
    ) -> CallToolResult {
        let arguments = arguments.map_or(Value::Null, Value::Object);
        self.core.call(name, arguments, caller).await
    }

    /// Writes the audit line of a `tools/call` of `name` that the HTTP layer refused before
    /// it reached the server (`bad_signature`).
    pub(crate) fn refused_at_the_door(&self, name: &str, caller: &Caller, refusal: Refusal) {
        self.core.refused_at_the_door(name, caller, refusal);
    }

    /// Where its audit lines go.
    pub(crate) fn audit(&self) -> &Audit {
        &self.core.audit
    }
}

/// Who is calling, from an rmcp request context: the client's name, and over HTTP, the
/// session and the verified Hugo signature the HTTP layer attached to the request.
fn caller(context: &RequestContext<RoleServer>) -> Caller {
    let client = context.client_info().map(|info| info.name);
    match context.extensions.get::<http::request::Parts>() {
        Some(parts) => {
            // Without a session no `initialize` is remembered: the User-Agent names the client.
            let client = match parts.extensions.get::<crate::caller::Stateless>() {
                Some(_) => parts
                    .headers
                    .get(http::header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                None => client,
            };
            let session = parts
                .headers
                .get(HEADER_SESSION_ID)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            Caller::new("http", client)
                .with_session(session)
                .with_hugo(parts.extensions.get::<HugoRequest>().cloned())
        }
        None => Caller::new("stdio", client),
    }
}

/// What the server tells an agent on `initialize`: what the tools are, then how `website_id`
/// is chosen ([`WEBSITE_DEFAULT`] or [`WEBSITE_REQUIRED`]), then [`INSTRUCTIONS_END`].
const INSTRUCTIONS: &str = "Tools for a Crisp workspace (customer-support chat): \
    conversations, messages, CRM contacts, settings, operators, visitors, campaigns. ";
const WEBSITE_DEFAULT: &str = "`website_id` defaults to the configured website. ";
const WEBSITE_REQUIRED: &str = "There is no default website: give `website_id` on every call. ";
const INSTRUCTIONS_END: &str = "Only the tools this agent is granted are listed. Tools that \
    reach a customer or delete data first answer with a preview and a one-time \
    confirmation_token; call again with the same arguments and the token to act.";

impl ServerHandler for CrispMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("crisp-mcp", env!("CARGO_PKG_VERSION")))
            .with_instructions(format!(
                "{INSTRUCTIONS}{}{INSTRUCTIONS_END}",
                if self.core.website_id.is_some() {
                    WEBSITE_DEFAULT
                } else {
                    WEBSITE_REQUIRED
                }
            ))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.core
            .tools
            .iter()
            .find(|c| c.facts.name() == name)
            .map(|c| c.tool.clone())
            .or_else(|| {
                self.core
                    .extras
                    .iter()
                    .find(|e| e.name() == name)
                    .map(|e| e.tool.clone())
            })
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let caller = caller(&context);
        Ok(self
            .call(&request.name, request.arguments, &caller)
            .await
            .into())
    }

    /// A `tools/call` rmcp could not read as one (its `arguments` not an object, its `name`
    /// not a string) arrives here: it is refused, with its audit line, like any other call.
    async fn on_custom_request(
        &self,
        request: CustomRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, ErrorData> {
        if request.method != "tools/call" {
            return Err(ErrorData::new(
                ErrorCode::METHOD_NOT_FOUND,
                request.method,
                None,
            ));
        }
        let caller = caller(&context);
        let params = request.params.unwrap_or(Value::Null);
        let Some(name) = params.get("name").and_then(Value::as_str) else {
            let shown = params.get("name").map(Value::to_string).unwrap_or_default();
            let message = "tools/call needs the tool's `name`, a string";
            self.core.refused_at_the_door(
                &shown,
                &caller,
                Refusal::new("invalid_request", message),
            );
            return Err(ErrorData::invalid_params(message, None));
        };
        let arguments = params.get("arguments").cloned().unwrap_or(Value::Null);
        let result = self.core.call(name, arguments, &caller).await;
        serde_json::to_value(result)
            .map(CustomResult)
            .map_err(|e| ErrorData::internal_error(format!("cannot encode the result: {e}"), None))
    }
}

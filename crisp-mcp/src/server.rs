//! The MCP server: lists the tools the grants allow and runs a call through the checks
//! (grants, arguments, website, confirmation), then through crisp-api's call pipeline, and
//! writes one audit line.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crisp_api::{Client, Effect, Grants, Operation};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    JsonObject, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{Map, Value, json};

use crate::audit::{Audit, AuditLine, Decision};
use crate::confirm::{self, Confirmations};
use crate::hugo::HugoRequest;
use crate::table::Location;
use crate::tools::{self, BODY, CONFIRMATION_TOKEN, Compiled, WEBSITE_ID};

/// The longest text rendering of a result; the whole result is in `structuredContent`.
pub const TEXT_LIMIT: usize = 64 * 1024;

/// How a server runs its tools.
#[derive(Debug)]
#[non_exhaustive]
pub struct Settings {
    /// The website a call acts on when it names none.
    pub website_id: String,
    /// Whether customer-visible and irreversible tools wait for a confirmation token.
    pub confirm: bool,
    /// How long a confirmation token lives.
    pub confirm_ttl: Duration,
    /// Where the audit lines go.
    pub audit: Audit,
}

impl Settings {
    /// Settings for `website_id`: every tool, confirmation on (tokens live
    /// [`confirm::DEFAULT_TTL`]), audit to standard error.
    pub fn new(website_id: impl Into<String>) -> Self {
        Self {
            website_id: website_id.into(),
            confirm: true,
            confirm_ttl: confirm::DEFAULT_TTL,
            audit: Audit::stderr(),
        }
    }

    /// Confirmation on (`true`, the default) or off (`false`: for trusted pipelines).
    #[must_use]
    pub fn confirm(mut self, confirm: bool) -> Self {
        self.confirm = confirm;
        self
    }

    /// How long a confirmation token lives.
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
}

/// Who is calling: for the audit, and for the website a Hugo-signed request is bound to.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Caller {
    /// The MCP client's name.
    pub client: Option<String>,
    /// `stdio` or `http`.
    pub transport: &'static str,
    /// The verified Hugo signature of an HTTP request, if it had one.
    pub hugo: Option<HugoRequest>,
}

impl Caller {
    /// A caller on `transport` (`stdio` or `http`), with the client's name if known.
    pub fn new(transport: &'static str, client: Option<String>) -> Self {
        Self {
            client,
            transport,
            hugo: None,
        }
    }

    /// The same caller, from a request Hugo signed.
    #[must_use]
    pub fn with_hugo(mut self, hugo: Option<HugoRequest>) -> Self {
        self.hugo = hugo;
        self
    }
}

/// The Crisp MCP server: cheap to clone, one per process (each HTTP session gets a clone).
#[derive(Clone)]
pub struct CrispMcp {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    website_id: String,
    grants: Grants,
    confirmations: Option<Confirmations>,
    tools: Vec<Compiled>,
    audit: Audit,
}

impl std::fmt::Debug for CrispMcp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrispMcp")
            .field("website_id", &self.inner.website_id)
            .field("grants", &self.inner.grants.to_string())
            .field("confirm", &self.inner.confirmations.is_some())
            .field("tools", &self.inner.tools.len())
            .finish_non_exhaustive()
    }
}

/// A call that was decided before reaching Crisp: the answer, and how the audit records it.
struct Stop {
    result: CallToolResult,
}

impl CrispMcp {
    /// A server that calls Crisp through `client`, offering the tools the client's grants
    /// allow (every tool for a client without grants). The client refuses anything else too,
    /// as a second wall. Give it no confirmation callback: the server asks.
    ///
    /// # Errors
    ///
    /// When a generated input schema does not compile (a broken build).
    pub fn new(client: Client, settings: Settings) -> Result<Self, String> {
        let grants = client.grants().cloned().unwrap_or_else(Grants::all);
        let tools = tools::compile(&grants, &settings.website_id, settings.confirm)?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                website_id: settings.website_id,
                grants,
                confirmations: settings
                    .confirm
                    .then(|| Confirmations::new(settings.confirm_ttl)),
                tools,
                audit: settings.audit,
            }),
        })
    }

    /// The tools listed: those the grants allow, in the spec's order.
    pub fn tools(&self) -> Vec<Tool> {
        self.inner.tools.iter().map(|c| c.tool.clone()).collect()
    }

    /// The website calls default to.
    pub fn website_id(&self) -> &str {
        &self.inner.website_id
    }

    /// Runs one tool call and writes its audit line. Never fails: every problem is a tool
    /// error the agent can read.
    pub async fn call(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        caller: &Caller,
    ) -> CallToolResult {
        let started = Instant::now();
        let mut line = AuditLine::new(name, caller.client.as_deref(), caller.transport);
        if let Some(hugo) = &caller.hugo {
            line.hugo_website_id = Some(hugo.website_id.clone());
            line.crisp_session_id = hugo.session_id.clone();
        }
        let result = match self.run(name, arguments, caller, &mut line).await {
            Ok(result) => result,
            Err(Stop { result }) => result,
        };
        line.finish(started.elapsed());
        self.inner.audit.write(&line);
        result
    }

    async fn run(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        caller: &Caller,
        line: &mut AuditLine,
    ) -> Result<CallToolResult, Stop> {
        let inner = &*self.inner;
        let Some(tool) = inner.tools.iter().find(|c| c.facts.name() == name) else {
            return Err(match Operation::find(name) {
                Some(operation) => refuse(
                    line,
                    "not_granted",
                    format!(
                        "Refused: `{name}` needs `{}={}`, which this server's grants ({}) do not \
                         include. Nothing was sent to Crisp.",
                        operation.scope, operation.access, inner.grants
                    ),
                ),
                None => refuse(
                    line,
                    "unknown_tool",
                    format!(
                        "There is no tool named `{}`. Nothing was sent to Crisp.",
                        crate::audit::cut(name, 64)
                    ),
                ),
            });
        };
        let operation = tool.facts.operation;
        let arguments = Value::Object(arguments.unwrap_or_default());
        let problems = tools::problems(&tool.validator, &arguments);
        let (None, Value::Object(mut arguments)) = (problems.as_ref(), arguments) else {
            return Err(refuse(
                line,
                "invalid_arguments",
                format!(
                    "Invalid arguments for `{name}`: {}. Nothing was sent to Crisp.",
                    problems.as_deref().unwrap_or("not an object")
                ),
            ));
        };
        let token = match arguments.remove(CONFIRMATION_TOKEN) {
            Some(Value::String(token)) => Some(token),
            _ => None,
        };
        let website = match &caller.hugo {
            Some(hugo) => {
                let asked = arguments.get(WEBSITE_ID).and_then(Value::as_str);
                if asked.is_some_and(|w| w != hugo.website_id) {
                    return Err(refuse(
                        line,
                        "website_mismatch",
                        format!(
                            "Refused: this request was signed for website {}, and `website_id` \
                             names another. Nothing was sent to Crisp.",
                            hugo.website_id
                        ),
                    ));
                }
                hugo.website_id.clone()
            }
            None => inner.website_id.clone(),
        };
        let request = Request::new(tool, &arguments, &website);
        line.path_ids = request
            .path
            .iter()
            .map(|(n, v)| ((*n).to_owned(), crate::audit::cut(v, 256)))
            .collect();

        let mut decision = Decision::Allowed;
        if let (Some(confirmations), Some(effect)) = (&inner.confirmations, operation.effect) {
            let digest = request.digest(name);
            match token {
                None => {
                    let token = confirmations
                        .issue(tool.facts.name(), digest, Instant::now())
                        .map_err(|_| {
                            refuse(
                                line,
                                "no_randomness",
                                "The server could not make a confirmation token (no randomness \
                                 from the system). Nothing was sent to Crisp."
                                    .to_owned(),
                            )
                        })?;
                    line.decision = Decision::AwaitingConfirmation;
                    return Ok(preview(
                        operation,
                        effect,
                        &request,
                        token.as_str(),
                        confirmations.ttl(),
                    ));
                }
                Some(token) => {
                    if let Err(rejection) =
                        confirmations.redeem(&token, name, digest, Instant::now())
                    {
                        return Err(refuse(
                            line,
                            rejection.as_str(),
                            format!(
                                "Refused: {rejection}. Nothing was sent to Crisp. Call `{name}` \
                                 without `{CONFIRMATION_TOKEN}` for a new preview and token."
                            ),
                        ));
                    }
                    decision = Decision::Confirmed;
                }
            }
        }

        let mut call = inner.client.call(operation);
        for (name, value) in &request.path {
            call = call.path(*name, value.clone());
        }
        for (name, value) in &request.query {
            call = call.query(*name, value.clone());
        }
        if let Some(body) = &request.body {
            call = call.body(body.clone());
        }
        let (result, record) = call.send_audited().await;
        line.decision = decision;
        line.record(&record);
        Ok(match result {
            Ok(envelope) => success(operation, envelope),
            Err(error) => {
                let structured = json!({
                    "error": {
                        "kind": error.kind(),
                        "status": error.status().map(|s| s.as_u16()),
                        "reason": record.reason,
                        "message": error.to_string(),
                        "hint": error.hint(),
                    }
                });
                let mut text = error.to_string();
                let hint = error.hint();
                if !hint.is_empty() && !text.contains(&hint) {
                    let _ = write!(text, "\nWhat to do: {hint}");
                }
                let mut result = CallToolResult::error(vec![ContentBlock::text(text)]);
                result.structured_content = Some(structured);
                result
            }
        })
    }
}

/// Marks the audit line refused and makes the tool error the agent reads.
fn refuse(line: &mut AuditLine, why: &str, message: String) -> Stop {
    line.refuse(why);
    Stop {
        result: CallToolResult::error(vec![ContentBlock::text(message)]),
    }
}

/// The request a call makes, from its validated arguments.
struct Request {
    /// The path template with the ids filled in, for the preview.
    shown_path: String,
    path: Vec<(&'static str, String)>,
    query: Vec<(&'static str, String)>,
    body: Option<Value>,
}

impl Request {
    fn new(tool: &Compiled, arguments: &Map<String, Value>, website: &str) -> Self {
        let mut path = Vec::new();
        let mut query = Vec::new();
        for param in tool.facts.params {
            let value = match arguments.get(param.name) {
                Some(value) => Some(text(value)),
                None if param.location == Location::Path && param.name == WEBSITE_ID => {
                    Some(website.to_owned())
                }
                None => tool
                    .defaults
                    .iter()
                    .find(|(name, _)| *name == param.name)
                    .map(|(_, value)| text(value)),
            };
            let Some(value) = value else { continue };
            match param.location {
                Location::Path => path.push((param.name, value)),
                Location::Query => query.push((param.name, value)),
            }
        }
        let mut shown_path = tool.facts.operation.path.to_owned();
        for (name, value) in &path {
            shown_path = shown_path.replace(&format!("{{{name}}}"), value);
        }
        Self {
            shown_path,
            path,
            query,
            body: arguments.get(BODY).cloned(),
        }
    }

    /// SHA-256 of the tool and the exact request, in a canonical form (object keys sorted).
    fn digest(&self, tool: &str) -> [u8; 32] {
        let mut text = String::new();
        canonical(
            &json!({
                "tool": tool,
                "path": self.path,
                "query": self.query,
                "body": self.body,
            }),
            &mut text,
        );
        confirm::digest(text.as_bytes())
    }

    /// `{method, path, query, body}`, as the preview shows it.
    fn shown(&self, operation: &Operation) -> Value {
        let query: Map<String, Value> = self
            .query
            .iter()
            .map(|(name, value)| ((*name).to_owned(), Value::String(value.clone())))
            .collect();
        json!({
            "method": operation.method.as_str(),
            "path": self.shown_path,
            "query": query,
            "body": self.body,
        })
    }
}

/// An argument as the text a path or query parameter carries.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// JSON with object keys sorted at every level, whatever order the map keeps.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The answer to a call that waits for confirmation: exactly what would be sent, and the token.
fn preview(
    operation: &'static Operation,
    effect: Effect,
    request: &Request,
    token: &str,
    ttl: Duration,
) -> CallToolResult {
    let name = operation.id;
    let what = match effect {
        Effect::CustomerVisible => {
            "it would send this request, and what it carries reaches a real person"
        }
        Effect::Irreversible => "it would send this request, which deletes what it names for good",
    };
    let shown = request.shown(operation);
    let mut text = format!(
        "NOT DONE: `{name}` is {effect} and waits for confirmation. Nothing was sent to Crisp.\n\
         If confirmed, {what}:\n\n{} {}",
        operation.method, request.shown_path
    );
    if !request.query.is_empty() {
        let query: Vec<String> = request
            .query
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        let _ = write!(text, "?{}", query.join("&"));
    }
    if let Some(body) = &request.body {
        let _ = write!(
            text,
            "\n{}",
            serde_json::to_string_pretty(body).unwrap_or_default()
        );
    }
    if let Some(event) = operation.webhook {
        let _ = write!(text, "\n\nIt fires the `{event}` webhook event.");
    }
    let _ = write!(
        text,
        "\n\nTo do it, call `{name}` again with exactly the same arguments plus \
         \"{CONFIRMATION_TOKEN}\": \"{token}\" within {} seconds. The token works once.",
        ttl.as_secs()
    );
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(json!({
        "confirmation_required": true,
        "tool": name,
        "effect": effect.as_str(),
        "request": shown,
        "webhook": operation.webhook,
        (CONFIRMATION_TOKEN): token,
        "expires_in_seconds": ttl.as_secs(),
    }));
    result
}

/// The answer to a call that succeeded: Crisp's `data` as structured content (under `data`:
/// MCP wants an object, and lists are arrays), and a short text rendering.
fn success(operation: &'static Operation, envelope: Value) -> CallToolResult {
    let data = match envelope {
        Value::Object(mut map) => map.remove("data").unwrap_or(Value::Null),
        other => other,
    };
    let mut text = format!("{} succeeded", operation.id);
    if let Value::Array(items) = &data {
        let _ = write!(
            text,
            ": {} item{}",
            items.len(),
            if items.len() == 1 { "" } else { "s" }
        );
        if let Some(size) = operation.paging.and_then(|p| p.page_size())
            && items.len() >= size as usize
        {
            text.push_str(" (a full page: ask for the next `page_number` for more)");
        }
    }
    text.push('\n');
    let json = data.to_string();
    if json.len() <= TEXT_LIMIT {
        text.push_str(&json);
    } else {
        let mut end = TEXT_LIMIT;
        while !json.is_char_boundary(end) {
            end -= 1;
        }
        text.push_str(&json[..end]);
        text.push_str(" … [cut: the whole result is in structuredContent.data]");
    }
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(json!({ "data": data }));
    result
}

/// Who is calling, from an rmcp request context: the client's name, and over HTTP, the
/// verified Hugo signature the HTTP layer attached to the request.
fn caller(context: &RequestContext<RoleServer>) -> Caller {
    let client = context.client_info().map(|info| info.name);
    match context.extensions.get::<http::request::Parts>() {
        Some(parts) => {
            Caller::new("http", client).with_hugo(parts.extensions.get::<HugoRequest>().cloned())
        }
        None => Caller::new("stdio", client),
    }
}

/// What the server tells an agent on `initialize`.
const INSTRUCTIONS: &str = "Tools for one Crisp workspace (customer-support chat): \
    conversations, messages, CRM contacts, settings, operators, visitors, campaigns. \
    `website_id` defaults to the configured website. Only the tools this agent is granted \
    are listed. Tools that reach a customer or delete data first answer with a preview and a \
    one-time confirmation_token; call again with the same arguments and the token to act.";

impl ServerHandler for CrispMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("crisp-mcp", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.inner
            .tools
            .iter()
            .find(|c| c.facts.name() == name)
            .map(|c| c.tool.clone())
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let a: Value =
            serde_json::from_str(r#"{"b":1,"a":{"y":[{"d":1,"c":2}],"x":"é"}}"#).unwrap();
        let mut text = String::new();
        canonical(&a, &mut text);
        assert_eq!(text, r#"{"a":{"x":"é","y":[{"c":2,"d":1}]},"b":1}"#);
    }

    #[test]
    fn long_results_are_cut_on_a_character_boundary() {
        let data = Value::String("é".repeat(TEXT_LIMIT));
        let result = success(
            &Operation::GET_CONVERSATION,
            json!({"error": false, "data": data}),
        );
        let text = result.content[0].as_text().unwrap().text.clone();
        assert!(text.len() < TEXT_LIMIT + 200);
        assert!(text.ends_with("structuredContent.data]"));
        assert_eq!(result.structured_content.unwrap()["data"], data);
    }
}

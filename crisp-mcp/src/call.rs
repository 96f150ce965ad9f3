//! One tool call as named steps: [find the tool](Core::find_tool), [check its
//! arguments](check_arguments) and [a message's content](check_content), [bind the
//! website](bind_website), [prepare the
//! request](prepare) (its ids checked as the client checks them), [confirm](Core::confirm),
//! [send](Core::send), [answer](answer). Each step returns the next step's input or a
//! [`Refused`]; [`Core::call`] writes the refusal to the audit line, the one place the server
//! refuses a line.

use std::time::Instant;

use crisp_api::types::{Content, MessageContent, MessageType};
use crisp_api::{AuditRecord, Client, Error, Grants, Operation, PathError};
use rmcp::model::CallToolResult;
use serde_json::{Map, Value};

use crate::answer::{self, Refused};
use crate::audit::{Audit, AuditLine, Verdict};
use crate::confirm::Confirmations;
use crate::hugo::HugoRequest;
use crate::preview::{self, Draft, Request};
use crate::tools::{self, BODY, CONFIRMATION_TOKEN, Compiled, WEBSITE_ID};

/// The longest MCP client name kept (in bytes, cut on a character boundary); the audit line
/// keeps fewer still.
pub const MAX_CLIENT_NAME: usize = 128;
/// The longest id an audit line keeps, in characters.
const MAX_AUDIT_ID: usize = 256;

/// Who is calling: for the audit, for the website a Hugo-signed request is bound to, and for
/// whose pending confirmations a preview counts against.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Caller {
    /// The MCP client's name (at most [`MAX_CLIENT_NAME`] bytes).
    pub client: Option<String>,
    /// `stdio` or `http`.
    pub transport: &'static str,
    /// The verified Hugo signature of an HTTP request, if it had one.
    pub hugo: Option<HugoRequest>,
    /// The MCP session over HTTP (`Mcp-Session-Id`), if there is one.
    pub session: Option<String>,
}

impl Caller {
    /// A caller on `transport` (`stdio` or `http`), with the client's name if known (cut to
    /// [`MAX_CLIENT_NAME`] bytes).
    pub fn new(transport: &'static str, client: Option<String>) -> Self {
        Self {
            client: client.map(|name| cut_bytes(name, MAX_CLIENT_NAME)),
            transport,
            hugo: None,
            session: None,
        }
    }

    /// The same caller, from a request Hugo signed.
    #[must_use]
    pub fn with_hugo(mut self, hugo: Option<HugoRequest>) -> Self {
        self.hugo = hugo;
        self
    }

    /// The same caller, in the HTTP session `session`.
    #[must_use]
    pub fn with_session(mut self, session: Option<String>) -> Self {
        self.session = session.map(|id| cut_bytes(id, MAX_CLIENT_NAME));
        self
    }

    /// Whose pending confirmations a preview counts against: the website Hugo signed for,
    /// else the HTTP session, else the transport (a stdio server has one client).
    fn confirmation_key(&self) -> String {
        match (&self.hugo, &self.session) {
            (Some(hugo), _) => format!("hugo:{}", hugo.website_id),
            (None, Some(session)) => format!("session:{session}"),
            (None, None) => self.transport.to_owned(),
        }
    }
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn cut_bytes(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// What a server runs calls with: built once, shared by every session.
pub(crate) struct Core {
    pub client: Client,
    pub website_id: String,
    pub grants: Grants,
    pub confirmations: Option<Confirmations>,
    pub tools: Vec<Compiled>,
    pub audit: Audit,
}

/// The arguments once checked: the parameters and body, and the confirmation token apart.
struct Checked {
    arguments: Map<String, Value>,
    token: Option<String>,
}

/// What the confirm step decided: answer with a preview, or send.
enum Confirmed {
    /// Not sent: the preview and its token.
    Preview(CallToolResult),
    /// Send, and record this verdict.
    Send(Verdict),
}

impl Core {
    /// Runs one tool call and writes its audit line. Never fails: every problem is a tool
    /// error the agent can read.
    pub async fn call(&self, name: &str, arguments: Value, caller: &Caller) -> CallToolResult {
        let started = Instant::now();
        let mut line = audit_line(name, caller);
        let outcome = self.run(name, arguments, caller, &mut line).await;
        self.close(line, started, outcome)
    }

    /// Writes the audit line of a `tools/call` the HTTP layer refused before it reached the
    /// server (no valid bearer token, a bad Hugo signature).
    pub fn refused_at_the_door(&self, name: &str, caller: &Caller, refused: Refused) {
        let line = audit_line(name, caller);
        let _ = self.close(line, Instant::now(), Err(refused));
    }

    /// Ends the line (a refusal recorded with its code), writes it, and gives the answer.
    fn close(
        &self,
        mut line: AuditLine,
        started: Instant,
        outcome: Result<CallToolResult, Refused>,
    ) -> CallToolResult {
        let result = match outcome {
            Ok(result) => result,
            Err(refused) => {
                line.refuse(refused.code);
                refused.into_result()
            }
        };
        line.finish(started.elapsed());
        self.audit.write(&line);
        result
    }

    async fn run(
        &self,
        name: &str,
        arguments: Value,
        caller: &Caller,
        line: &mut AuditLine,
    ) -> Result<CallToolResult, Refused> {
        let tool = self.find_tool(name)?;
        let Checked { arguments, token } = check_arguments(tool, arguments)?;
        check_content(tool, &arguments)?;
        let website = bind_website(caller, &self.website_id, &arguments)?;
        let draft = Draft::new(tool, &arguments, website);
        line.path_ids = draft
            .ids
            .iter()
            .map(|(n, v)| ((*n).to_owned(), crate::audit::cut(v, MAX_AUDIT_ID)))
            .collect();
        let request = prepare(draft, tool.facts.operation)?;
        let verdict = match self.confirm(&request, token, caller)? {
            Confirmed::Preview(result) => {
                line.decision = Verdict::AwaitingConfirmation;
                return Ok(result);
            }
            Confirmed::Send(verdict) => verdict,
        };
        let (result, record) = self.send(&request).await;
        line.decision = verdict;
        line.record(&record);
        Ok(answer(request.operation, result, &record))
    }

    /// Step 1: the tool, if this server offers it.
    fn find_tool(&self, name: &str) -> Result<&Compiled, Refused> {
        if let Some(tool) = self.tools.iter().find(|c| c.facts.name() == name) {
            return Ok(tool);
        }
        Err(match Operation::find(name) {
            Some(operation) => Refused::new(
                "not_granted",
                format!(
                    "Refused: `{name}` needs `{}={}`, which this server's grants ({}) do not \
                     include. Nothing was sent to Crisp.",
                    operation.scope, operation.access, self.grants
                ),
            ),
            None => Refused::new(
                "unknown_tool",
                format!(
                    "There is no tool named `{}`. Nothing was sent to Crisp.",
                    crate::audit::cut(name, 64)
                ),
            ),
        })
    }

    /// Step 5: a preview and a token, or the token spent and the call allowed.
    fn confirm(
        &self,
        request: &Request,
        token: Option<String>,
        caller: &Caller,
    ) -> Result<Confirmed, Refused> {
        let operation = request.operation;
        let name = operation.id;
        let (Some(confirmations), Some(effect)) = (&self.confirmations, operation.effect) else {
            return Ok(Confirmed::Send(Verdict::Allowed));
        };
        let digest = request.digest();
        let Some(token) = token else {
            let token = confirmations
                .issue(&caller.confirmation_key(), name, digest, Instant::now())
                .map_err(|e| {
                    Refused::new(
                        e.as_str(),
                        format!("Refused: {e}. Nothing was sent to Crisp."),
                    )
                })?;
            return Ok(Confirmed::Preview(preview::preview(
                request,
                effect,
                token.as_str(),
                confirmations.ttl(),
            )));
        };
        confirmations
            .redeem(&token, name, digest, Instant::now())
            .map_err(|rejection| {
                Refused::new(
                    rejection.as_str(),
                    format!(
                        "Refused: {rejection}. Nothing was sent to Crisp. Call `{name}` without \
                         `{CONFIRMATION_TOKEN}` for a new preview and token."
                    ),
                )
            })?;
        Ok(Confirmed::Send(Verdict::Confirmed))
    }

    /// Step 6: the request, through crisp-api's call pipeline (its checks, retries, audit).
    async fn send(&self, request: &Request) -> (Result<Value, Error>, AuditRecord) {
        let mut call = self.client.call(request.operation);
        for (name, value) in &request.ids {
            call = call.path(*name, value.clone());
        }
        for (name, value) in &request.query {
            call = call.query(*name, value.clone());
        }
        if let Some(body) = &request.body {
            call = call.body(body.clone());
        }
        call.send_audited().await
    }
}

/// A fresh audit line for a call of `name` by `caller`.
fn audit_line(name: &str, caller: &Caller) -> AuditLine {
    let mut line = AuditLine::new(name, caller.client.as_deref(), caller.transport);
    if let Some(hugo) = &caller.hugo {
        line.hugo_website_id = Some(hugo.website_id.clone());
        line.crisp_session_id = hugo.session_id.clone();
    }
    line
}

/// Step 2: the arguments are an object that fits the tool's schema (integers as integers);
/// the confirmation token is taken out.
fn check_arguments(tool: &Compiled, arguments: Value) -> Result<Checked, Refused> {
    let name = tool.facts.name();
    let invalid = |problems: &str| {
        Refused::new(
            "invalid_arguments",
            format!("Invalid arguments for `{name}`: {problems}. Nothing was sent to Crisp."),
        )
    };
    let arguments = match arguments {
        Value::Null => Value::Object(Map::new()),
        Value::Object(map) => Value::Object(map),
        other => {
            return Err(invalid(&format!(
                "`arguments` must be an object of named arguments, not {}",
                json_type(&other)
            )));
        }
    };
    if let Some(problems) = tools::problems(&tool.validator, &arguments) {
        return Err(invalid(&problems));
    }
    let Value::Object(mut arguments) = arguments else {
        return Err(invalid("`arguments` must be an object of named arguments"));
    };
    let token = match arguments.remove(CONFIRMATION_TOKEN) {
        Some(Value::String(token)) => Some(token),
        _ => None,
    };
    Ok(Checked { arguments, token })
}

/// Step 2b: a message's `content` has the shape its `type` takes, read by crisp-api's
/// [`Content::decode`] as the client reads messages, so that a preview never shows (and a
/// token never sends) content Crisp would refuse or misread. A type crisp-api does not know
/// is let through as it is.
fn check_content(tool: &Compiled, arguments: &Map<String, Value>) -> Result<(), Refused> {
    if !tool.facts.message_body {
        return Ok(());
    }
    // The schema has checked that both are there; nothing to check if not.
    let Some(body) = arguments.get(BODY) else {
        return Ok(());
    };
    let (Some(Value::String(kind)), Some(content)) = (body.get("type"), body.get("content")) else {
        return Ok(());
    };
    let message_type = MessageType::from(kind.as_str());
    let Err(error) = Content::decode(&message_type, &MessageContent(content.clone())) else {
        return Ok(());
    };
    let takes_text = Content::decode(&message_type, &MessageContent(Value::from(""))).is_ok();
    let problem = if takes_text {
        format!(
            "`{BODY}.content` of a `{kind}` message is a string, such as \"content\": \"Hello\", \
             not {}",
            json_type(content)
        )
    } else if !content.is_object() {
        format!(
            "`{BODY}.content` of a `{kind}` message is an object (the schema's MessageContent \
             says which fields), not {}",
            json_type(content)
        )
    } else {
        format!("`{BODY}.content` does not fit a `{kind}` message: {error}")
    };
    Err(Refused::new(
        "invalid_arguments",
        format!(
            "Invalid arguments for `{}`: {problem}. Nothing was sent to Crisp.",
            tool.facts.name()
        ),
    ))
}

/// `an array`, `a string`...: what a JSON value is, for a message.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Step 3: the website the call acts on when it names none: the one Hugo signed the request
/// for, else the server's. A Hugo-signed request naming another website is refused.
fn bind_website<'a>(
    caller: &'a Caller,
    default: &'a str,
    arguments: &Map<String, Value>,
) -> Result<&'a str, Refused> {
    let Some(hugo) = &caller.hugo else {
        return Ok(default);
    };
    let asked = arguments.get(WEBSITE_ID).and_then(Value::as_str);
    if asked.is_some_and(|w| w != hugo.website_id) {
        return Err(Refused::new(
            "website_mismatch",
            format!(
                "Refused: this request was signed for website {}, and `website_id` names \
                 another. Nothing was sent to Crisp.",
                hugo.website_id
            ),
        ));
    }
    Ok(&hugo.website_id)
}

/// Step 4: the request, its path filled as the client fills it; an id the client would refuse
/// (empty, `..`, a control character...) is refused here, before any preview or token.
fn prepare(draft: Draft, operation: &'static Operation) -> Result<Request, Refused> {
    draft.fill(operation).map_err(|error| {
        let problem = match (&error, error.parameter()) {
            (PathError::Unsafe { .. }, Some(name)) => format!("`{name}`: {error}"),
            _ => error.to_string(),
        };
        Refused::new(
            "invalid_arguments",
            format!(
                "Invalid arguments for `{}`: {problem}. Nothing was sent to Crisp.",
                operation.id
            ),
        )
    })
}

/// Step 7: Crisp's data, or the client layer's error, as the tool's answer.
fn answer(
    operation: &'static Operation,
    result: Result<Value, Error>,
    record: &AuditRecord,
) -> CallToolResult {
    match result {
        Ok(envelope) => answer::success(operation, envelope),
        Err(error) => answer::failure(&error, record.reason.as_deref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_names_are_cut_on_a_character_boundary() {
        let caller = Caller::new("http", Some("é".repeat(MAX_CLIENT_NAME)));
        let name = caller.client.unwrap();
        assert!(name.len() <= MAX_CLIENT_NAME && name.len() >= MAX_CLIENT_NAME - 1);
        assert!(name.chars().all(|c| c == 'é'));
    }

    #[test]
    fn pending_confirmations_count_against_the_website_then_the_session() {
        let stdio = Caller::new("stdio", None);
        assert_eq!(stdio.confirmation_key(), "stdio");
        let session = Caller::new("http", None).with_session(Some("s1".into()));
        assert_eq!(session.confirmation_key(), "session:s1");
        let hugo = session.with_hugo(Some(HugoRequest {
            website_id: "w1".into(),
            session_id: None,
        }));
        assert_eq!(hugo.confirmation_key(), "hugo:w1");
    }
}

//! One tool call as named steps: [find the tool](Core::find_tool), [check its
//! arguments](check_arguments) and [a message's content](check_content), [bind the
//! website](bind_website), [prepare the
//! request](prepare) (its ids checked as the client checks them), [confirm](Core::confirm),
//! [send](Core::send) (through the server's [`Dispatch`]), [answer](answer). Each step returns
//! the next step's input or a [`Refusal`]; [`Core::call`] writes the refusal to the audit line,
//! the one place the server refuses a line.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crisp_api::types::{Content, MessageContent, MessageType};
use crisp_api::{AuditRecord, Error, Grants, Operation, PathError};
use jsonschema::Validator;
use rmcp::model::CallToolResult;
use serde_json::{Map, Value};

use crate::answer::{self, Refusal};
use crate::audit::{Audit, AuditLine, Verdict};
use crate::caller::Caller;
use crate::confirm::Confirmations;
use crate::dispatch::{Dispatch, Outcome};
use crate::extra::Extra;
use crate::preview::{self, Draft, Request};
use crate::tools::{self, BODY, CONFIRMATION_TOKEN, Compiled, WEBSITE_ID};

/// The longest id an audit line keeps, in characters.
const MAX_AUDIT_ID: usize = 256;

/// What a server runs calls with: built once, shared by every session.
pub(crate) struct Core {
    pub dispatch: Arc<dyn Dispatch>,
    pub website_id: Option<String>,
    pub grants: Grants,
    pub confirmations: Option<Confirmations>,
    pub tools: Vec<Compiled>,
    pub extras: Vec<Extra>,
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
    pub fn refused_at_the_door(&self, name: &str, caller: &Caller, refusal: Refusal) {
        refused_at_the_door(&self.audit, name, caller, refusal);
    }

    /// Ends the line (a refusal recorded with its code), writes it, and gives the answer.
    fn close(
        &self,
        mut line: AuditLine,
        started: Instant,
        outcome: Result<CallToolResult, Refusal>,
    ) -> CallToolResult {
        let result = match outcome {
            Ok(result) => result,
            Err(refusal) => {
                line.refuse(refusal.code());
                if let Some(status) = refusal.status() {
                    line.status = Some(status);
                    line.reason = refusal.reason().map(str::to_owned);
                }
                refusal.into_result()
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
    ) -> Result<CallToolResult, Refusal> {
        if let Some(extra) = self.extras.iter().find(|e| e.name() == name) {
            return run_extra(extra, arguments, caller, line).await;
        }
        let tool = self.find_tool(name)?;
        let Checked { arguments, token } = check_arguments(tool, arguments)?;
        check_content(tool, &arguments)?;
        let website = bind_website(caller, self.website_id.as_deref(), &arguments, tool)?;
        let draft = Draft::new(tool, &arguments, website);
        line.path_ids = draft
            .ids
            .iter()
            .map(|(n, v)| ((*n).to_owned(), crate::audit::cut(v, MAX_AUDIT_ID)))
            .collect();
        let request = prepare(draft, tool.facts.operation)?;
        self.dispatch.check(&request.outgoing(), caller)?;
        let verdict = match self.confirm(&request, token, tool.held, caller).await? {
            Confirmed::Preview(result) => {
                line.decision = Verdict::AwaitingConfirmation;
                return Ok(result);
            }
            Confirmed::Send(verdict) => verdict,
        };
        line.decision = verdict;
        self.send(&request, caller, line).await
    }

    /// Step 1: the tool, if this server offers it.
    fn find_tool(&self, name: &str) -> Result<&Compiled, Refusal> {
        if let Some(tool) = self.tools.iter().find(|c| c.facts.name() == name) {
            return Ok(tool);
        }
        Err(match Operation::find(name) {
            Some(operation) if self.grants.allows(operation) => Refusal::new(
                "not_offered",
                format!(
                    "Refused: `{name}` is not among the tools this server offers: its operator's \
                     rules refuse every call of it. Nothing was sent to Crisp."
                ),
            ),
            Some(operation) => Refusal::new(
                "not_granted",
                format!(
                    "Refused: `{name}` needs `{}={}`, which this server's grants ({}) do not \
                     include. Nothing was sent to Crisp.",
                    operation.scope, operation.access, self.grants
                ),
            ),
            None => Refusal::new(
                "unknown_tool",
                format!(
                    "There is no tool named `{}`. Nothing was sent to Crisp.",
                    crate::audit::cut(name, 64)
                ),
            ),
        })
    }

    /// Step 5: a preview and a token, or the token spent and the call allowed. A tool whose
    /// calls the dispatch holds for approval (`held`) goes on without a token: nothing is sent
    /// when it is called.
    async fn confirm(
        &self,
        request: &Request,
        token: Option<String>,
        held: bool,
        caller: &Caller,
    ) -> Result<Confirmed, Refusal> {
        let operation = request.operation;
        let name = operation.id;
        let (Some(confirmations), Some(effect), false) =
            (&self.confirmations, operation.effect, held)
        else {
            return Ok(Confirmed::Send(Verdict::Allowed));
        };
        let digest = request.digest();
        let Some(token) = token else {
            let token = confirmations
                .issue(&caller.confirmation_key(), name, digest, SystemTime::now())
                .await
                .map_err(|e| {
                    Refusal::new(
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
            .redeem(&token, name, digest, SystemTime::now())
            .await
            .map_err(|rejection| {
                Refusal::new(
                    rejection.as_str(),
                    format!(
                        "Refused: {rejection}. Nothing was sent to Crisp. Call `{name}` without \
                         `{CONFIRMATION_TOKEN}` for a new preview and token."
                    ),
                )
            })?;
        Ok(Confirmed::Send(Verdict::Confirmed))
    }

    /// Steps 6 and 7: the request, through the server's [`Dispatch`] (by default crisp-api's
    /// call pipeline: its checks, retries and audit record), and its answer; or its refusal.
    /// The line records what the dispatch did (and the requests it sent to decide) whatever
    /// the outcome.
    async fn send(
        &self,
        request: &Request,
        caller: &Caller,
        line: &mut AuditLine,
    ) -> Result<CallToolResult, Refusal> {
        let mut outgoing = request.outgoing();
        outgoing.confirmed = line.decision == Verdict::Confirmed;
        let dispatched = self.dispatch.dispatch(outgoing, caller).await;
        line.dispatched = true;
        line.lookups = dispatched.lookups;
        match dispatched.outcome {
            Outcome::Sent { result, record } => {
                line.record(&record);
                Ok(answer(request.operation, result, &record))
            }
            Outcome::Answered { status, envelope } => {
                line.answered(status, &envelope);
                Ok(answer::answered(request.operation, status, envelope))
            }
            Outcome::Refused(refusal) => Err(refusal),
            Outcome::Held(held) => {
                line.decision = Verdict::AwaitingApproval;
                Ok(held.answer())
            }
        }
    }
}

/// A call of an embedder's own tool: its arguments checked against its input schema, then
/// handed to it (the line marked dispatched: the tool keeps its own record).
async fn run_extra(
    extra: &Extra,
    arguments: Value,
    caller: &Caller,
    line: &mut AuditLine,
) -> Result<CallToolResult, Refusal> {
    let arguments = fitting_object(
        extra.name(),
        &extra.validator,
        arguments,
        "Nothing was done.",
    )?;
    line.decision = Verdict::Allowed;
    line.dispatched = true;
    extra
        .run
        .call(arguments, caller)
        .await
        .map(crate::extra::ToolReply::into_result)
}

/// Writes the audit line of a `tools/call` of `name` refused before it reached a server (no
/// valid bearer token, a bad Hugo signature) to `audit`.
pub(crate) fn refused_at_the_door(audit: &Audit, name: &str, caller: &Caller, refusal: Refusal) {
    let mut line = audit_line(name, caller);
    line.refuse(refusal.code());
    line.finish(std::time::Duration::ZERO);
    audit.write(&line);
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
fn check_arguments(tool: &Compiled, arguments: Value) -> Result<Checked, Refusal> {
    let mut arguments = fitting_object(
        tool.facts.name(),
        &tool.validator,
        arguments,
        "Nothing was sent to Crisp.",
    )?;
    let token = match arguments.remove(CONFIRMATION_TOKEN) {
        Some(Value::String(token)) => Some(token),
        _ => None,
    };
    Ok(Checked { arguments, token })
}

/// The arguments of a call of `name` as an object (none is an empty one) that fits its input
/// schema (`validator`), or the `invalid_arguments` refusal naming what is wrong, ending with
/// `nothing` (what was not done).
fn fitting_object(
    name: &str,
    validator: &Validator,
    arguments: Value,
    nothing: &str,
) -> Result<Map<String, Value>, Refusal> {
    let invalid = |problems: &str| {
        Refusal::new(
            "invalid_arguments",
            format!("Invalid arguments for `{name}`: {problems}. {nothing}"),
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
    if let Some(problems) = tools::problems(validator, &arguments) {
        return Err(invalid(&problems));
    }
    let Value::Object(arguments) = arguments else {
        return Err(invalid("`arguments` must be an object of named arguments"));
    };
    Ok(arguments)
}

/// Step 2b: a message's `content` has the shape its `type` takes, read by crisp-api's
/// [`Content::decode`] as the client reads messages, so that a preview never shows (and a
/// token never sends) content Crisp would refuse or misread. A type crisp-api does not know
/// is let through as it is.
fn check_content(tool: &Compiled, arguments: &Map<String, Value>) -> Result<(), Refusal> {
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
    Err(Refusal::new(
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
/// for, else the server's. A Hugo-signed request naming another website is refused, and so is
/// a call that names none to a server without a default website (of a tool that takes one).
fn bind_website<'a>(
    caller: &'a Caller,
    default: Option<&'a str>,
    arguments: &'a Map<String, Value>,
    tool: &Compiled,
) -> Result<&'a str, Refusal> {
    let asked = arguments.get(WEBSITE_ID).and_then(Value::as_str);
    let Some(hugo) = &caller.hugo else {
        return match (asked, default) {
            (Some(website), _) | (None, Some(website)) => Ok(website),
            (None, None) if !takes_website(tool) => Ok(""),
            (None, None) => Err(Refusal::new(
                "invalid_arguments",
                format!(
                    "Invalid arguments for `{}`: `{WEBSITE_ID}` is required: this server has no \
                     default website, so name the website on every call. \
                     Nothing was sent to Crisp.",
                    tool.facts.name()
                ),
            )),
        };
    };
    if asked.is_some_and(|w| w != hugo.website_id) {
        return Err(Refusal::new(
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

/// Whether `tool`'s path takes a `website_id`.
fn takes_website(tool: &Compiled) -> bool {
    tool.facts
        .operation
        .path_params()
        .any(|name| name == WEBSITE_ID)
}

/// Step 4: the request, its path filled as the client fills it; an id the client would refuse
/// (empty, `..`, a control character...) is refused here, before any preview or token.
fn prepare(draft: Draft, operation: &'static Operation) -> Result<Request, Refusal> {
    draft.fill(operation).map_err(|error| {
        let problem = match (&error, error.parameter()) {
            (PathError::Unsafe { .. }, Some(name)) => format!("`{name}`: {error}"),
            _ => error.to_string(),
        };
        Refusal::new(
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

//! What a tool call answers: Crisp's envelope, the client layer's error, or a refusal, as an
//! MCP tool result (text for the model, structured content for programs).

use std::borrow::Cow;
use std::fmt::Write as _;

use crisp_api::{Error, Operation};
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Value, json};

/// The longest text rendering of a result; the whole result is in `structuredContent`.
pub const TEXT_LIMIT: usize = 64 * 1024;

/// A call refused before anything reached Crisp: by the server (`not_granted`,
/// `invalid_arguments`, `unknown_token`, ...), or by a [`Dispatch`](crate::Dispatch) that
/// decides before it sends (a gateway's `website`, `grants`, `rate`, ...). The agent reads it
/// as a tool error `{"error": {"kind": "refused", code, status, reason, message, hint}}`, the
/// shape of the client layer's errors, and the audit line records its code (and its status and
/// reason, when it has them).
///
/// ```
/// use crisp_mcp::Refusal;
///
/// let refusal = Refusal::new("rate", "Refused: agent `triage` is over its rate of 60/minute. Nothing was sent to Crisp.")
///     .with_status(429, "rate_limited")
///     .with_hint("Wait for `retry_after` seconds, then call again.")
///     .with_retry_after(12);
/// assert_eq!(refusal.code(), "rate");
/// assert_eq!(refusal.status(), Some(429));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    code: Cow<'static, str>,
    message: String,
    status: Option<u16>,
    reason: Option<String>,
    hint: Option<String>,
    retry_after: Option<u64>,
}

impl Refusal {
    /// A refusal with `code` (for the audit line and the agent) and `message`: what was
    /// refused and why, ending with "Nothing was sent to Crisp." It has no status and no
    /// reason (`null`) until [`with_status`](Self::with_status) gives them, and the server's
    /// hint for its code until [`with_hint`](Self::with_hint) gives one.
    pub fn new(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            status: None,
            reason: None,
            hint: None,
            retry_after: None,
        }
    }

    /// The same refusal, answered as Crisp would answer it: an HTTP `status` and Crisp's
    /// `reason` (such as `403` and `not_allowed`).
    #[must_use]
    pub fn with_status(mut self, status: u16, reason: impl Into<String>) -> Self {
        self.status = Some(status);
        self.reason = Some(reason.into());
        self
    }

    /// The same refusal, with what the agent can do about it.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The same refusal, which may be tried again after `seconds` (a rate limit): the tool
    /// error carries `retry_after`.
    #[must_use]
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The refusal's code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// What the agent reads.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status it answers with, if it has one.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// Crisp's reason it answers with, if it has one.
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// The tool error the agent reads: the message as text, and as structured content
    /// `{"error": {"kind": "refused", code, status, reason, message, hint}}` (and
    /// `retry_after` when it has one), the shape of the client layer's errors.
    pub(crate) fn into_result(self) -> CallToolResult {
        let hint = match self.hint {
            Some(hint) => hint,
            None => refusal_hint(&self.code).to_owned(),
        };
        let mut error = json!({
            "kind": "refused",
            "code": self.code,
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
            "hint": hint,
        });
        if let (Some(seconds), Value::Object(map)) = (self.retry_after, &mut error) {
            map.insert("retry_after".to_owned(), seconds.into());
        }
        let mut result = CallToolResult::error(vec![ContentBlock::text(self.message)]);
        result.structured_content = Some(json!({ "error": error }));
        result
    }
}

/// What to do about a refusal of the server's, by its code.
fn refusal_hint(code: &str) -> &'static str {
    match code {
        "not_granted" => {
            "Use one of the tools this server lists; its operator can grant this tool's scope \
             (--grants) if the agent needs it."
        }
        "unknown_tool" | "not_offered" => {
            "Call tools/list for the tools this server offers, and use one of them."
        }
        "invalid_arguments" => {
            "Correct the arguments as the message says (the tool's input schema describes each \
             one), then call again."
        }
        "invalid_request" => {
            "Send tools/call with the tool's `name` (a string) and its `arguments` (an object)."
        }
        "website_mismatch" => {
            "Leave `website_id` out, or give the website this request was signed for."
        }
        "too_many_pending" => {
            "Confirm a pending preview with its token, or wait for one to expire, then call again."
        }
        "confirmations_full" => {
            "Wait until pending previews are confirmed or expire, then call again."
        }
        "confirmations_unavailable" => {
            "Wait a moment, then call the tool again without `confirmation_token` for a new \
             preview and token."
        }
        "unknown_token" | "expired_token" | "token_mismatch" => {
            "Call the tool again without `confirmation_token` for a new preview and token, and \
             use that token once, with the same arguments."
        }
        "unauthorized" => "Send the server's bearer token: `Authorization: Bearer <token>`.",
        "bad_signature" => "Sign the request with the integration's Hugo signing secret.",
        _ => "The server cannot do this now: tell its operator what the message says.",
    }
}

/// The answer to a call that succeeded: Crisp's envelope `{error, reason, data}` as structured
/// content (what the tool's output schema describes), and a short text rendering of its `data`.
/// A success whose body is not an object (Crisp always sends its envelope) is wrapped in one,
/// with an empty `reason`.
pub(crate) fn success(operation: &'static Operation, envelope: Value) -> CallToolResult {
    let envelope = match envelope {
        Value::Object(map) => map,
        other => {
            let mut map = serde_json::Map::new();
            map.insert("error".to_owned(), Value::Bool(false));
            map.insert("reason".to_owned(), Value::String(String::new()));
            map.insert("data".to_owned(), other);
            map
        }
    };
    let data = envelope.get("data").unwrap_or(&Value::Null);
    let mut text = format!("{} succeeded", operation.id);
    if let Value::Array(items) = data {
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
    result.structured_content = Some(Value::Object(envelope));
    result
}

/// Whether an answer given as a status and Crisp's envelope is an error: a status outside
/// 2xx, or an envelope that says `error: true`.
pub(crate) fn is_error(status: u16, envelope: &Value) -> bool {
    !(200..300).contains(&status) || envelope.get("error") == Some(&Value::Bool(true))
}

/// The answer to a call a dispatch sent through its own path and answered as Crisp does (see
/// [`Dispatched::answered`](crate::Dispatched::answered)): a success as [`success`] renders it,
/// an error as [`failure`] renders Crisp's errors, from the envelope's `reason` and
/// `data.message`.
pub(crate) fn answered(
    operation: &'static Operation,
    status: u16,
    envelope: Value,
) -> CallToolResult {
    if !is_error(status, &envelope) {
        return success(operation, envelope);
    }
    let reason = envelope.get("reason").and_then(Value::as_str).unwrap_or("");
    let message = envelope
        .pointer("/data/message")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let error = Error::Api {
        operation,
        status: http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_GATEWAY),
        reason: reason.into(),
        message,
    };
    failure(&error, (!reason.is_empty()).then_some(reason))
}

/// The answer to a call the client layer ended with `error` (Crisp's `reason`, if it sent
/// one): the message and what to do, and `{"error": {kind, code, status, reason, message,
/// hint}}`, where `code` is the kind when the client refused the call before sending it
/// (`not_granted`, `budget_spent`, ...), and `null` when it was sent.
pub(crate) fn failure(error: &Error, reason: Option<&str>) -> CallToolResult {
    let hint = error.hint();
    let structured = json!({
        "error": {
            "kind": error.kind(),
            "code": error.is_refused().then(|| error.kind()),
            "status": error.status().map(|s| s.as_u16()),
            "reason": reason,
            "message": error.to_string(),
            "hint": hint,
        }
    });
    let mut text = error.to_string();
    if !hint.is_empty() && !text.contains(&hint) {
        let _ = write!(text, "\nWhat to do: {hint}");
    }
    let mut result = CallToolResult::error(vec![ContentBlock::text(text)]);
    result.structured_content = Some(structured);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_code_has_its_own_hint() {
        let codes = [
            "not_granted",
            "not_offered",
            "unknown_tool",
            "invalid_arguments",
            "invalid_request",
            "website_mismatch",
            "too_many_pending",
            "confirmations_full",
            "confirmations_unavailable",
            "unknown_token",
            "unauthorized",
            "bad_signature",
        ];
        let fallback = refusal_hint("no_such_code");
        for code in codes {
            assert_ne!(refusal_hint(code), fallback, "{code}");
        }
        let result = Refusal::new("not_granted", "Refused: no.").into_result();
        let error = &result.structured_content.unwrap()["error"];
        assert_eq!(error["kind"], "refused");
        assert_eq!(error["code"], "not_granted");
        assert_eq!(error["message"], "Refused: no.");
        assert!(error["status"].is_null() && error["reason"].is_null());
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

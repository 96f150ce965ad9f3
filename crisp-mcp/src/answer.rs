//! What a tool call answers: Crisp's data, the client layer's error, or the server's refusal,
//! as an MCP tool result (text for the model, structured content for programs).

use std::fmt::Write as _;

use crisp_api::{Error, Operation};
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Value, json};

/// The longest text rendering of a result; the whole result is in `structuredContent`.
pub const TEXT_LIMIT: usize = 64 * 1024;

/// A call the server refused before anything reached Crisp: the code the audit line records
/// (`not_granted`, `invalid_arguments`, `unknown_token`, ...) and the message the agent reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Refused {
    /// The refusal code, for the audit line.
    pub code: &'static str,
    /// What went wrong and what to do, ending with "Nothing was sent to Crisp."
    pub message: String,
}

impl Refused {
    /// A refusal with `code` and `message`.
    pub fn new(code: &'static str, message: String) -> Self {
        Self { code, message }
    }

    /// The tool error the agent reads: the message as text, and as structured content
    /// `{"error": {"kind": "refused", code, status: null, reason: null, message, hint}}`, the
    /// shape of the client layer's errors (nothing reached Crisp, so no status or reason).
    pub fn into_result(self) -> CallToolResult {
        let structured = json!({
            "error": {
                "kind": "refused",
                "code": self.code,
                "status": null,
                "reason": null,
                "message": self.message,
                "hint": refusal_hint(self.code),
            }
        });
        let mut result = CallToolResult::error(vec![ContentBlock::text(self.message)]);
        result.structured_content = Some(structured);
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
        "unknown_tool" => "Call tools/list for the tools this server offers, and use one of them.",
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
        "unknown_token" | "expired_token" | "token_mismatch" => {
            "Call the tool again without `confirmation_token` for a new preview and token, and \
             use that token once, with the same arguments."
        }
        "unauthorized" => "Send the server's bearer token: `Authorization: Bearer <token>`.",
        "bad_signature" => "Sign the request with the integration's Hugo signing secret.",
        _ => "The server cannot do this now: tell its operator what the message says.",
    }
}

/// The answer to a call that succeeded: Crisp's `data` as structured content (under `data`:
/// MCP wants an object, and lists are arrays), and a short text rendering.
pub(crate) fn success(operation: &'static Operation, envelope: Value) -> CallToolResult {
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
            "unknown_tool",
            "invalid_arguments",
            "invalid_request",
            "website_mismatch",
            "too_many_pending",
            "confirmations_full",
            "unknown_token",
            "unauthorized",
            "bad_signature",
        ];
        let fallback = refusal_hint("no_such_code");
        for code in codes {
            assert_ne!(refusal_hint(code), fallback, "{code}");
        }
        let result = Refused::new("not_granted", "Refused: no.".to_owned()).into_result();
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

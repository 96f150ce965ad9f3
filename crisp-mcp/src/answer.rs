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

    /// The tool error the agent reads.
    pub fn into_result(self) -> CallToolResult {
        CallToolResult::error(vec![ContentBlock::text(self.message)])
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
/// one): the message and what to do, and `{"error": {kind, status, reason, message, hint}}`.
pub(crate) fn failure(error: &Error, reason: Option<&str>) -> CallToolResult {
    let hint = error.hint();
    let structured = json!({
        "error": {
            "kind": error.kind(),
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

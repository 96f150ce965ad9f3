//! The output schema a tool lists: the operation's success envelope, generated from the spec
//! ([`ToolFacts::output_schema`]), beside the shapes of the server's own answers: a preview (for
//! a tool that waits for confirmation) and a tool error. MCP clients check every result that
//! has structured content against it, error results included, so each shape the server
//! answers with is one branch of an `anyOf`.

use rmcp::model::JsonObject;
use serde_json::{Value, json};

use crate::generated::tools::CONFIRMATION_TOKEN;
use crate::table::ToolFacts;

/// The output schema of `facts`' tool, with the preview branch when `previews` (confirmation
/// is on and the tool has an effect).
///
/// # Errors
///
/// When the generated schema is not a JSON object, which means the generated table is broken.
pub(crate) fn schema(facts: &ToolFacts, previews: bool) -> Result<JsonObject, String> {
    let name = facts.name();
    let Ok(Value::Object(mut envelope)) = serde_json::from_str(facts.output_schema) else {
        return Err(format!(
            "tool {name}: its output schema is not a JSON object"
        ));
    };
    let defs = envelope.remove("$defs");
    let mut branches = vec![Value::Object(envelope)];
    let mut description = "On success, Crisp's envelope `{error, reason, data}`".to_owned();
    if previews {
        branches.push(preview());
        description.push_str("; without `confirmation_token`, a preview of what would be sent");
    }
    branches.push(error());
    description.push_str(
        "; on failure or refusal, `{error: {kind, code, status, reason, message, hint}}`.",
    );
    let mut out = JsonObject::new();
    out.insert("type".into(), json!("object"));
    out.insert("description".into(), description.into());
    out.insert("anyOf".into(), Value::Array(branches));
    if let Some(defs) = defs {
        out.insert("$defs".into(), defs);
    }
    Ok(out)
}

/// The JSON Schema (2020-12) of a preview's structured content, as the preview step writes it: a
/// branch of the output schema of every tool that waits for confirmation.
fn preview() -> Value {
    json!({
        "type": "object",
        "description": "NOT DONE: the preview of a call that waits for confirmation. Call the \
            tool again with the same arguments and `confirmation_token` to act.",
        "required": ["confirmation_required", "tool", "effect", "request", CONFIRMATION_TOKEN, "expires_in_seconds"],
        "properties": {
            "confirmation_required": {"type": "boolean", "description": "Always true: nothing was sent."},
            "tool": {"type": "string"},
            "effect": {"type": "string", "description": "`customer-visible` or `irreversible`."},
            "request": {
                "type": "object",
                "description": "Exactly what would be sent.",
                "required": ["method", "path", "query"],
                "properties": {
                    "method": {"type": "string"},
                    "path": {"type": "string", "description": "Filled and percent-encoded as sent."},
                    "query": {"type": "object", "additionalProperties": {"type": "string"}},
                    "body": {"description": "The JSON body, or null."},
                },
            },
            "webhook": {"type": ["string", "null"], "description": "The webhook event it fires, if any."},
            (CONFIRMATION_TOKEN): {"type": "string", "description": "The one-time token to act with."},
            "expires_in_seconds": {"type": "integer"},
        },
    })
}

/// The JSON Schema (2020-12) of a tool error's structured content, as a failure and a
/// [`Refusal`](crate::Refusal) write it: one branch of every tool's output schema (MCP clients check error
/// results against it too).
fn error() -> Value {
    let text = |description: &str| json!({"type": "string", "description": description});
    let or_null =
        |ty: &str, description: &str| json!({"type": [ty, "null"], "description": description});
    json!({
        "type": "object",
        "description": "A tool error (`isError: true`): the call was refused before it reached \
            Crisp, or it failed.",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["kind", "code", "status", "reason", "message", "hint"],
                "properties": {
                    "kind": text("`refused` when the call was refused before it reached Crisp; \
                        otherwise what failed: `api` (Crisp answered an error), `rate_limited`, \
                        `transport`, `timeout`, ..."),
                    "code": or_null("string", "Why it was refused (`not_granted`, \
                        `invalid_arguments`, `unknown_token`, ...); null when Crisp answered."),
                    "status": or_null("integer", "The HTTP status Crisp (or the gateway) \
                        answered with, if any."),
                    "reason": or_null("string", "Crisp's error reason (`not_found`, \
                        `invalid_data`, ...), if any."),
                    "message": text("What went wrong."),
                    "hint": text("What to do about it."),
                    "retry_after": {"type": "integer", "description": "Seconds to wait before \
                        calling again, when a rate or a budget refused the call."},
                },
            },
        },
    })
}

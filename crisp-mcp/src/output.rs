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
/// is on and the tool has an effect), and the held branch when `held` (its dispatch holds its
/// calls for approval).
///
/// # Errors
///
/// When the generated schema is not a JSON object, which means the generated table is broken.
pub(crate) fn schema(facts: &ToolFacts, previews: bool, held: bool) -> Result<JsonObject, String> {
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
    if held {
        branches.push(held_branch());
        description.push_str(
            "; when held for a person's approval, the approval id and a preview of what would \
             be sent",
        );
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

/// The JSON Schema (2020-12) of the request a preview or a held call shows: what would be sent.
fn request() -> Value {
    json!({
        "type": "object",
        "required": ["method", "path", "query"],
        "properties": {
            "method": {"type": "string"},
            "path": {"type": "string"},
            "query": {"type": "object", "additionalProperties": {"type": "string"}},
            "body": {},
        },
    })
}

/// The JSON Schema (2020-12) of a preview's structured content, as the preview step writes it: a
/// branch of the output schema of every tool that waits for confirmation. Short: it is repeated
/// in each such tool.
fn preview() -> Value {
    json!({
        "type": "object",
        "description": "Not done: a preview of the request, and the token to confirm it with.",
        "required": ["confirmation_required", "tool", "effect", "request", CONFIRMATION_TOKEN, "expires_in_seconds"],
        "properties": {
            "confirmation_required": {"type": "boolean"},
            "tool": {"type": "string"},
            "effect": {"type": "string"},
            "request": request(),
            "webhook": {"type": ["string", "null"]},
            (CONFIRMATION_TOKEN): {"type": "string"},
            "expires_in_seconds": {"type": "integer"},
        },
    })
}

/// The JSON Schema (2020-12) of a held call's structured content, as
/// [`Held`](crate::Held) writes it: a branch of the output schema of every tool whose calls its
/// dispatch holds for approval.
fn held_branch() -> Value {
    json!({
        "type": "object",
        "description": "Not done yet: held for a person's approval; the request that would be \
            sent once approved.",
        "required": ["approval_required", "approval_id", "status", "tool", "request"],
        "properties": {
            "approval_required": {"type": "boolean"},
            "approval_id": {"type": "string"},
            "status": {"type": "string"},
            "tool": {"type": "string"},
            "effect": {"type": ["string", "null"]},
            "request": request(),
            "webhook": {"type": ["string", "null"]},
            "expires_in_seconds": {"type": ["integer", "null"]},
            "follow_up": {"type": ["string", "null"]},
        },
    })
}

/// The JSON Schema (2020-12) of a tool error's structured content, as a failure and a
/// [`Refusal`](crate::Refusal) write it: one branch of every tool's output schema (MCP clients
/// check error results against it too). Short: it is repeated in every tool.
pub(crate) fn error() -> Value {
    let string_or_null = json!({"type": ["string", "null"]});
    json!({
        "type": "object",
        "description": "A tool error: `kind` is `refused` (nothing reached Crisp; `code` says \
            why) or what failed; `hint` says what to do.",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["kind", "code", "status", "reason", "message", "hint"],
                "properties": {
                    "kind": {"type": "string"},
                    "code": string_or_null,
                    "status": {"type": ["integer", "null"]},
                    "reason": string_or_null,
                    "message": {"type": "string"},
                    "hint": {"type": "string"},
                    "retry_after": {"type": "integer"},
                },
            },
        },
    })
}

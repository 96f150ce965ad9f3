//! The tools a server lists: the generated table, filtered by the grants, with the server's
//! settings applied (the default website, whether a confirmation token is taken), each with a
//! compiled validator of its input schema, and its output schema.

use std::fmt::Write as _;
use std::sync::Arc;

use crisp_api::Grants;
use jsonschema::{Draft, Validator};
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::Value;

pub use crate::generated::tools::{BODY, CONFIRMATION_TOKEN, TOOLS, WEBSITE_ID};
use crate::table::ToolFacts;

/// The tool named `name`, from the whole table (whatever a server's grants).
///
/// ```
/// assert!(crisp_mcp::tool("list_conversations").is_some());
/// assert!(crisp_mcp::tool("../etc").is_none());
/// ```
pub fn tool(name: &str) -> Option<&'static ToolFacts> {
    TOOLS.iter().find(|tool| tool.name() == name)
}

/// One tool as this server offers it.
pub(crate) struct Compiled {
    pub facts: &'static ToolFacts,
    pub tool: Tool,
    pub validator: Validator,
    /// Path parameters the schema gives a `default` (such as `page_number`), and that default.
    pub defaults: Vec<(&'static str, Value)>,
    /// Whether the server's dispatch holds its calls for a person's approval: then it takes
    /// no confirmation token (nothing is sent when it is called).
    pub held: bool,
}

/// What `website_id` says when the server has no default website.
const WEBSITE_REQUIRED: &str = "The website (workspace) identifier, a UUID. Required: this \
    server has no default website, so every call names the website it acts on.";

/// Builds the tools `grants` allow and `offered` keeps, in the table's order. `website_id` is
/// the default website (`None`: every call must name one: the listed schema requires it, and
/// the call step says so when it is missing). A tool `held` says its dispatch holds for
/// approval takes no confirmation token, says so in its description, and has the held answer
/// in its output schema.
///
/// # Errors
///
/// When a generated schema does not compile, which means crisp-mcp's generated table is
/// broken.
pub(crate) fn compile(
    grants: &Grants,
    website_id: Option<&str>,
    confirm: bool,
    offered: impl Fn(&'static crisp_api::Operation) -> bool,
    held: impl Fn(&'static crisp_api::Operation) -> bool,
) -> Result<Vec<Compiled>, String> {
    let mut out = Vec::new();
    for facts in TOOLS {
        let operation = facts.operation;
        let name = facts.name();
        if !grants.allows(operation) || !offered(operation) {
            continue;
        }
        let held = held(operation);
        // Confirmation applies to a tool with an effect whose calls are sent when made.
        let confirms = confirm && operation.effect.is_some() && !held;
        let mut schema: Value = serde_json::from_str(facts.input_schema)
            .map_err(|e| format!("tool {}: its input schema is not JSON: {e}", name))?;
        let properties = schema
            .get_mut("properties")
            .and_then(Value::as_object_mut)
            .ok_or_else(|| format!("tool {}: its input schema has no properties", name))?;
        let has_website = match properties.get_mut(WEBSITE_ID) {
            Some(Value::Object(website)) => {
                match website_id {
                    Some(id) => website.insert("default".into(), Value::String(id.to_owned())),
                    None => website.insert("description".into(), WEBSITE_REQUIRED.into()),
                };
                true
            }
            _ => false,
        };
        if !confirms {
            properties.remove(CONFIRMATION_TOKEN);
        }
        let defaults = facts
            .params
            .iter()
            .filter(|p| p.location == crate::table::Location::Path)
            .filter_map(|p| {
                let default = properties.get(p.name)?.get("default")?;
                (p.name != WEBSITE_ID).then(|| (p.name, default.clone()))
            })
            .collect();
        let validator = validator(&schema)
            .map_err(|e| format!("tool {}: its input schema does not compile: {e}", name))?;
        // Required in the listed schema only: a call without it gets the call step's message,
        // which says why (no default website), rather than the validator's.
        if has_website && website_id.is_none() {
            require(&mut schema, WEBSITE_ID);
        }
        let Value::Object(schema) = schema else {
            return Err(format!("tool {}: its input schema is not an object", name));
        };
        let mut description = facts.description.to_owned();
        if held {
            let _ = write!(
                description,
                "\n\nApproval: this tool does not act when called; the call is held for a \
                 person's approval and answered with an approval id and a preview of exactly \
                 what would be sent. No confirmation token is needed. Once approved, the request \
                 is sent once."
            );
        } else if confirms {
            let _ = write!(
                description,
                "\n\nConfirmation: without `{CONFIRMATION_TOKEN}` this tool does not act; it \
                 returns a preview of exactly what would be sent or deleted and a one-time \
                 token. Call it again with the same arguments and that token to act."
            );
        }
        let (hints, title) = (facts.hints(), facts.title());
        let annotations = ToolAnnotations::with_title(&title)
            .read_only(hints.read_only)
            .destructive(hints.destructive)
            .idempotent(hints.idempotent)
            .open_world(hints.open_world);
        let output = crate::output::schema(facts, confirms, held)?;
        let tool = Tool::new(name, description, Arc::new(schema as JsonObject))
            .with_title(title)
            .with_annotations(annotations)
            .with_raw_output_schema(Arc::new(output));
        out.push(Compiled {
            facts,
            tool,
            validator,
            defaults,
            held,
        });
    }
    Ok(out)
}

/// Adds `name` to the schema's `required` list (made if need be).
fn require(schema: &mut Value, name: &str) {
    let Value::Object(map) = schema else { return };
    let required = map
        .entry("required")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(names) = required
        && !names.iter().any(|n| n == name)
    {
        names.push(Value::String(name.to_owned()));
    }
}

/// The private keyword the validator's copy of a schema carries beside each
/// `"type": "integer"`: JSON Schema counts `1.0` and `1e30` as integers, Crisp does not.
const STRICT_INTEGER: &str = "x-crisp-strict-integer";

/// A validator of `schema` (JSON Schema 2020-12) in which an integer must be written as one:
/// an `i64` or `u64` JSON number, no fraction, no exponent (`1.0` and `1e30` would reach Crisp
/// as `1.0` and `1e+30`). Bounds are the schema's own `minimum` and `maximum`.
pub(crate) fn validator(schema: &Value) -> Result<Validator, jsonschema::ValidationError<'static>> {
    let mut strict = schema.clone();
    mark_integers(&mut strict);
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .with_keyword(STRICT_INTEGER, |_, _, _| Ok(Box::new(StrictInteger)))
        .build(&strict)
        .map_err(|e| e.to_owned())
}

/// Adds [`STRICT_INTEGER`] to every schema object whose `type` is or includes `integer`.
fn mark_integers(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            let integer = match map.get("type") {
                Some(Value::String(t)) => t == "integer",
                Some(Value::Array(types)) => types.iter().any(|t| t == "integer"),
                _ => false,
            };
            map.values_mut().for_each(mark_integers);
            if integer {
                map.insert(STRICT_INTEGER.to_owned(), Value::Bool(true));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mark_integers),
        _ => {}
    }
}

/// The check behind [`STRICT_INTEGER`]: a number must be an `i64` or a `u64`.
struct StrictInteger;

impl<'i> jsonschema::Keyword<'i> for StrictInteger {
    fn validate(&self, instance: &'i Value) -> Result<(), jsonschema::ValidationError<'i>> {
        if self.is_valid(instance) {
            return Ok(());
        }
        Err(jsonschema::ValidationError::custom(format!(
            "{} is not an integer as Crisp reads one: write it without a fraction or an \
             exponent, between -9223372036854775808 and 18446744073709551615",
            crate::audit::cut(&instance.to_string(), 40)
        )))
    }

    fn is_valid(&self, instance: &'i Value) -> bool {
        match instance {
            Value::Number(n) => n.is_i64() || n.is_u64(),
            _ => true,
        }
    }
}

/// At most this many problems are reported for one call.
const MAX_PROBLEMS: usize = 5;

/// What is wrong with `arguments`, each problem naming the argument, or `None` if they fit.
pub(crate) fn problems(validator: &Validator, arguments: &Value) -> Option<String> {
    let mut text = String::new();
    for (i, error) in validator
        .iter_errors(arguments)
        .take(MAX_PROBLEMS)
        .enumerate()
    {
        if i > 0 {
            text.push_str("; ");
        }
        let path = error.instance_path().to_string();
        let field = path.trim_start_matches('/').replace('/', ".");
        let message = crate::audit::cut(&error.to_string(), 300);
        if field.is_empty() {
            text.push_str(&message);
        } else {
            let _ = write!(text, "`{field}`: {message}");
        }
    }
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use crisp_api::Operation;

    use super::*;

    #[test]
    fn the_grants_choose_the_tools() {
        let all = compile(&Grants::all(), Some("w"), true, |_| true, |_| false).unwrap();
        assert_eq!(all.len(), Operation::ALL.len());
        let read_only = compile(
            &Grants::all().read_only(),
            Some("w"),
            true,
            |_| true,
            |_| false,
        )
        .unwrap();
        assert!(!read_only.is_empty());
        assert!(read_only.iter().all(|c| !c.facts.operation.is_write()));
        assert!(
            compile(&Grants::none(), Some("w"), true, |_| true, |_| false)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn settings_show_in_the_schemas() {
        let tools = compile(
            &Grants::all(),
            Some("the-website"),
            true,
            |_| true,
            |_| false,
        )
        .unwrap();
        let send = tools
            .iter()
            .find(|c| c.facts.name() == "send_message")
            .unwrap();
        let props = send.tool.input_schema["properties"].as_object().unwrap();
        assert_eq!(props[WEBSITE_ID]["default"], "the-website");
        assert!(props.contains_key(CONFIRMATION_TOKEN));
        let off = compile(&Grants::all(), Some("w"), false, |_| true, |_| false).unwrap();
        let send = off
            .iter()
            .find(|c| c.facts.name() == "send_message")
            .unwrap();
        assert!(
            !send.tool.input_schema["properties"]
                .as_object()
                .unwrap()
                .contains_key(CONFIRMATION_TOKEN)
        );
        let list = tools
            .iter()
            .find(|c| c.facts.name() == "list_conversations")
            .unwrap();
        assert_eq!(list.defaults, [("page_number", serde_json::json!(1))]);
    }

    #[test]
    fn problems_name_the_argument() {
        let tools = compile(&Grants::all(), Some("w"), true, |_| true, |_| false).unwrap();
        let send = tools
            .iter()
            .find(|c| c.facts.name() == "send_message")
            .unwrap();
        let text = problems(
            &send.validator,
            &serde_json::json!({"session_id": 7, "body": {"type": "text"}, "extra": 1}),
        )
        .unwrap();
        assert!(text.contains("`session_id`"), "{text}");
        assert!(text.contains("extra"), "{text}");
        assert!(problems(
            &send.validator,
            &serde_json::json!({"session_id": "s", "body": {"type": "text", "from": "operator", "origin": "chat", "content": "hi"}})
        )
        .is_none());
    }
}

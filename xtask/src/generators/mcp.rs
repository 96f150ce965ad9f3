//! `crisp-mcp/src/generated/tools.rs`: one MCP tool per operation of the spec, for the MCP
//! server. Each tool points at its operation in crisp-api's table (which gives its name,
//! title and MCP annotations), and adds what that table does not hold: a description that says
//! what it does with its scope, access, webhook event and effect, where each argument goes
//! (path or query; the body), and an input JSON Schema
//! (2020-12) built from the path and query parameters and the request body, with the spec's
//! descriptions, required fields and enums, and the components it refers to as `$defs`; and an
//! output JSON Schema: the success envelope of the operation (its `2XX` schema), converted the
//! same way and then opened for what Crisp sends ([`for_receiving`]): no enum is closed and no
//! value bound is checked, so a value Crisp adds tomorrow still fits.
//!
//! Two arguments are optional although their path parameters are required: `website_id`
//! (the server fills in the website it is configured for) and, on routes paged by page number,
//! `page_number` (default 1). Operations that reach a customer or cannot be undone take a
//! `confirmation_token` (see the server's confirmation flow).

use heck::{ToShoutySnakeCase, ToSnakeCase};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::json;
use serde_yaml::Value;

use crate::Error;
use crate::generators::format::raw_literal;
use crate::generators::json_schema::{compact, convert_documented, referenced};
use crate::spec::{self, MESSAGE_CONTENT, MESSAGE_TYPE, Operation, PAGE_NUMBER, Paging, Spec};
use crate::yaml::{key_str, ref_name, str_field};

/// The argument that names the website; the server defaults it.
pub const WEBSITE_ID: &str = "website_id";
/// The argument that holds the request body.
pub const BODY: &str = "body";
/// The argument that carries a confirmation token.
pub const CONFIRMATION_TOKEN: &str = "confirmation_token";
/// MCP's limit on a tool name.
const MAX_NAME: usize = 64;

/// Generates `tools.rs`.
pub(crate) fn generate(spec: &Spec) -> Result<String, Error> {
    let mut defs = Defs::default();
    for (name, schema) in spec.schemas() {
        if let Some(name) = key_str(name) {
            let converted = convert_documented(schema);
            let mut received = converted.clone();
            for_receiving(&mut received);
            defs.sent.insert(name.clone(), converted);
            defs.received.insert(name, received);
        }
    }
    let mut tools = Vec::new();
    for op in &spec.operations {
        tools.push(tool(spec, op, &defs)?);
    }
    let file = quote! {
        //! One MCP tool per operation of the spec: its operation in crisp-api's table, its
        //! description, where each argument goes, and the input JSON Schema (2020-12).

        use crisp_api::Operation;

        use crate::table::{Location, Param, ToolFacts};

        /// The argument that names the website; the server defaults it to its own.
        pub const WEBSITE_ID: &str = #WEBSITE_ID;
        /// The argument that holds the request body.
        pub const BODY: &str = #BODY;
        /// The argument that carries a confirmation token.
        pub const CONFIRMATION_TOKEN: &str = #CONFIRMATION_TOKEN;

        /// Every tool, in the spec's order.
        pub const TOOLS: &[ToolFacts] = &[#(#tools),*];
    };
    crate::generators::format::unparse(file)
}

/// Every component of the spec as JSON Schema with its descriptions: as a tool's input refers
/// to it (`sent`), and opened for what Crisp sends (`received`, for output schemas).
#[derive(Default)]
struct Defs {
    sent: serde_json::Map<String, serde_json::Value>,
    received: serde_json::Map<String, serde_json::Value>,
}

fn tool(spec: &Spec, op: &Operation, defs: &Defs) -> Result<TokenStream, Error> {
    let name = op.id.as_str();
    let valid_name = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && name.to_snake_case() == name;
    if !valid_name {
        return Err(Error(format!(
            "operation {name}: an MCP tool name must be snake_case and at most {MAX_NAME} characters"
        )));
    }
    let raw = spec.raw_operation(op)?;
    let mut properties = serde_json::Map::new();
    let mut required = Vec::new();
    let mut params = Vec::new();
    for param in spec::parameters(raw) {
        let param_name = param.name;
        let location = match param.location {
            "path" => quote!(Location::Path),
            "query" => quote!(Location::Query),
            // Headers and cookies are not parameters of any operation yet.
            _ => continue,
        };
        if [BODY, CONFIRMATION_TOKEN].contains(&param_name) {
            return Err(Error(format!(
                "operation {name}: a parameter named `{param_name}` would clash with the MCP tool's own `{param_name}` argument"
            )));
        }
        let mut schema = convert_documented(param.schema.unwrap_or(&Value::Null));
        let mut description = param.description.to_owned();
        let mut is_required = param.required;
        if param_name == WEBSITE_ID {
            description.push_str(" Defaults to the website this server is configured for.");
            is_required = false;
        }
        if param_name == PAGE_NUMBER && matches!(op.paging, Some(Paging::PageNumber { .. })) {
            if let serde_json::Value::Object(map) = &mut schema {
                map.insert("default".into(), json!(1));
            }
            is_required = false;
        }
        if let serde_json::Value::Object(map) = &mut schema
            && !description.is_empty()
        {
            map.insert("description".into(), description.trim().into());
        }
        properties.insert(param_name.to_owned(), schema);
        if is_required {
            required.push(param_name.to_owned());
        }
        params.push(quote!(Param { name: #param_name, location: #location }));
    }
    let mut message_body = false;
    let body = match spec::request_body(raw) {
        Some(body) => {
            message_body = body.schema.is_some_and(|schema| is_message(spec, schema));
            let mut schema = convert_documented(body.schema.unwrap_or(&Value::Null));
            if let (serde_json::Value::Object(map), Some(description)) =
                (&mut schema, body.description)
            {
                map.insert("description".into(), description.into());
            }
            properties.insert(BODY.to_owned(), schema);
            if body.required {
                required.push(BODY.to_owned());
            }
            true
        }
        None => false,
    };
    let needs_confirmation = op.effect.is_some();
    if needs_confirmation {
        properties.insert(
            CONFIRMATION_TOKEN.to_owned(),
            json!({
                "type": "string",
                "description": "The one-time token from this tool's preview. Without it the tool \
                    does not act: it answers with a preview of exactly what would be sent or \
                    deleted, and a token for these same arguments."
            }),
        );
    }
    let mut schema = serde_json::Map::new();
    schema.insert("type".into(), json!("object"));
    schema.insert("properties".into(), serde_json::Value::Object(properties));
    if !required.is_empty() {
        schema.insert("required".into(), json!(required));
    }
    // A misspelt argument is an error, not a silently ignored filter.
    schema.insert("additionalProperties".into(), json!(false));
    with_defs(&mut schema, &defs.sent);
    let schema = serde_json::Value::Object(schema);
    let description = description(op, raw);
    for_the_reader(name, "its description", &description)?;
    for_the_reader(name, "its input schema", &schema)?;
    let input_schema = raw_literal(&compact(&schema)?)?;
    let output = output_schema(op, raw, &defs.received)?;
    for_the_reader(name, "its output schema", &output)?;
    let output_schema = raw_literal(&compact(&output)?)?;

    let operation = format_ident!("{}", name.to_shouty_snake_case());
    Ok(quote! {
        ToolFacts {
            operation: &Operation::#operation,
            description: #description,
            params: &[#(#params),*],
            body: #body,
            message_body: #message_body,
            input_schema: #input_schema,
            output_schema: #output_schema,
        }
    })
}

/// Adds to `schema` the `$defs` it refers to, directly or through other components.
fn with_defs(
    schema: &mut serde_json::Map<String, serde_json::Value>,
    defs: &serde_json::Map<String, serde_json::Value>,
) {
    let used = referenced(&serde_json::Value::Object(schema.clone()), defs);
    if !used.is_empty() {
        let used: serde_json::Map<String, serde_json::Value> = used
            .into_iter()
            .filter_map(|n| Some((n.clone(), defs.get(&n)?.clone())))
            .collect();
        schema.insert("$defs".into(), serde_json::Value::Object(used));
    }
}

/// The output schema: the operation's success envelope (its `2XX` schema, or the component it
/// names, inlined at the root), opened for receiving, with the components it refers to as
/// `$defs`. MCP wants an object at the root; the envelope is one.
fn output_schema(
    op: &Operation,
    raw: &Value,
    received: &serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Value, Error> {
    let name = op.id.as_str();
    let schema = spec::success_response(raw)
        .and_then(|(_, schema)| schema)
        .ok_or_else(|| {
            Error(format!(
                "operation {name}: its success response has no JSON schema, so its tool has no \
                 output schema: give the `2XX` response an `application/json` schema"
            ))
        })?;
    let root = match ref_name(schema) {
        Some(component) => received.get(component).cloned().ok_or_else(|| {
            Error(format!(
                "operation {name}: its success schema names `{component}`, which is not a component"
            ))
        })?,
        None => {
            let mut inline = convert_documented(schema);
            for_receiving(&mut inline);
            inline
        }
    };
    let serde_json::Value::Object(mut root) = root else {
        return Err(Error(format!(
            "operation {name}: its success schema is not a schema object"
        )));
    };
    if root.get("type") != Some(&json!("object")) {
        return Err(Error(format!(
            "operation {name}: its success schema is not `type: object` (Crisp's envelope), and \
             an MCP output schema must be an object"
        )));
    }
    with_defs(&mut root, received);
    Ok(serde_json::Value::Object(root))
}

/// What an output schema keeps of the checks an input schema makes: none on values. Crisp adds
/// fields and values in place, and an MCP client checks a tool's results against its output
/// schema (and fails the call when one does not fit), so a bound or a closed enum there would
/// turn a value Crisp adds tomorrow into a broken tool.
const UNCHECKED_ON_RECEIVING: &[&str] = &[
    "const",
    "default",
    "exclusiveMaximum",
    "exclusiveMinimum",
    "maxItems",
    "maxLength",
    "maxProperties",
    "maximum",
    "minItems",
    "minLength",
    "minProperties",
    "minimum",
    "multipleOf",
    "not",
    "pattern",
    "uniqueItems",
];

/// Opens a converted schema for what Crisp sends, at every level: an `enum` becomes the known
/// values in the description (Crisp may send others), value bounds and patterns go, a
/// `oneOf` becomes an `anyOf` (a value may fit two branches), and `additionalProperties: false`
/// goes. Types, properties, `required` and references stay: they are the shape.
fn for_receiving(schema: &mut serde_json::Value) {
    let serde_json::Value::Object(map) = schema else {
        return;
    };
    if let Some(serde_json::Value::Array(values)) = map.remove("enum") {
        let known: Vec<String> = values
            .iter()
            .filter_map(|v| match v {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some(format!("`{s}`")),
                other => Some(format!("`{other}`")),
            })
            .collect();
        if !known.is_empty() {
            let mut text = map
                .get("description")
                .and_then(serde_json::Value::as_str)
                .map(|d| format!("{} ", d.trim_end()))
                .unwrap_or_default();
            text.push_str(&format!(
                "Known values: {}; others may appear.",
                known.join(", ")
            ));
            map.insert("description".into(), text.into());
        }
    }
    for keyword in UNCHECKED_ON_RECEIVING {
        map.remove(*keyword);
    }
    if map.get("additionalProperties") == Some(&json!(false)) {
        map.remove("additionalProperties");
    }
    if let Some(one_of) = map.remove("oneOf") {
        if map.contains_key("anyOf") {
            let all = map.entry("allOf").or_insert_with(|| json!([]));
            if let serde_json::Value::Array(all) = all {
                all.push(json!({ "anyOf": one_of }));
            }
        } else {
            map.insert("anyOf".into(), one_of);
        }
    }
    for (key, value) in map.iter_mut() {
        match key.as_str() {
            "properties" | "$defs" => {
                if let serde_json::Value::Object(children) = value {
                    children.values_mut().for_each(for_receiving);
                }
            }
            "items" | "additionalProperties" => for_receiving(value),
            "allOf" | "anyOf" => {
                if let serde_json::Value::Array(branches) = value {
                    branches.iter_mut().for_each(for_receiving);
                }
            }
            _ => {}
        }
    }
}

/// Whether a request body's schema is a message: a `type` of `MessageType` and a `content` of
/// `MessageContent`, whose shape depends on the type (the server checks one against the other).
fn is_message(spec: &Spec, body: &Value) -> bool {
    let schema = ref_name(body)
        .and_then(|name| spec.schema(name))
        .unwrap_or(body);
    let refers = |property: &str, component: &str| {
        schema
            .get("properties")
            .and_then(|p| p.get(property))
            .and_then(ref_name)
            == Some(component)
    };
    refers("type", MESSAGE_TYPE) && refers("content", MESSAGE_CONTENT)
}

/// Words that speak about how this project is built, not to the model that reads a tool.
const ABOUT_THE_BUILD: [&str; 7] = [
    "generator",
    "hand-written",
    "progenitor",
    "typify",
    "xtask",
    "rust",
    "crate",
];

/// Refuses a tool whose description, or a description anywhere in its input or output schema,
/// talks about the generator or Rust types: a tool's texts are read by a model that calls it.
fn for_the_reader(tool: &str, place: &str, text: &impl serde::Serialize) -> Result<(), Error> {
    let mut found = Vec::new();
    collect_strings(&serde_json::to_value(text).unwrap_or_default(), &mut found);
    for text in found {
        let lower = text.to_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| !(c.is_alphanumeric() || c == '-'))
            .collect();
        if let Some(word) = ABOUT_THE_BUILD.iter().find(|w| words.contains(w)) {
            return Err(Error(format!(
                "operation {tool}: {place} speaks of `{word}` (\"{}\"): a tool's texts are read \
                 by the model that calls it; say what the value is and how to fill it, in the spec",
                text.chars().take(120).collect::<String>()
            )));
        }
    }
    Ok(())
}

/// Every description string in a JSON value (a string alone counts as one).
fn collect_strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(text) => out.push(text.clone()),
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match value {
                    serde_json::Value::String(text) if key == "description" => {
                        out.push(text.clone());
                    }
                    serde_json::Value::String(_) => {}
                    other => collect_strings(other, out),
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                if !item.is_string() {
                    collect_strings(item, out);
                }
            }
        }
        _ => {}
    }
}

/// What it does (the summary and the spec's description), then the facts an agent weighs
/// before calling it: scope and access, webhook event, effect, paging.
fn description(op: &Operation, raw: &Value) -> String {
    let mut text = op.summary.trim().to_owned();
    if let Some(more) = str_field(raw, "description") {
        text.push_str("\n\n");
        text.push_str(more.trim());
    }
    text.push_str(&format!(
        "\n\nScope: `{}` ({} access). Webhook: {}.",
        op.scope,
        op.access,
        match &op.webhook {
            Some(event) => format!("fires `{event}`"),
            None => "none".to_owned(),
        }
    ));
    match op.effect.as_deref() {
        Some("customer-visible") => {
            text.push_str(" Effect: customer-visible (it reaches a real person).")
        }
        Some("irreversible") => text.push_str(" Effect: irreversible (it deletes data for good)."),
        Some(other) => text.push_str(&format!(" Effect: {other}.")),
        None => {}
    }
    match &op.paging {
        Some(Paging::PageNumber { page_size, .. }) => text.push_str(&format!(
            " Paged: {page_size} a page from `page_number` 1; a shorter page is the last."
        )),
        Some(Paging::TimestampBefore) => text.push_str(
            " Paged backwards: pass the oldest `timestamp` seen as `timestamp_before` for the \
             batch before it.",
        ),
        None => {}
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_schemas_keep_the_shape_and_check_no_value() {
        let mut schema = json!({
            "type": "object",
            "required": ["state"],
            "additionalProperties": false,
            "properties": {
                "state": {"type": ["string", "null"], "enum": ["a", "b", null], "description": "The state."},
                "count": {"type": "integer", "minimum": 0, "maximum": 9, "default": 1},
                "name": {"type": "string", "pattern": "^x", "maxLength": 3},
                // Property names that are keywords elsewhere are kept.
                "enum": {"type": "string"},
                "pattern": {"type": "array", "items": {"type": "string", "enum": ["x"]}},
                "choice": {"oneOf": [{"$ref": "#/$defs/A"}, {"type": "string"}]},
                "map": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}},
            },
            "$defs": {"A": {"type": "string", "const": "z"}},
        });
        for_receiving(&mut schema);
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "required": ["state"],
                "properties": {
                    "state": {"type": ["string", "null"], "description": "The state. Known values: `a`, `b`; others may appear."},
                    "count": {"type": "integer"},
                    "name": {"type": "string"},
                    "enum": {"type": "string"},
                    "pattern": {"type": "array", "items": {"type": "string", "description": "Known values: `x`; others may appear."}},
                    "choice": {"anyOf": [{"$ref": "#/$defs/A"}, {"type": "string"}]},
                    "map": {"type": "object", "additionalProperties": {"type": "integer"}},
                },
                "$defs": {"A": {"type": "string"}},
            })
        );
    }
}

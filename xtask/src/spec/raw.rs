//! Reading an operation's raw node (from [`Spec::raw_operation`]) for what the extracted
//! [`Operation`](super::Operation) does not carry: its parameters, request body and success
//! response, as the spec declares them.

use serde_yaml::Value;

use super::Spec;
use crate::yaml::{key_str, ref_name, str_field};

/// One parameter of an operation, as the spec declares it.
pub(crate) struct Parameter<'a> {
    pub(crate) name: &'a str,
    /// Where it goes: `path` or `query` (the spec has no header or cookie parameters).
    pub(crate) location: &'a str,
    pub(crate) required: bool,
    /// Its description, trimmed.
    pub(crate) description: &'a str,
    pub(crate) schema: Option<&'a Value>,
    pub(crate) example: Option<&'a Value>,
}

/// The parameters of an operation's raw node (from [`Spec::raw_operation`]), in declaration
/// order.
pub(crate) fn parameters(raw_op: &Value) -> Vec<Parameter<'_>> {
    raw_op
        .get("parameters")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .map(|p| Parameter {
            name: str_field(p, "name").unwrap_or_default(),
            location: str_field(p, "in").unwrap_or_default(),
            required: p.get("required").and_then(Value::as_bool).unwrap_or(false),
            description: str_field(p, "description").unwrap_or_default().trim(),
            schema: p.get("schema"),
            example: p.get("example"),
        })
        .collect()
}

/// An operation's request body, as the spec declares it.
pub(crate) struct RequestBody<'a> {
    pub(crate) required: bool,
    /// Its description, trimmed.
    pub(crate) description: Option<&'a str>,
    /// The schema of its `application/json` content.
    pub(crate) schema: Option<&'a Value>,
    /// The example of its `application/json` content (not its schema's).
    pub(crate) example: Option<&'a Value>,
}

/// The request body of an operation's raw node, if it takes one.
pub(crate) fn request_body(raw_op: &Value) -> Option<RequestBody<'_>> {
    let body = raw_op.get("requestBody")?;
    let media = body.get("content").and_then(|c| c.get("application/json"));
    Some(RequestBody {
        required: body
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        description: str_field(body, "description").map(str::trim),
        schema: media.and_then(|m| m.get("schema")),
        example: media.and_then(|m| m.get("example")),
    })
}

/// The success response of an operation's raw node: its status key (`200`, `2XX`, ...; the
/// first that starts with 2) and the schema of its `application/json` content.
pub(crate) fn success_response(raw_op: &Value) -> Option<(String, Option<&Value>)> {
    let (code, response) =
        raw_op
            .get("responses")?
            .as_mapping()?
            .iter()
            .find_map(|(code, response)| {
                Some((key_str(code)?, response)).filter(|(c, _)| c.starts_with('2'))
            })?;
    let schema = response
        .get("content")
        .and_then(|c| c.get("application/json"))
        .and_then(|m| m.get("schema"));
    Some((code, schema))
}

/// The example of an operation's success envelope: its response schema's own `example`, or
/// its component's.
pub(crate) fn success_example<'a>(spec: &'a Spec, raw_op: &'a Value) -> Option<&'a Value> {
    let schema = success_response(raw_op)?.1?;
    schema.get("example").or_else(|| {
        ref_name(schema)
            .and_then(|name| spec.schema(name))
            .and_then(|component| component.get("example"))
    })
}

//! The spec as the generator sees it: the raw YAML tree, plus the operations, tags, enums and
//! webhooks extracted from it after lint.

use serde_yaml::{Mapping, Value};

use crate::Error;
use crate::lint::{self, Problem};

/// The HTTP methods an OpenAPI path item may hold, in the order the spec lists them.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// A loaded, linted spec.
#[derive(Debug)]
pub struct Spec {
    /// The spec as progenitor reads it.
    pub openapi: openapiv3::OpenAPI,
    /// The raw YAML tree, for the extensions and examples progenitor ignores.
    pub raw: Value,
    /// `spec_hash` of the text.
    pub hash: String,
    /// Tags in declaration order.
    pub tags: Vec<Tag>,
    /// Operations in path order.
    pub operations: Vec<Operation>,
    /// String enum components, in declaration order.
    pub enums: Vec<StringEnum>,
    /// Components replaced by a hand-written type (`x-crisp-rust-type`): name, Rust path.
    pub rust_types: Vec<(String, String)>,
    /// Webhook events in declaration order.
    pub webhooks: Vec<Webhook>,
    /// The component schemas, in declaration order.
    schemas: Mapping,
    /// `x-crisp-content-by-type` of the `MessageContent` component: message type -> content.
    pub content_by_type: Vec<(String, ContentShape)>,
}

/// An OpenAPI tag: one area of the API.
#[derive(Debug, Clone)]
pub struct Tag {
    pub name: String,
    pub description: String,
}

/// One operation and its Crisp extensions.
#[derive(Debug, Clone)]
pub struct Operation {
    pub id: String,
    /// Upper-case HTTP method.
    pub method: String,
    pub path: String,
    pub tag: String,
    pub summary: String,
    pub scope: String,
    pub access: String,
    pub webhook: Option<String>,
    pub effect: Option<String>,
    /// `x-crisp-paging`, on list routes.
    pub paging: Option<Paging>,
}

/// How a list operation pages (`x-crisp-paging`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paging {
    /// `{style: page_number, page_size, per_page}`: a `{page_number}` path parameter from 1,
    /// until a page holds fewer than `page_size` items; `per_page` names the query parameter
    /// that changes the page size, where the route has one.
    PageNumber {
        page_size: u32,
        per_page: Option<String>,
    },
    /// `{style: timestamp_before}`: backwards, by the `timestamp_before` query parameter.
    TimestampBefore,
}

impl Paging {
    /// The style as the spec spells it.
    pub fn style(&self) -> &'static str {
        match self {
            Self::PageNumber { .. } => PAGE_NUMBER,
            Self::TimestampBefore => TIMESTAMP_BEFORE,
        }
    }
}

/// The paging style, and the path parameter, of routes paged by page number.
pub const PAGE_NUMBER: &str = "page_number";
/// The paging style, and the query parameter, of routes paged backwards by timestamp.
pub const TIMESTAMP_BEFORE: &str = "timestamp_before";

/// A `type: string` component with an `enum`.
#[derive(Debug, Clone)]
pub struct StringEnum {
    pub name: String,
    pub description: String,
    pub values: Vec<String>,
}

/// One entry of `x-crisp-webhooks`.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub name: String,
    pub schema: String,
    pub summary: String,
    pub triggered_by: Vec<String>,
    pub example: Value,
}

/// The content shape of one message type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentShape {
    /// A plain string.
    String,
    /// The named component.
    Schema(String),
}

/// The name of the component that holds message content; the generator replaces it.
pub const MESSAGE_CONTENT: &str = "MessageContent";
/// The name of the enum component of message types.
pub const MESSAGE_TYPE: &str = "MessageType";

/// A stable hash of the spec text: FNV-1a, 64 bits, over the bytes, as 16 hex digits.
/// `build.rs` computes the same function with the standard library only.
pub fn spec_hash(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("fnv1a64:{hash:016x}")
}

impl Spec {
    /// The operation's node in the raw spec (`paths.<path>.<method>`), for what the extracted
    /// [`Operation`] does not carry: parameters, request body, responses, description.
    pub(crate) fn raw_operation(&self, op: &Operation) -> Result<&Value, Error> {
        self.raw
            .get("paths")
            .and_then(Value::as_mapping)
            .and_then(|paths| get(paths, &op.path))
            .and_then(|item| item.get(op.method.to_ascii_lowercase().as_str()))
            .ok_or_else(|| {
                Error(format!(
                    "operation {}: {} {} is not in paths",
                    op.id, op.method, op.path
                ))
            })
    }

    /// Parses and lints the spec. Every problem found is returned, each naming the operation,
    /// schema or webhook it concerns.
    pub fn load(text: &str) -> Result<Spec, Vec<Problem>> {
        let raw: Value = serde_yaml::from_str(text)
            .map_err(|e| vec![Problem::new("spec", format!("is not valid YAML: {e}"))])?;
        let extracted = lint::lint(&raw)?;
        let openapi: openapiv3::OpenAPI = serde_yaml::from_str(text).map_err(|e| {
            vec![Problem::new(
                "spec",
                format!("is not a valid OpenAPI 3.0 document: {e}"),
            )]
        })?;
        Ok(Spec {
            openapi,
            schemas: schemas(&raw).cloned().unwrap_or_default(),
            hash: spec_hash(text),
            raw,
            tags: extracted.tags,
            operations: extracted.operations,
            enums: extracted.enums,
            rust_types: extracted.rust_types,
            webhooks: extracted.webhooks,
            content_by_type: extracted.content_by_type,
        })
    }

    /// The component schemas, in declaration order.
    pub fn schemas(&self) -> &Mapping {
        &self.schemas
    }

    /// The component schema named `name`.
    pub fn schema(&self, name: &str) -> Option<&Value> {
        get(self.schemas(), name)
    }

    /// The string enum component named `name`.
    pub fn string_enum(&self, name: &str) -> Option<&StringEnum> {
        self.enums.iter().find(|e| e.name == name)
    }

    /// The operation with this id.
    pub fn operation(&self, id: &str) -> Option<&Operation> {
        self.operations.iter().find(|op| op.id == id)
    }
}

/// `components/schemas` of a raw spec.
pub(crate) fn schemas(raw: &Value) -> Option<&Mapping> {
    raw.get("components")?.get("schemas")?.as_mapping()
}

/// Looks a key up in a mapping, matching string keys and keys YAML read as numbers (`200:`).
pub(crate) fn get<'a>(map: &'a Mapping, key: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| key_str(k).as_deref() == Some(key))
        .map(|(_, v)| v)
}

/// A mapping key as a string, if it is a string, number or boolean.
pub(crate) fn key_str(key: &Value) -> Option<String> {
    match key {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A string field of a mapping value.
pub(crate) fn str_field<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key)?.as_str()
}

/// The component name a `$ref` points to, if it is a local schema reference.
pub(crate) fn ref_name(value: &Value) -> Option<&str> {
    str_field(value, "$ref")?.strip_prefix("#/components/schemas/")
}

/// Converts a YAML value to JSON. Mapping keys become strings.
pub fn to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into()
            } else if let Some(u) = n.as_u64() {
                u.into()
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(serde_json::Value::Null, serde_json::Value::Number)
            }
        }
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Sequence(seq) => serde_json::Value::Array(seq.iter().map(to_json).collect()),
        Value::Mapping(map) => serde_json::Value::Object(
            map.iter()
                .filter_map(|(k, v)| Some((key_str(k)?, to_json(v))))
                .collect(),
        ),
        Value::Tagged(tagged) => to_json(&tagged.value),
    }
}

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

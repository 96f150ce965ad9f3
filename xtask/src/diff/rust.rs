//! What the generated Rust looks like for a schema: the type names the rules quote, and the
//! test of whether a change turns one Rust type into another.
//!
//! These follow what progenitor 0.15 (typify 0.8) and this xtask generate, and
//! `xtask/tests/spec_diff.rs` checks them against every field of the generated `types.rs`:
//! - a required field is `T`; an optional one `Option<T>`, except arrays and maps (an absent
//!   value decodes as empty) and fields with a `default`;
//! - a `nullable` field is `Option<T>`, required or not;
//! - `integer` is `i64` unless its `format` says otherwise, and an unsigned format with
//!   `minimum: 1` is a `NonZero` type; `number` is `f64`;
//! - a `$ref` is the component's type (or its `x-crisp-rust-type`), `allOf` of one `$ref` too;
//! - an object with properties is a struct (named by its `title` when inline); one without is
//!   a map.

use serde_json::Value;

use super::doc::{Doc, ref_name};

/// The shape of a schema, as far as the generated Rust type goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind<'a> {
    /// A `$ref` to a component.
    Ref(&'a str),
    /// `type: array` and its `items`.
    Array(Option<&'a Value>),
    /// An inline object with properties: a struct of its own.
    Object,
    /// An object without properties: a map of its `additionalProperties`.
    Map(Option<&'a Value>),
    /// A scalar, already named (`String`, `i64`, `NonZeroU32`, ...).
    Scalar(String),
    /// No type at all: any JSON value.
    Any,
}

/// Looks through an `allOf` of exactly one schema (how the spec makes a `$ref` nullable).
pub fn unwrap(schema: &Value) -> &Value {
    match schema.get("allOf").and_then(Value::as_array) {
        Some(items) if items.len() == 1 => &items[0],
        _ => schema,
    }
}

/// Whether the schema (or its single-`allOf` wrapper) says `nullable: true`.
pub fn nullable(schema: &Value) -> bool {
    let says = |s: &Value| s.get("nullable").and_then(Value::as_bool) == Some(true);
    says(schema) || says(unwrap(schema))
}

/// The kind of a schema.
pub fn kind(schema: &Value) -> Kind<'_> {
    let schema = unwrap(schema);
    if let Some(name) = ref_name(schema) {
        return Kind::Ref(name);
    }
    let ty = schema.get("type").and_then(Value::as_str);
    let has_properties = schema
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty());
    match ty {
        Some("array") => Kind::Array(schema.get("items")),
        Some("object") | None if has_properties => Kind::Object,
        Some("object") => Kind::Map(schema.get("additionalProperties").filter(|a| a.is_object())),
        Some("string") => Kind::Scalar(match schema.get("format").and_then(Value::as_str) {
            Some("date-time") => "DateTime<Utc>".to_owned(),
            Some("date") => "NaiveDate".to_owned(),
            Some("uuid") => "Uuid".to_owned(),
            _ => "String".to_owned(),
        }),
        Some("integer") => Kind::Scalar(integer(schema)),
        Some("number") => Kind::Scalar(
            if schema.get("format").and_then(Value::as_str) == Some("float") {
                "f32"
            } else {
                "f64"
            }
            .to_owned(),
        ),
        Some("boolean") => Kind::Scalar("bool".to_owned()),
        Some(other) => Kind::Scalar(format!("<type {other}>")),
        None => Kind::Any,
    }
}

fn integer(schema: &Value) -> String {
    let format = schema.get("format").and_then(Value::as_str);
    let at_least_one = schema
        .get("minimum")
        .and_then(Value::as_f64)
        .is_some_and(|min| min >= 1.0);
    let name = match format {
        Some("int8") => "i8",
        Some("int16") => "i16",
        Some("int32") => "i32",
        Some("uint8") => "u8",
        Some("uint16") => "u16",
        Some("uint32") => "u32",
        Some("uint64") => "u64",
        _ => "i64",
    };
    if name.starts_with('u') && at_least_one {
        format!("NonZero{}", name.to_ascii_uppercase())
    } else {
        name.to_owned()
    }
}

/// The Rust type of a schema in a position of its own (array items, a parameter, a body):
/// `Option<T>` when it is nullable.
pub fn position_type(doc: &Doc, schema: &Value) -> String {
    let base = base_type(doc, schema);
    if nullable(schema) {
        format!("Option<{base}>")
    } else {
        base
    }
}

/// The Rust type of an object's field.
pub fn field_type(doc: &Doc, schema: &Value, required: bool) -> String {
    let base = base_type(doc, schema);
    if nullable(schema) {
        return format!("Option<{base}>");
    }
    let defaults_to_empty = matches!(kind(schema), Kind::Array(_) | Kind::Map(_));
    if required || defaults_to_empty || schema.get("default").is_some() {
        base
    } else {
        format!("Option<{base}>")
    }
}

/// The Rust type of a schema, without the `Option` a nullable one gets.
pub fn base_type(doc: &Doc, schema: &Value) -> String {
    match kind(schema) {
        Kind::Ref(name) => component_type(doc, name),
        Kind::Array(items) => format!(
            "Vec<{}>",
            items.map_or_else(|| "Value".to_owned(), |items| position_type(doc, items))
        ),
        Kind::Object => unwrap(schema)
            .get("title")
            .and_then(Value::as_str)
            .map_or_else(|| "an inline struct".to_owned(), str::to_owned),
        Kind::Map(Some(values)) => format!("HashMap<String, {}>", position_type(doc, values)),
        Kind::Map(None) => "Map<String, Value>".to_owned(),
        Kind::Scalar(name) => name,
        Kind::Any => "Value".to_owned(),
    }
}

/// The Rust type the component `name` becomes: its `x-crisp-rust-type` when it has one.
pub fn component_type(doc: &Doc, name: &str) -> String {
    doc.schema(name)
        .and_then(|s| s.get("x-crisp-rust-type"))
        .and_then(Value::as_str)
        .map_or_else(|| name.to_owned(), str::to_owned)
}

/// A short description of a component's own shape, for `schema-type-changed`: "a struct", "an
/// open enum", "`crate::secret::SecretString`", "`String`", ...
pub fn component_shape(doc: &Doc, schema: &Value) -> String {
    if let Some(path) = schema.get("x-crisp-rust-type").and_then(Value::as_str) {
        return format!("`{path}` (hand-written)");
    }
    if schema.get("enum").is_some() {
        return "an open enum".to_owned();
    }
    match kind(schema) {
        Kind::Object => "a struct".to_owned(),
        Kind::Ref(target) => format!("an alias of `{target}`"),
        _ => format!("`{}`", base_type(doc, &without_title(schema))),
    }
}

fn without_title(schema: &Value) -> Value {
    let mut copy = schema.clone();
    if let Some(map) = copy.as_object_mut() {
        map.remove("title");
    }
    copy
}

/// The Rust variant name of an enum value or an event name (`one-shot` -> `OneShot`,
/// `session:set_state` -> `SessionSetState`).
pub fn variant(value: &str) -> String {
    use heck::ToUpperCamelCase;
    value.to_upper_camel_case()
}

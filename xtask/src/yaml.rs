//! Helpers over the raw YAML tree of the spec (`serde_yaml::Value`): looking keys up, reading
//! strings, following local `$ref`s, walking every node, and converting to JSON. They know
//! OpenAPI's shape only as far as `$ref` and `components/schemas`; nothing here knows the
//! spec's rules or the model built from it.

use serde_yaml::{Mapping, Value};

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

/// Follows one `$ref`, if the value is one.
pub(crate) fn deref<'a>(raw: &'a Value, value: &'a Value) -> &'a Value {
    str_field(value, "$ref")
        .and_then(|r| resolve(raw, r))
        .unwrap_or(value)
}

/// Resolves a local JSON pointer (`#/components/schemas/Name`).
pub(crate) fn resolve<'a>(raw: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix("#/")?;
    pointer.split('/').try_fold(raw, |node, part| {
        let part = part.replace("~1", "/").replace("~0", "~");
        get(node.as_mapping()?, &part)
    })
}

/// Visits every node of a YAML tree with a readable location.
pub(crate) fn walk(value: &Value, place: &str, visit: &mut impl FnMut(&str, &Value)) {
    visit(place, value);
    match value {
        Value::Mapping(map) => {
            for (k, v) in map {
                let key = key_str(k).unwrap_or_default();
                // Examples are data, not schema: don't lint their keys.
                if key == "example" {
                    continue;
                }
                walk(v, &format!("{place}.{key}"), visit);
            }
        }
        Value::Sequence(seq) => {
            for (i, v) in seq.iter().enumerate() {
                walk(v, &format!("{place}[{i}]"), visit);
            }
        }
        _ => {}
    }
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

//! OpenAPI 3.0 schemas as JSON Schema 2020-12, for the outputs that validate requests (the
//! sandbox's routes) or describe inputs (the MCP server's tools): `nullable` becomes a type
//! union, `$ref`s point into `$defs`, OpenAPI's boolean exclusive bounds become numbers, integer
//! formats become bounds, and keywords that validate nothing (`example`, `x-*`, and unless asked
//! for, `description`) are dropped.

use std::collections::BTreeSet;

use serde_json::json;
use serde_yaml::Value;

use crate::Error;
use crate::yaml::{key_str, ref_name, str_field, to_json};

/// Keywords copied as they are.
const KEPT: &[&str] = &[
    "type",
    "enum",
    "required",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "multipleOf",
    "pattern",
    "minProperties",
    "maxProperties",
    "const",
    "default",
];

/// Converts an OpenAPI 3.0 schema to JSON Schema 2020-12, keeping only what validates.
pub(crate) fn convert(schema: &Value) -> serde_json::Value {
    convert_with(schema, Keep::Validation)
}

/// Converts an OpenAPI 3.0 schema to JSON Schema 2020-12, keeping each schema's
/// `description` too: for schemas that people and agents read, such as MCP tool inputs.
pub(crate) fn convert_documented(schema: &Value) -> serde_json::Value {
    convert_with(schema, Keep::Descriptions)
}

/// What a conversion keeps beyond the keywords that validate.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    Validation,
    Descriptions,
}

fn convert_with(schema: &Value, keep: Keep) -> serde_json::Value {
    let Some(map) = schema.as_mapping() else {
        // `true`, or a missing schema: anything.
        return json!({});
    };
    if let Some(name) = ref_name(schema) {
        return json!({ "$ref": format!("#/$defs/{name}") });
    }
    let mut out = serde_json::Map::new();
    for (key, value) in map {
        let Some(key) = key_str(key) else { continue };
        match key.as_str() {
            "properties" => {
                let props = value
                    .as_mapping()
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, v)| Some((key_str(k)?, convert_with(v, keep))))
                    .collect();
                out.insert(key, serde_json::Value::Object(props));
            }
            "items" | "not" => {
                out.insert(key, convert_with(value, keep));
            }
            "additionalProperties" => {
                let converted = match value {
                    Value::Bool(b) => serde_json::Value::Bool(*b),
                    other => convert_with(other, keep),
                };
                out.insert(key, converted);
            }
            "allOf" | "anyOf" | "oneOf" => {
                let list = value
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .map(|v| convert_with(v, keep))
                    .collect();
                out.insert(key, serde_json::Value::Array(list));
            }
            // OpenAPI 3.0 has booleans that qualify minimum/maximum; 2020-12 has numbers.
            "exclusiveMinimum" | "exclusiveMaximum" if value.as_bool() == Some(true) => {
                let bound = if key == "exclusiveMinimum" {
                    "minimum"
                } else {
                    "maximum"
                };
                if let Some((_, n)) = map
                    .iter()
                    .find(|(k, _)| key_str(k).as_deref() == Some(bound))
                {
                    out.insert(key, to_json(n));
                }
            }
            "description" if keep == Keep::Descriptions && value.is_string() => {
                out.insert(key, to_json(value));
            }
            k if KEPT.contains(&k) => {
                out.insert(key, to_json(value));
            }
            _ => {}
        }
    }
    // An exclusive bound replaces the inclusive one it qualifies.
    if out.contains_key("exclusiveMinimum") {
        out.remove("minimum");
    }
    if out.contains_key("exclusiveMaximum") {
        out.remove("maximum");
    }
    // The bounds of OpenAPI's integer formats, which clients such as Schemathesis also honour.
    // Other formats (`uint32`, a Rust type hint for the generated client) bound nothing.
    if str_field(schema, "type") == Some("integer") {
        let bounds: Option<(i128, i128)> = match str_field(schema, "format") {
            Some("int32") => Some((i32::MIN.into(), i32::MAX.into())),
            Some("int64") => Some((i64::MIN.into(), i64::MAX.into())),
            _ => None,
        };
        if let Some((min, max)) = bounds {
            if !out.contains_key("minimum") && !out.contains_key("exclusiveMinimum") {
                out.insert("minimum".into(), number(min));
            }
            if !out.contains_key("maximum") && !out.contains_key("exclusiveMaximum") {
                out.insert("maximum".into(), number(max));
            }
        }
    }
    if schema.get("nullable").and_then(Value::as_bool) == Some(true) {
        match out.get_mut("type") {
            Some(serde_json::Value::String(ty)) => {
                let ty = ty.clone();
                out.insert("type".into(), json!([ty, "null"]));
                if let Some(serde_json::Value::Array(values)) = out.get_mut("enum") {
                    values.push(serde_json::Value::Null);
                }
            }
            _ => {
                return json!({ "anyOf": [serde_json::Value::Object(out), {"type": "null"}] });
            }
        }
    }
    serde_json::Value::Object(out)
}

fn number(n: i128) -> serde_json::Value {
    if let Ok(i) = i64::try_from(n) {
        i.into()
    } else {
        u64::try_from(n).map_or(serde_json::Value::Null, Into::into)
    }
}

/// The component names a converted schema refers to (`#/$defs/Name`), directly or through the
/// components in `defs`, sorted.
pub(crate) fn referenced(
    schema: &serde_json::Value,
    defs: &serde_json::Map<String, serde_json::Value>,
) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut pending = vec![schema];
    while let Some(node) = pending.pop() {
        refs(node, &mut |name| {
            if names.insert(name.to_owned())
                && let Some(target) = defs.get(name)
            {
                pending.push(target);
            }
        });
    }
    names
}

/// Calls `found` with the component name of every `$ref` in a converted schema.
fn refs<'a>(schema: &'a serde_json::Value, found: &mut impl FnMut(&'a str)) {
    match schema {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", serde_json::Value::String(r)) => {
                        if let Some(name) = r.strip_prefix("#/$defs/") {
                            found(name);
                        }
                    }
                    _ => refs(value, found),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

pub(crate) fn pretty(value: &serde_json::Value) -> Result<String, Error> {
    serde_json::to_string_pretty(value).map_err(|e| Error(format!("cannot print a schema: {e}")))
}

pub(crate) fn compact(value: &serde_json::Value) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error(format!("cannot print a schema: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    #[test]
    fn openapi_schemas_become_json_schema() {
        let schema = yaml(
            "type: object\nrequired: [a]\ndescription: dropped\nexample: {a: 1}\n\
             x-crisp-thing: dropped\nproperties:\n  a: {type: integer, format: int32}\n  \
             b: {type: array, nullable: true, items: {$ref: '#/components/schemas/B'}}\n  \
             c: {nullable: true, allOf: [{$ref: '#/components/schemas/C'}]}\n  \
             d: {type: string, enum: [x, y], nullable: true}\n  \
             e: {type: integer, format: uint32, minimum: 1}\n  \
             f: {type: object, additionalProperties: true}\n",
        );
        assert_eq!(
            convert(&schema),
            json!({
                "type": "object",
                "required": ["a"],
                "properties": {
                    "a": {"type": "integer", "minimum": i32::MIN, "maximum": i32::MAX},
                    "b": {"type": ["array", "null"], "items": {"$ref": "#/$defs/B"}},
                    "c": {"anyOf": [{"allOf": [{"$ref": "#/$defs/C"}]}, {"type": "null"}]},
                    "d": {"type": ["string", "null"], "enum": ["x", "y", null]},
                    "e": {"type": "integer", "minimum": 1},
                    "f": {"type": "object", "additionalProperties": true},
                }
            })
        );
    }

    #[test]
    fn documented_schemas_keep_their_descriptions() {
        let schema = yaml(
            "type: object\ndescription: a thing\nproperties:\n  a: {type: string, description: the a}\n  \
             b: {$ref: '#/components/schemas/B'}\n",
        );
        assert_eq!(
            convert_documented(&schema),
            json!({
                "type": "object",
                "description": "a thing",
                "properties": {"a": {"type": "string", "description": "the a"}, "b": {"$ref": "#/$defs/B"}}
            })
        );
        assert!(convert(&schema).get("description").is_none());
    }

    #[test]
    fn references_are_followed_through_the_components() {
        let defs = json!({
            "A": {"properties": {"b": {"$ref": "#/$defs/B"}}},
            "B": {"items": {"$ref": "#/$defs/C"}},
            "C": {"type": "string"},
            "D": {"type": "string"},
        });
        let defs = defs.as_object().unwrap();
        let names = referenced(&json!({"anyOf": [{"$ref": "#/$defs/A"}]}), defs);
        assert_eq!(names.into_iter().collect::<Vec<_>>(), ["A", "B", "C"]);
    }

    #[test]
    fn no_schema_is_any_value() {
        assert_eq!(convert(&Value::Null), json!({}));
        assert_eq!(convert(&yaml("description: anything")), json!({}));
    }
}

//! `crisp-sandbox/src/generated/routes.rs`: what the local Crisp needs to know about every
//! operation beyond the operations table of crisp-api (which has its method, path, scope,
//! access, webhook event and paging): its path and query parameters with their constraints,
//! its request body schema, and the example of its success response (served for an operation
//! that has no hand-written behaviour).
//!
//! Schemas are converted from OpenAPI 3.0 to JSON Schema 2020-12 so that a maintained JSON
//! Schema validator can check requests: `nullable` becomes a type union, `$ref`s point into
//! `$defs` (every component, in [`SCHEMAS`]), integer formats become bounds, and keywords that
//! validate nothing (`description`, `example`, `x-*`) are dropped.

use proc_macro2::{Literal, TokenStream};
use quote::quote;
use serde_json::json;
use serde_yaml::Value;

use crate::Error;
use crate::spec::{METHODS, Spec, get, key_str, ref_name, str_field, to_json};

/// The folder of the sandbox's generated modules, relative to the workspace root.
pub const SANDBOX_GENERATED_DIR: &str = "crisp-sandbox/src/generated";

/// Generates `routes.rs`.
pub(crate) fn generate(spec: &Spec) -> Result<String, Error> {
    let mut routes = Vec::new();
    for op in &spec.operations {
        let item = spec
            .raw
            .get("paths")
            .and_then(Value::as_mapping)
            .and_then(|paths| get(paths, &op.path))
            .ok_or_else(|| Error(format!("operation {}: path {} not found", op.id, op.path)))?;
        let method = op.method.to_lowercase();
        debug_assert!(METHODS.contains(&method.as_str()));
        let raw_op = item
            .get(method.as_str())
            .ok_or_else(|| Error(format!("operation {}: method not found", op.id)))?;
        routes.push(route(spec, &op.id, raw_op)?);
    }
    let mut defs = serde_json::Map::new();
    for (name, schema) in spec.schemas() {
        if let Some(name) = key_str(name) {
            defs.insert(name, convert(schema));
        }
    }
    let schemas = raw_literal(&pretty(&serde_json::Value::Object(defs))?)?;
    let file = quote! {
        //! What the sandbox knows about each operation beyond crisp-api's operations table:
        //! parameters and their constraints, the request body schema and the success example,
        //! from the spec. Schemas are JSON Schema 2020-12, converted from OpenAPI 3.0.

        use crate::route::{Body, Location, Param, ParamType, RouteFacts};

        /// The facts of every operation, in the spec's order.
        pub const ROUTES: &[RouteFacts] = &[#(#routes),*];

        /// Every component schema of the spec, converted to JSON Schema: the `$defs` that
        /// parameter and body schemas refer to.
        pub const SCHEMAS: &str = #schemas;
    };
    crate::output::unparse(file)
}

fn route(spec: &Spec, id: &str, op: &Value) -> Result<TokenStream, Error> {
    let mut params = Vec::new();
    for param in op
        .get("parameters")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let name = str_field(param, "name").unwrap_or_default();
        let location = match str_field(param, "in") {
            Some("path") => quote!(Location::Path),
            Some("query") => quote!(Location::Query),
            // Headers and cookies are not parameters of any operation yet.
            _ => continue,
        };
        let required = param
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let schema = param.get("schema").cloned().unwrap_or(Value::Null);
        let ty = match base_type(spec, &schema) {
            Some("integer") => quote!(ParamType::Integer),
            Some("number") => quote!(ParamType::Number),
            Some("boolean") => quote!(ParamType::Boolean),
            _ => quote!(ParamType::String),
        };
        let schema = raw_literal(&compact(&convert(&schema))?)?;
        params.push(quote! {
            Param { name: #name, location: #location, required: #required, ty: #ty, schema: #schema }
        });
    }
    let body = match op.get("requestBody") {
        Some(body) => {
            let required = body
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let schema = body
                .get("content")
                .and_then(|c| c.get("application/json"))
                .and_then(|m| m.get("schema"))
                .cloned()
                .unwrap_or(Value::Null);
            let schema = raw_literal(&compact(&convert(&schema))?)?;
            quote!(Some(Body { required: #required, schema: #schema }))
        }
        None => quote!(None),
    };
    let (status, example) = success(spec, id, op)?;
    let example = raw_literal(&compact(&example)?)?;
    let status = Literal::u16_unsuffixed(status);
    Ok(quote! {
        RouteFacts {
            id: #id,
            params: &[#(#params),*],
            body: #body,
            status: #status,
            example: #example,
        }
    })
}

/// The status and example of the operation's success response: the first `2xx` key (`200`,
/// `2XX`), answered as 200 unless a specific code is given; the example is the response
/// schema's (or its component's) `example`.
fn success(spec: &Spec, id: &str, op: &Value) -> Result<(u16, serde_json::Value), Error> {
    let responses = op
        .get("responses")
        .and_then(Value::as_mapping)
        .ok_or_else(|| Error(format!("operation {id}: no responses")))?;
    for (code, response) in responses {
        let Some(code) = key_str(code) else { continue };
        if !code.starts_with('2') {
            continue;
        }
        let status = code.parse::<u16>().unwrap_or(200);
        let schema = response
            .get("content")
            .and_then(|c| c.get("application/json"))
            .and_then(|m| m.get("schema"));
        let example = schema
            .and_then(|s| {
                s.get("example").or_else(|| {
                    ref_name(s)
                        .and_then(|name| spec.schema(name))
                        .and_then(|c| c.get("example"))
                })
            })
            .map(to_json)
            .unwrap_or_else(|| json!({"error": false, "reason": "resolved", "data": {}}));
        return Ok((status, example));
    }
    Err(Error(format!("operation {id}: no 2xx response")))
}

/// The JSON type of a parameter schema, following one `$ref`.
fn base_type<'a>(spec: &'a Spec, schema: &'a Value) -> Option<&'a str> {
    match ref_name(schema) {
        Some(name) => spec.schema(name).and_then(|s| str_field(s, "type")),
        None => str_field(schema, "type"),
    }
}

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

/// Converts an OpenAPI 3.0 schema to JSON Schema 2020-12.
pub(crate) fn convert(schema: &Value) -> serde_json::Value {
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
                    .filter_map(|(k, v)| Some((key_str(k)?, convert(v))))
                    .collect();
                out.insert(key, serde_json::Value::Object(props));
            }
            "items" | "not" => {
                out.insert(key, convert(value));
            }
            "additionalProperties" => {
                let converted = match value {
                    Value::Bool(b) => serde_json::Value::Bool(*b),
                    other => convert(other),
                };
                out.insert(key, converted);
            }
            "allOf" | "anyOf" | "oneOf" => {
                let list = value
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .map(convert)
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

fn pretty(value: &serde_json::Value) -> Result<String, Error> {
    serde_json::to_string_pretty(value).map_err(|e| Error(format!("cannot print a schema: {e}")))
}

fn compact(value: &serde_json::Value) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error(format!("cannot print a schema: {e}")))
}

/// Text as a raw string literal with enough `#`s.
fn raw_literal(text: &str) -> Result<Literal, Error> {
    let mut hashes = String::from("#");
    while text.contains(&format!("\"{hashes}")) {
        hashes.push('#');
    }
    format!("r{hashes}\"{text}\"{hashes}")
        .parse()
        .map_err(|e| Error(format!("cannot quote a schema: {e}")))
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
    fn no_schema_is_any_value() {
        assert_eq!(convert(&Value::Null), json!({}));
        assert_eq!(convert(&yaml("description: anything")), json!({}));
    }
}

//! `crisp-sandbox/src/generated/routes.rs`: what the local Crisp needs to know about every
//! operation beyond the operations table of crisp-api (which has its method, path, scope,
//! access, webhook event and paging): its path and query parameters with their constraints,
//! its request body schema, and the example of its success response (served for an operation
//! that has no hand-written behaviour).
//!
//! Schemas are converted from OpenAPI 3.0 to JSON Schema 2020-12 (by [`crate::json_schema`]) so
//! that a maintained JSON Schema validator can check requests: `nullable` becomes a type union,
//! `$ref`s point into `$defs` (every component, in `SCHEMAS`), integer formats become bounds,
//! and keywords that validate nothing (`description`, `example`, `x-*`) are dropped.

use proc_macro2::{Literal, TokenStream};
use quote::quote;
use serde_json::json;
use serde_yaml::Value;

use crate::Error;
use crate::json_schema::{compact, convert, pretty, raw_literal};
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

//! `crisp-sandbox/src/generated/routes.rs`: what the local Crisp needs to know about every
//! operation beyond the operations table of crisp-api (which has its method, path, scope,
//! access, webhook event and paging): its path and query parameters with their constraints,
//! its request body schema, and the example of its success response (served for an operation
//! that has no hand-written behaviour).
//!
//! Schemas are converted from OpenAPI 3.0 to JSON Schema 2020-12 (by [`super::json_schema`]) so
//! that a maintained JSON Schema validator can check requests: `nullable` becomes a type union,
//! `$ref`s point into `$defs` (every component, in `SCHEMAS`), integer formats become bounds,
//! and keywords that validate nothing (`description`, `example`, `x-*`) are dropped.

use proc_macro2::{Literal, TokenStream};
use quote::quote;
use serde_yaml::Value;

use crate::Error;
use crate::generators::format::raw_literal;
use crate::generators::json_schema::{compact, convert, pretty};
use crate::spec::{self, Spec};
use crate::yaml::{key_str, ref_name, str_field, to_json};

/// Generates `routes.rs`.
pub(crate) fn generate(spec: &Spec) -> Result<String, Error> {
    let mut routes = Vec::new();
    for op in &spec.operations {
        routes.push(route(spec, &op.id, spec.raw_operation(op)?)?);
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
    crate::generators::format::unparse(file)
}

fn route(spec: &Spec, id: &str, op: &Value) -> Result<TokenStream, Error> {
    let mut params = Vec::new();
    for param in spec::parameters(op) {
        let (name, required) = (param.name, param.required);
        let location = match param.location {
            "path" => quote!(Location::Path),
            "query" => quote!(Location::Query),
            // Headers and cookies are not parameters of any operation yet.
            _ => continue,
        };
        let schema = param.schema.unwrap_or(&Value::Null);
        let ty = match base_type(spec, schema) {
            Some("integer") => quote!(ParamType::Integer),
            Some("number") => quote!(ParamType::Number),
            Some("boolean") => quote!(ParamType::Boolean),
            _ => quote!(ParamType::String),
        };
        let schema = raw_literal(&compact(&convert(schema))?)?;
        params.push(quote! {
            Param { name: #name, location: #location, required: #required, ty: #ty, schema: #schema }
        });
    }
    let body = match spec::request_body(op) {
        Some(body) => {
            let required = body.required;
            let schema = raw_literal(&compact(&convert(body.schema.unwrap_or(&Value::Null)))?)?;
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
    let (code, _) = spec::success_response(op)
        .ok_or_else(|| Error(format!("operation {id}: no 2xx response")))?;
    let status = code.parse::<u16>().unwrap_or(200);
    let example = spec::success_example(spec, op)
        .map(to_json)
        .ok_or_else(|| {
            Error(format!(
                "operation {id}: the success envelope has no example"
            ))
        })?;
    Ok((status, example))
}

/// The JSON type of a parameter schema, following one `$ref`.
fn base_type<'a>(spec: &'a Spec, schema: &'a Value) -> Option<&'a str> {
    match ref_name(schema) {
        Some(name) => spec.schema(name).and_then(|s| str_field(s, "type")),
        None => str_field(schema, "type"),
    }
}

//! `crisp-api/tests/generated/spec_examples.rs`: a test per schema example and per webhook example.
//!
//! Each test decodes the example into its generated type and checks that nothing is lost on
//! re-encoding; then it decodes a copy with an unknown field added to every object and an
//! unknown value in every open enum, and checks that the unknown values survive re-encoding.
//! The copy is made here, from the schema, so the test knows exactly which values to look for.

use heck::ToSnakeCase;
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use serde_yaml::Value;

use crate::Error;
use crate::generators::format::raw_literal;
use crate::spec::{MESSAGE_CONTENT, Spec};
use crate::yaml::{get, ref_name, to_json};

/// The field added to every object of a mutated example.
pub const UNKNOWN_FIELD: &str = "x_field_from_the_future";

/// Generates `crisp-api/tests/generated/spec_examples.rs`.
pub(crate) fn generate(spec: &Spec) -> Result<String, Error> {
    let mut tests = Vec::new();
    for (name, schema) in spec.schemas() {
        let Some(name) = name.as_str() else { continue };
        let Some(example) = schema.get("example") else {
            continue;
        };
        let test = format_ident!("schema_{}", name.to_snake_case());
        let check = check_call(spec, name, &to_json(example))?;
        tests.push(quote! {
            #[test]
            fn #test() {
                #check
            }
        });
    }
    for hook in &spec.webhooks {
        let test = format_ident!("webhook_{}", hook.name.to_snake_case());
        let delivery = to_json(&hook.example);
        let mut mutated = delivery.clone();
        let mut unknowns = Vec::new();
        if let Some(data) = mutated.get_mut("data") {
            mutate_ref(spec, &hook.schema, data, &mut unknowns);
        }
        add_unknown_field(&mut mutated);
        let name = &hook.name;
        let delivery = raw_json(&delivery)?;
        let mutated = raw_json(&mutated)?;
        let data_check = match hook.example.get("data") {
            Some(data) => check_call(spec, &hook.schema, &to_json(data))?,
            None => quote!(),
        };
        tests.push(quote! {
            #[test]
            fn #test() {
                support::check_delivery(#name, #delivery, #mutated, &[#(#unknowns),*]);
                #data_check
            }
        });
    }
    let file = quote! {
        //! The cases of `tests/spec_examples.rs`, one per schema example and per webhook
        //! example of the spec.

        use super::support;
        use crisp_api::types;

        #(#tests)*
    };
    crate::generators::format::unparse(file)
}

fn check_call(spec: &Spec, name: &str, example: &serde_json::Value) -> Result<TokenStream, Error> {
    let mut mutated = example.clone();
    let mut unknowns = Vec::new();
    mutate_ref(spec, name, &mut mutated, &mut unknowns);
    let ty = format_ident!("{name}");
    let example = raw_json(example)?;
    let mutated = raw_json(&mutated)?;
    Ok(quote! {
        support::check_example::<types::#ty>(#name, #example, #mutated, &[#(#unknowns),*]);
    })
}

/// Mutates `value`, an instance of the component `name`.
fn mutate_ref(spec: &Spec, name: &str, value: &mut serde_json::Value, unknowns: &mut Vec<String>) {
    if name == MESSAGE_CONTENT {
        // Raw JSON: kept as is whatever its shape.
        return;
    }
    if spec.string_enum(name).is_some() {
        if value.is_string() {
            let unknown = format!("x-new-{}-value", name.to_snake_case().replace('_', "-"));
            *value = serde_json::Value::String(unknown.clone());
            unknowns.push(unknown);
        }
        return;
    }
    if let Some(schema) = spec.schema(name) {
        mutate(spec, schema, value, unknowns);
    }
}

/// Mutates `value`, an instance of `schema`.
fn mutate(spec: &Spec, schema: &Value, value: &mut serde_json::Value, unknowns: &mut Vec<String>) {
    if let Some(name) = ref_name(schema) {
        return mutate_ref(spec, name, value, unknowns);
    }
    if let Some([only]) = schema
        .get("allOf")
        .and_then(Value::as_sequence)
        .map(Vec::as_slice)
    {
        return mutate(spec, only, value, unknowns);
    }
    match value {
        serde_json::Value::Object(map) => {
            if let Some(props) = schema.get("properties").and_then(Value::as_mapping) {
                for (key, field) in map.iter_mut() {
                    if let Some(prop) = get(props, key) {
                        mutate(spec, prop, field, unknowns);
                    }
                }
            }
            add_unknown_field(value);
        }
        serde_json::Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                for v in items {
                    mutate(spec, item, v, unknowns);
                }
            }
        }
        _ => {}
    }
}

fn add_unknown_field(value: &mut serde_json::Value) {
    if let serde_json::Value::Object(map) = value {
        map.insert(
            UNKNOWN_FIELD.to_owned(),
            serde_json::json!({"added": "by Crisp later", "list": [1, 2.5, null]}),
        );
    }
}

/// Pretty JSON as a raw string literal.
fn raw_json(value: &serde_json::Value) -> Result<Literal, Error> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error(format!("cannot print an example: {e}")))?;
    raw_literal(&text)
}

/// Generates `crisp-api/tests/generated/webhook_deliveries.rs`: the example delivery of every webhook
/// event, as compact JSON, for tests that sign and post them. A new event in the spec needs no
/// edit to the tests' helpers.
pub(crate) fn deliveries(spec: &Spec) -> Result<String, Error> {
    let mut entries = Vec::new();
    for hook in &spec.webhooks {
        let body = serde_json::to_string(&to_json(&hook.example))
            .map_err(|e| Error(format!("cannot print the example of {}: {e}", hook.name)))?;
        let body: Literal = raw_literal(&body)?;
        let name = &hook.name;
        entries.push(quote!((#name, #body)));
    }
    let file = quote! {
        //! The example delivery of every event of `x-crisp-webhooks`, as compact JSON.

        /// `(event name, delivery body)` for every event of the spec, in the spec's order.
        pub const DELIVERIES: &[(&str, &str)] = &[#(#entries),*];

        /// The example delivery of the event `name`.
        ///
        /// # Panics
        ///
        /// When the spec has no such event.
        pub fn delivery(name: &str) -> &'static str {
            DELIVERIES
                .iter()
                .find(|(event, _)| *event == name)
                .map(|(_, body)| *body)
                .unwrap_or_else(|| panic!("the spec has no webhook event {name}"))
        }
    };
    crate::generators::format::unparse(file)
}

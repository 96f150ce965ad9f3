//! `crisp-e2e/src/generated/cases.rs`: one case per operation, driven by the spec's examples, so
//! that a new operation is tested with no new hand-written code.
//!
//! A case knows the request the client must send (method, path with the example ids, the
//! example query parameters, the example body) and the answer to give (the success envelope's
//! example), and calls the operation through its typed builder with those values. The tests
//! that run the cases (against a mock, and against the sandbox) are hand-written once.

use std::collections::BTreeMap;

use heck::ToShoutySnakeCase;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_yaml::Value;

use crate::Error;
use crate::generators::format::raw_literal;
use crate::spec::{self, PathPart, Spec};
use crate::yaml::{self, to_json};

/// A path parameter's Rust type in [`Ids`]: text, or a number.
#[derive(Clone, Copy, PartialEq, Eq)]
enum IdType {
    Text,
    Unsigned,
    Signed,
}

/// One parameter with its example.
struct Example {
    name: String,
    location: String,
    example: serde_json::Value,
    id_type: IdType,
    /// The integer suffix its literal needs, from the schema's format.
    suffix: &'static str,
}

fn examples(op: &spec::Operation, raw_op: &Value) -> Result<Vec<Example>, Error> {
    let mut out = Vec::new();
    for p in spec::parameters(raw_op) {
        let name = p.name.to_owned();
        let example = p
            .example
            .map(to_json)
            .ok_or_else(|| Error(format!("{}: parameter `{name}` has no example", op.id)))?;
        let schema = p.schema;
        let id_type = match schema.and_then(|s| yaml::str_field(s, "type")) {
            Some("integer") => match schema.and_then(|s| yaml::str_field(s, "format")) {
                Some("uint32") => IdType::Unsigned,
                _ => IdType::Signed,
            },
            _ => IdType::Text,
        };
        let suffix = match schema.and_then(|s| yaml::str_field(s, "format")) {
            Some("uint32") => "u32",
            Some("int32") => "i32",
            Some("uint64") => "u64",
            _ => "i64",
        };
        out.push(Example {
            name,
            location: p.location.to_owned(),
            example,
            id_type,
            suffix,
        });
    }
    Ok(out)
}

/// The example of the operation's request body, and its component.
fn body_example(spec: &Spec, raw_op: &Value) -> Option<(String, serde_json::Value)> {
    let body = spec::request_body(raw_op)?;
    let component = yaml::ref_name(body.schema?)?;
    let example = body
        .example
        .or_else(|| spec.schema(component)?.get("example"))?;
    Some((component.to_owned(), to_json(example)))
}

fn text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Generates `crisp-e2e/src/generated/cases.rs`.
pub(crate) fn generate(spec: &Spec) -> Result<String, Error> {
    // Every path parameter across the spec, with its type and example: the fields of `Ids`.
    let mut ids: BTreeMap<String, (IdType, serde_json::Value)> = BTreeMap::new();
    let mut cases = Vec::new();
    let mut calls = Vec::new();
    for op in &spec.operations {
        let raw = spec.raw_operation(op)?;
        let params = examples(op, raw)?;
        let method_ident = format_ident!("{}", op.id);
        let call_fn = format_ident!("call_{}", op.id);
        let op_const = format_ident!("{}", op.id.to_shouty_snake_case());
        let mut setters = Vec::new();
        let mut query = Vec::new();
        let mut string_ids = Vec::new();
        for p in &params {
            let setter = format_ident!("{}", p.name);
            if p.location == "path" {
                ids.entry(p.name.clone())
                    .or_insert((p.id_type, p.example.clone()));
                let field = format_ident!("{}", p.name);
                if p.id_type == IdType::Text {
                    string_ids.push(p.name.clone());
                    setters.push(quote!(.#setter(ids.#field.as_str())));
                } else {
                    setters.push(quote!(.#setter(ids.#field)));
                }
            } else if p.location == "query" {
                let value: TokenStream = match &p.example {
                    serde_json::Value::String(s) => quote!(#s),
                    serde_json::Value::Number(n) if n.is_f64() => {
                        n.to_string().parse().expect("a number")
                    }
                    serde_json::Value::Number(n) => {
                        format!("{n}{}", p.suffix).parse().expect("a number")
                    }
                    serde_json::Value::Bool(b) => quote!(#b),
                    other => {
                        let s = other.to_string();
                        quote!(#s)
                    }
                };
                setters.push(quote!(.#setter(#value)));
                let (name, value) = (p.name.as_str(), text(&p.example));
                query.push(quote!((#name, #value)));
            }
        }
        let body = match body_example(spec, raw) {
            Some((component, example)) => {
                let ty = format_ident!("{component}");
                let json = serde_json::to_string(&example).map_err(|e| Error(e.to_string()))?;
                let literal = raw_literal(&json)?;
                setters.push(quote! {
                    .body(
                        serde_json::from_str::<types::#ty>(#literal)
                            .expect("the spec's example body decodes"),
                    )
                });
                quote!(Some(#literal))
            }
            None => quote!(None),
        };
        let response = spec::success_example(spec, raw)
            .map(to_json)
            .ok_or_else(|| Error(format!("{}: the success envelope has no example", op.id)))?;
        let response =
            raw_literal(&serde_json::to_string(&response).map_err(|e| Error(e.to_string()))?)?;
        // The path with `{name}` replaced by the ids' values.
        let mut format = String::new();
        let mut args = Vec::new();
        for part in op.path_parts() {
            match part {
                PathPart::Text(text) => {
                    format.push_str(&text.replace('{', "{{").replace('}', "}}"))
                }
                PathPart::Param(name) => {
                    format.push_str("{}");
                    let field = format_ident!("{name}");
                    args.push(quote!(ids.#field));
                }
            }
        }
        let path_fn = format_ident!("path_{}", op.id);
        calls.push(quote! {
            async fn #call_fn(client: &Client, ids: &Ids) -> Result<serde_json::Value, Error> {
                let answer = client.#method_ident() #(#setters)* .send().await?;
                Ok(serde_json::to_value(answer).expect("the answer encodes"))
            }

            fn #path_fn(ids: &Ids) -> String {
                format!(#format, #(#args),*)
            }
        });
        cases.push(quote! {
            Case {
                operation: &Operation::#op_const,
                path: #path_fn,
                query: &[#(#query),*],
                body: #body,
                response: #response,
                string_ids: &[#(#string_ids),*],
                call: |client, ids| Box::pin(#call_fn(client, ids)),
            }
        });
    }
    let fields = ids.iter().map(|(name, (ty, _))| {
        let field = format_ident!("{name}");
        let ty = match ty {
            IdType::Text => quote!(String),
            IdType::Unsigned => quote!(u32),
            IdType::Signed => quote!(i64),
        };
        let doc = format!(" `{name}`: the spec's example unless changed.");
        quote!(#[doc = #doc] pub #field: #ty)
    });
    let defaults = ids.iter().map(|(name, (ty, example))| {
        let field = format_ident!("{name}");
        match ty {
            IdType::Text => {
                let value = text(example);
                quote!(#field: #value.to_owned())
            }
            _ => {
                let value: TokenStream = text(example).parse().expect("a number");
                quote!(#field: #value)
            }
        }
    });
    let text_setters = ids
        .iter()
        .filter(|(_, (ty, _))| *ty == IdType::Text)
        .map(|(name, _)| {
            let field = format_ident!("{name}");
            quote!(#name => self.#field = value.to_owned())
        });
    let file = quote! {
        //! One case per operation of the spec, from its examples: what the client must send and
        //! what to answer. Run by crisp-e2e's `tests/operations.rs` and `tests/sandbox.rs`.

        #![allow(dead_code)]

        use crisp_api::{types, Client, Error, Operation};
        use futures::future::BoxFuture;

        /// The path ids the cases call with.
        #[derive(Clone, Debug, PartialEq)]
        pub struct Ids {
            #(#fields),*
        }

        impl Default for Ids {
            fn default() -> Self {
                Self { #(#defaults),* }
            }
        }

        impl Ids {
            /// Sets the text id `name` to `value`.
            pub fn set(&mut self, name: &str, value: &str) {
                match name {
                    #(#text_setters,)*
                    other => panic!("no text id named {other}"),
                }
            }
        }

        /// One operation's case.
        pub struct Case {
            /// The operation.
            pub operation: &'static Operation,
            /// Its path, with the ids filled in.
            pub path: fn(&Ids) -> String,
            /// The query parameters it sends, as text.
            pub query: &'static [(&'static str, &'static str)],
            /// The JSON body it sends, if any.
            pub body: Option<&'static str>,
            /// The spec's example of its success envelope.
            pub response: &'static str,
            /// Its path parameters that are text ids.
            pub string_ids: &'static [&'static str],
            /// Calls it through its typed builder; the answer, re-encoded.
            pub call: for<'a> fn(&'a Client, &'a Ids) -> BoxFuture<'a, Result<serde_json::Value, Error>>,
        }

        /// Every operation's case, in the spec's order.
        pub fn cases() -> Vec<Case> {
            vec![#(#cases),*]
        }

        #(#calls)*
    };
    crate::generators::format::unparse(file)
}

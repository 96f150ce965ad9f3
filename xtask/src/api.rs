//! The public client surface: one method on `crisp_api::Client` per operation, returning a
//! builder that wraps progenitor's and whose `send()` runs the hand-written call pipeline
//! (`crate::call::run`) and returns `crisp_api::Error`.
//!
//! The wrapper mirrors every setter of progenitor's builder with the same signature (read from
//! progenitor's own output, so the two never disagree), records the path ids it needs to check
//! and audit, and adds `retry_writes` and, for paged routes, `stream()`.

use std::collections::{BTreeMap, BTreeSet};

use heck::ToShoutySnakeCase;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_yaml::Value;

use crate::Error;
use crate::spec::{self, Paging, Spec};

/// The raw YAML of an operation.
pub(crate) fn raw_operation<'a>(spec: &'a Spec, op: &spec::Operation) -> Option<&'a Value> {
    spec.raw
        .get("paths")?
        .get(op.path.as_str())?
        .get(op.method.to_ascii_lowercase().as_str())
}

/// One parameter of an operation, as the spec declares it.
pub(crate) struct Parameter {
    pub(crate) name: String,
    pub(crate) location: String,
    pub(crate) required: bool,
    pub(crate) description: String,
}

/// The parameters of an operation, in declaration order.
pub(crate) fn parameters(spec: &Spec, op: &spec::Operation) -> Vec<Parameter> {
    let Some(list) = raw_operation(spec, op)
        .and_then(|raw| raw.get("parameters"))
        .and_then(Value::as_sequence)
    else {
        return Vec::new();
    };
    list.iter()
        .map(|p| Parameter {
            name: spec::str_field(p, "name").unwrap_or_default().to_owned(),
            location: spec::str_field(p, "in").unwrap_or_default().to_owned(),
            required: p.get("required").and_then(Value::as_bool).unwrap_or(false),
            description: spec::str_field(p, "description")
                .unwrap_or_default()
                .trim()
                .to_owned(),
        })
        .collect()
}

/// The path parameters of a path template, in order.
pub(crate) fn path_names(path: &str) -> Vec<String> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
        .collect()
}

/// The success response's component name.
pub(crate) fn success_schema<'a>(spec: &'a Spec, op: &spec::Operation) -> Option<&'a str> {
    let responses = raw_operation(spec, op)?.get("responses")?.as_mapping()?;
    let (_, success) = responses
        .iter()
        .find(|(k, _)| spec::key_str(k).is_some_and(|k| k.starts_with('2')))?;
    spec::ref_name(
        success
            .get("content")?
            .get("application/json")?
            .get("schema")?,
    )
}

/// For a list response (`data: [Item]`): the item's component name.
fn item_schema<'a>(spec: &'a Spec, op: &spec::Operation) -> Option<&'a str> {
    let envelope = spec.schema(success_schema(spec, op)?)?;
    let data = envelope.get("properties")?.get("data")?;
    spec::ref_name(data.get("items")?)
}

/// The progenitor builder methods, by builder name, and the builder of each operation.
struct Progenitor<'f> {
    methods: BTreeMap<String, Vec<&'f syn::ImplItemFn>>,
    builder_of: BTreeMap<String, String>,
}

fn read_progenitor(file: &syn::File) -> Progenitor<'_> {
    let mut methods: BTreeMap<String, Vec<&syn::ImplItemFn>> = BTreeMap::new();
    let mut builder_of = BTreeMap::new();
    for item in &file.items {
        match item {
            syn::Item::Mod(m) if m.ident == "builder" => {
                for item in m.content.iter().flat_map(|(_, items)| items) {
                    if let syn::Item::Impl(block) = item
                        && let Some(name) = type_name(&block.self_ty)
                    {
                        let fns = block.items.iter().filter_map(|i| match i {
                            syn::ImplItem::Fn(f) => Some(f),
                            _ => None,
                        });
                        methods.entry(name).or_default().extend(fns);
                    }
                }
            }
            syn::Item::Impl(block)
                if block.trait_.is_none()
                    && type_name(&block.self_ty).as_deref() == Some("Client") =>
            {
                for i in &block.items {
                    if let syn::ImplItem::Fn(f) = i
                        && let syn::ReturnType::Type(_, ty) = &f.sig.output
                        && let Some(name) = type_name(ty)
                    {
                        builder_of.insert(f.sig.ident.to_string(), name);
                    }
                }
            }
            _ => {}
        }
    }
    Progenitor {
        methods,
        builder_of,
    }
}

/// The last segment's name of a type path (`builder::SendMessage<'_>` -> `SendMessage`).
fn type_name(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// The `T` of `V: TryInto<T>` in a setter's where clause.
fn setter_target(f: &syn::ImplItemFn) -> Option<syn::Type> {
    let clause = f.sig.generics.where_clause.as_ref()?;
    for predicate in &clause.predicates {
        let syn::WherePredicate::Type(p) = predicate else {
            continue;
        };
        for bound in &p.bounds {
            let syn::TypeParamBound::Trait(t) = bound else {
                continue;
            };
            let last = t.path.segments.last()?;
            if last.ident != "TryInto" {
                continue;
            }
            if let syn::PathArguments::AngleBracketed(args) = &last.arguments
                && let Some(syn::GenericArgument::Type(ty)) = args.args.first()
            {
                return Some(ty.clone());
            }
        }
    }
    None
}

/// The `T` of `send`'s `Result<ResponseValue<T>, _>`.
fn response_type(send: &syn::ImplItemFn) -> Option<syn::Type> {
    let syn::ReturnType::Type(_, ty) = &send.sig.output else {
        return None;
    };
    let mut ty: &syn::Type = ty;
    for wrapper in ["Result", "ResponseValue"] {
        let syn::Type::Path(p) = ty else { return None };
        let last = p.path.segments.last()?;
        if last.ident != wrapper {
            return None;
        }
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        let Some(syn::GenericArgument::Type(inner)) = args.args.first() else {
            return None;
        };
        ty = inner;
    }
    Some(ty.clone())
}

/// Generates `api.rs`.
pub(crate) fn generate(spec: &Spec, progenitor: &syn::File) -> Result<String, Error> {
    let found = read_progenitor(progenitor);
    let mut client_methods = Vec::new();
    let mut builders = Vec::new();
    let mut envelopes = BTreeSet::new();
    let mut timestamped = BTreeMap::new();
    for op in &spec.operations {
        let fail = |what: &str| Error(format!("{}: {what}", op.id));
        let builder_name = found
            .builder_of
            .get(&op.id)
            .ok_or_else(|| fail("progenitor generated no client method"))?;
        let fns = found
            .methods
            .get(builder_name)
            .ok_or_else(|| fail("progenitor generated no builder"))?;
        let send = fns
            .iter()
            .find(|f| f.sig.ident == "send")
            .ok_or_else(|| fail("the builder has no send()"))?;
        let response = response_type(send).ok_or_else(|| fail("send() returns an unknown type"))?;
        let untyped_data = success_schema(spec, op)
            .and_then(|name| spec.schema(name))
            .and_then(|s| s.get("properties")?.get("data"))
            .is_some_and(|data| data.get("$ref").is_none() && data.get("type").is_none());
        envelopes.insert((quote!(#response).to_string(), untyped_data));
        let params = parameters(spec, op);
        let paths = path_names(&op.path);
        let paging = op.paging.clone();
        let per_page = match &paging {
            Some(Paging::PageNumber {
                per_page: Some(name),
                ..
            }) => Some(name.clone()),
            _ => None,
        };

        let builder = format_ident!("{builder_name}");
        let op_const = format_ident!("{}", op.id.to_shouty_snake_case());
        let method = format_ident!("{}", op.id);

        let mut setters = Vec::new();
        for f in fns
            .iter()
            .filter(|f| f.sig.ident != "new" && f.sig.ident != "send")
        {
            let name = f.sig.ident.to_string();
            let sig = &f.sig;
            let ident = &f.sig.ident;
            let param = params.iter().find(|p| p.name == name);
            let doc = match (param, name.as_str()) {
                (Some(p), _) => {
                    let required = if p.required { "required" } else { "optional" };
                    format!(
                        " Sets the {} parameter `{name}` ({required}): {}",
                        p.location, p.description
                    )
                }
                (None, "body") => " Sets the request body.".to_owned(),
                (None, "body_map") => {
                    " Changes the request body's builder, field by field.".to_owned()
                }
                (None, _) => format!(" Sets `{name}`."),
            };
            let body = if let Some(index) = paths.iter().position(|p| *p == name) {
                let target =
                    setter_target(f).ok_or_else(|| fail("a path setter without TryInto"))?;
                quote! {
                    match <V as ::std::convert::TryInto<#target>>::try_into(value) {
                        Ok(value) => {
                            self.ids[#index] = PathId::Set(value.to_string());
                            self.inner = self.inner.#ident(value);
                        }
                        Err(_) => self.ids[#index] = PathId::Invalid,
                    }
                    self
                }
            } else if per_page.as_deref() == Some(name.as_str()) {
                let target =
                    setter_target(f).ok_or_else(|| fail("a per_page setter without TryInto"))?;
                quote! {
                    match <V as ::std::convert::TryInto<#target>>::try_into(value) {
                        Ok(value) => {
                            self.page_size = value.to_string().parse().ok();
                            self.inner = self.inner.#ident(value);
                        }
                        Err(_) => self.options.invalid = Some(#name),
                    }
                    self
                }
            } else {
                let args: Vec<_> = f
                    .sig
                    .inputs
                    .iter()
                    .filter_map(|a| match a {
                        syn::FnArg::Typed(t) => Some(&t.pat),
                        syn::FnArg::Receiver(_) => None,
                    })
                    .collect();
                quote! {
                    self.inner = self.inner.#ident(#(#args),*);
                    self
                }
            };
            setters.push(quote! {
                #[doc = #doc]
                pub #sig {
                    #body
                }
            });
        }

        let stream = match &paging {
            Some(Paging::PageNumber { page_size, .. }) => {
                let item = item_schema(spec, op)
                    .ok_or_else(|| fail("a paged route whose data is not a list of a component"))?;
                let item = format_ident!("{item}");
                let doc = format!(
                    " Every item of every page, from page 1 until a page comes back shorter than \
                     the page size ({page_size} unless `per_page` is set) or empty. One page is \
                     fetched at a time, and none before it is needed; each page is a call of its \
                     own (grants, budget, retries and audit apply). An error ends the stream \
                     with that error. `page_number` is set by the stream."
                );
                quote! {
                    #[doc = #doc]
                    pub fn stream(self) -> ::futures::stream::BoxStream<'a, Result<types::#item, Error>> {
                        let size = self.page_size.unwrap_or(#page_size);
                        crate::paging::by_page_number(self, size, |builder: Self, page| async move {
                            builder.page_number(page).send().await.map(|page| page.data)
                        })
                    }
                }
            }
            Some(Paging::TimestampBefore) => {
                let item_name = item_schema(spec, op)
                    .ok_or_else(|| fail("a paged route whose data is not a list of a component"))?;
                let item = format_ident!("{item_name}");
                let required = spec
                    .schema(item_name)
                    .and_then(|s| s.get("required"))
                    .and_then(Value::as_sequence)
                    .is_some_and(|r| r.iter().any(|v| v.as_str() == Some("timestamp")));
                let read = if required {
                    quote!(Some(item.timestamp))
                } else {
                    quote!(item.timestamp)
                };
                timestamped.insert(item_name.to_owned(), read);
                let doc = " Every item, newest first, walking back in time: each batch is \
                           fetched with `timestamp_before` set to the oldest timestamp of the \
                           batch before, until a batch comes back empty (or makes no progress). \
                           One batch is fetched at a time; each is a call of its own (grants, \
                           budget, retries and audit apply). An error ends the stream with that \
                           error. A `timestamp_before` set on the builder is where the walk starts.";
                quote! {
                    #[doc = #doc]
                    pub fn stream(self) -> ::futures::stream::BoxStream<'a, Result<types::#item, Error>> {
                        crate::paging::by_timestamp(self, |builder: Self, before| async move {
                            let builder = match before {
                                Some(before) => builder.timestamp_before(before),
                                None => builder,
                            };
                            builder.send().await.map(|batch| batch.data)
                        })
                    }
                }
            }
            None => quote!(),
        };

        let (page_size_field, page_size_init) = match &paging {
            Some(Paging::PageNumber { .. }) => {
                (quote!(page_size: Option<u32>,), quote!(page_size: None,))
            }
            _ => (quote!(), quote!()),
        };
        let path_list: Vec<_> = paths.iter().map(String::as_str).collect();
        let count = paths.len();
        let struct_doc = format!(
            " The request builder of [`Client::{}`](crate::Client::{}): {}",
            op.id, op.id, op.summary
        );
        let send_doc = format!(
            " Sends `{} {}`, after checking the ids, the grants (`{}` at {} level){}{}; retries \
             as the client's policy allows, and leaves one audit record.",
            op.method,
            op.path,
            op.scope,
            op.access,
            if op.effect.is_some() {
                ", the confirmation callback"
            } else {
                ""
            },
            ", and the daily budget"
        );
        builders.push(quote! {
            #[doc = #struct_doc]
            #[derive(Clone, Debug)]
            #[must_use = "call .send() to make the request"]
            pub struct #builder<'a> {
                client: &'a crate::Client,
                inner: raw::#builder<'a>,
                ids: [PathId; #count],
                #page_size_field
                options: CallOptions,
            }

            impl<'a> #builder<'a> {
                pub(crate) fn new(client: &'a crate::Client) -> Self {
                    Self {
                        client,
                        inner: raw::#builder::new(&client.inner.raw),
                        ids: Default::default(),
                        #page_size_init
                        options: CallOptions::default(),
                    }
                }

                #(#setters)*

                /// Lets the retry policy repeat this call even if it is a write that may have
                /// reached Crisp (`true`), or never (`false`), whatever the client's policy says.
                /// A repeated message reaches the customer twice.
                pub fn retry_writes(mut self, yes: bool) -> Self {
                    self.options.retry_writes = Some(yes);
                    self
                }

                #[doc = #send_doc]
                pub async fn send(self) -> Result<#response, Error> {
                    let Self { client, inner, ids, options, .. } = self;
                    crate::call::run(
                        client,
                        &Operation::#op_const,
                        &[#(#path_list),*],
                        ids,
                        options,
                        move || Box::pin(inner.clone().send()),
                    )
                    .await
                }

                #stream
            }
        });

        let mut doc = vec![format!(" {}", op.summary), String::new()];
        let description = raw_operation(spec, op)
            .and_then(|raw| spec::str_field(raw, "description"))
            .unwrap_or_default()
            .trim()
            .to_owned();
        if !description.is_empty() {
            doc.push(format!(" {description}"));
            doc.push(String::new());
        }
        doc.push(format!(" `{} {}`", op.method, op.path));
        doc.push(String::new());
        doc.push(format!(
            " - Needs: `{}` at {} level (see [`Operation::{}`](crate::Operation::{})).",
            op.scope, op.access, op_const, op_const
        ));
        if let Some(webhook) = &op.webhook {
            doc.push(format!(" - Fires: `{webhook}`."));
        }
        match op.effect.as_deref() {
            Some("irreversible") => doc.push(
                " - **Irreversible**: it deletes data; the confirmation callback is asked first."
                    .to_owned(),
            ),
            Some("customer-visible") => doc.push(
                " - **Customer-visible**: it reaches a real person; the confirmation callback is \
                 asked first, and it is never repeated automatically once it may have reached \
                 Crisp."
                    .to_owned(),
            ),
            _ => {}
        }
        if !params.is_empty() {
            doc.push(String::new());
            doc.push(" Parameters:".to_owned());
            for p in &params {
                let required = if p.required { ", required" } else { "" };
                doc.push(format!(
                    " - `{}` ({}{required}): {}",
                    p.name, p.location, p.description
                ));
            }
        }
        if paging.is_some() {
            doc.push(String::new());
            doc.push(" `stream()` on the builder walks every page.".to_owned());
        }
        let doc = doc.iter().map(|line| quote!(#[doc = #line]));
        client_methods.push(quote! {
            #(#doc)*
            pub fn #method(&self) -> builder::#builder<'_> {
                builder::#builder::new(self)
            }
        });
    }

    let envelope_impls = envelopes.iter().map(|(ty, untyped_data)| {
        let ty: TokenStream = ty.parse().expect("a type progenitor wrote");
        // An error envelope answered with a 2xx decodes as a success whose `data` is any JSON:
        // its message can be read back from it.
        let message = if *untyped_data {
            quote! {
                fn message(&self) -> Option<String> {
                    crate::call::data_message(self.data.as_ref())
                }
            }
        } else {
            quote!()
        };
        quote! {
            impl crate::call::Envelope for #ty {
                fn reason(&self) -> &str {
                    &self.reason
                }
                fn is_error(&self) -> bool {
                    self.error
                }
                #message
            }
        }
    });
    let timestamp_impls = timestamped.iter().map(|(item, read)| {
        let item = format_ident!("{item}");
        quote! {
            impl crate::paging::Timestamped for types::#item {
                fn timestamp(&self) -> Option<i64> {
                    let item = self;
                    #read
                }
            }
        }
    });

    let file = quote! {
        //! The public client surface: a method per operation on [`Client`](crate::Client), each
        //! returning a builder whose `send()` runs the call pipeline.

        use crate::call::CallOptions;
        use crate::call::guard::PathId;
        use crate::error::Error;
        use crate::generated::client::builder as raw;
        use crate::generated::client::types;
        use crate::operation::Operation;

        impl crate::Client {
            #(#client_methods)*
        }

        /// The request builders, one per operation: set the parameters, then `send()` (or
        /// `stream()` for paged lists).
        pub mod builder {
            use super::*;

            #(#builders)*
        }

        #(#envelope_impls)*

        #(#timestamp_impls)*
    };
    crate::output::unparse(file)
}

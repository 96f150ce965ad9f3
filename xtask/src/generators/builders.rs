//! `crisp-api/src/generated/api.rs`: the client, one method on `crisp_api::Client` per
//! operation, returning a builder whose `send()` prepares the request (ids checked, query as
//! text, body as JSON) and runs the hand-written call pipeline (`crate::call::send`),
//! returning `crisp_api::Error`.
//!
//! Each builder has the setters progenitor would give it, with the same signatures (read from
//! progenitor's own output for the same spec, so the types never disagree), plus
//! `retry_writes` and, for paged routes, `stream()`. progenitor's own client is not kept: only
//! its types are (see `types.rs`).

use std::collections::{BTreeMap, BTreeSet};

use heck::ToShoutySnakeCase;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_yaml::Value;

use crate::Error;
use crate::spec::{self, Paging, Spec};
use crate::yaml;

/// The success response's component name, from an operation's raw node.
pub(crate) fn success_schema(raw_op: &Value) -> Option<&str> {
    yaml::ref_name(spec::success_response(raw_op)?.1?)
}

/// For a list response (`data: [Item]`): the item's component name.
fn item_schema<'a>(spec: &'a Spec, raw_op: &'a Value) -> Option<&'a str> {
    let envelope = spec.schema(success_schema(raw_op)?)?;
    let data = envelope.get("properties")?.get("data")?;
    yaml::ref_name(data.get("items")?)
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

/// `types::builder::X` for a body of type `types::X`.
fn body_builder(target: &syn::Type) -> Option<TokenStream> {
    let syn::Type::Path(p) = target else {
        return None;
    };
    let segments: Vec<_> = p.path.segments.iter().collect();
    match segments.as_slice() {
        [first, last] if first.ident == "types" => {
            let name = &last.ident;
            Some(quote!(types::builder::#name))
        }
        _ => None,
    }
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

/// Generates `crisp-api/src/generated/api.rs`.
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
        let raw = spec.raw_operation(op)?;
        let untyped_data = success_schema(raw)
            .and_then(|name| spec.schema(name))
            .and_then(|s| s.get("properties")?.get("data"))
            .is_some_and(|data| data.get("$ref").is_none() && data.get("type").is_none());
        envelopes.insert((quote!(#response).to_string(), untyped_data));
        let params = spec::parameters(raw);
        let paths = op.path_params();
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

        // The builder's fields, setters and the steps of `send()` that prepare the request.
        let mut fields = Vec::new();
        let mut inits = Vec::new();
        let mut setters = Vec::new();
        let mut names = Vec::new();
        let mut path_steps = Vec::new();
        let mut query_steps = Vec::new();
        let mut body_step = quote!();
        let request_body = spec::request_body(raw);
        let body_required = request_body.as_ref().is_some_and(|body| body.required);
        // The fields the body's type requires: named when a required body was never set.
        let body_type = request_body
            .as_ref()
            .and_then(|body| yaml::ref_name(body.schema?));
        let body_fields: Vec<String> = body_type
            .and_then(|name| spec.schema(name))
            .and_then(|schema| schema.get("required"))
            .and_then(Value::as_sequence)
            .map(|required| {
                required
                    .iter()
                    .filter_map(|field| field.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
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
                    " Changes the request body's builder, field by field (starting from an \
                     empty one if no body was set)."
                        .to_owned()
                }
                (None, _) => format!(" Sets `{name}`."),
            };
            let body = match name.as_str() {
                "body" => {
                    let target =
                        setter_target(f).ok_or_else(|| fail("a body setter without TryInto"))?;
                    let type_name = quote!(#target).to_string().replace(' ', "");
                    let builder_ty = body_builder(&target)
                        .ok_or_else(|| fail("the body is not a `types::` type"))?;
                    fields.push(quote!(body: Option<Result<#builder_ty, String>>));
                    inits.push(quote!(body: None));
                    body_step = quote! {
                        let prepare = prepare.body::<#builder_ty, #target>(
                            body,
                            #body_required,
                            &[#(#body_fields),*],
                        );
                    };
                    names.push(quote!(body));
                    quote! {
                        self.body = Some(
                            value
                                .try_into()
                                .map(From::from)
                                .map_err(|e| format!("conversion to `{}` for body failed: {}", #type_name, e)),
                        );
                        self
                    }
                }
                "body_map" => quote! {
                    self.body = Some(self.body.take().unwrap_or_else(|| Ok(Default::default())).map(f));
                    self
                },
                _ => {
                    let target = setter_target(f)
                        .ok_or_else(|| fail(&format!("setter `{name}` without TryInto")))?;
                    let param = param
                        .ok_or_else(|| fail(&format!("`{name}` is not a parameter of the spec")))?;
                    fields.push(quote!(#ident: crate::call::param::Param<#target>));
                    inits.push(quote!(#ident: crate::call::param::Param::Unset));
                    names.push(quote!(#ident));
                    if param.location == "path" {
                        let at = paths.iter().position(|p| *p == name).ok_or_else(|| {
                            fail(&format!("path parameter `{name}` is not in the path"))
                        })?;
                        path_steps.push((at, quote!(let prepare = prepare.path(#name, #ident);)));
                    } else {
                        let required = param.required;
                        query_steps
                            .push(quote!(let prepare = prepare.query(#name, #ident, #required);));
                    }
                    quote! {
                        self.#ident = crate::call::param::Param::from_conversion(value.try_into());
                        self
                    }
                }
            };
            setters.push(quote! {
                #[doc = #doc]
                pub #sig {
                    #body
                }
            });
        }
        path_steps.sort_by_key(|(index, _)| *index);
        let path_steps = path_steps.into_iter().map(|(_, step)| step);
        let page_size_of = match &per_page {
            Some(name) => {
                let ident = format_ident!("{name}");
                quote!(self.#ident.as_set().and_then(|v| v.to_string().parse().ok()))
            }
            None => quote!(None),
        };

        let stream = match &paging {
            Some(Paging::PageNumber { page_size, .. }) => {
                let item = item_schema(spec, raw)
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
                        let size: u32 = #page_size_of.unwrap_or(#page_size);
                        crate::paging::by_page_number(self, size, |builder: Self, page| async move {
                            builder.page_number(page).send().await.map(|page| page.data)
                        })
                    }
                }
            }
            Some(Paging::TimestampBefore) => {
                let item_name = item_schema(spec, raw)
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

        let count = paths.len();
        let struct_doc = format!(
            " The request builder of [`Client::{}`](crate::Client::{}): {}",
            op.id, op.id, op.summary
        );
        let mut send_doc = vec![format!(
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
        )];
        send_doc.push(String::new());
        send_doc.push(
            " Every parameter that is missing or unusable is reported at once, in one \
             [`Error::InvalidRequest`], before any I/O."
                .to_owned(),
        );
        let body_type = body_type.unwrap_or("body");
        if body_required && body_fields.is_empty() {
            send_doc.push(format!(
                " Without `.body(...)`, an empty `{body_type}` (`{{}}`, every field optional) is \
                 sent."
            ));
        } else if body_required {
            let needs = body_fields
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ");
            send_doc.push(format!(
                " `.body(...)` is required{}: a `{body_type}` (it needs {needs}). The compiler \
                 does not check that it was called; `send()` without it is refused with that \
                 error, naming the fields.",
                if op.access == "write" {
                    " on this write"
                } else {
                    ""
                },
            ));
        }
        let send_doc = send_doc.iter().map(|line| quote!(#[doc = #line]));
        builders.push(quote! {
            #[doc = #struct_doc]
            #[derive(Clone, Debug)]
            #[must_use = "call .send() to make the request"]
            pub struct #builder<'a> {
                client: &'a crate::Client,
                options: CallOptions,
                #(#fields),*
            }

            impl<'a> #builder<'a> {
                pub(crate) fn new(client: &'a crate::Client) -> Self {
                    Self {
                        client,
                        options: CallOptions::default(),
                        #(#inits),*
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

                #(#send_doc)*
                pub async fn send(self) -> Result<#response, Error> {
                    let Self { client, options, #(#names),* } = self;
                    let operation = &Operation::#op_const;
                    let prepare = Preparing::new(operation, #count);
                    #(#path_steps)*
                    #(#query_steps)*
                    #body_step
                    crate::call::send(client, operation, prepare.done(), options).await
                }

                #stream
            }
        });

        let mut doc = vec![format!(" {}", op.summary), String::new()];
        let description = yaml::str_field(raw, "description")
            .unwrap_or_default()
            .trim();
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
        use crate::call::param::Preparing;
        use crate::error::Error;
        use crate::generated::types;
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
    crate::generators::format::unparse(file)
}

//! `crisp-api/src/generated/types.rs`: the types, by progenitor (and the builder signatures
//! the client generator mirrors).
//!
//! Builder style, tags merged: every operation is a method on `Client` returning a builder
//! (`client.get_conversation().website_id(..).session_id(..).send()`). Builders suit this API
//! because its list routes take up to 18 optional query parameters; positional methods would
//! make every call spell out each of them as `None`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle, TypeImpl};
use quote::quote;

use crate::Error;
use crate::spec::{MESSAGE_CONTENT, Spec};

/// Runs progenitor over the spec, as a syntax tree: its types, and its client, whose builder
/// setters the client generator (`builders.rs`) reads for their signatures.
pub(crate) fn generate(spec: &Spec) -> Result<syn::File, Error> {
    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        .with_hooks(HooksMode::Expected)
        .with_inner_type(quote!(crate::call::Context))
        .with_derive("PartialEq");
    // String enums become the open enums of `enums.rs`, which keep values Crisp adds later.
    for e in &spec.enums {
        settings.with_replacement(
            &e.name,
            format!("crate::generated::enums::{}", e.name),
            [TypeImpl::Display, TypeImpl::FromStr].into_iter(),
        );
    }
    // Message content depends on the message's type: `message_content.rs` holds it as JSON, and
    // `content.rs` decodes it.
    if spec.schema(MESSAGE_CONTENT).is_some() {
        settings.with_replacement(
            MESSAGE_CONTENT,
            format!("crate::generated::message_content::{MESSAGE_CONTENT}"),
            std::iter::empty(),
        );
    }
    // Components the spec maps to a hand-written type, such as secrets with a redacted Debug.
    for (name, path) in &spec.rust_types {
        settings.with_replacement(name, path, std::iter::empty());
    }
    let mut generator = Generator::new(&settings);
    // progenitor panics on some inputs that lint does not know about yet: turn that into an
    // error that says so instead of a backtrace.
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = catch_unwind(AssertUnwindSafe(|| {
        generator.generate_tokens(&spec.openapi)
    }));
    std::panic::set_hook(previous_hook);
    let tokens = match result {
        Ok(Ok(tokens)) => tokens,
        Ok(Err(e)) => return Err(Error(format!("progenitor rejected the spec: {e}"))),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            return Err(Error(format!(
                "progenitor panicked on the spec: {msg}\n\
                 Add a lint for this case in xtask/src/lint/ so it is reported by operation."
            )));
        }
    };
    syn::parse2(tokens)
        .map_err(|e| Error(format!("progenitor produced code that does not parse: {e}")))
}

/// progenitor's `types` module, as a file of its own: the request and response types. Its
/// client is left out: `builders.rs` generates the client, around the hand-written call pipeline.
pub(crate) fn types_only(file: &syn::File) -> Result<syn::File, Error> {
    let types = file
        .items
        .iter()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == "types" => m.content.as_ref(),
            _ => None,
        })
        .ok_or_else(|| Error("progenitor generated no `types` module".into()))?;
    let mut out = file.clone();
    out.attrs.clear();
    out.items = types.1.clone();
    Ok(out)
}

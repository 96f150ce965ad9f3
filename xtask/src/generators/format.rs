//! Writing generated Rust: tokens formatted by prettyplease, doc attributes from a
//! description, and text as a raw string literal.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use crate::Error;

/// Formats tokens as a Rust file with prettyplease.
pub(crate) fn unparse(tokens: TokenStream) -> Result<String, Error> {
    let file: syn::File = syn::parse2(tokens).map_err(|e| {
        Error(format!(
            "generated code does not parse (a generator bug): {e}"
        ))
    })?;
    Ok(prettyplease::unparse(&file))
}

/// `#[doc]` attributes for a description, one per line, each with the leading space rustdoc
/// expects.
pub(crate) fn doc_lines(text: &str) -> Vec<TokenStream> {
    text.trim()
        .lines()
        .map(|line| {
            let line = if line.is_empty() {
                String::new()
            } else {
                format!(" {line}")
            };
            quote!(#[doc = #line])
        })
        .collect()
}

/// `text` as a raw string literal (`r#"..."#`), with as many `#` as it needs.
pub(crate) fn raw_literal(text: &str) -> Result<Literal, Error> {
    let mut hashes = String::from("#");
    while text.contains(&format!("\"{hashes}")) {
        hashes.push('#');
    }
    format!("r{hashes}\"{text}\"{hashes}")
        .parse()
        .map_err(|e| Error(format!("cannot quote generated text as a literal: {e}")))
}

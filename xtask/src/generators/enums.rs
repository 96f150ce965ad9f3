//! Open string enums: each known value is a variant, and `Unknown(String)` keeps any value
//! Crisp adds later, so decoding never fails on a new value and re-encoding keeps its text.

use heck::ToUpperCamelCase;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::Error;
use crate::spec::{Spec, StringEnum};

/// Generates `enums.rs`.
pub(crate) fn generate(spec: &Spec) -> Result<String, Error> {
    let items = spec.enums.iter().map(one);
    let file = quote! {
        //! Open string enums declared in the spec.
        #(#items)*
    };
    crate::generators::format::unparse(file)
}

fn one(e: &StringEnum) -> TokenStream {
    let name = format_ident!("{}", e.name);
    let doc = crate::generators::format::doc_lines(&e.description);
    let variants: Vec<_> = e
        .values
        .iter()
        .map(|v| format_ident!("{}", v.to_upper_camel_case()))
        .collect();
    let variant_docs = e.values.iter().map(|v| format!(" `{v}`"));
    let values = &e.values;
    quote! {
        #(#doc)*
        ///
        /// Open: a value this version of the crate does not know decodes as `Unknown` and
        /// keeps its text, so re-encoding gives Crisp's value back.
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum #name {
            #(
                #[doc = #variant_docs]
                #variants,
            )*
            /// A value this version of the crate does not know, as Crisp sent it.
            Unknown(String),
        }

        impl #name {
            /// Every value this version of the crate knows, in the spec's order.
            pub const KNOWN: &'static [Self] = &[#(Self::#variants),*];

            /// The value as Crisp spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    #(Self::#variants => #values,)*
                    Self::Unknown(value) => value,
                }
            }

            /// The known variant spelled `value`, if there is one.
            pub fn from_known(value: &str) -> Option<Self> {
                match value {
                    #(#values => Some(Self::#variants),)*
                    _ => None,
                }
            }
        }

        crate::open_enum::impl_open_enum!(#name);
    }
}

//! Webhook events: one `Event` that dispatches on the delivery's `event` name into a typed
//! variant, with a variant for unknown events that keeps their raw data. No untagged enums:
//! the name alone picks the type, so a payload error names the event it belongs to.

use heck::ToUpperCamelCase;
use quote::{format_ident, quote};

use crate::Error;
use crate::spec::Spec;

/// The `Event` variant of a webhook event name (`message:send` -> `MessageSend`).
pub(crate) fn variant(name: &str) -> proc_macro2::Ident {
    format_ident!("{}", name.to_upper_camel_case())
}

/// Generates `events.rs`.
pub(crate) fn generate(spec: &Spec) -> Result<String, Error> {
    let mut variants = Vec::new();
    let mut name_arms = Vec::new();
    let mut parse_arms = Vec::new();
    let mut names = Vec::new();
    for hook in &spec.webhooks {
        let name = &hook.name;
        let variant = variant(name);
        let schema = format_ident!("{}", hook.schema);
        let mut doc = crate::generators::format::doc_lines(&format!("`{name}`: {}", hook.summary));
        let triggered = if hook.triggered_by.is_empty() {
            " Triggered in the Crisp app only.".to_owned()
        } else {
            let ops: Vec<String> = hook
                .triggered_by
                .iter()
                .map(|id| format!("`{id}`"))
                .collect();
            format!(" Triggered by {}.", ops.join(", "))
        };
        doc.push(quote!(#[doc = ""]));
        doc.push(quote!(#[doc = #triggered]));
        variants.push(quote! {
            #(#doc)*
            #variant(Box<super::types::#schema>),
        });
        name_arms.push(quote!(Self::#variant(_) => #name,));
        parse_arms.push(quote! {
            #name => Self::#variant(Box::new(object(data)?)),
        });
        names.push(name.clone());
    }
    let file = quote! {
        //! Webhook events, dispatched on their name.

        use serde_json::value::RawValue;

        /// A webhook event, typed by its `event` name.
        ///
        /// Events this version of the crate does not know parse into [`Event::Unknown`], never
        /// into an error, so a receiver keeps working when Crisp adds an event.
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum Event {
            #(#variants)*
            /// An event this version of the crate does not know.
            Unknown {
                /// The event name, as Crisp sent it.
                name: String,
                /// The event's `data`, as Crisp sent it.
                data: serde_json::Value,
            },
        }

        /// Decodes the data of a known event. It is always an object: serde would also read a
        /// struct from an array of its fields, which must not be mistaken for a payload.
        fn object<T: serde::de::DeserializeOwned>(data: &RawValue) -> Result<T, serde_json::Error> {
            if !data.get().starts_with('{') {
                return Err(serde::de::Error::custom("the data is not a JSON object"));
            }
            serde_json::from_str(data.get())
        }

        impl Event {
            /// The name of every event this version of the crate knows, as Crisp spells it.
            pub const NAMES: &'static [&'static str] = &[#(#names),*];

            /// The event name as Crisp spells it, such as `message:send`.
            pub fn name(&self) -> &str {
                match self {
                    #(#name_arms)*
                    Self::Unknown { name, .. } => name,
                }
            }

            /// Whether this is an event this version of the crate does not know.
            pub fn is_unknown(&self) -> bool {
                matches!(self, Self::Unknown { .. })
            }

            /// Builds the event from its name and its raw `data`. An unknown name gives
            /// [`Event::Unknown`] with whatever data it has; a known name needs a JSON object
            /// that fits its type.
            pub fn from_parts(name: &str, data: &RawValue) -> Result<Self, serde_json::Error> {
                Ok(match name {
                    #(#parse_arms)*
                    _ => Self::Unknown {
                        name: name.to_owned(),
                        data: serde_json::from_str(data.get())?,
                    },
                })
            }
        }
    };
    crate::generators::format::unparse(file)
}

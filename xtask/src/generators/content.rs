//! Message content: its JSON shape depends on the message's `type`, which lives beside it in the
//! parent object. progenitor cannot express that, so `MessageContent` keeps the JSON as Crisp
//! sent it and `Content` decodes it by type, from the spec's `x-crisp-content-by-type` map.

use heck::ToUpperCamelCase;
use quote::{format_ident, quote};

use crate::Error;
use crate::spec::{ContentShape, MESSAGE_CONTENT, MESSAGE_TYPE, Spec};
use crate::yaml::str_field;

/// Generates `message_content.rs`: `MessageContent`, the JSON as Crisp sent it. A leaf that the
/// types (which hold it) and `content.rs` (which decodes it) both import.
pub(crate) fn generate_message_content(spec: &Spec) -> Result<String, Error> {
    let Some(schema) = spec.schema(MESSAGE_CONTENT) else {
        return crate::generators::format::unparse(quote! {
            //! The spec declares no message content.
        });
    };
    let doc =
        crate::generators::format::doc_lines(str_field(schema, "description").unwrap_or_default());
    crate::generators::format::unparse(quote! {
        //! A message's content as Crisp sent it, before it is decoded by message type.

        use serde::{Deserialize, Serialize};

        #(#doc)*
        ///
        /// This holds the JSON as Crisp sent it;
        /// [`Content::decode`](super::content::Content::decode) reads it by message type.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct MessageContent(pub serde_json::Value);

        impl MessageContent {
            /// The content as a string, for `text` and `note` messages.
            pub fn as_str(&self) -> Option<&str> {
                self.0.as_str()
            }
        }
    })
}

/// Generates `content.rs`: `Content`, decoded by message type.
pub(crate) fn generate(spec: &Spec) -> Result<String, Error> {
    if spec.schema(MESSAGE_CONTENT).is_none() {
        return crate::generators::format::unparse(quote! {
            //! The spec declares no message content.
        });
    }
    let message_type = format_ident!("{MESSAGE_TYPE}");
    let mut variants = Vec::new();
    let mut decode_arms = Vec::new();
    let mut type_arms = Vec::new();
    let mut encode_arms = Vec::new();
    for (ty, shape) in &spec.content_by_type {
        let variant = format_ident!("{}", ty.to_upper_camel_case());
        let (payload, doc) = match shape {
            ContentShape::String => (quote!(String), format!(" `{ty}`: a plain string.")),
            ContentShape::Schema(name) => {
                let name = format_ident!("{name}");
                (
                    quote!(super::types::#name),
                    format!(" `{ty}`: see [`{name}`](super::types::{name})."),
                )
            }
        };
        variants.push(quote! {
            #[doc = #doc]
            #variant(#payload),
        });
        decode_arms.push(quote! {
            #message_type::#variant => Self::#variant(<#payload>::deserialize(&content.0)?),
        });
        type_arms.push(quote!(Self::#variant(_) => #message_type::#variant,));
        encode_arms.push(quote! {
            Self::#variant(value) => (#message_type::#variant, serde_json::to_value(value)?),
        });
    }
    let file = quote! {
        //! Message content, decoded by message type.

        use serde::Deserialize;

        use super::enums::#message_type;
        use super::message_content::MessageContent;

        /// The content of a message, decoded according to its type.
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum Content {
            #(#variants)*
            /// A message type this version of the crate does not know, with its raw content.
            Unknown {
                /// The type, as Crisp sent it.
                message_type: #message_type,
                /// The content, as Crisp sent it.
                content: serde_json::Value,
            },
        }

        impl Content {
            /// Decodes `content` according to `message_type`. An unknown type is not an error:
            /// it gives [`Content::Unknown`]. A known type whose content has another shape is.
            pub fn decode(
                message_type: &#message_type,
                content: &MessageContent,
            ) -> Result<Self, serde_json::Error> {
                Ok(match message_type {
                    #(#decode_arms)*
                    other => Self::Unknown {
                        message_type: other.clone(),
                        content: content.0.clone(),
                    },
                })
            }

            /// The message type this content belongs to.
            pub fn message_type(&self) -> #message_type {
                match self {
                    #(#type_arms)*
                    Self::Unknown { message_type, .. } => message_type.clone(),
                }
            }

            /// Splits the content into the `type` and `content` fields of a message body.
            pub fn into_parts(self) -> Result<(#message_type, MessageContent), serde_json::Error> {
                let (message_type, value) = match self {
                    #(#encode_arms)*
                    Self::Unknown { message_type, content } => (message_type, content),
                };
                Ok((message_type, MessageContent(value)))
            }
        }
    };
    crate::generators::format::unparse(file)
}

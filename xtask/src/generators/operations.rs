//! The operations table: one `Operation` constant per method of the spec, with the scope,
//! access level, webhook event, effect and paging from its extensions, and `Operation::ALL`.

use heck::{ToShoutySnakeCase, ToUpperCamelCase};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use crate::Error;
use crate::spec::{Paging, Spec};

/// Generates `operations.rs`.
pub(crate) fn generate(spec: &Spec) -> Result<String, Error> {
    let mut consts = Vec::new();
    let mut idents = Vec::new();
    for op in &spec.operations {
        let ident = format_ident!("{}", op.id.to_shouty_snake_case());
        let doc = format!(" `{} {}`: {}", op.method, op.path, op.summary);
        let method = format_ident!("{}", op.method.to_upper_camel_case());
        let access = format_ident!("{}", op.access.to_upper_camel_case());
        let webhook = match &op.webhook {
            Some(w) => quote!(Some(#w)),
            None => quote!(None),
        };
        let effect = match &op.effect {
            Some(e) => {
                let e = format_ident!("{}", e.to_upper_camel_case());
                quote!(Some(Effect::#e))
            }
            None => quote!(None),
        };
        let paging = paging(op.paging.as_ref());
        let (id, path, tag, summary, scope) = (&op.id, &op.path, &op.tag, &op.summary, &op.scope);
        consts.push(quote! {
            #[doc = #doc]
            pub const #ident: Operation = Operation {
                id: #id,
                method: Method::#method,
                path: #path,
                tag: #tag,
                summary: #summary,
                scope: #scope,
                access: Access::#access,
                webhook: #webhook,
                effect: #effect,
                paging: #paging,
            };
        });
        idents.push(ident);
    }
    let file = quote! {
        //! The table of operations, from the spec's `x-crisp-*` extensions.

        use crate::operation::{Access, Effect, Method, Operation, Paging};

        impl Operation {
            #(#consts)*

            /// Every operation, in the spec's order.
            pub const ALL: &'static [Operation] = &[#(Self::#idents),*];
        }
    };
    crate::generators::format::unparse(file)
}

/// The `paging` field of an operation constant.
fn paging(paging: Option<&Paging>) -> TokenStream {
    match paging {
        None => quote!(None),
        Some(Paging::PageNumber {
            page_size,
            per_page,
        }) => {
            let page_size = Literal::u32_unsuffixed(*page_size);
            let per_page = match per_page {
                Some(name) => quote!(Some(#name)),
                None => quote!(None),
            };
            quote!(Some(Paging::PageNumber {
                page_size: #page_size,
                per_page: #per_page,
            }))
        }
        Some(Paging::TimestampBefore) => quote!(Some(Paging::TimestampBefore)),
    }
}

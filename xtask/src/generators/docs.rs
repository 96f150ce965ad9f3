//! `docs/api.md`: the reference table of methods, grouped by area, and the webhook events.

use std::fmt::Write as _;

use crate::spec::{Paging, Spec};

/// Renders `docs/api.md` (without its `@generated` header line).
pub(crate) fn generate(spec: &Spec) -> String {
    let mut out = String::new();
    let title = spec.openapi.info.title.as_str();
    let base = spec
        .openapi
        .servers
        .first()
        .map(|s| s.url.as_str())
        .unwrap_or_default();
    let _ = writeln!(out, "# {title}: reference\n");
    let _ = writeln!(
        out,
        "Every method of the API, the plugin scope and access level it needs, and the webhook \
         event it fires. Paths are relative to `{base}`. This page is generated from \
         `spec/crisp.yaml` by `cargo xtask codegen`; change the spec, not this page.\n"
    );
    let _ = writeln!(
        out,
        "Effects: **irreversible** marks a method that deletes data; **customer-visible** marks \
         one whose result reaches a real person. Neither is ever retried automatically.\n"
    );
    let _ = writeln!(
        out,
        "Paging: **pages of N** marks a route paged by its `{{page_number}}` path parameter from 1, \
         whose pages hold N items unless the named query parameter asks for another size; the \
         last page is shorter than that, or empty. **`timestamp_before`** marks messages, paged \
         backwards by that query parameter until a batch comes back empty.\n"
    );
    let _ = writeln!(out, "## Methods\n");
    for tag in &spec.tags {
        let ops: Vec<_> = spec
            .operations
            .iter()
            .filter(|op| op.tag == tag.name)
            .collect();
        let _ = writeln!(out, "### {} ({})\n", tag.name, ops.len());
        let _ = writeln!(out, "{}\n", cell(&tag.description));
        let _ = writeln!(
            out,
            "| Method | Endpoint | What it does | Access | Permission | Webhook event | Paging | Rust |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
        for op in ops {
            let mut what = cell(&op.summary);
            if let Some(effect) = &op.effect {
                let _ = write!(what, " **{effect}**");
            }
            let webhook = op
                .webhook
                .as_deref()
                .map_or("none".to_owned(), |w| format!("`{w}`"));
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} | `{}` | {} | {} | `{}` |",
                op.method,
                op.path,
                what,
                op.access,
                op.scope,
                webhook,
                paging(op.paging.as_ref()),
                op.id
            );
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "## Webhook events ({})\n", spec.webhooks.len());
    let _ = writeln!(
        out,
        "Crisp posts these to a plugin's endpoint. `Rust` names the payload type in \
         `crisp_api::types`.\n"
    );
    let _ = writeln!(out, "| Event | What it signals | Triggered by | Rust |");
    let _ = writeln!(out, "|---|---|---|---|");
    for hook in &spec.webhooks {
        let triggered = if hook.triggered_by.is_empty() {
            "In-app only".to_owned()
        } else {
            hook.triggered_by
                .iter()
                .filter_map(|id| spec.operation(id))
                .map(|op| format!("`{} {}` (`{}`)", op.method, op.path, op.id))
                .collect::<Vec<_>>()
                .join("<br>")
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | `{}` |",
            hook.name,
            cell(&hook.summary),
            triggered,
            hook.schema
        );
    }
    out
}

/// The paging cell of an operation.
fn paging(paging: Option<&Paging>) -> String {
    match paging {
        None => "none".to_owned(),
        Some(Paging::PageNumber {
            page_size,
            per_page: Some(per_page),
        }) => format!("pages of {page_size} (`{per_page}`)"),
        Some(Paging::PageNumber { page_size, .. }) => format!("pages of {page_size}"),
        Some(Paging::TimestampBefore) => "`timestamp_before`".to_owned(),
    }
}

/// Text fit for a table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

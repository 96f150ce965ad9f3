//! `docs/api.md`: the reference table of methods, grouped by area, and the webhook events.

use std::fmt::Write as _;

use crate::spec::Spec;

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
            "| Method | Endpoint | What it does | Access | Permission | Webhook event | Rust |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|");
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
                "| {} | `{}` | {} | {} | `{}` | {} | `{}` |",
                op.method, op.path, what, op.access, op.scope, webhook, op.id
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

/// Text fit for a table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

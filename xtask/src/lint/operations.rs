//! Rules on each operation: its id, its one tag, its summary and its Crisp extensions (scope,
//! access, webhook, effect); then the parameter, paging, body, response and link rules, in
//! that order. What passes becomes the model's [`Operation`].

use std::collections::{BTreeMap, BTreeSet};

use heck::ToSnakeCase;
use serde_yaml::Value;

use super::bodies::{lint_body_example, lint_content_schemas, lint_responses};
use super::links::{LinkUse, collect_links, lint_links};
use super::paging::lint_paging;
use super::parameters::{lint_parameters, lint_path_template};
use crate::spec::{METHODS, Operation, Tag};
use crate::yaml::{deref, key_str, str_field};

/// The values of `x-crisp-access`.
const ACCESS: [&str; 2] = ["read", "write"];
/// The values of `x-crisp-effect`.
const EFFECTS: [&str; 2] = ["irreversible", "customer-visible"];

/// Every operation of `paths`, in the spec's order, with every rule that applies to it; the
/// links between operations are checked once all are known.
pub(super) fn lint_operations(
    raw: &Value,
    tags: &[Tag],
    webhook_names: &BTreeSet<String>,
    report: &mut impl FnMut(&str, String),
) -> Vec<Operation> {
    let mut operations: Vec<Operation> = Vec::new();
    // Path parameter name -> (its example, the operation that set it): one set of ids.
    let mut path_examples: BTreeMap<String, (Value, String)> = BTreeMap::new();
    // Every operation by id, and the response links found on the way, checked at the end.
    let mut by_id: BTreeMap<String, &Value> = BTreeMap::new();
    let mut links: Vec<LinkUse> = Vec::new();
    let Some(paths) = raw.get("paths").and_then(Value::as_mapping) else {
        report("spec", "`paths` is missing".into());
        return operations;
    };
    for (path, item) in paths {
        let path = key_str(path).unwrap_or_default();
        if item.get("$ref").is_some() {
            report(
                &format!("path {path}"),
                "path items must be inline, not $ref".into(),
            );
            continue;
        }
        // In the order the spec lists them, which is the order the docs show.
        let methods = item
            .as_mapping()
            .into_iter()
            .flatten()
            .filter_map(|(k, op)| {
                let k = key_str(k)?;
                METHODS.contains(&k.as_str()).then_some((k, op))
            });
        for (method, op) in methods {
            let id = str_field(op, "operationId").unwrap_or_default().to_owned();
            let place = if id.is_empty() {
                format!("operation {} {path}", method.to_uppercase())
            } else {
                format!("operation {id}")
            };
            let place = place.as_str();
            if id.is_empty() {
                report(place, "has no operationId".into());
            } else if id.to_snake_case() != id {
                report(place, "operationId must be snake_case".into());
            }
            if operations.iter().any(|o| o.id == id) {
                report(place, "operationId is used twice".into());
            }
            let op_tags: Vec<&str> = op
                .get("tags")
                .and_then(Value::as_sequence)
                .map(|s| s.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let tag = match op_tags.as_slice() {
                [one] => {
                    if !tags.iter().any(|t| t.name == *one) {
                        report(place, format!("tag `{one}` is not declared in `tags`"));
                    }
                    (*one).to_owned()
                }
                _ => {
                    report(
                        place,
                        format!("needs exactly one tag, has {}", op_tags.len()),
                    );
                    String::new()
                }
            };
            let summary = str_field(op, "summary")
                .unwrap_or_default()
                .trim()
                .to_owned();
            if summary.is_empty() {
                report(place, "has no summary".into());
            }
            let scope = str_field(op, "x-crisp-scope")
                .unwrap_or_default()
                .to_owned();
            if scope.is_empty() {
                report(
                    place,
                    "has no x-crisp-scope (the plugin scope it needs)".into(),
                );
            }
            let access = str_field(op, "x-crisp-access")
                .unwrap_or_default()
                .to_owned();
            if !ACCESS.contains(&access.as_str()) {
                report(place, "x-crisp-access must be `read` or `write`".into());
            }
            let webhook = str_field(op, "x-crisp-webhook").map(str::to_owned);
            if let Some(w) = &webhook
                && !webhook_names.contains(w)
            {
                report(
                    place,
                    format!("x-crisp-webhook `{w}` is not an event of x-crisp-webhooks"),
                );
            }
            let effect = str_field(op, "x-crisp-effect").map(str::to_owned);
            if let Some(e) = &effect
                && !EFFECTS.contains(&e.as_str())
            {
                report(
                    place,
                    format!("x-crisp-effect `{e}` must be one of {EFFECTS:?}"),
                );
            }
            lint_parameters(raw, op, place, &mut path_examples, report);
            let paging = lint_paging(raw, op, place, report);
            lint_responses(raw, op, place, report);
            collect_links(raw, op, place, &mut links, report);
            by_id.entry(id.clone()).or_insert(op);
            if let Some(body) = op.get("requestBody") {
                let body = deref(raw, body);
                lint_content_schemas(body, place, "requestBody", report);
                lint_body_example(raw, body, place, report);
            }
            let operation = Operation {
                id,
                method: method.to_uppercase(),
                path: path.clone(),
                tag,
                summary,
                scope,
                access,
                webhook,
                effect,
                paging,
            };
            lint_path_template(raw, op, &operation, place, report);
            operations.push(operation);
        }
    }
    if operations.is_empty() {
        report("spec", "has no operations".into());
    }
    lint_links(raw, &links, &by_id, report);
    operations
}

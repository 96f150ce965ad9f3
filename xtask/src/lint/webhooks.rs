//! Rules on `x-crisp-webhooks`: each event names its data schema, has a summary and an example
//! delivery, and agrees with the operations whose `x-crisp-webhook` fires it.

use serde_yaml::Value;

use crate::spec::{Operation, Webhook};
use crate::yaml::{get, key_str, schemas, str_field};

/// Every webhook event, checked against the operations that fire it.
pub(super) fn lint_webhooks(
    raw: &Value,
    operations: &[Operation],
    report: &mut impl FnMut(&str, String),
) -> Vec<Webhook> {
    let mut webhooks = Vec::new();
    let Some(map) = raw.get("x-crisp-webhooks").and_then(Value::as_mapping) else {
        report("spec", "`x-crisp-webhooks` is missing".into());
        return webhooks;
    };
    for (name, hook) in map {
        let name = key_str(name).unwrap_or_default();
        let place = format!("webhook {name}");
        let schema = str_field(hook, "schema").unwrap_or_default().to_owned();
        if schemas(raw).and_then(|s| get(s, &schema)).is_none() {
            report(
                &place,
                format!("`schema` must name a component schema, not `{schema}`"),
            );
        }
        let summary = str_field(hook, "summary")
            .unwrap_or_default()
            .trim()
            .to_owned();
        if summary.is_empty() {
            report(&place, "has no summary".into());
        }
        let triggered_by: Vec<String> = match hook.get("triggered_by").map(Value::as_sequence) {
            Some(Some(seq)) => seq.iter().filter_map(key_str).collect(),
            _ => {
                report(
                    &place,
                    "`triggered_by` must list operationIds ([] for in-app only)".into(),
                );
                Vec::new()
            }
        };
        for id in &triggered_by {
            match operations.iter().find(|op| &op.id == id) {
                None => report(
                    &place,
                    format!("triggered_by names unknown operation `{id}`"),
                ),
                Some(op) if op.webhook.as_deref() != Some(name.as_str()) => report(
                    &place,
                    format!("triggered_by names `{id}`, whose x-crisp-webhook is not `{name}`"),
                ),
                Some(_) => {}
            }
        }
        for op in operations {
            if op.webhook.as_deref() == Some(name.as_str()) && !triggered_by.contains(&op.id) {
                report(
                    &place,
                    format!("operation `{}` fires it but is not in triggered_by", op.id),
                );
            }
        }
        let example = hook.get("example").cloned().unwrap_or(Value::Null);
        if str_field(&example, "event") != Some(name.as_str())
            || example.get("data").and_then(Value::as_mapping).is_none()
        {
            report(
                &place,
                "needs an `example`: the full delivery, with `event` equal to the name and a `data` object"
                    .into(),
            );
        }
        webhooks.push(Webhook {
            name,
            schema,
            summary,
            triggered_by,
            example,
        });
    }
    webhooks
}

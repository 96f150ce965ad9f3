//! Rules on request and response bodies: one success response (`2XX`) with one JSON body, one
//! shared error body, media types with a schema, and a request body example to send.

use std::collections::BTreeSet;

use serde_yaml::Value;

use crate::yaml::{deref, get, key_str, str_field};

/// The one success response key: Crisp may answer any 2xx status, and every one is success.
const SUCCESS: &str = "2XX";

/// A request body has an example to send: the one under its media type, or its schema
/// component's. Where the schema lists required properties, the example has them.
pub(super) fn lint_body_example(
    raw: &Value,
    body: &Value,
    place: &str,
    report: &mut impl FnMut(&str, String),
) {
    let Some(content) = body.get("content").and_then(Value::as_mapping) else {
        return;
    };
    for (media, holder) in content {
        let media = key_str(media).unwrap_or_default();
        let schema = holder.get("schema").map(|s| deref(raw, s));
        let example = holder
            .get("example")
            .or_else(|| schema.and_then(|s| s.get("example")));
        let Some(example) = example else {
            report(
                place,
                format!(
                    "requestBody `{media}` has no example: give its schema component an \
                     `example`, or put one under the media type"
                ),
            );
            continue;
        };
        let Some(schema) = schema else { continue };
        let required: Vec<String> = schema
            .get("required")
            .and_then(Value::as_sequence)
            .map(|s| s.iter().filter_map(key_str).collect())
            .unwrap_or_default();
        let is_object = str_field(schema, "type") == Some("object") || !required.is_empty();
        match example.as_mapping() {
            None if is_object => report(
                place,
                format!("requestBody `{media}`: the example is not an object"),
            ),
            None => {}
            Some(map) => {
                for field in &required {
                    if get(map, field).is_none() {
                        report(
                            place,
                            format!(
                                "requestBody `{media}`: the example lacks the required `{field}`"
                            ),
                        );
                    }
                }
            }
        }
    }
}

/// One success response, `2XX`, with one JSON body; one error body schema on `4XX`/`5XX`; no
/// `default` response and no other status.
pub(super) fn lint_responses(
    raw: &Value,
    op: &Value,
    place: &str,
    report: &mut impl FnMut(&str, String),
) {
    let Some(responses) = op.get("responses").and_then(Value::as_mapping) else {
        report(place, "has no responses".into());
        return;
    };
    let mut success = Vec::new();
    let mut errors = BTreeSet::new();
    for (code, response) in responses {
        let code = key_str(code).unwrap_or_default();
        let response = deref(raw, response);
        if code == "default" {
            report(
                place,
                "has a `default` response: progenitor treats it as both success and error; \
                 use `4XX` and `5XX` with the shared ErrorEnvelope"
                    .into(),
            );
            continue;
        }
        let what = format!("response {code}");
        let schemas = lint_content_schemas(response, place, &what, report);
        if code.starts_with('2') {
            if code != SUCCESS {
                report(
                    place,
                    format!(
                        "response {code}: the success response is `{SUCCESS}`, since Crisp may \
                         answer any 2xx status"
                    ),
                );
            }
            success.push((code, schemas));
        } else if code.starts_with('4') || code.starts_with('5') {
            errors.extend(schemas);
        } else {
            report(
                place,
                format!("response {code}: only 2xx, 4XX and 5XX are used"),
            );
        }
    }
    if success.len() != 1 || success.iter().any(|(_, s)| s.len() != 1) {
        report(
            place,
            format!(
                "needs exactly one success response, `{SUCCESS}`, with one JSON body (the Crisp \
                 envelope); has {}",
                success.len()
            ),
        );
    }
    if errors.len() != 1 {
        report(
            place,
            format!(
                "needs exactly one error body schema on 4XX/5XX (the shared ErrorEnvelope), has {}",
                errors.len()
            ),
        );
    }
}

/// Checks a `content` map: every media type has a schema. Returns the schemas, as YAML text,
/// so callers can count distinct body types.
pub(super) fn lint_content_schemas(
    holder: &Value,
    place: &str,
    what: &str,
    report: &mut impl FnMut(&str, String),
) -> Vec<String> {
    let Some(content) = holder.get("content").and_then(Value::as_mapping) else {
        report(place, format!("{what} has no content"));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (media, body) in content {
        let media = key_str(media).unwrap_or_default();
        if media != "application/json" {
            report(
                place,
                format!("{what}: media type `{media}`: only application/json is used"),
            );
        }
        match body.get("schema") {
            Some(schema) => out.push(serde_yaml::to_string(schema).unwrap_or_default()),
            None => report(
                place,
                format!("{what}: media type `{media}` has no schema (progenitor panics on that)"),
            ),
        }
    }
    out
}

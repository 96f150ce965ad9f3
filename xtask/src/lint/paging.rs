//! Rules on `x-crisp-paging`: how a list route pages, and the parameters and item
//! timestamps each style needs. What passes becomes the model's [`Paging`].

use serde_yaml::Value;

use super::parameters::parameters;
use crate::spec::{PAGE_NUMBER, Paging, TIMESTAMP_BEFORE};
use crate::yaml::{deref, key_str, ref_name, resolve, str_field};

/// The component of the items a paged route lists: its success envelope's `data` must be an
/// array of a component (the client's `stream()` yields them).
fn paged_item(raw: &Value, op: &Value) -> Result<String, String> {
    let problem = || {
        "a paged route's success envelope needs `data: {type: array, items: {$ref: ...}}`"
            .to_owned()
    };
    let responses = op
        .get("responses")
        .and_then(Value::as_mapping)
        .ok_or_else(problem)?;
    let (_, success) = responses
        .iter()
        .find(|(k, _)| key_str(k).is_some_and(|k| k.starts_with('2')))
        .ok_or_else(problem)?;
    let schema = deref(raw, success)
        .get("content")
        .and_then(|c| c.get("application/json"))
        .and_then(|c| c.get("schema"))
        .ok_or_else(problem)?;
    let data = deref(raw, schema)
        .get("properties")
        .and_then(|p| p.get("data"))
        .ok_or_else(problem)?;
    let items = data
        .get("items")
        .filter(|_| str_field(data, "type") == Some("array"))
        .ok_or_else(problem)?;
    ref_name(items).map(str::to_owned).ok_or_else(problem)
}

/// `x-crisp-paging`: how a list route pages. A `{page_number}` path parameter and
/// `style: page_number` go together; `timestamp_before` paging needs its query parameter.
pub(super) fn lint_paging(
    raw: &Value,
    op: &Value,
    place: &str,
    report: &mut impl FnMut(&str, String),
) -> Option<Paging> {
    let has_param = |name: &str, location: &str| {
        parameters(raw, op)
            .any(|p| str_field(p, "name") == Some(name) && str_field(p, "in") == Some(location))
    };
    let page_number_param = has_param(PAGE_NUMBER, "path");
    let Some(ext) = op.get("x-crisp-paging") else {
        if page_number_param {
            report(
                place,
                format!(
                    "has a `{{{PAGE_NUMBER}}}` path parameter but no x-crisp-paging: add \
                     `{{style: {PAGE_NUMBER}, page_size: <the route's default page size>}}`"
                ),
            );
        }
        return None;
    };
    let Some(map) = ext.as_mapping() else {
        report(
            place,
            "x-crisp-paging must be a mapping with a `style`".into(),
        );
        return None;
    };
    for key in map.keys().filter_map(key_str) {
        if !["style", "page_size", "per_page"].contains(&key.as_str()) {
            report(
                place,
                format!("x-crisp-paging: unknown key `{key}` (style, page_size, per_page)"),
            );
        }
    }
    let style = str_field(ext, "style");
    match paged_item(raw, op) {
        Err(problem) => report(place, format!("x-crisp-paging: {problem}")),
        Ok(item) if style == Some(TIMESTAMP_BEFORE) => {
            let timestamp = resolve(raw, &format!("#/components/schemas/{item}"))
                .and_then(|s| s.get("properties")?.get("timestamp"));
            if timestamp.and_then(|t| str_field(t, "type")) != Some("integer") {
                report(
                    place,
                    format!(
                        "x-crisp-paging style `{TIMESTAMP_BEFORE}` walks by the items' \
                         timestamps: `{item}` needs an integer `timestamp` property"
                    ),
                );
            }
        }
        Ok(_) => {}
    }
    if page_number_param && style != Some(PAGE_NUMBER) {
        report(
            place,
            format!(
                "has a `{{{PAGE_NUMBER}}}` path parameter, so its x-crisp-paging style must be \
                 `{PAGE_NUMBER}`"
            ),
        );
    }
    match style {
        Some(PAGE_NUMBER) => {
            if !page_number_param {
                report(
                    place,
                    format!(
                        "x-crisp-paging style `{PAGE_NUMBER}` needs a `{{{PAGE_NUMBER}}}` path \
                         parameter"
                    ),
                );
            }
            let page_size = ext
                .get("page_size")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > 0);
            if page_size.is_none() {
                report(
                    place,
                    "x-crisp-paging: `page_size` (the route's default page size) must be a whole \
                     number above 0"
                        .into(),
                );
            }
            let per_page = match ext.get("per_page") {
                None => None,
                Some(value) => match value.as_str() {
                    Some(name) if has_param(name, "query") => Some(name.to_owned()),
                    _ => {
                        report(
                            place,
                            format!(
                                "x-crisp-paging: `per_page` must name a query parameter of the \
                                 operation, not {}",
                                serde_yaml::to_string(value).unwrap_or_default().trim()
                            ),
                        );
                        None
                    }
                },
            };
            page_size.map(|page_size| Paging::PageNumber {
                page_size,
                per_page,
            })
        }
        Some(TIMESTAMP_BEFORE) => {
            if ext.get("page_size").is_some() || ext.get("per_page").is_some() {
                report(
                    place,
                    format!(
                        "x-crisp-paging style `{TIMESTAMP_BEFORE}` takes no page_size or \
                         per_page: Crisp sets the batch size"
                    ),
                );
            }
            if !has_param(TIMESTAMP_BEFORE, "query") {
                report(
                    place,
                    format!(
                        "x-crisp-paging style `{TIMESTAMP_BEFORE}` needs a `{TIMESTAMP_BEFORE}` \
                         query parameter"
                    ),
                );
            }
            Some(Paging::TimestampBefore)
        }
        other => {
            report(
                place,
                format!(
                    "x-crisp-paging: unknown style {}: use `{PAGE_NUMBER}` or \
                     `{TIMESTAMP_BEFORE}`",
                    other.map_or("(none)".to_owned(), |s| format!("`{s}`"))
                ),
            );
            None
        }
    }
}

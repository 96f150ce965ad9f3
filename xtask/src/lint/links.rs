//! Rules on response links: each names an operation of the spec, sets only parameters that
//! operation has, and takes their values from places that exist.

use std::collections::BTreeMap;

use serde_yaml::Value;

use super::parameters::parameters;
use crate::yaml::{deref, get, key_str, str_field};

/// One OpenAPI `link` of a response, as found in the spec.
pub(super) struct LinkUse<'a> {
    /// `operation <id>` of the operation whose response holds the link.
    place: String,
    /// That operation.
    source: &'a Value,
    /// The response that holds the link.
    response: &'a Value,
    /// The link's name.
    name: String,
    /// Its `operationId`.
    target: String,
    /// Its `parameters`: name -> runtime expression or constant.
    parameters: Vec<(String, Value)>,
}

/// Reads the `links` of every response of an operation. A link names its target by
/// `operationId` (checked once every operation is known) and lists its parameters.
pub(super) fn collect_links<'a>(
    raw: &'a Value,
    op: &'a Value,
    place: &str,
    links: &mut Vec<LinkUse<'a>>,
    report: &mut impl FnMut(&str, String),
) {
    let Some(responses) = op.get("responses").and_then(Value::as_mapping) else {
        return;
    };
    for (code, response) in responses {
        let code = key_str(code).unwrap_or_default();
        let response = deref(raw, response);
        let Some(map) = response.get("links").and_then(Value::as_mapping) else {
            if response.get("links").is_some() {
                report(place, format!("response {code}: `links` must be a mapping"));
            }
            continue;
        };
        for (name, link) in map {
            let name = key_str(name).unwrap_or_default();
            let link = deref(raw, link);
            let Some(target) = str_field(link, "operationId") else {
                report(
                    place,
                    format!(
                        "response {code}: link `{name}` needs an `operationId` (operationRef is \
                         not used in this spec)"
                    ),
                );
                continue;
            };
            let parameters = link
                .get("parameters")
                .and_then(Value::as_mapping)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((key_str(k)?, v.clone())))
                        .collect()
                })
                .unwrap_or_default();
            links.push(LinkUse {
                place: place.to_owned(),
                source: op,
                response,
                name,
                target: target.to_owned(),
                parameters,
            });
        }
    }
}

/// Every link points at an operation of the spec, sets only parameters that operation has,
/// and takes them from places that exist: a parameter of the request, or a field of the
/// response body's schema.
pub(super) fn lint_links(
    raw: &Value,
    links: &[LinkUse<'_>],
    by_id: &BTreeMap<String, &Value>,
    report: &mut impl FnMut(&str, String),
) {
    for link in links {
        let place = link.place.as_str();
        let what = format!("link `{}`", link.name);
        let Some(target) = by_id.get(&link.target) else {
            report(
                place,
                format!(
                    "{what}: operationId `{}` is not an operation of the spec",
                    link.target
                ),
            );
            continue;
        };
        for (param, value) in &link.parameters {
            let exists = parameters(raw, target).any(|p| str_field(p, "name") == Some(param));
            if !exists {
                report(
                    place,
                    format!("{what}: `{}` has no parameter `{param}`", link.target),
                );
            }
            let Some(expression) = value.as_str().filter(|v| v.starts_with('$')) else {
                continue;
            };
            if let Err(why) = expression_resolves(raw, link.source, link.response, expression) {
                report(place, format!("{what}: parameter `{param}`: {why}"));
            }
        }
    }
}

/// Whether a link's runtime expression names something the source operation has:
/// `$request.path.<name>` / `$request.query.<name>` a parameter, `$response.body#/<pointer>`
/// a property of the response's JSON schema. Other expressions are not checked.
fn expression_resolves(
    raw: &Value,
    source: &Value,
    response: &Value,
    expression: &str,
) -> Result<(), String> {
    for location in ["path", "query"] {
        if let Some(name) = expression.strip_prefix(&format!("$request.{location}.")) {
            let found = parameters(raw, source).any(|p| {
                str_field(p, "name") == Some(name) && str_field(p, "in") == Some(location)
            });
            return if found {
                Ok(())
            } else {
                Err(format!(
                    "`{expression}`: the operation has no {location} parameter `{name}`"
                ))
            };
        }
    }
    let Some(pointer) = expression.strip_prefix("$response.body#") else {
        return Ok(());
    };
    let schema = response
        .get("content")
        .and_then(|c| c.get("application/json"))
        .and_then(|m| m.get("schema"))
        .ok_or_else(|| format!("`{expression}`: the response has no JSON schema"))?;
    let mut node = deref(raw, schema);
    for part in pointer.split('/').skip(1) {
        let part = part.replace("~1", "/").replace("~0", "~");
        if let Some([only]) = node
            .get("allOf")
            .and_then(Value::as_sequence)
            .map(Vec::as_slice)
        {
            node = deref(raw, only);
        }
        let next = if part.parse::<usize>().is_ok() && node.get("items").is_some() {
            node.get("items")
        } else {
            node.get("properties")
                .and_then(Value::as_mapping)
                .and_then(|props| get(props, &part))
        };
        node = deref(
            raw,
            next.ok_or_else(|| {
                format!("`{expression}`: the response body's schema has no `{part}` there")
            })?,
        );
    }
    Ok(())
}

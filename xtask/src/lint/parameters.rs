//! Rules on parameters: each has a schema (no inline enum) and a description, and path and
//! query parameters have an example that fits; one example per path id across the spec.

use std::collections::BTreeMap;

use serde_yaml::Value;

use crate::spec::Operation;
use crate::yaml::{deref, str_field};

/// Every parameter has a schema (no inline enum) and a description; every path and query
/// parameter has an `example` that fits its schema, and a path parameter has the same example
/// in every operation, so the spec holds one set of ids that tests and tools can reuse.
pub(super) fn lint_parameters(
    raw: &Value,
    op: &Value,
    place: &str,
    path_examples: &mut BTreeMap<String, (Value, String)>,
    report: &mut impl FnMut(&str, String),
) {
    for param in parameters(raw, op) {
        let name = str_field(param, "name").unwrap_or("?");
        let location = str_field(param, "in").unwrap_or_default();
        if matches!(location, "path" | "query") {
            match (param.get("example"), param.get("schema")) {
                (None, _) => report(
                    place,
                    format!(
                        "{location} parameter `{name}` has no `example` (tests and tools call \
                         every operation with its examples)"
                    ),
                ),
                (Some(example), Some(schema)) => {
                    if let Err(why) = example_fits(raw, schema, example) {
                        report(
                            place,
                            format!("{location} parameter `{name}`: its example {why}"),
                        );
                    }
                    if location == "path" {
                        let id = place.strip_prefix("operation ").unwrap_or(place);
                        match path_examples.get(name) {
                            Some((first, at)) if first != example => report(
                                place,
                                format!(
                                    "path parameter `{name}`: its example differs from the one in \
                                     {at}; use one value for each id across the spec"
                                ),
                            ),
                            Some(_) => {}
                            None => {
                                path_examples
                                    .insert(name.to_owned(), (example.clone(), id.to_owned()));
                            }
                        }
                    }
                }
                (Some(_), None) => {}
            }
        }
        match param.get("schema") {
            None => report(place, format!("parameter `{name}` has no schema")),
            Some(schema) if schema.get("enum").is_some() => report(
                place,
                format!(
                    "parameter `{name}` has an inline `enum`, which becomes a closed Rust enum: \
                     make it a string enum component and $ref it"
                ),
            ),
            Some(_) => {}
        }
        if param.get("description").is_none() {
            report(place, format!("parameter `{name}` has no description"));
        }
    }
}

/// The path template and the path parameters agree: every `{name}` in the path is a declared
/// path parameter, and every declared path parameter is in the path, once.
pub(super) fn lint_path_template(
    raw: &Value,
    op: &Value,
    operation: &Operation,
    place: &str,
    report: &mut impl FnMut(&str, String),
) {
    let in_path = operation.path_params();
    let declared: Vec<&str> = parameters(raw, op)
        .filter(|p| str_field(p, "in") == Some("path"))
        .filter_map(|p| str_field(p, "name"))
        .collect();
    for name in &in_path {
        if !declared.contains(name) {
            report(
                place,
                format!("the path has `{{{name}}}`, which is not a declared path parameter"),
            );
        }
    }
    for name in &declared {
        match in_path.iter().filter(|n| *n == name).count() {
            1 => {}
            0 => report(
                place,
                format!(
                    "path parameter `{name}` is not in the path `{}`",
                    operation.path
                ),
            ),
            _ => report(
                place,
                format!("path parameter `{name}` is in the path more than once"),
            ),
        }
    }
}

/// Whether an example fits a parameter schema: its type, its bounds, and the values of a
/// string enum component. `Err` says what is wrong.
fn example_fits(raw: &Value, schema: &Value, example: &Value) -> Result<(), String> {
    let schema = deref(raw, schema);
    if let Some(values) = schema.get("enum").and_then(Value::as_sequence) {
        return if values.contains(example) {
            Ok(())
        } else {
            Err(format!(
                "{} is not one of the enum's values",
                serde_yaml::to_string(example).unwrap_or_default().trim()
            ))
        };
    }
    let fits = match str_field(schema, "type") {
        Some("integer") => example.as_i64().is_some() || example.as_u64().is_some(),
        Some("number") => example.is_number(),
        Some("string") => example.is_string(),
        Some("boolean") => example.is_bool(),
        _ => true,
    };
    if !fits {
        return Err(format!(
            "is not of type `{}`",
            str_field(schema, "type").unwrap_or_default()
        ));
    }
    if let Some(n) = example.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && n < min
        {
            return Err(format!("is below the minimum {min}"));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && n > max
        {
            return Err(format!("is above the maximum {max}"));
        }
    }
    Ok(())
}

/// The operation's parameters, `$ref`s followed.
pub(super) fn parameters<'a>(raw: &'a Value, op: &'a Value) -> impl Iterator<Item = &'a Value> {
    op.get("parameters")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .map(move |param| deref(raw, param))
}

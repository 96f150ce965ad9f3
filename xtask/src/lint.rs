//! Lints the spec before anything is generated, so that a mistake is reported by operation,
//! schema or webhook instead of as a panic inside progenitor.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use heck::{ToSnakeCase, ToUpperCamelCase};
use serde_yaml::{Mapping, Value};

use crate::spec::{
    ContentShape, MESSAGE_CONTENT, MESSAGE_TYPE, METHODS, Operation, PAGE_NUMBER, Paging,
    StringEnum, TIMESTAMP_BEFORE, Tag, Webhook, get, key_str, schemas, str_field,
};

/// One problem in the spec: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `operation list_conversations`, `schema Conversation`, `webhook message:send`, ...
    pub place: String,
    /// What is wrong, and what to do where it isn't obvious.
    pub message: String,
}

impl Problem {
    pub(crate) fn new(place: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            place: place.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

/// What lint extracts on the way.
pub(crate) struct Extracted {
    pub tags: Vec<Tag>,
    pub operations: Vec<Operation>,
    pub enums: Vec<StringEnum>,
    pub rust_types: Vec<(String, String)>,
    pub webhooks: Vec<Webhook>,
    pub content_by_type: Vec<(String, ContentShape)>,
}

const ACCESS: [&str; 2] = ["read", "write"];
/// The one success response key: Crisp may answer any 2xx status, and every one is success.
const SUCCESS: &str = "2XX";
const EFFECTS: [&str; 2] = ["irreversible", "customer-visible"];

/// Lints the whole spec and extracts what the generators need.
pub(crate) fn lint(raw: &Value) -> Result<Extracted, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut report = |place: &str, message: String| problems.push(Problem::new(place, message));

    if str_field(raw, "openapi") != Some("3.0.3") {
        report("spec", "`openapi` must be \"3.0.3\"".into());
    }
    if raw.get("servers").and_then(Value::as_sequence).is_none() {
        report("spec", "`servers` must list the API's base URL".into());
    }

    // References: local only, and they must resolve.
    walk(raw, "spec", &mut |place, value| {
        if let Some(r) = str_field(value, "$ref") {
            if !r.starts_with("#/") {
                report(
                    place,
                    format!("external $ref `{r}`: progenitor panics on these; inline the schema"),
                );
            } else if resolve(raw, r).is_none() {
                report(place, format!("$ref `{r}` points at nothing"));
            }
        }
    });

    let tags = lint_tags(raw, &mut report);
    let (enums, rust_types) = lint_schemas(raw, &mut report);
    let webhook_names: BTreeSet<String> = raw
        .get("x-crisp-webhooks")
        .and_then(Value::as_mapping)
        .map(|m| m.keys().filter_map(key_str).collect())
        .unwrap_or_default();
    let operations = lint_operations(raw, &tags, &webhook_names, &mut report);
    let webhooks = lint_webhooks(raw, &operations, &mut report);
    let content_by_type = lint_content(raw, &enums, &mut report);

    if problems.is_empty() {
        Ok(Extracted {
            tags,
            operations,
            enums,
            rust_types,
            webhooks,
            content_by_type,
        })
    } else {
        Err(problems)
    }
}

fn lint_tags(raw: &Value, report: &mut impl FnMut(&str, String)) -> Vec<Tag> {
    let mut tags = Vec::new();
    let Some(seq) = raw.get("tags").and_then(Value::as_sequence) else {
        report("spec", "`tags` must list the API's areas".into());
        return tags;
    };
    for tag in seq {
        let name = str_field(tag, "name").unwrap_or_default().to_owned();
        let description = str_field(tag, "description").unwrap_or_default().trim();
        if name.is_empty() || description.is_empty() {
            report(
                &format!("tag {name:?}"),
                "every tag needs a name and a description".into(),
            );
        }
        if tags.iter().any(|t: &Tag| t.name == name) {
            report(&format!("tag {name}"), "is declared twice".into());
        }
        tags.push(Tag {
            name,
            description: description.to_owned(),
        });
    }
    tags
}

fn lint_operations(
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
            operations.push(Operation {
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
            });
        }
    }
    if operations.is_empty() {
        report("spec", "has no operations".into());
    }
    lint_links(raw, &links, &by_id, report);
    operations
}

/// One OpenAPI `link` of a response, as found in the spec.
struct LinkUse<'a> {
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
fn collect_links<'a>(
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
fn lint_links(
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

/// Every parameter has a schema (no inline enum) and a description; every path and query
/// parameter has an `example` that fits its schema, and a path parameter has the same example
/// in every operation, so the spec holds one set of ids that tests and tools can reuse.
fn lint_parameters(
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

/// A request body has an example to send: the one under its media type, or its schema
/// component's. Where the schema lists required properties, the example has them.
fn lint_body_example(
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

/// The operation's parameters, `$ref`s followed.
fn parameters<'a>(raw: &'a Value, op: &'a Value) -> impl Iterator<Item = &'a Value> {
    op.get("parameters")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .map(move |param| deref(raw, param))
}

/// `x-crisp-paging`: how a list route pages. A `{page_number}` path parameter and
/// `style: page_number` go together; `timestamp_before` paging needs its query parameter.
fn lint_paging(
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

fn lint_responses(raw: &Value, op: &Value, place: &str, report: &mut impl FnMut(&str, String)) {
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
fn lint_content_schemas(
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

/// Lints every component schema; returns the string enums and the `x-crisp-rust-type`
/// replacements (component name, Rust path).
fn lint_schemas(
    raw: &Value,
    report: &mut impl FnMut(&str, String),
) -> (Vec<StringEnum>, Vec<(String, String)>) {
    let mut enums = Vec::new();
    let mut rust_types = Vec::new();
    let Some(schemas) = schemas(raw) else {
        report("spec", "`components/schemas` is missing".into());
        return (enums, rust_types);
    };
    let mut rust_names: BTreeMap<String, String> = BTreeMap::new();
    for (name, schema) in schemas {
        let name = key_str(name).unwrap_or_default();
        let place = format!("schema {name}");
        let rust = name.to_upper_camel_case();
        if rust != name {
            report(
                &place,
                format!("component names are UpperCamelCase (`{rust}`)"),
            );
        }
        if let Some(other) = rust_names.insert(rust.clone(), name.clone()) {
            report(
                &place,
                format!("its Rust name `{rust}` collides with schema {other}"),
            );
        }
        if schema.get("example").is_none() {
            report(
                &place,
                "has no `example` (every schema is decoded from its example in tests)".into(),
            );
        }
        if schema.get("description").is_none() {
            report(&place, "has no description".into());
        }
        if let Some(values) = schema.get("enum") {
            if str_field(schema, "type") != Some("string") {
                report(&place, "only string enums are supported".into());
            }
            let values: Vec<String> = values
                .as_sequence()
                .map(|s| s.iter().filter_map(key_str).collect())
                .unwrap_or_default();
            let mut variants = BTreeSet::new();
            for v in &values {
                let variant = v.to_upper_camel_case();
                if variant.is_empty() || variant == "Unknown" || !variants.insert(variant.clone()) {
                    report(
                        &place,
                        format!(
                            "enum value `{v}` gives an unusable or duplicate variant `{variant}`"
                        ),
                    );
                }
            }
            enums.push(StringEnum {
                name: name.clone(),
                description: str_field(schema, "description")
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
                values,
            });
        }
        if let Some(path) = schema.get("x-crisp-rust-type") {
            match path.as_str() {
                Some(path) if path.starts_with("crate::") => {
                    rust_types.push((name.clone(), path.to_owned()));
                }
                _ => report(
                    &place,
                    "x-crisp-rust-type must be a path in this crate (`crate::...`)".into(),
                ),
            }
        }
        walk(schema, &place, &mut |at, value| {
            lint_schema_node(at, value, schema, report);
        });
        lint_inline_names(&name, schema, schemas, report);
    }
    (enums, rust_types)
}

/// Forward compatibility: nothing denies unknown fields, no patterns, no closed inline enums.
fn lint_schema_node(
    at: &str,
    value: &Value,
    component: &Value,
    report: &mut impl FnMut(&str, String),
) {
    let Some(map) = value.as_mapping() else {
        return;
    };
    if get(map, "additionalProperties") == Some(&Value::Bool(false)) {
        report(
            at,
            "`additionalProperties: false`: Crisp adds fields in place; never deny unknown fields"
                .into(),
        );
    }
    if get(map, "pattern").is_some() {
        report(at, "`pattern`: not allowed on what we receive".into());
    }
    if get(map, "enum").is_some() && !std::ptr::eq(value, component) {
        report(
            at,
            "inline `enum` becomes a closed Rust enum: make it a string enum component and $ref it"
                .into(),
        );
    }
    if get(map, "discriminator").is_some() {
        report(
            at,
            "`discriminator` is ignored by progenitor; dispatch in generated code instead".into(),
        );
    }
}

/// An inline object property gets the Rust name Parent+Property (or its title); it must not
/// collide with a component.
fn lint_inline_names(
    name: &str,
    schema: &Value,
    schemas: &Mapping,
    report: &mut impl FnMut(&str, String),
) {
    let Some(props) = schema.get("properties").and_then(Value::as_mapping) else {
        return;
    };
    for (prop, prop_schema) in props {
        let prop = key_str(prop).unwrap_or_default();
        let inline_object = prop_schema.get("$ref").is_none()
            && (prop_schema.get("properties").is_some()
                || str_field(prop_schema, "type") == Some("object")
                    && prop_schema.get("additionalProperties").is_none());
        if !inline_object {
            continue;
        }
        let rust = match str_field(prop_schema, "title") {
            Some(title) => title.to_upper_camel_case(),
            None => format!("{name}{}", prop.to_upper_camel_case()),
        };
        if get(schemas, &rust).is_some() {
            report(
                &format!("schema {name}"),
                format!(
                    "inline object `{prop}` would be named `{rust}`, which is also a component: \
                     $ref the component or give the inline object another title"
                ),
            );
        }
    }
}

fn lint_webhooks(
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

fn lint_content(
    raw: &Value,
    enums: &[StringEnum],
    report: &mut impl FnMut(&str, String),
) -> Vec<(String, ContentShape)> {
    let mut out = Vec::new();
    let Some(schema) = schemas(raw).and_then(|s| get(s, MESSAGE_CONTENT)) else {
        return out;
    };
    let place = format!("schema {MESSAGE_CONTENT}");
    let Some(map) = schema
        .get("x-crisp-content-by-type")
        .and_then(Value::as_mapping)
    else {
        report(
            &place,
            "needs `x-crisp-content-by-type`: message type -> `string` or a component".into(),
        );
        return out;
    };
    let types = enums.iter().find(|e| e.name == MESSAGE_TYPE);
    for (ty, shape) in map {
        let ty = key_str(ty).unwrap_or_default();
        if types.is_some_and(|t| !t.values.contains(&ty)) {
            report(&place, format!("`{ty}` is not a value of {MESSAGE_TYPE}"));
        }
        let shape = match shape.as_str() {
            Some("string") => ContentShape::String,
            Some(name) if schemas(raw).and_then(|s| get(s, name)).is_some() => {
                ContentShape::Schema(name.to_owned())
            }
            _ => {
                report(
                    &place,
                    format!("content of `{ty}` must be `string` or a component name"),
                );
                continue;
            }
        };
        out.push((ty, shape));
    }
    if let Some(types) = types {
        for value in &types.values {
            if !out.iter().any(|(t, _)| t == value) {
                report(
                    &place,
                    format!("message type `{value}` has no content shape"),
                );
            }
        }
    }
    out
}

/// Follows one `$ref`, if the value is one.
fn deref<'a>(raw: &'a Value, value: &'a Value) -> &'a Value {
    str_field(value, "$ref")
        .and_then(|r| resolve(raw, r))
        .unwrap_or(value)
}

/// Resolves a local JSON pointer (`#/components/schemas/Name`).
fn resolve<'a>(raw: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix("#/")?;
    pointer.split('/').try_fold(raw, |node, part| {
        let part = part.replace("~1", "/").replace("~0", "~");
        get(node.as_mapping()?, &part)
    })
}

/// Visits every node of a YAML tree with a readable location.
fn walk(value: &Value, place: &str, visit: &mut impl FnMut(&str, &Value)) {
    visit(place, value);
    match value {
        Value::Mapping(map) => {
            for (k, v) in map {
                let key = key_str(k).unwrap_or_default();
                // Examples are data, not schema: don't lint their keys.
                if key == "example" {
                    continue;
                }
                walk(v, &format!("{place}.{key}"), visit);
            }
        }
        Value::Sequence(seq) => {
            for (i, v) in seq.iter().enumerate() {
                walk(v, &format!("{place}[{i}]"), visit);
            }
        }
        _ => {}
    }
}

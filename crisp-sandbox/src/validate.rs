//! Request validation from the spec: path and query parameters are read as their declared type
//! and checked against their schema, JSON bodies against the operation's request schema, with
//! the `jsonschema` crate. A failure is a 400 `invalid_data` that names the field. Fields the
//! schema does not declare are then dropped, as Crisp ignores them.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, Validator};
use parking_lot::Mutex;
use serde_json::{Map, Value};

use crate::envelope::ApiError;
use crate::generated::routes::SCHEMAS;
use crate::route::{Body, Location, Param, ParamType, Route};

/// The compiled validators of every route, and the converted component schemas.
pub(crate) struct Validators {
    defs: Value,
    routes: HashMap<&'static str, RouteValidator>,
    /// Validators of whole components (for fixtures), compiled on first use.
    components: Mutex<HashMap<String, Arc<Validator>>>,
}

struct RouteValidator {
    params: Vec<(&'static Param, Validator)>,
    body: Option<(&'static Body, Validator, Value)>,
}

/// A request's parameters and body, read as their types and validated.
#[derive(Debug, Default)]
pub(crate) struct Input {
    /// Path parameters by name.
    pub path: Map<String, Value>,
    /// The query parameters the operation declares, by name; others are ignored.
    pub query: Map<String, Value>,
    /// The JSON body, with undeclared fields removed.
    pub body: Option<Value>,
}

impl Input {
    /// A path parameter as a string.
    pub fn path_str(&self, name: &str) -> &str {
        self.path.get(name).and_then(Value::as_str).unwrap_or("")
    }

    /// A path parameter as an integer.
    pub fn path_i64(&self, name: &str) -> Option<i64> {
        self.path.get(name).and_then(Value::as_i64)
    }

    /// A query parameter as a string.
    pub fn query_str(&self, name: &str) -> Option<&str> {
        self.query.get(name).and_then(Value::as_str)
    }

    /// A query parameter as an integer.
    pub fn query_i64(&self, name: &str) -> Option<i64> {
        self.query.get(name).and_then(Value::as_i64)
    }

    /// Whether a `0`/`1` query flag is set to 1.
    pub fn flag(&self, name: &str) -> bool {
        self.query_i64(name) == Some(1)
    }

    /// The body, or an empty object.
    pub fn body(&self) -> &Value {
        static EMPTY: Value = Value::Null;
        self.body.as_ref().unwrap_or(&EMPTY)
    }
}

impl Validators {
    /// Compiles the validators of these routes. Fails only if the generated schemas are broken,
    /// which the tests catch.
    pub fn new(routes: &[Route]) -> Result<Self, String> {
        let defs: Value = serde_json::from_str(SCHEMAS).map_err(|e| format!("SCHEMAS: {e}"))?;
        let mut compiled = HashMap::new();
        for route in routes {
            let mut params = Vec::new();
            for param in route.facts.params {
                let validator = compile(&defs, param.schema)
                    .map_err(|e| format!("{} parameter {}: {e}", route.op.id, param.name))?;
                params.push((param, validator));
            }
            let body = match &route.facts.body {
                Some(body) => {
                    let validator = compile(&defs, body.schema)
                        .map_err(|e| format!("{} body: {e}", route.op.id))?;
                    let schema: Value = serde_json::from_str(body.schema)
                        .map_err(|e| format!("{} body: {e}", route.op.id))?;
                    Some((body, validator, schema))
                }
                None => None,
            };
            compiled.insert(route.op.id, RouteValidator { params, body });
        }
        Ok(Self {
            defs,
            routes: compiled,
            components: Mutex::new(HashMap::new()),
        })
    }

    /// The validators of every route of the spec, compiled once per process.
    pub fn shared() -> Result<Arc<Self>, String> {
        static SHARED: OnceLock<Result<Arc<Validators>, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| Self::new(&crate::table::routes()).map(Arc::new))
            .clone()
    }

    /// Reads and validates a request of operation `id`.
    pub fn check(
        &self,
        id: &str,
        path: &[(String, String)],
        query: &[(String, String)],
        body: &[u8],
    ) -> Result<Input, ApiError> {
        let Some(route) = self.routes.get(id) else {
            return Ok(Input::default());
        };
        let mut input = Input::default();
        if let Some((name, _)) = query.iter().find(|(name, _)| {
            !route
                .params
                .iter()
                .any(|(p, _)| p.location == Location::Query && p.name == name)
        }) {
            return Err(ApiError::invalid(format!(
                "query parameter `{name}` is not a parameter of this route"
            )));
        }
        // Every query parameter of the spec takes one value: a second one is refused rather
        // than one of them dropped.
        for (param, _) in &route.params {
            let given = query.iter().filter(|(name, _)| name == param.name).count();
            if param.location == Location::Query && given > 1 {
                return Err(ApiError::invalid(format!(
                    "query parameter `{}` is given {given} times, but it takes one value",
                    param.name
                )));
            }
        }
        for (param, validator) in &route.params {
            let (raw, place) = match param.location {
                Location::Path => (find(path, param.name), "path parameter"),
                Location::Query => (find(query, param.name), "query parameter"),
            };
            let Some(raw) = raw else {
                if param.required {
                    return Err(ApiError::invalid(format!(
                        "{place} `{}` is required",
                        param.name
                    )));
                }
                continue;
            };
            let value = coerce(raw, param.ty).ok_or_else(|| {
                ApiError::invalid(format!(
                    "{place} `{}` must be {}, got {raw:?}",
                    param.name,
                    type_name(param.ty)
                ))
            })?;
            if let Err(error) = validator.validate(&value) {
                return Err(ApiError::invalid(format!(
                    "{place} `{}`: {error}",
                    param.name
                )));
            }
            let target = match param.location {
                Location::Path => &mut input.path,
                Location::Query => &mut input.query,
            };
            target.insert(param.name.to_owned(), value);
        }
        if let Some((spec, validator, schema)) = &route.body {
            let text = body.trim_ascii();
            if text.is_empty() {
                if spec.required {
                    return Err(ApiError::invalid("a JSON request body is required"));
                }
            } else {
                let mut value: Value = serde_json::from_slice(text).map_err(|e| {
                    ApiError::invalid(format!("the request body is not valid JSON: {e}"))
                })?;
                if let Some(error) = validator.iter_errors(&value).next() {
                    return Err(ApiError::invalid(describe(&error, "request body")));
                }
                if let Some(field) = oversized_integer(&value, schema, &self.defs, "", 0) {
                    return Err(ApiError::invalid(format!(
                        "request body field `{field}` must be a 64-bit integer"
                    )));
                }
                prune(&mut value, schema, &self.defs, 0);
                input.body = Some(value);
            }
        }
        Ok(input)
    }

    /// Checks a value against a component schema (for fixtures), naming the first problem.
    pub fn check_component(&self, component: &str, value: &Value) -> Result<(), String> {
        let validator = {
            let mut cache = self.components.lock();
            match cache.get(component) {
                Some(v) => Arc::clone(v),
                None => {
                    let schema = format!(r##"{{"$ref":"#/$defs/{component}"}}"##);
                    let v = Arc::new(compile(&self.defs, &schema)?);
                    cache.insert(component.to_owned(), Arc::clone(&v));
                    v
                }
            }
        };
        match validator.iter_errors(value).next() {
            None => Ok(()),
            Some(error) => Err(describe(&error, "entry")),
        }
    }

    /// Removes the fields a component does not declare.
    pub fn prune_component(&self, component: &str, value: &mut Value) {
        if let Some(schema) = self.defs.get(component) {
            prune(value, schema, &self.defs, 1);
        }
    }
}

/// A validation error as a message that names the field.
fn describe(error: &jsonschema::ValidationError<'_>, what: &str) -> String {
    let mut field = dotted(&error.instance_path().to_string());
    if let ValidationErrorKind::Required { property } = error.kind() {
        if !field.is_empty() {
            field.push('.');
        }
        field.push_str(property.as_str().unwrap_or_default());
        return format!("{what} field `{field}` is required");
    }
    if field.is_empty() {
        format!("{what}: {error}")
    } else {
        format!("{what} field `{field}`: {error}")
    }
}

/// Compiles a schema, with the components it refers to (directly or not) as its `$defs`.
fn compile(defs: &Value, schema: &str) -> Result<Validator, String> {
    let mut schema: Value = serde_json::from_str(schema).map_err(|e| e.to_string())?;
    let mut names = BTreeSet::new();
    let mut pending = vec![schema.clone()];
    while let Some(node) = pending.pop() {
        refs(&node, &mut |name| {
            if names.insert(name.to_owned())
                && let Some(target) = defs.get(name)
            {
                pending.push(target.clone());
            }
        });
    }
    if !names.is_empty()
        && let Value::Object(map) = &mut schema
    {
        let used: serde_json::Map<String, Value> = names
            .into_iter()
            .filter_map(|n| Some((n.clone(), defs.get(&n)?.clone())))
            .collect();
        map.insert("$defs".to_owned(), Value::Object(used));
    }
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .build(&schema)
        .map_err(|e| e.to_string())
}

/// Calls `found` with the component name of every `$ref` in a schema.
fn refs(schema: &Value, found: &mut impl FnMut(&str)) {
    match schema {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        if let Some(name) = r.strip_prefix("#/$defs/") {
                            found(name);
                        }
                    }
                    _ => refs(v, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

fn find<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn coerce(raw: &str, ty: ParamType) -> Option<Value> {
    match ty {
        ParamType::String => Some(Value::String(raw.to_owned())),
        ParamType::Integer => {
            let digits = raw.strip_prefix('-').unwrap_or(raw);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // An integer too large for 64 bits is read as a float: still an integer for the
            // schema, whose bounds (if any) then refuse it.
            raw.parse::<i64>()
                .map(Value::from)
                .or_else(|_| raw.parse::<u64>().map(Value::from))
                .ok()
                .or_else(|| {
                    // Below i64::MIN or above u64::MAX, even where the float rounds back
                    // into range.
                    let f = raw.parse::<f64>().ok()?;
                    let f = if raw.starts_with('-') {
                        f.min(-1e19)
                    } else {
                        f.max(1.9e19)
                    };
                    serde_json::Number::from_f64(f).map(Value::Number)
                })
        }
        ParamType::Number => raw
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number),
        ParamType::Boolean => match raw {
            "true" | "1" => Some(Value::Bool(true)),
            "false" | "0" => Some(Value::Bool(false)),
            _ => None,
        },
    }
}

fn type_name(ty: ParamType) -> &'static str {
    match ty {
        ParamType::String => "a string",
        ParamType::Integer => "an integer",
        ParamType::Number => "a number",
        ParamType::Boolean => "a boolean",
    }
}

/// `/content/choices/0/label` as `content.choices[0].label`.
fn dotted(pointer: &str) -> String {
    let mut out = String::new();
    for part in pointer.split('/').skip(1) {
        let part = part.replace("~1", "/").replace("~0", "~");
        if part.chars().all(|c| c.is_ascii_digit()) && !part.is_empty() {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&part);
        }
    }
    out
}

/// The first integer field of `value` (by `schema`) whose number does not fit 64 bits. JSON
/// parsing reads such a number as a float, which JSON Schema's bounds cannot tell from the
/// nearest 64-bit one.
fn oversized_integer(
    value: &Value,
    schema: &Value,
    defs: &Value,
    at: &str,
    depth: usize,
) -> Option<String> {
    if depth > 64 {
        return None;
    }
    if let Some(name) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
    {
        return oversized_integer(value, defs.get(name)?, defs, at, depth + 1);
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(branches) = schema.get(key).and_then(Value::as_array) {
            return branches
                .iter()
                .find_map(|b| oversized_integer(value, b, defs, at, depth + 1));
        }
    }
    let integer = match schema.get("type") {
        Some(Value::String(t)) => t == "integer",
        Some(Value::Array(types)) => types.iter().any(|t| t == "integer"),
        _ => false,
    };
    match value {
        Value::Number(n) if integer && !n.is_i64() && !n.is_u64() => {
            let too_big = n.as_f64().is_some_and(|f| f.abs() >= 9.0e18);
            too_big.then(|| {
                if at.is_empty() {
                    "body".into()
                } else {
                    at.to_owned()
                }
            })
        }
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object)?;
            map.iter().find_map(|(k, v)| {
                let field = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                oversized_integer(v, props.get(k)?, defs, &field, depth + 1)
            })
        }
        Value::Array(items) => {
            let item = schema.get("items")?;
            items.iter().enumerate().find_map(|(i, v)| {
                oversized_integer(v, item, defs, &format!("{at}[{i}]"), depth + 1)
            })
        }
        _ => None,
    }
}

/// Removes from `value` the object fields that `schema` does not declare, at every level.
fn prune(value: &mut Value, schema: &Value, defs: &Value, depth: usize) {
    if depth > 64 {
        return;
    }
    if let Some(name) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
    {
        if let Some(target) = defs.get(name) {
            prune(value, target, defs, depth + 1);
        }
        return;
    }
    if let Some([only]) = schema
        .get("allOf")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        prune(value, only, defs, depth + 1);
        return;
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = schema.get(key).and_then(Value::as_array) {
            if !value.is_null()
                && let Some(branch) = branches
                    .iter()
                    .find(|b| b.get("type").and_then(Value::as_str) != Some("null"))
            {
                prune(value, branch, defs, depth + 1);
            }
            return;
        }
    }
    match value {
        Value::Object(map) => {
            let additional = schema.get("additionalProperties");
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                let open = matches!(additional, Some(Value::Bool(true)));
                if !open {
                    map.retain(|k, _| props.contains_key(k));
                }
                for (k, v) in map.iter_mut() {
                    if let Some(prop) = props.get(k) {
                        prune(v, prop, defs, depth + 1);
                    }
                }
            } else if let Some(extra @ Value::Object(_)) = additional {
                for v in map.values_mut() {
                    prune(v, extra, defs, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                for v in items {
                    prune(v, item, defs, depth + 1);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_read_as_fields() {
        assert_eq!(
            dotted("/content/choices/0/label"),
            "content.choices[0].label"
        );
        assert_eq!(dotted("/type"), "type");
        assert_eq!(dotted(""), "");
    }

    #[test]
    fn integers_are_read_strictly() {
        assert_eq!(coerce("42", ParamType::Integer), Some(Value::from(42)));
        assert_eq!(coerce("4.2", ParamType::Integer), None);
        assert_eq!(coerce("", ParamType::Integer), None);
        assert_eq!(
            coerce("18446744073709551615", ParamType::Integer),
            Some(Value::from(u64::MAX))
        );
        assert_eq!(
            coerce("184467440737095516150", ParamType::Integer),
            Some(Value::from(184_467_440_737_095_516_150_f64))
        );
        assert_eq!(
            coerce("-9223372036854775809", ParamType::Integer),
            Some(Value::from(-1e19))
        );
        assert_eq!(coerce("+1", ParamType::Integer), None);
        assert_eq!(coerce("1e3", ParamType::Integer), None);
    }
}

//! One side of a comparison: the spec read as plain JSON (from YAML), with what the rules need
//! to know about it: its operations, its components, which operations and events reach each
//! component, and in which direction (sent to Crisp, received from it).
//!
//! This reads the document itself, with serde_yaml, rather than the generator's spec model: a
//! spec that no longer lints (an older revision, a work in progress) can still be compared.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// The HTTP methods a path item may hold, in the order the spec lists them.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

const SCHEMA_REF: &str = "#/components/schemas/";
const RESPONSE_REF: &str = "#/components/responses/";

/// A spec that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError(pub String);

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LoadError {}

/// One operation of a document.
#[derive(Debug, Clone)]
pub struct Op<'a> {
    /// `operationId`.
    pub id: String,
    /// Lower-case method, as a path item key.
    pub method: &'static str,
    /// The path template.
    pub path: String,
    /// The operation object.
    pub node: &'a Value,
}

impl Op<'_> {
    /// `GET /website/{website_id}/...`.
    pub fn route(&self) -> String {
        format!("{} {}", self.method.to_ascii_uppercase(), self.path)
    }

    /// The JSON pointer of the operation object.
    pub fn pointer(&self) -> String {
        pointer(&["paths", &self.path, self.method])
    }

    /// The route with path parameter names erased, so a renamed path parameter still matches.
    pub fn route_shape(&self) -> String {
        let mut shape = String::new();
        let mut rest = self.path.as_str();
        while let Some(start) = rest.find('{') {
            shape.push_str(&rest[..start]);
            shape.push_str("{}");
            match rest[start..].find('}') {
                Some(end) => rest = &rest[start + end + 1..],
                None => {
                    rest = "";
                }
            }
        }
        shape.push_str(rest);
        format!("{} {shape}", self.method)
    }
}

/// Who sends a schema's values: the caller (a parameter or request body), Crisp (a response or
/// a webhook delivery), or both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dir {
    /// Sent to Crisp.
    pub input: bool,
    /// Received from Crisp.
    pub output: bool,
}

impl Dir {
    /// Only sent to Crisp.
    pub const INPUT: Dir = Dir {
        input: true,
        output: false,
    };
    /// Only received from Crisp.
    pub const OUTPUT: Dir = Dir {
        input: false,
        output: true,
    };

    /// Both directions.
    pub fn union(self, other: Dir) -> Dir {
        Dir {
            input: self.input || other.input,
            output: self.output || other.output,
        }
    }
}

/// A loaded document.
#[derive(Debug)]
pub struct Doc {
    /// The whole document as JSON (its maps are sorted: see the `*_order` fields).
    pub root: Value,
    usage: BTreeMap<String, Usage>,
    /// Paths, schemas and events in the order the YAML lists them (JSON maps here are sorted).
    path_order: Vec<String>,
    schema_order: Vec<String>,
    event_order: Vec<String>,
}

/// How a component is reached.
#[derive(Debug, Default, Clone)]
pub struct Usage {
    /// Which way its values travel.
    pub dir: Dir,
    /// operationIds whose parameters, body or responses reach it.
    pub operations: BTreeSet<String>,
    /// Webhook events whose data reaches it.
    pub events: BTreeSet<String>,
}

impl Doc {
    /// Reads a spec from its YAML (or JSON) text. `what` names it in errors.
    pub fn load(text: &str, what: &str) -> Result<Doc, LoadError> {
        let yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
            LoadError(format!(
                "{what} is not valid YAML: {e}. Fix that file (for BASE: or pass another \
                 revision or file)."
            ))
        })?;
        let keys = |path: &[&str]| -> Vec<String> {
            let mut node = &yaml;
            for key in path {
                match node.get(key) {
                    Some(next) => node = next,
                    None => return Vec::new(),
                }
            }
            node.as_mapping()
                .map(|map| {
                    map.keys()
                        .filter_map(|k| k.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let order = [
            keys(&["paths"]),
            keys(&["components", "schemas"]),
            keys(&["x-crisp-webhooks"]),
        ];
        Doc::build(crate::yaml::to_json(&yaml), what, order)
    }

    /// A spec already read as JSON (its paths, schemas and events in key order).
    pub fn from_json(root: Value, what: &str) -> Result<Doc, LoadError> {
        let keys = |pointer: &str| -> Vec<String> {
            root.pointer(pointer)
                .and_then(Value::as_object)
                .map(|map| map.keys().cloned().collect())
                .unwrap_or_default()
        };
        let order = [
            keys("/paths"),
            keys("/components/schemas"),
            keys("/x-crisp-webhooks"),
        ];
        Doc::build(root, what, order)
    }

    fn build(
        root: Value,
        what: &str,
        [paths, schemas, events]: [Vec<String>; 3],
    ) -> Result<Doc, LoadError> {
        if !root.get("paths").is_some_and(Value::is_object) {
            return Err(LoadError(format!(
                "{what} has no `paths` mapping: it is not an OpenAPI document like spec/crisp.yaml."
            )));
        }
        let mut doc = Doc {
            root,
            usage: BTreeMap::new(),
            path_order: paths,
            schema_order: schemas,
            event_order: events,
        };
        doc.usage = doc.compute_usage();
        Ok(doc)
    }

    /// The operations, in path order; path items and operations without an `operationId`
    /// are named by their route.
    pub fn operations(&self) -> Vec<Op<'_>> {
        let mut ops = Vec::new();
        let Some(paths) = self.root.get("paths").and_then(Value::as_object) else {
            return ops;
        };
        for path in &self.path_order {
            let Some(item) = paths.get(path) else {
                continue;
            };
            for method in METHODS {
                if let Some(node) = item.get(method).filter(|n| n.is_object()) {
                    let id = node.get("operationId").and_then(Value::as_str).map_or_else(
                        || format!("{} {path}", method.to_ascii_uppercase()),
                        str::to_owned,
                    );
                    ops.push(Op {
                        id,
                        method,
                        path: path.clone(),
                        node,
                    });
                }
            }
        }
        ops
    }

    /// `components/schemas`.
    pub fn schemas(&self) -> &Map<String, Value> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        self.root
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
    }

    /// The component schema names, in the spec's order.
    pub fn schema_names(&self) -> &[String] {
        &self.schema_order
    }

    /// The webhook event names, in the spec's order.
    pub fn event_names(&self) -> &[String] {
        &self.event_order
    }

    /// The component schema named `name`.
    pub fn schema(&self, name: &str) -> Option<&Value> {
        self.schemas().get(name)
    }

    /// `x-crisp-webhooks`: event name -> entry.
    pub fn webhooks(&self) -> Option<&Map<String, Value>> {
        self.root.get("x-crisp-webhooks").and_then(Value::as_object)
    }

    /// How the component `name` is reached (nothing, if it is not).
    pub fn usage(&self, name: &str) -> Usage {
        self.usage.get(name).cloned().unwrap_or_default()
    }

    /// A response object, following a `$ref` into `components/responses`.
    pub fn resolve_response<'a>(&'a self, response: &'a Value) -> &'a Value {
        match response
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix(RESPONSE_REF))
        {
            Some(name) => self
                .root
                .pointer(&pointer(&["components", "responses", name]))
                .unwrap_or(response),
            None => response,
        }
    }

    fn compute_usage(&self) -> BTreeMap<String, Usage> {
        let mut usage: BTreeMap<String, Usage> = BTreeMap::new();
        let mut reach = |roots: Vec<&Value>, dir: Dir, user: User<'_>| {
            let mut seen = BTreeSet::new();
            let mut todo: Vec<String> = Vec::new();
            for root in roots {
                refs_in(root, &mut todo);
            }
            while let Some(name) = todo.pop() {
                if !seen.insert(name.clone()) {
                    continue;
                }
                if let Some(schema) = self.schema(&name) {
                    refs_in(schema, &mut todo);
                }
                let entry = usage.entry(name).or_default();
                entry.dir = entry.dir.union(dir);
                match user {
                    User::Operation(id) => entry.operations.insert(id.to_owned()),
                    User::Event(name) => entry.events.insert(name.to_owned()),
                };
            }
        };
        for op in self.operations() {
            let mut inputs: Vec<&Value> = Vec::new();
            if let Some(params) = op.node.get("parameters").and_then(Value::as_array) {
                inputs.extend(params);
            }
            if let Some(body) = op.node.get("requestBody") {
                inputs.push(body);
            }
            reach(inputs, Dir::INPUT, User::Operation(&op.id));
            let outputs: Vec<&Value> = op
                .node
                .get("responses")
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|responses| responses.values())
                .map(|response| self.resolve_response(response))
                .collect();
            reach(outputs, Dir::OUTPUT, User::Operation(&op.id));
        }
        if let Some(webhooks) = self.webhooks() {
            for (event, entry) in webhooks {
                let Some(name) = entry.get("schema").and_then(Value::as_str) else {
                    continue;
                };
                let reference = serde_json::json!({ "$ref": format!("{SCHEMA_REF}{name}") });
                reach(vec![&reference], Dir::OUTPUT, User::Event(event));
            }
        }
        usage
    }
}

#[derive(Clone, Copy)]
enum User<'a> {
    Operation(&'a str),
    Event(&'a str),
}

/// Collects the component names a value refers to: `$ref`s, and the component names of
/// `x-crisp-content-by-type` (message content shapes are named, not referenced).
fn refs_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if key == "$ref" {
                    if let Some(name) = child.as_str().and_then(|r| r.strip_prefix(SCHEMA_REF)) {
                        out.push(name.to_owned());
                    }
                } else if key == "x-crisp-content-by-type" {
                    if let Some(shapes) = child.as_object() {
                        out.extend(
                            shapes
                                .values()
                                .filter_map(Value::as_str)
                                .filter(|name| *name != "string")
                                .map(str::to_owned),
                        );
                    }
                } else if key != "example" && key != "examples" {
                    refs_in(child, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs_in(item, out)),
        _ => {}
    }
}

/// The component a schema refers to, if it is a `$ref` to `components/schemas`.
pub fn ref_name(schema: &Value) -> Option<&str> {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix(SCHEMA_REF))
}

/// A JSON pointer (RFC 6901) from unescaped segments.
pub fn pointer(segments: &[&str]) -> String {
    let mut out = String::new();
    for segment in segments {
        out.push('/');
        out.push_str(&segment.replace('~', "~0").replace('/', "~1"));
    }
    out
}

/// Appends unescaped segments to a JSON pointer.
pub fn child(base: &str, segments: &[&str]) -> String {
    format!("{base}{}", pointer(segments))
}

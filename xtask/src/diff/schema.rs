//! Schemas: the components, and any schema inside an operation, compared for what they do to
//! the generated Rust types and to what Crisp accepts.

use std::collections::{BTreeMap, BTreeSet};

use heck::ToUpperCamelCase;
use serde_json::Value;

use super::Subject;
use super::differ::{Differ, Site, shown};
use super::doc::{self, Dir, Doc};
use super::rust::{self, Kind};

/// Keywords the schema comparison reads itself; any other keyword that differs is
/// documentation (`description`, ...) or an `unmodelled-change`.
const KNOWN: &[&str] = &[
    "$ref",
    "type",
    "format",
    "items",
    "properties",
    "required",
    "additionalProperties",
    "allOf",
    "nullable",
    "enum",
    "default",
    "x-crisp-rust-type",
    "x-crisp-content-by-type",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "pattern",
    "multipleOf",
];

/// Constraints: keyword, and whether a larger value is stricter (`Some(true)` for minimums,
/// `Some(false)` for maximums, `None` when no order applies).
const CONSTRAINTS: &[(&str, Option<bool>)] = &[
    ("minimum", Some(true)),
    ("maximum", Some(false)),
    ("exclusiveMinimum", Some(true)),
    ("exclusiveMaximum", Some(true)),
    ("minLength", Some(true)),
    ("maxLength", Some(false)),
    ("minItems", Some(true)),
    ("maxItems", Some(false)),
    ("minProperties", Some(true)),
    ("maxProperties", Some(false)),
    ("pattern", None),
    ("multipleOf", None),
];

/// Components removed from `old` whose shape (ignoring descriptions, examples and titles)
/// reappears under a new name in `new`: old name -> new name.
pub(crate) fn renamed_components(old: &Doc, new: &Doc) -> BTreeMap<String, String> {
    let removed: Vec<&String> = old
        .schema_names()
        .iter()
        .filter(|n| new.schema(n).is_none())
        .collect();
    let mut added: Vec<&String> = new
        .schema_names()
        .iter()
        .filter(|n| old.schema(n).is_none())
        .collect();
    let mut renames = BTreeMap::new();
    for name in removed {
        let shape = old.schema(name).map(without_docs);
        if let Some(i) = added
            .iter()
            .position(|n| new.schema(n).map(without_docs) == shape)
        {
            renames.insert(name.clone(), added.remove(i).clone());
        }
    }
    renames
}

fn without_docs(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "description" | "example" | "title"))
                .map(|(k, v)| (k.clone(), without_docs(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_docs).collect()),
        other => other.clone(),
    }
}

impl Differ<'_> {
    fn schema_subject(&self, name: &str) -> Subject {
        let (old, new) = (self.old.usage(name), self.new.usage(name));
        let mut operations: BTreeSet<String> = old.operations;
        operations.extend(new.operations);
        let mut events: BTreeSet<String> = old.events;
        events.extend(new.events);
        Subject::Schema {
            name: name.to_owned(),
            operations: operations.into_iter().collect(),
            events: events.into_iter().collect(),
        }
    }

    /// Which way the component's values travel, in either spec; a component nothing reaches
    /// is taken as both (progenitor generates a type for it all the same).
    fn component_dir(&self, name: &str) -> Dir {
        let dir = self.old.usage(name).dir.union(self.new.usage(name).dir);
        if dir == Dir::default() {
            Dir {
                input: true,
                output: true,
            }
        } else {
            dir
        }
    }

    /// Compares `components/schemas`, in BASE's order, then what was added.
    pub(crate) fn components(&mut self) {
        let renames = self.renames.clone();
        for name in self.old.schema_names() {
            let location = doc::pointer(&["components", "schemas", name]);
            if let Some(new_name) = renames.get(name) {
                let subject = self.schema_subject(new_name);
                let location = doc::pointer(&["components", "schemas", new_name]);
                self.emit(
                    &subject,
                    "schema-renamed",
                    location,
                    &[("old", name), ("new", new_name)],
                );
            } else if self.new.schema(name).is_none() {
                let subject = self.schema_subject(name);
                self.emit(&subject, "schema-removed", location, &[("ty", name)]);
            } else {
                self.component(name);
            }
        }
        for name in self.new.schema_names() {
            if self.old.schema(name).is_none() && !renames.values().any(|n| n == name) {
                let subject = self.schema_subject(name);
                let location = doc::pointer(&["components", "schemas", name]);
                self.emit(&subject, "schema-added", location, &[("ty", name)]);
            }
        }
    }

    fn component(&mut self, name: &str) {
        let (Some(old), Some(new)) = (self.old.schema(name), self.new.schema(name)) else {
            return;
        };
        if old == new {
            return;
        }
        let subject = self.schema_subject(name);
        let ptr = doc::pointer(&["components", "schemas", name]);
        let (old_shape, new_shape) = (
            rust::component_shape(self.old, old),
            rust::component_shape(self.new, new),
        );
        if old_shape != new_shape {
            self.emit(
                &subject,
                "schema-type-changed",
                ptr,
                &[("ty", name), ("old", &old_shape), ("new", &new_shape)],
            );
            return;
        }
        self.content_by_type(&subject, &ptr, old, new);
        let site = Site {
            subject,
            old_ptr: ptr.clone(),
            new_ptr: ptr,
            label: format!("`{name}`"),
            owner: name.to_owned(),
            dir: self.component_dir(name),
            field: false,
            root: true,
        };
        self.schema(&site, old, new);
    }

    /// `x-crisp-content-by-type`: message type -> the shape of its content.
    fn content_by_type(&mut self, subject: &Subject, ptr: &str, old: &Value, new: &Value) {
        let key = "x-crisp-content-by-type";
        let empty = serde_json::Map::new();
        let old_map = old.get(key).and_then(Value::as_object).unwrap_or(&empty);
        let new_map = new.get(key).and_then(Value::as_object).unwrap_or(&empty);
        let shape = |v: &Value| match v.as_str() {
            Some("string") => "a string".to_owned(),
            Some(name) => format!("`{name}`"),
            None => v.to_string(),
        };
        for (message_type, new_shape) in new_map {
            let location = doc::child(ptr, &[key, message_type]);
            match old_map.get(message_type) {
                None => self.emit(
                    subject,
                    "content-type-added",
                    location,
                    &[("value", message_type), ("new", &shape(new_shape))],
                ),
                Some(old_shape) if old_shape != new_shape => {
                    let renamed = old_shape
                        .as_str()
                        .and_then(|o| self.renames.get(o))
                        .is_some_and(|n| Some(n.as_str()) == new_shape.as_str());
                    if !renamed {
                        self.emit(
                            subject,
                            "content-type-changed",
                            location,
                            &[
                                ("value", message_type),
                                ("old", &shape(old_shape)),
                                ("new", &shape(new_shape)),
                            ],
                        );
                    }
                }
                Some(_) => {}
            }
        }
        for message_type in old_map.keys().filter(|t| !new_map.contains_key(*t)) {
            self.emit(
                subject,
                "content-type-removed",
                doc::child(ptr, &[key, message_type]),
                &[("value", message_type)],
            );
        }
    }

    /// Whether two schemas are the same Rust type, counting a `$ref` that follows a renamed
    /// component as the same.
    pub(crate) fn same_type(&self, old: &Value, new: &Value, old_ty: &str, new_ty: &str) -> bool {
        if old_ty == new_ty {
            return true;
        }
        match (rust::kind(old), rust::kind(new)) {
            (Kind::Ref(a), Kind::Ref(b)) => self.renames.get(a).is_some_and(|n| n == b),
            // Inline structs: compared field by field, and by title (`inline-type-renamed`).
            (Kind::Object, Kind::Object) => true,
            (Kind::Array(Some(a)), Kind::Array(Some(b))) => {
                let (ta, tb) = (
                    rust::position_type(self.old, a),
                    rust::position_type(self.new, b),
                );
                self.same_type(a, b, &ta, &tb)
            }
            _ => false,
        }
    }

    /// Compares two schemas at one place. The caller has compared their Rust types where it
    /// has its own rule for that (parameters, bodies, responses, fields); a difference found
    /// here below is a `field-type-changed`.
    pub(crate) fn schema(&mut self, site: &Site, old: &Value, new: &Value) {
        if old == new {
            return;
        }
        let subject = site.subject.clone();
        if !site.field {
            // A field's type was compared by `object`, with its `required`.
            let (old_ty, new_ty) = (
                rust::position_type(self.old, old),
                rust::position_type(self.new, new),
            );
            if !self.same_type(old, new, &old_ty, &new_ty) {
                self.emit(
                    &subject,
                    "field-type-changed",
                    site.new_ptr.clone(),
                    &[("where", &site.label), ("old", &old_ty), ("new", &new_ty)],
                );
                return;
            }
        }
        let (old_inner, new_inner) = (rust::unwrap(old), rust::unwrap(new));
        match (rust::kind(old), rust::kind(new)) {
            (Kind::Object, Kind::Object) => {
                let title = |s: &Value| s.get("title").and_then(Value::as_str).map(str::to_owned);
                let mut owner = site.owner.clone();
                if !site.root {
                    // An inline struct is named by its title.
                    let (a, b) = (title(old_inner), title(new_inner));
                    if a != b {
                        // Without a title, typify names it after its parent and field.
                        let generated = || site.owner.replace("::", "_").to_upper_camel_case();
                        let (a, b) = (a.unwrap_or_else(generated), b.unwrap_or_else(generated));
                        let location = if new_inner.get("title").is_some() {
                            doc::child(&site.new_ptr, &["title"])
                        } else {
                            site.new_ptr.clone()
                        };
                        self.emit(
                            &subject,
                            "inline-type-renamed",
                            location,
                            &[("where", &site.label), ("old", &a), ("new", &b)],
                        );
                    }
                    if let Some(b) = title(new_inner) {
                        owner = b;
                    }
                }
                let site = Site {
                    owner,
                    ..site.clone()
                };
                self.object(&site, old_inner, new_inner);
            }
            (Kind::Array(Some(a)), Kind::Array(Some(b))) => {
                let items = site.down(&["items"], format!("items of {}", site.label));
                self.schema(&items, a, b);
            }
            (Kind::Map(Some(a)), Kind::Map(Some(b))) => {
                let values = site.down(
                    &["additionalProperties"],
                    format!("values of {}", site.label),
                );
                self.schema(&values, a, b);
            }
            _ => {}
        }
        self.enum_values(site, old_inner, new_inner);
        self.constraints(site, old_inner, new_inner);
        let mut known: Vec<&str> = KNOWN.to_vec();
        if !site.root && matches!(rust::kind(old), Kind::Object) {
            // A struct's title is its name, compared above.
            known.push("title");
        }
        // `allOf` of one schema is unwrapped above; anything longer is not modelled.
        let single = |s: &Value| {
            s.get("allOf")
                .and_then(Value::as_array)
                .is_none_or(|a| a.len() <= 1)
        };
        if !(single(old) && single(new)) {
            known.retain(|k| *k != "allOf");
        }
        self.other_keys(&subject, &site.new_ptr, &site.label, old, new, &known);
        if !std::ptr::eq(old, old_inner) || !std::ptr::eq(new, new_inner) {
            let inner = site.down(&["allOf", "0"], site.label.clone());
            self.other_keys(
                &subject,
                &inner.new_ptr,
                &site.label,
                old_inner,
                new_inner,
                &known,
            );
        }
        self.default_value(site, old_inner, new_inner);
    }

    fn default_value(&mut self, site: &Site, old: &Value, new: &Value) {
        if old.get("default") != new.get("default") {
            self.docs(
                &site.subject,
                doc::child(&site.new_ptr, &["default"]),
                &format!("the default of {}", site.label),
            );
        }
    }

    /// The fields of two structs.
    fn object(&mut self, site: &Site, old: &Value, new: &Value) {
        let subject = site.subject.clone();
        let empty = serde_json::Map::new();
        let props = |s: &Value| s.get("properties").and_then(Value::as_object).cloned();
        let (old_props, new_props) = (
            props(old).unwrap_or_else(|| empty.clone()),
            props(new).unwrap_or_else(|| empty.clone()),
        );
        let required = |s: &Value| -> BTreeSet<String> {
            s.get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        };
        let (old_req, new_req) = (required(old), required(new));
        let ty = site.owner.clone();
        for (field, new_prop) in &new_props {
            let ptr = doc::child(&site.new_ptr, &["properties", field]);
            let new_required = new_req.contains(field);
            let new_field = rust::field_type(self.new, new_prop, new_required);
            let Some(old_prop) = old_props.get(field) else {
                let rule = if new_required && site.dir.input {
                    "request-field-added-required"
                } else {
                    "field-added"
                };
                self.emit(
                    &subject,
                    rule,
                    ptr,
                    &[("ty", &ty), ("field", field), ("new", &new_field)],
                );
                continue;
            };
            let old_required = old_req.contains(field);
            let old_field = rust::field_type(self.old, old_prop, old_required);
            let label = format!("`{ty}::{field}`");
            let args = |what: &str| -> Vec<(String, String)> {
                vec![
                    ("ty".into(), ty.clone()),
                    ("field".into(), field.clone()),
                    ("old".into(), old_field.clone()),
                    ("new".into(), new_field.clone()),
                    ("what".into(), what.to_owned()),
                    ("where".into(), label.clone()),
                ]
            };
            let (old_base, new_base) = (
                rust::base_type(self.old, old_prop),
                rust::base_type(self.new, new_prop),
            );
            if !self.same_type(old_prop, new_prop, &old_base, &new_base) {
                self.emit(
                    &subject,
                    "field-type-changed",
                    ptr,
                    &[("where", &label), ("old", &old_field), ("new", &new_field)],
                );
                continue;
            }
            let nullable_changed = rust::nullable(old_prop) != rust::nullable(new_prop);
            // The base types are the same: only an `Option` around them can differ.
            let same_rust = old_field.starts_with("Option<") == new_field.starts_with("Option<");
            let wire = if site.dir.input {
                ", and Crisp refuses requests without it"
            } else {
                ""
            };
            let emitted: Option<(&str, Vec<(String, String)>)> =
                match (old_required != new_required, nullable_changed, same_rust) {
                    (true, _, false) if new_required => {
                        let mut a = args("required");
                        a.push(("wire".into(), wire.into()));
                        Some(("field-made-required", a))
                    }
                    (true, _, false) => Some(("field-made-optional", args("optional"))),
                    (false, true, false) if rust::nullable(new_prop) => {
                        Some(("field-made-nullable", args("nullable")))
                    }
                    (false, true, false) => Some(("field-made-non-nullable", args("non-nullable"))),
                    (true, _, true) if new_required && site.dir.input => {
                        Some(("request-field-made-required-same-type", args("required")))
                    }
                    (true, _, true) => Some((
                        "field-optionality-changed-same-type",
                        args(if new_required { "required" } else { "optional" }),
                    )),
                    (false, true, true) => Some((
                        "field-optionality-changed-same-type",
                        args(if rust::nullable(new_prop) {
                            "nullable"
                        } else {
                            "non-nullable"
                        }),
                    )),
                    (false, false, true) => None,
                    // Neither `required` nor `nullable`: a `default` came or went.
                    (false, false, false) => Some(("field-type-changed", args("typed"))),
                };
            if let Some((rule, args)) = emitted {
                let args: Vec<(&str, &str)> =
                    args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                self.emit(&subject, rule, ptr.clone(), &args);
            }
            let child = Site {
                field: true,
                owner: format!("{ty}::{field}"),
                ..site.down(&["properties", field], label)
            };
            self.schema(&child, old_prop, new_prop);
        }
        for field in old_props.keys().filter(|f| !new_props.contains_key(*f)) {
            self.emit(
                &subject,
                "field-removed",
                doc::child(&site.old_ptr, &["properties", field]),
                &[("ty", &ty), ("field", field)],
            );
        }
        // `required` naming a field that is not a property: only the list changed.
        if old_req != new_req
            && old_req
                .symmetric_difference(&new_req)
                .any(|f| !old_props.contains_key(f) && !new_props.contains_key(f))
        {
            self.emit(
                &subject,
                "unmodelled-change",
                doc::child(&site.new_ptr, &["required"]),
                &[("key", "required"), ("where", &site.label)],
            );
        }
        let ap = |s: &Value| match s.get("additionalProperties") {
            None | Some(Value::Bool(true)) => None,
            Some(other) => Some(other.clone()),
        };
        if ap(old) != ap(new) {
            self.emit(
                &subject,
                "unmodelled-change",
                doc::child(&site.new_ptr, &["additionalProperties"]),
                &[("key", "additionalProperties"), ("where", &site.label)],
            );
        }
    }

    /// The values of a string enum.
    fn enum_values(&mut self, site: &Site, old: &Value, new: &Value) {
        let values = |s: &Value| -> Vec<String> {
            s.get("enum")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|v| shown(Some(v)))
                .collect()
        };
        let (old_values, new_values) = (values(old), values(new));
        if old_values == new_values {
            return;
        }
        let ty = &site.owner;
        let ptr = doc::child(&site.new_ptr, &["enum"]);
        for value in new_values.iter().filter(|v| !old_values.contains(v)) {
            let variant = rust::variant(value);
            self.emit(
                &site.subject,
                "enum-value-added",
                ptr.clone(),
                &[("value", value), ("ty", ty), ("variant", &variant)],
            );
        }
        for value in old_values.iter().filter(|v| !new_values.contains(v)) {
            let variant = rust::variant(value);
            self.emit(
                &site.subject,
                "enum-value-removed",
                doc::child(&site.old_ptr, &["enum"]),
                &[("value", value), ("ty", ty), ("variant", &variant)],
            );
        }
    }

    /// Bounds, lengths, patterns: stricter ones on what the caller sends are refused by Crisp.
    fn constraints(&mut self, site: &Site, old: &Value, new: &Value) {
        for (key, larger_is_stricter) in CONSTRAINTS {
            let (o, n) = (old.get(*key), new.get(*key));
            if o == n {
                continue;
            }
            let stricter = match (o, n, larger_is_stricter) {
                (_, None, _) => false,
                (None, Some(_), _) => true,
                (Some(o), Some(n), Some(larger)) => match (o.as_f64(), n.as_f64()) {
                    (Some(o), Some(n)) => (n > o) == *larger,
                    // exclusiveMinimum / exclusiveMaximum: booleans in OpenAPI 3.0.
                    _ => n.as_bool() == Some(true),
                },
                (Some(_), Some(_), None) => true,
            };
            let (old_shown, new_shown) = (shown(o), shown(n));
            let location = doc::child(&site.new_ptr, &[key]);
            let label = site.label.clone();
            if stricter && site.dir.input {
                self.emit(
                    &site.subject,
                    "request-constraint-tightened",
                    location,
                    &[
                        ("where", &label),
                        ("key", key),
                        ("old", &old_shown),
                        ("new", &new_shown),
                    ],
                );
            } else {
                let why = if stricter {
                    "stricter, but only on what Crisp sends; the client does not check it"
                } else {
                    "looser: nothing that was accepted is refused"
                };
                self.emit(
                    &site.subject,
                    "constraint-changed",
                    location,
                    &[
                        ("where", &label),
                        ("key", key),
                        ("old", &old_shown),
                        ("new", &new_shown),
                        ("why", why),
                    ],
                );
            }
        }
    }
}

//! Operations: matched by operationId (or, for a rename, by route), then their extensions,
//! parameters, request body and responses.

use serde_json::Value;

use super::Subject;
use super::differ::{Differ, Site, shown};
use super::doc::{self, Dir, Op};
use super::rust;

/// Operation keys read here; any other that differs is documentation or unmodelled.
const KNOWN: &[&str] = &[
    "operationId",
    "tags",
    "parameters",
    "requestBody",
    "responses",
    "x-crisp-scope",
    "x-crisp-access",
    "x-crisp-effect",
    "x-crisp-webhook",
    "x-crisp-paging",
];

const CUSTOMER_VISIBLE: &str = "customer-visible";

impl Differ<'_> {
    /// Compares the operations: pairs by operationId, then unpaired ones by route (a rename),
    /// then what is left is added or removed.
    pub(crate) fn operations(&mut self) {
        let old_ops = self.old.operations();
        let new_ops = self.new.operations();
        let mut pair_of_new: Vec<Option<usize>> = new_ops
            .iter()
            .map(|n| old_ops.iter().position(|o| o.id == n.id))
            .collect();
        for (i, new_op) in new_ops.iter().enumerate() {
            if pair_of_new[i].is_some() {
                continue;
            }
            let free = |j: &usize| !pair_of_new.contains(&Some(*j));
            let by_route = (0..old_ops.len()).filter(free).find(|j| {
                old_ops[*j].route_shape() == new_op.route_shape()
                    && !new_ops.iter().any(|n| n.id == old_ops[*j].id)
            });
            pair_of_new[i] = by_route;
        }
        // BASE's order, with what was removed where it was; then what was added.
        for (j, old_op) in old_ops.iter().enumerate() {
            match pair_of_new.iter().position(|p| *p == Some(j)) {
                Some(i) => self.operation(old_op, &new_ops[i]),
                None => self.emit(
                    &op_subject(old_op),
                    "operation-removed",
                    old_op.pointer(),
                    &[("op", &old_op.id), ("route", &old_op.route())],
                ),
            }
        }
        for (new_op, _) in new_ops
            .iter()
            .zip(&pair_of_new)
            .filter(|(_, p)| p.is_none())
        {
            let subject = op_subject(new_op);
            let text = |key: &str| new_op.node.get(key).and_then(Value::as_str);
            self.emit(
                &subject,
                "operation-added",
                new_op.pointer(),
                &[
                    ("op", &new_op.id),
                    ("route", &new_op.route()),
                    ("scope", text("x-crisp-scope").unwrap_or("no scope")),
                    ("access", text("x-crisp-access").unwrap_or("an unknown")),
                ],
            );
        }
    }

    fn operation(&mut self, old: &Op<'_>, new: &Op<'_>) {
        if old.node == new.node && old.route() == new.route() {
            return;
        }
        let subject = op_subject(new);
        let ptr = new.pointer();
        if old.id != new.id {
            self.emit(
                &subject,
                "operation-renamed",
                doc::child(&ptr, &["operationId"]),
                &[("old", &old.id), ("new", &new.id), ("route", &new.route())],
            );
        }
        if old.route_shape() != new.route_shape() {
            self.emit(
                &subject,
                "operation-moved",
                ptr.clone(),
                &[("old", &old.route()), ("new", &new.route())],
            );
        }
        self.permissions(&subject, &ptr, old.node, new.node);
        self.paging(&subject, &ptr, old.node, new.node);
        if old.node.get("tags") != new.node.get("tags") {
            self.docs(
                &subject,
                doc::child(&ptr, &["tags"]),
                "the tags (docs grouping)",
            );
        }
        self.parameters(&subject, old, new);
        self.request_body(&subject, &ptr, old.node, new.node);
        self.responses(&subject, &ptr, old.node, new.node);
        self.other_keys(&subject, &ptr, "the operation", old.node, new.node, KNOWN);
    }

    /// `x-crisp-scope`, `x-crisp-access`, `x-crisp-effect`, `x-crisp-webhook`.
    fn permissions(&mut self, subject: &Subject, ptr: &str, old: &Value, new: &Value) {
        let text = |node: &Value, key: &str| node.get(key).map(|v| shown(Some(v)));
        let key = "x-crisp-scope";
        let (o, n) = (text(old, key), text(new, key));
        if o != n {
            let (o, n) = (shown_or(o), shown_or(n));
            self.emit(
                subject,
                "scope-changed",
                doc::child(ptr, &[key]),
                &[("old", &o), ("new", &n)],
            );
        }
        let key = "x-crisp-access";
        let (o, n) = (text(old, key), text(new, key));
        if o != n {
            let rule = if n.as_deref() == Some("read") {
                "access-lowered"
            } else {
                "access-raised"
            };
            let (o, n) = (shown_or(o), shown_or(n));
            self.emit(
                subject,
                rule,
                doc::child(ptr, &[key]),
                &[("old", &o), ("new", &n)],
            );
        }
        let key = "x-crisp-effect";
        let (o, n) = (text(old, key), text(new, key));
        if o != n {
            let location = doc::child(ptr, &[key]);
            if let Some(effect) = o {
                let rule = if effect == CUSTOMER_VISIBLE {
                    "customer-visible-removed"
                } else {
                    "effect-removed"
                };
                self.emit(subject, rule, location.clone(), &[("effect", &effect)]);
            }
            if let Some(effect) = n {
                let rule = if effect == CUSTOMER_VISIBLE {
                    "customer-visible-added"
                } else {
                    "effect-added"
                };
                self.emit(subject, rule, location, &[("effect", &effect)]);
            }
        }
        let key = "x-crisp-webhook";
        let location = doc::child(ptr, &[key]);
        match (text(old, key), text(new, key)) {
            (Some(o), Some(n)) if o != n => {
                self.emit(
                    subject,
                    "webhook-changed",
                    location,
                    &[("old", &o), ("new", &n)],
                );
            }
            (None, Some(n)) => self.emit(subject, "webhook-added", location, &[("event", &n)]),
            (Some(o), None) => self.emit(subject, "webhook-removed", location, &[("event", &o)]),
            _ => {}
        }
    }

    /// `x-crisp-paging`.
    fn paging(&mut self, subject: &Subject, ptr: &str, old: &Value, new: &Value) {
        let key = "x-crisp-paging";
        let location = doc::child(ptr, &[key]);
        let style = |p: &Value| shown(p.get("style"));
        match (old.get(key), new.get(key)) {
            (None, Some(n)) => {
                self.emit(subject, "paging-added", location, &[("style", &style(n))]);
            }
            (Some(_), None) => self.emit(subject, "paging-removed", location, &[]),
            (Some(o), Some(n)) if o != n => {
                if style(o) != style(n) {
                    self.emit(
                        subject,
                        "paging-style-changed",
                        location,
                        &[("old", &style(o)), ("new", &style(n))],
                    );
                    return;
                }
                let empty = serde_json::Map::new();
                let (om, nm) = (
                    o.as_object().unwrap_or(&empty),
                    n.as_object().unwrap_or(&empty),
                );
                let mut keys: Vec<&String> = om.keys().chain(nm.keys()).collect();
                keys.sort_unstable();
                keys.dedup();
                for k in keys.into_iter().filter(|k| om.get(*k) != nm.get(*k)) {
                    self.emit(
                        subject,
                        "paging-changed",
                        doc::child(&location, &[k]),
                        &[
                            ("key", k),
                            ("old", &shown(om.get(k))),
                            ("new", &shown(nm.get(k))),
                        ],
                    );
                }
            }
            _ => {}
        }
    }

    fn parameters(&mut self, subject: &Subject, old: &Op<'_>, new: &Op<'_>) {
        let (old_params, new_params) = (params(old), params(new));
        let old_ptr = doc::child(&old.pointer(), &["parameters"]);
        let new_ptr = doc::child(&new.pointer(), &["parameters"]);
        for (i, (location, name, node)) in new_params.iter().enumerate() {
            let ptr = doc::child(&new_ptr, &[&i.to_string()]);
            let required = is_required(node);
            let args = [("in", *location), ("param", *name)];
            let Some((j, (_, _, old_node))) = old_params
                .iter()
                .enumerate()
                .find(|(_, (l, n, _))| l == location && n == name)
            else {
                let rule = if required {
                    "parameter-added-required"
                } else {
                    "parameter-added-optional"
                };
                self.emit(subject, rule, ptr, &args);
                continue;
            };
            match (is_required(old_node), required) {
                (false, true) => self.emit(subject, "parameter-made-required", ptr.clone(), &args),
                (true, false) => self.emit(subject, "parameter-made-optional", ptr.clone(), &args),
                _ => {}
            }
            let label = format!("the `{name}` {location} parameter");
            let site = Site {
                subject: subject.clone(),
                old_ptr: doc::child(&old_ptr, &[&j.to_string(), "schema"]),
                new_ptr: doc::child(&ptr, &["schema"]),
                label: label.clone(),
                owner: label.clone(),
                dir: Dir::INPUT,
                field: false,
                root: false,
            };
            let (os, ns) = (
                old_node.get("schema").unwrap_or(&Value::Null),
                node.get("schema").unwrap_or(&Value::Null),
            );
            let (ot, nt) = (
                rust::position_type(self.old, os),
                rust::position_type(self.new, ns),
            );
            if !self.same_type(os, ns, &ot, &nt) {
                self.emit(
                    subject,
                    "parameter-type-changed",
                    site.new_ptr.clone(),
                    &[
                        ("in", location),
                        ("param", name),
                        ("old", &ot),
                        ("new", &nt),
                    ],
                );
            } else {
                self.schema(&site, os, ns);
            }
            let known = ["name", "in", "required", "schema"];
            self.other_keys(subject, &ptr, &label, old_node, node, &known);
        }
        for (j, (location, name, _)) in old_params.iter().enumerate() {
            if !new_params
                .iter()
                .any(|(l, n, _)| l == location && n == name)
            {
                self.emit(
                    subject,
                    "parameter-removed",
                    doc::child(&old_ptr, &[&j.to_string()]),
                    &[("in", location), ("param", name)],
                );
            }
        }
    }

    fn request_body(&mut self, subject: &Subject, ptr: &str, old: &Value, new: &Value) {
        let location = doc::child(ptr, &["requestBody"]);
        let (o, n) = (old.get("requestBody"), new.get("requestBody"));
        let schema = |body: &Value| {
            body.pointer("/content/application~1json/schema")
                .cloned()
                .unwrap_or(Value::Null)
        };
        match (o, n) {
            (None, None) => {}
            (None, Some(n)) => {
                let ty = rust::position_type(self.new, &schema(n));
                let rule = if is_required(n) {
                    "body-added-required"
                } else {
                    "body-added-optional"
                };
                self.emit(subject, rule, location, &[("ty", &ty)]);
            }
            (Some(o), None) => {
                let ty = rust::position_type(self.old, &schema(o));
                self.emit(subject, "body-removed", location, &[("ty", &ty)]);
            }
            (Some(o), Some(n)) => {
                match (is_required(o), is_required(n)) {
                    (false, true) => {
                        self.emit(subject, "body-made-required", location.clone(), &[])
                    }
                    (true, false) => {
                        self.emit(subject, "body-made-optional", location.clone(), &[])
                    }
                    _ => {}
                }
                self.content(subject, &location, o, n, Dir::INPUT, "body-type-changed");
                let known = ["required", "content"];
                self.other_keys(subject, &location, "the request body", o, n, &known);
            }
        }
    }

    fn responses(&mut self, subject: &Subject, ptr: &str, old: &Value, new: &Value) {
        let empty = serde_json::Map::new();
        let responses = |node: &Value| {
            node.get("responses")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_else(|| empty.clone())
        };
        let (old_map, new_map) = (responses(old), responses(new));
        let mut codes: Vec<&String> = old_map.keys().chain(new_map.keys()).collect();
        codes.sort_unstable();
        codes.dedup();
        for code in codes {
            let location = doc::child(ptr, &["responses", code]);
            let (Some(o), Some(n)) = (old_map.get(code), new_map.get(code)) else {
                self.emit(
                    subject,
                    "unmodelled-change",
                    location,
                    &[("key", code), ("where", "the responses")],
                );
                continue;
            };
            if o == n {
                // The same `$ref` (or the same inline response): a shared response is
                // compared once, under the document.
                continue;
            }
            let (o, n) = (self.old.resolve_response(o), self.new.resolve_response(n));
            self.response(subject, &location, code, o, n);
        }
    }

    /// One response object (resolved).
    pub(crate) fn response(
        &mut self,
        subject: &Subject,
        location: &str,
        code: &str,
        old: &Value,
        new: &Value,
    ) {
        let rule = if code.starts_with('2') {
            "response-type-changed"
        } else {
            "field-type-changed"
        };
        self.content(subject, location, old, new, Dir::OUTPUT, rule);
        if old.get("links") != new.get("links") {
            self.docs(
                subject,
                doc::child(location, &["links"]),
                &format!("the links of the {code} response (read by stateful test tools only)"),
            );
        }
        let known = ["content", "links", "$ref"];
        let label = format!("the {code} response");
        self.other_keys(subject, location, &label, old, new, &known);
    }

    /// The `content` of a body or response: its `application/json` schema, by `type_rule` at
    /// the root and by the schema rules below it.
    fn content(
        &mut self,
        subject: &Subject,
        location: &str,
        old: &Value,
        new: &Value,
        dir: Dir,
        type_rule: &str,
    ) {
        let json = ["content", "application/json"];
        let (Some(om), Some(nm)) = (
            old.pointer("/content/application~1json"),
            new.pointer("/content/application~1json"),
        ) else {
            if old.get("content") != new.get("content") {
                self.emit(
                    subject,
                    "unmodelled-change",
                    doc::child(location, &["content"]),
                    &[("key", "content"), ("where", &body_label(type_rule))],
                );
            }
            return;
        };
        let types = |c: &Value| {
            c.get("content")
                .and_then(Value::as_object)
                .map(|m| m.keys().cloned().collect::<Vec<_>>())
        };
        if types(old) != types(new) {
            self.emit(
                subject,
                "unmodelled-change",
                doc::child(location, &["content"]),
                &[
                    ("key", "content (media types)"),
                    ("where", &body_label(type_rule)),
                ],
            );
        }
        let (os, ns) = (
            om.get("schema").unwrap_or(&Value::Null),
            nm.get("schema").unwrap_or(&Value::Null),
        );
        let (ot, nt) = (
            rust::position_type(self.old, os),
            rust::position_type(self.new, ns),
        );
        let media = doc::child(location, &json);
        let label = body_label(type_rule);
        if !self.same_type(os, ns, &ot, &nt) {
            self.emit(
                subject,
                type_rule,
                doc::child(&media, &["schema"]),
                &[("where", &label), ("old", &ot), ("new", &nt)],
            );
        } else {
            let site = Site {
                subject: subject.clone(),
                old_ptr: doc::child(&media, &["schema"]),
                new_ptr: doc::child(&media, &["schema"]),
                label: label.clone(),
                owner: label.clone(),
                dir,
                field: false,
                root: false,
            };
            self.schema(&site, os, ns);
        }
        self.other_keys(subject, &media, &label, om, nm, &["schema"]);
    }
}

fn op_subject(op: &Op<'_>) -> Subject {
    Subject::Operation {
        id: op.id.clone(),
        route: op.route(),
    }
}

fn body_label(type_rule: &str) -> String {
    if type_rule == "body-type-changed" {
        "the request body".to_owned()
    } else {
        "the response body".to_owned()
    }
}

fn shown_or(value: Option<String>) -> String {
    value.unwrap_or_else(|| "none".to_owned())
}

fn is_required(node: &Value) -> bool {
    node.get("required").and_then(Value::as_bool) == Some(true)
}

/// An operation's parameters: (in, name, node).
fn params<'a>(op: &Op<'a>) -> Vec<(&'a str, &'a str, &'a Value)> {
    op.node
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p.get("in").and_then(Value::as_str).unwrap_or("?"),
                p.get("name").and_then(Value::as_str).unwrap_or("?"),
                p,
            )
        })
        .collect()
}

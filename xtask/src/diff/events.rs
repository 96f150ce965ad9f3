//! Webhook events (`x-crisp-webhooks`) and the rest of the document (servers, info, shared
//! responses, anything else at the top level).

use serde_json::Value;

use super::Subject;
use super::differ::{Differ, shown};
use super::doc;
use super::rust;

/// Top-level keys read here or elsewhere; any other that differs is unmodelled.
const TOP_LEVEL: &[&str] = &[
    "openapi",
    "info",
    "servers",
    "tags",
    "paths",
    "components",
    "x-crisp-webhooks",
];

impl Differ<'_> {
    /// Compares `x-crisp-webhooks`: events added and removed, the schema of each event's data
    /// (the schema's own changes are reported under the schema), summaries and examples.
    pub(crate) fn webhooks(&mut self) {
        let key = "x-crisp-webhooks";
        let (old, new) = (self.old.webhooks(), self.new.webhooks());
        let schema_of = |entry: &Value| shown(entry.get("schema"));
        for name in self.old.event_names() {
            let subject = Subject::Event { name: name.clone() };
            let location = doc::pointer(&[key, name]);
            let variant = rust::variant(name);
            let Some(old_entry) = old.and_then(|w| w.get(name)) else {
                continue;
            };
            let Some(new_entry) = new.and_then(|w| w.get(name)) else {
                self.emit(
                    &subject,
                    "event-removed",
                    location,
                    &[("event", name), ("variant", &variant)],
                );
                continue;
            };
            let (o, n) = (schema_of(old_entry), schema_of(new_entry));
            if o != n && self.renames.get(&o) != Some(&n) {
                self.emit(
                    &subject,
                    "event-schema-changed",
                    doc::child(&location, &["schema"]),
                    &[("variant", &variant), ("old", &o), ("new", &n)],
                );
            }
            if old_entry.get("triggered_by") != new_entry.get("triggered_by") {
                self.docs(
                    &subject,
                    doc::child(&location, &["triggered_by"]),
                    "the operations listed as triggering it (the operations' own \
                     `x-crisp-webhook` changes are reported under them)",
                );
            }
            let label = format!("`{name}`");
            self.other_keys(
                &subject,
                &location,
                &label,
                old_entry,
                new_entry,
                &["schema", "triggered_by"],
            );
        }
        for name in self.new.event_names() {
            let Some(new_entry) = new.and_then(|w| w.get(name)) else {
                continue;
            };
            if old.and_then(|w| w.get(name)).is_some() {
                continue;
            }
            self.emit(
                &Subject::Event { name: name.clone() },
                "event-added",
                doc::pointer(&[key, name]),
                &[
                    ("event", name),
                    ("variant", &rust::variant(name)),
                    ("ty", &schema_of(new_entry)),
                ],
            );
        }
    }

    /// Compares what is left of the document: servers, info, tags, shared responses, security.
    pub(crate) fn document(&mut self) {
        let subject = Subject::Document;
        let (old, new) = (&self.old.root, &self.new.root);
        let urls = |root: &Value| -> Vec<String> {
            root.get("servers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|s| shown(s.get("url")))
                .collect()
        };
        if urls(old) != urls(new) {
            self.emit(
                &subject,
                "base-url-changed",
                "/servers".to_owned(),
                &[
                    ("old", &urls(old).join(", ")),
                    ("new", &urls(new).join(", ")),
                ],
            );
        } else if old.get("servers") != new.get("servers") {
            self.docs(&subject, "/servers".to_owned(), "the servers' descriptions");
        }
        let (old_info, new_info) = (
            old.get("info").unwrap_or(&Value::Null),
            new.get("info").unwrap_or(&Value::Null),
        );
        if old_info != new_info {
            let mut keys: Vec<&String> = old_info
                .as_object()
                .into_iter()
                .chain(new_info.as_object())
                .flat_map(|m| m.keys())
                .collect();
            keys.sort_unstable();
            keys.dedup();
            for key in keys
                .into_iter()
                .filter(|k| old_info.get(*k) != new_info.get(*k))
            {
                self.docs(
                    &subject,
                    doc::pointer(&["info", key]),
                    &format!("`info.{key}`"),
                );
            }
        }
        if old.get("tags") != new.get("tags") {
            self.docs(
                &subject,
                "/tags".to_owned(),
                "the tags (the areas the docs group operations by)",
            );
        }
        self.shared_responses();
        let (old_components, new_components) = (
            old.get("components").unwrap_or(&Value::Null),
            new.get("components").unwrap_or(&Value::Null),
        );
        self.other_keys(
            &subject,
            "/components",
            "`components`",
            old_components,
            new_components,
            &["schemas", "responses"],
        );
        self.other_keys(&subject, "", "the document", old, new, TOP_LEVEL);
    }

    /// `components/responses`: a shared response whose content changes is reported once here,
    /// not under every operation that refers to it.
    fn shared_responses(&mut self) {
        let subject = Subject::Document;
        let empty = serde_json::Map::new();
        let responses = |root: &Value| {
            root.pointer("/components/responses")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_else(|| empty.clone())
        };
        let (old_map, new_map) = (responses(&self.old.root), responses(&self.new.root));
        let mut names: Vec<&String> = old_map.keys().chain(new_map.keys()).collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            let location = doc::pointer(&["components", "responses", name]);
            match (old_map.get(name), new_map.get(name)) {
                (Some(o), Some(n)) if o != n => {
                    self.response(&subject, &location, &format!("shared `{name}`"), o, n);
                }
                (Some(_), Some(_)) => {}
                _ => self.emit(
                    &subject,
                    "unmodelled-change",
                    location,
                    &[("key", name), ("where", "components/responses")],
                ),
            }
        }
    }
}

//! The state of one comparison ([`Differ`]), where a schema comparison stands ([`Site`]), and
//! the helpers every comparing module shares. A leaf under `diff/mod.rs`: the modules that
//! compare operations, schemas and events import it, and it imports none of them.

use std::collections::BTreeMap;

use serde_json::Value;

use super::doc::{self, Dir, Doc};
use super::report::{Change, Subject};
use super::rules;

/// The state of one comparison.
pub(crate) struct Differ<'a> {
    pub(crate) old: &'a Doc,
    pub(crate) new: &'a Doc,
    /// Components renamed without a change of shape: old name -> new name. A `$ref` that
    /// follows the rename is not a change of type of its own.
    pub(crate) renames: BTreeMap<String, String>,
    pub(crate) changes: Vec<Change>,
}

/// Where a schema comparison stands: what it belongs to, where it is in each spec, how it
/// reads in a sentence, and which way its values travel.
#[derive(Clone, Debug)]
pub(crate) struct Site {
    pub(crate) subject: Subject,
    pub(crate) old_ptr: String,
    pub(crate) new_ptr: String,
    /// How the place reads in a sentence, e.g. `Conversation::meta` or `the per_page query
    /// parameter`.
    pub(crate) label: String,
    /// The Rust type that owns the fields at this level (a component, or an inline object's
    /// title).
    pub(crate) owner: String,
    pub(crate) dir: Dir,
    /// A field of a struct: its type was already compared, with its `required`.
    pub(crate) field: bool,
    /// The root of a component: its `title` is documentation, not its name.
    pub(crate) root: bool,
}

impl Site {
    /// The site one level down: `segments` appended to both pointers.
    pub(crate) fn down(&self, segments: &[&str], label: String) -> Site {
        Site {
            subject: self.subject.clone(),
            old_ptr: doc::child(&self.old_ptr, segments),
            new_ptr: doc::child(&self.new_ptr, segments),
            label,
            owner: self.owner.clone(),
            dir: self.dir,
            field: false,
            root: false,
        }
    }
}

impl Differ<'_> {
    /// Records a change under `rule_id`, its sentence rendered from `args`.
    pub(crate) fn emit(
        &mut self,
        subject: &Subject,
        rule_id: &str,
        location: String,
        args: &[(&str, &str)],
    ) {
        let rule = rules::rule(rule_id);
        let what = args
            .iter()
            .find(|(key, _)| *key == "what")
            .map(|(_, value)| (*value).to_owned());
        self.changes.push(Change {
            rule,
            subject: subject.clone(),
            location,
            message: rule.render(args),
            what,
        });
    }

    /// Records a documentation change.
    pub(crate) fn docs(&mut self, subject: &Subject, location: String, what: &str) {
        self.emit(subject, "docs-changed", location, &[("what", what)]);
    }

    /// Compares the keys of two objects that no rule reads: a difference in any of them is an
    /// `unmodelled-change` (or documentation, for the keys in `docs`).
    pub(crate) fn other_keys(
        &mut self,
        subject: &Subject,
        site_ptr: &str,
        label: &str,
        old: &Value,
        new: &Value,
        known: &[&str],
    ) {
        let empty = serde_json::Map::new();
        let old_map = old.as_object().unwrap_or(&empty);
        let new_map = new.as_object().unwrap_or(&empty);
        let mut keys: Vec<&String> = old_map.keys().chain(new_map.keys()).collect();
        keys.sort_unstable();
        keys.dedup();
        for key in keys {
            if known.contains(&key.as_str()) || old_map.get(key) == new_map.get(key) {
                continue;
            }
            let location = doc::child(site_ptr, &[key]);
            match key.as_str() {
                "description" | "summary" | "title" | "externalDocs" => {
                    self.docs(subject, location, &format!("the {key} of {label}"));
                }
                "example" | "examples" => {
                    self.emit(
                        subject,
                        "example-changed",
                        location,
                        &[("what", &format!("the {key} of {label}"))],
                    );
                }
                _ => self.emit(
                    subject,
                    "unmodelled-change",
                    location,
                    &[("key", key), ("where", label)],
                ),
            }
        }
    }
}

/// A JSON value shown in a sentence: strings as they are, anything else as JSON, absence as
/// "none".
pub(crate) fn shown(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "none".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

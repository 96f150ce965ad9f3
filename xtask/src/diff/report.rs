//! The changes found, and the three ways they are shown: the text report for a pull request,
//! `--json` for bots, and a `CHANGELOG.md` entry.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;

use super::rules::{Class, Rule, rule};

/// What a change is about: the group it is listed under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// An operation, by its (new) operationId.
    Operation {
        /// The operationId.
        id: String,
        /// `METHOD /path`.
        route: String,
    },
    /// A component schema, with the operations and events that reach it.
    Schema {
        /// The component's name.
        name: String,
        /// operationIds that reach it, in either spec.
        operations: Vec<String>,
        /// Webhook events whose data reaches it, in either spec.
        events: Vec<String>,
    },
    /// A webhook event of `x-crisp-webhooks`.
    Event {
        /// The event name, e.g. `message:send`.
        name: String,
    },
    /// The document itself: servers, info, shared responses.
    Document,
}

impl Subject {
    /// The group heading in the text report.
    pub fn heading(&self) -> String {
        match self {
            Subject::Operation { id, route } => format!("{id}  {route}"),
            Subject::Schema {
                name,
                operations,
                events,
            } => {
                let mut users: Vec<String> = operations.clone();
                users.extend(events.iter().map(|e| format!("event {e}")));
                if users.is_empty() {
                    format!("schema {name}  (not used by any operation or event)")
                } else {
                    format!("schema {name}  (used by {})", users.join(", "))
                }
            }
            Subject::Event { name } => format!("event {name}"),
            Subject::Document => "the document".to_owned(),
        }
    }

    /// How a changelog line names it.
    fn short(&self) -> String {
        match self {
            Subject::Operation { id, .. } => format!("`{id}`"),
            Subject::Schema { name, .. } => format!("`{name}`"),
            Subject::Event { name } => format!("event `{name}`"),
            Subject::Document => "The document".to_owned(),
        }
    }

    fn key(&self) -> String {
        match self {
            Subject::Operation { id, .. } => format!("operation {id}"),
            Subject::Schema { name, .. } => format!("schema {name}"),
            Subject::Event { name } => format!("event {name}"),
            Subject::Document => "document".to_owned(),
        }
    }
}

/// One change: the rule that classified it, what it is about, where, and the sentence.
#[derive(Debug, Clone)]
pub struct Change {
    /// The rule (its class, its template).
    pub rule: &'static Rule,
    /// The operation, schema or event it belongs to.
    pub subject: Subject,
    /// A JSON pointer into the new spec (into BASE for what was removed).
    pub location: String,
    /// The sentence for the reviewer.
    pub message: String,
    /// For documentation and example changes: what changed, used to fold them into one line.
    pub what: Option<String>,
}

impl Change {
    /// The change's class (its rule's).
    pub fn class(&self) -> Class {
        self.rule.class
    }

    /// One object for `--json`.
    pub fn to_json(&self) -> serde_json::Value {
        let (operation, schema, event, used_by, used_by_events) = match &self.subject {
            Subject::Operation { id, .. } => (Some(id.as_str()), None, None, vec![], vec![]),
            Subject::Schema {
                name,
                operations,
                events,
            } => (
                None,
                Some(name.as_str()),
                None,
                operations.clone(),
                events.clone(),
            ),
            Subject::Event { name } => (None, None, Some(name.as_str()), vec![], vec![]),
            Subject::Document => (None, None, None, vec![], vec![]),
        };
        json!({
            "class": self.class().id(),
            "rule": self.rule.id,
            "operation": operation,
            "schema": schema,
            "event": event,
            "used_by_operations": used_by,
            "used_by_events": used_by_events,
            "location": self.location,
            "message": self.message,
            "loud": self.rule.loud,
        })
    }
}

/// Every change between two specs, in the order the differ met them (operations in path
/// order, then schemas, events and the document).
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The changes.
    pub changes: Vec<Change>,
}

/// The text report's indentation of messages (the width of the longest class label + 4).
const INDENT: usize = 26;
/// Where the text report wraps.
const WIDTH: usize = 100;

impl Report {
    /// How many changes fall in each class, in [`Class::ALL`] order.
    pub fn counts(&self) -> [usize; 4] {
        let mut counts = [0; 4];
        for change in &self.changes {
            let i = Class::ALL
                .iter()
                .position(|c| *c == change.class())
                .unwrap_or(3);
            counts[i] += 1;
        }
        counts
    }

    /// The worst class present, if there is any change.
    pub fn worst(&self) -> Option<Class> {
        self.changes.iter().map(Change::class).min()
    }

    /// The one-line summary: counts per class.
    pub fn summary(&self) -> String {
        if self.changes.is_empty() {
            return "no changes: both specs describe the same API".to_owned();
        }
        let counts = self.counts();
        let loud = self.changes.iter().filter(|c| c.rule.loud).count();
        let parts: Vec<String> = Class::ALL
            .iter()
            .zip(counts)
            .map(|(class, n)| {
                if *class == Class::Permissions && loud > 0 {
                    format!("{n} {class} ({loud} flagged !!)")
                } else {
                    format!("{n} {class}")
                }
            })
            .collect();
        let total = self.changes.len();
        let noun = if total == 1 { "change" } else { "changes" };
        format!("{total} {noun}: {}", parts.join(", "))
    }

    /// The text report: a title, the summary, then the changes grouped by operation, schema
    /// and event, worst first within a group. Documentation and example changes of one group
    /// are folded into one line each.
    pub fn render_text(&self, title: &str) -> String {
        let mut out = format!("{title}\n{}\n", self.summary());
        for (subject, changes) in self.groups() {
            let _ = write!(out, "\n{}\n", fill(String::new(), &subject.heading(), 4));
            for (class, message) in folded(&changes) {
                let label = format!("  {}", class.label());
                let _ = writeln!(out, "{}", wrap(&label, &message));
            }
        }
        out
    }

    /// `--json`: an array with one object per change.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Array(self.changes.iter().map(Change::to_json).collect())
    }

    /// A `CHANGELOG.md` entry: `heading`, then one section per class that has changes.
    pub fn changelog(&self, heading: &str, since: &str) -> String {
        let mut out = format!(
            "## {heading}\n\nChanges to the API described by `spec/crisp.yaml` since {since}, \
             drafted by `cargo xtask spec-diff --changelog`.\n"
        );
        if self.changes.is_empty() {
            out.push_str("\nNo changes to the API.\n");
            return out;
        }
        for class in Class::ALL {
            let mut lines = Vec::new();
            for (subject, changes) in self.groups() {
                for (c, message) in folded(&changes) {
                    if c == class {
                        lines.push(format!("- {}: {message}", subject.short()));
                    }
                }
            }
            if !lines.is_empty() {
                let _ = write!(
                    out,
                    "\n### {}\n\n{}\n",
                    capitalized(class.label()),
                    lines.join("\n")
                );
            }
        }
        out
    }

    /// The changes grouped by subject, groups in order of first appearance.
    fn groups(&self) -> Vec<(Subject, Vec<&Change>)> {
        let mut order: Vec<String> = Vec::new();
        let mut groups: BTreeMap<String, (Subject, Vec<&Change>)> = BTreeMap::new();
        for change in &self.changes {
            let key = change.subject.key();
            if !groups.contains_key(&key) {
                order.push(key.clone());
            }
            groups
                .entry(key)
                .or_insert_with(|| (change.subject.clone(), Vec::new()))
                .1
                .push(change);
        }
        order
            .into_iter()
            .filter_map(|key| groups.remove(&key))
            .map(|(subject, mut changes)| {
                changes.sort_by_key(|c| c.class());
                (subject, changes)
            })
            .collect()
    }
}

/// A group's lines: each change's message, except that two or more documentation (or
/// example) changes become one line listing what changed.
fn folded(changes: &[&Change]) -> Vec<(Class, String)> {
    let mut lines = Vec::new();
    let mut folded_rules = Vec::new();
    for change in changes {
        let id = change.rule.id;
        if folded_rules.contains(&id) {
            continue;
        }
        let same: Vec<&str> = changes
            .iter()
            .filter(|c| c.rule.id == id)
            .filter_map(|c| c.what.as_deref())
            .collect();
        if same.len() > 1 {
            folded_rules.push(id);
            let what = same.join("; ");
            lines.push((change.class(), rule(id).render(&[("what", &what)])));
        } else {
            lines.push((change.class(), change.message.clone()));
        }
    }
    lines
}

/// `label` padded to the message column, then the message wrapped at [`WIDTH`] with a hanging
/// indent.
fn wrap(label: &str, message: &str) -> String {
    let mut start = format!("{label:<INDENT$}");
    if label.len() >= INDENT {
        start.push(' ');
    }
    fill(start, message, INDENT)
}

/// A paragraph wrapped at the report's width.
pub fn fill_text(text: &str) -> String {
    fill(String::new(), text, 0)
}

/// `text` appended to `start`, wrapped at [`WIDTH`]; continuation lines are indented by
/// `indent`. A word longer than a line stays whole.
fn fill(start: String, text: &str, indent: usize) -> String {
    let mut out = start;
    let mut column = out.len();
    let mut first = true;
    for word in text.split(' ') {
        if !first && column + 1 + word.len() > WIDTH {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            column = indent;
        } else if !first {
            out.push(' ');
            column += 1;
        }
        out.push_str(word);
        column += word.len();
        first = false;
    }
    out
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

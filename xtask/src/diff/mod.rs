//! `cargo xtask spec-diff`: a change to `spec/crisp.yaml` reviewed as a change of API.
//!
//! [`diff`] compares two specs and classifies every difference with a rule of
//! [`rules::RULES`] (the one table of rules): breaking for code, breaking on the wire, a change
//! of permissions, or compatible, with a sentence that says what it does to users of the
//! generated crate. [`cli`] is the command; [`release`] keeps the specs of released versions
//! and holds the crate's version to the classes.
//!
//! Every difference is reported: what no rule models counts as breaking for code
//! (`unmodelled-change`), so nothing slips past the version check unread.
//!
//! Oxide's `drift` compares OpenAPI documents too, but it matches operations by route (a
//! renamed operationId goes unseen), reports added or removed properties, `required` and enum
//! changes only as "unhandled", ignores extensions, and asserts or `todo!()`s on some media
//! type changes; the README's "Reviewing a spec change" says more.

use std::collections::BTreeMap;

pub mod cli;
mod differ;
pub mod doc;
mod events;
mod ops;
pub mod release;
pub mod report;
pub mod rules;
pub mod rust;
mod schema;

pub use doc::{Dir, Doc, LoadError};
pub use report::{Change, Report, Subject};
pub use rules::{Class, RULES, Rule};

use differ::Differ;

/// Compares two spec texts (YAML or JSON): `old` (BASE) and `new`. `old_name` and `new_name`
/// name them in errors.
pub fn diff(old: &str, new: &str, old_name: &str, new_name: &str) -> Result<Report, LoadError> {
    let old = Doc::load(old, old_name)?;
    let new = Doc::load(new, new_name)?;
    Ok(diff_docs(&old, &new))
}

/// Compares two loaded specs.
pub fn diff_docs(old: &Doc, new: &Doc) -> Report {
    let mut differ = Differ {
        old,
        new,
        renames: BTreeMap::new(),
        changes: Vec::new(),
    };
    differ.renames = schema::renamed_components(old, new);
    differ.operations();
    differ.components();
    differ.webhooks();
    differ.document();
    Report {
        changes: differ.changes,
    }
}

//! Edits of the real `spec/crisp.yaml` for the spec-diff tests: helpers to reach into it, and
//! `run`, which applies an edit and checks the change it is classified as.

#![allow(dead_code)] // each test file uses a part

use std::path::{Path, PathBuf};

use serde_json::Value;
use xtask::diff::{self, Doc, Report};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

pub fn spec_text() -> String {
    std::fs::read_to_string(root().join(xtask::SPEC_PATH)).expect("spec/crisp.yaml is readable")
}

/// The real spec as JSON, to edit (read once).
pub fn spec() -> Value {
    static SPEC: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    SPEC.get_or_init(|| {
        let yaml: serde_yaml::Value = serde_yaml::from_str(&spec_text()).expect("the spec is YAML");
        xtask::yaml::to_json(&yaml)
    })
    .clone()
}

/// The operation object with this operationId.
pub fn op<'a>(spec: &'a mut Value, id: &str) -> &'a mut Value {
    spec["paths"]
        .as_object_mut()
        .expect("paths")
        .values_mut()
        .flat_map(|item| item.as_object_mut().expect("path item").values_mut())
        .find(|o| o.get("operationId").and_then(Value::as_str) == Some(id))
        .unwrap_or_else(|| panic!("the spec has no operation {id}"))
}

/// The parameter of an operation with this name.
pub fn param<'a>(spec: &'a mut Value, id: &str, name: &str) -> &'a mut Value {
    op(spec, id)["parameters"]
        .as_array_mut()
        .expect("parameters")
        .iter_mut()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{id} has no parameter {name}"))
}

/// A component schema.
pub fn schema<'a>(spec: &'a mut Value, name: &str) -> &'a mut Value {
    spec["components"]["schemas"]
        .get_mut(name)
        .unwrap_or_else(|| panic!("the spec has no component {name}"))
}

pub fn prop<'a>(spec: &'a mut Value, name: &str, field: &str) -> &'a mut Value {
    &mut schema(spec, name)["properties"][field]
}

pub fn required<'a>(spec: &'a mut Value, name: &str) -> &'a mut Vec<Value> {
    schema(spec, name)["required"]
        .as_array_mut()
        .expect("a required list")
}

pub fn remove(map: &mut Value, key: &str) {
    map.as_object_mut()
        .expect("an object")
        .remove(key)
        .unwrap_or_else(|| panic!("no key {key} to remove"));
}

/// Moves a path item to a new path.
pub fn move_path(spec: &mut Value, from: &str, to: &str) {
    let paths = spec["paths"].as_object_mut().expect("paths");
    let item = paths.remove(from).expect("the path to move");
    paths.insert(to.to_owned(), item);
}

/// JSON is YAML: the edited spec is handed to the differ as JSON text.
pub fn text(spec: &Value) -> String {
    serde_json::to_string(spec).expect("JSON")
}

pub fn compare(base: &str, new: &str) -> Report {
    diff::diff(base, new, "BASE", "edited").expect("both specs load")
}

pub type Edit = fn(&mut Value);

/// One corpus case: an edit of the real spec (and, for the reverse of an edit, one of BASE).
pub struct Case {
    pub base: Option<Edit>,
    pub edit: Edit,
}

pub fn edit(edit: Edit) -> Case {
    Case { base: None, edit }
}

pub fn between(base: Edit, edit: Edit) -> Case {
    Case {
        base: Some(base),
        edit,
    }
}

/// Applies a case and checks that `rule` is reported, in its table class, and that every
/// other change is one of `also`.
pub fn run(rule: &str, also: &[&str], case: Case) -> Report {
    let mut base = spec();
    if let Some(base_edit) = case.base {
        base_edit(&mut base);
    }
    let mut new = base.clone();
    (case.edit)(&mut new);
    let (base_doc, new_doc) = (
        Doc::from_json(base, "BASE").expect("BASE loads"),
        Doc::from_json(new, "edited").expect("the edited spec loads"),
    );
    let report = diff::diff_docs(&base_doc, &new_doc);
    let class = diff::rules::rule(rule).class;
    let hits: Vec<_> = report
        .changes
        .iter()
        .filter(|c| c.rule.id == rule)
        .collect();
    assert!(
        !hits.is_empty(),
        "expected a `{rule}` change; got:\n{}",
        report.render_text("report")
    );
    for hit in &hits {
        assert_eq!(hit.class(), class, "{}", hit.message);
        let left = hit
            .rule
            .blanks()
            .into_iter()
            .find(|b| hit.message.contains(&format!("{{{b}}}")));
        assert_eq!(left, None, "a blank is left: {}", hit.message);
        let found = new_doc.root.pointer(&hit.location).is_some()
            || base_doc.root.pointer(&hit.location).is_some();
        assert!(found, "location {} points nowhere", hit.location);
    }
    let others: Vec<_> = report
        .changes
        .iter()
        .filter(|c| c.rule.id != rule && !also.contains(&c.rule.id))
        .map(|c| format!("{} ({})", c.rule.id, c.message))
        .collect();
    assert!(
        others.is_empty(),
        "unexpected changes besides `{rule}`: {others:#?}"
    );
    report
}

pub fn message(report: &Report, rule: &str) -> String {
    report
        .changes
        .iter()
        .find(|c| c.rule.id == rule)
        .map(|c| c.message.clone())
        .unwrap_or_default()
}

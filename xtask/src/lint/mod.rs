//! Lints the spec before anything is generated, so that a mistake is reported by operation,
//! schema or webhook instead of as a panic inside progenitor. One file per area of rules; this
//! one runs them in order and hands what they extract to [`crate::load`]. Lint reads the raw
//! YAML and builds the model's parts ([`crate::spec`]); the model never calls lint.

mod bodies;
mod content;
mod document;
mod links;
mod operations;
mod paging;
mod parameters;
mod problem;
mod schemas;
mod webhooks;

use std::collections::BTreeSet;

use serde_yaml::Value;

use crate::spec::{ContentShape, Operation, StringEnum, Tag, Webhook};
use crate::yaml::key_str;
pub use problem::Problem;

/// What lint extracts on the way.
pub(crate) struct Extracted {
    pub tags: Vec<Tag>,
    pub operations: Vec<Operation>,
    pub enums: Vec<StringEnum>,
    pub rust_types: Vec<(String, String)>,
    pub webhooks: Vec<Webhook>,
    pub content_by_type: Vec<(String, ContentShape)>,
}

/// Lints the whole spec and extracts what the generators need.
pub(crate) fn lint(raw: &Value) -> Result<Extracted, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut report = |place: &str, message: String| problems.push(Problem::new(place, message));

    document::lint_document(raw, &mut report);
    let tags = document::lint_tags(raw, &mut report);
    let (enums, rust_types) = schemas::lint_schemas(raw, &mut report);
    let webhook_names: BTreeSet<String> = raw
        .get("x-crisp-webhooks")
        .and_then(Value::as_mapping)
        .map(|m| m.keys().filter_map(key_str).collect())
        .unwrap_or_default();
    let operations = operations::lint_operations(raw, &tags, &webhook_names, &mut report);
    let webhooks = webhooks::lint_webhooks(raw, &operations, &mut report);
    let content_by_type = content::lint_content(raw, &enums, &mut report);

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

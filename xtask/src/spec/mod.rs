//! The spec as the generators see it: the raw YAML tree and progenitor's reading of it, plus
//! the operations, tags, enums, webhooks and message content extracted from it. Built by
//! [`crate::load`] once the spec passes lint; nothing here knows the rules (`lint` uses this
//! model, never the reverse).

mod operation;
mod raw;
mod schema;
mod webhook;

use serde_yaml::{Mapping, Value};

use crate::Error;
use crate::yaml::get;
pub use operation::{METHODS, Operation, PAGE_NUMBER, Paging, PathPart, TIMESTAMP_BEFORE, Tag};
pub(crate) use raw::{parameters, request_body, success_example, success_response};
pub use schema::{ContentShape, MESSAGE_CONTENT, MESSAGE_TYPE, StringEnum};
pub use webhook::Webhook;

/// A loaded, linted spec.
#[derive(Debug)]
pub struct Spec {
    /// The spec as progenitor reads it.
    pub openapi: openapiv3::OpenAPI,
    /// The raw YAML tree, for the extensions and examples progenitor ignores.
    pub raw: Value,
    /// `spec_hash` of the text.
    pub hash: String,
    /// Tags in declaration order.
    pub tags: Vec<Tag>,
    /// Operations in path order.
    pub operations: Vec<Operation>,
    /// String enum components, in declaration order.
    pub enums: Vec<StringEnum>,
    /// Components replaced by a hand-written type (`x-crisp-rust-type`): name, Rust path.
    pub rust_types: Vec<(String, String)>,
    /// Webhook events in declaration order.
    pub webhooks: Vec<Webhook>,
    /// The component schemas, in declaration order.
    pub(crate) schemas: Mapping,
    /// `x-crisp-content-by-type` of the `MessageContent` component: message type -> content.
    pub content_by_type: Vec<(String, ContentShape)>,
}

/// The one implementation of the spec hash, shared with crisp-api's build script (which
/// compares it with the generated files' header).
#[path = "../../../crisp-api/spec_hash.rs"]
mod hash;

/// A stable hash of the spec text: FNV-1a, 64 bits, over the bytes, as 16 hex digits. The
/// same function crisp-api's build script computes (one file, `crisp-api/spec_hash.rs`).
pub fn spec_hash(text: &str) -> String {
    hash::spec_hash(text.as_bytes())
}

impl Spec {
    /// The operation's node in the raw spec (`paths.<path>.<method>`), for what the extracted
    /// [`Operation`] does not carry: parameters, request body, responses, description.
    pub(crate) fn raw_operation(&self, op: &Operation) -> Result<&Value, Error> {
        self.raw
            .get("paths")
            .and_then(Value::as_mapping)
            .and_then(|paths| get(paths, &op.path))
            .and_then(|item| item.get(op.method.to_ascii_lowercase().as_str()))
            .ok_or_else(|| {
                Error(format!(
                    "operation {}: {} {} is not in paths",
                    op.id, op.method, op.path
                ))
            })
    }

    /// The component schemas, in declaration order.
    pub fn schemas(&self) -> &Mapping {
        &self.schemas
    }

    /// The component schema named `name`.
    pub fn schema(&self, name: &str) -> Option<&Value> {
        get(self.schemas(), name)
    }

    /// The string enum component named `name`.
    pub fn string_enum(&self, name: &str) -> Option<&StringEnum> {
        self.enums.iter().find(|e| e.name == name)
    }

    /// The operation with this id.
    pub fn operation(&self, id: &str) -> Option<&Operation> {
        self.operations.iter().find(|op| op.id == id)
    }
}

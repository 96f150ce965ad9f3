//! Loading the spec: read the YAML, lint it, and build the model from what lint extracted and
//! from progenitor's own reading of the document. The one way to get a [`Spec`].

use serde_yaml::Value;

use crate::lint::{self, Problem};
use crate::spec::{Spec, spec_hash};
use crate::yaml::schemas;

/// Parses and lints the spec. Every problem found is returned, each naming the operation,
/// schema or webhook it concerns.
pub fn load(text: &str) -> Result<Spec, Vec<Problem>> {
    let raw: Value = serde_yaml::from_str(text)
        .map_err(|e| vec![Problem::new("spec", format!("is not valid YAML: {e}"))])?;
    let extracted = lint::lint(&raw)?;
    let openapi: openapiv3::OpenAPI = serde_yaml::from_str(text).map_err(|e| {
        vec![Problem::new(
            "spec",
            format!("is not a valid OpenAPI 3.0 document: {e}"),
        )]
    })?;
    Ok(Spec {
        openapi,
        schemas: schemas(&raw).cloned().unwrap_or_default(),
        hash: spec_hash(text),
        raw,
        tags: extracted.tags,
        operations: extracted.operations,
        enums: extracted.enums,
        rust_types: extracted.rust_types,
        webhooks: extracted.webhooks,
        content_by_type: extracted.content_by_type,
    })
}

//! Rules on the document as a whole: the OpenAPI version, the servers, local `$ref`s that
//! resolve, and the tags (the API's areas).

use serde_yaml::Value;

use crate::spec::Tag;
use crate::yaml::{resolve, str_field, walk};

/// The OpenAPI version, the servers, and every `$ref`: local, and pointing at something.
pub(super) fn lint_document(raw: &Value, report: &mut impl FnMut(&str, String)) {
    if str_field(raw, "openapi") != Some("3.0.3") {
        report("spec", "`openapi` must be \"3.0.3\"".into());
    }
    if raw.get("servers").and_then(Value::as_sequence).is_none() {
        report("spec", "`servers` must list the API's base URL".into());
    }

    // References: local only, and they must resolve.
    walk(raw, "spec", &mut |place, value| {
        if let Some(r) = str_field(value, "$ref") {
            if !r.starts_with("#/") {
                report(
                    place,
                    format!("external $ref `{r}`: progenitor panics on these; inline the schema"),
                );
            } else if resolve(raw, r).is_none() {
                report(place, format!("$ref `{r}` points at nothing"));
            }
        }
    });
}

/// Every tag has a name and a description, and is declared once.
pub(super) fn lint_tags(raw: &Value, report: &mut impl FnMut(&str, String)) -> Vec<Tag> {
    let mut tags = Vec::new();
    let Some(seq) = raw.get("tags").and_then(Value::as_sequence) else {
        report("spec", "`tags` must list the API's areas".into());
        return tags;
    };
    for tag in seq {
        let name = str_field(tag, "name").unwrap_or_default().to_owned();
        let description = str_field(tag, "description").unwrap_or_default().trim();
        if name.is_empty() || description.is_empty() {
            report(
                &format!("tag {name:?}"),
                "every tag needs a name and a description".into(),
            );
        }
        if tags.iter().any(|t: &Tag| t.name == name) {
            report(&format!("tag {name}"), "is declared twice".into());
        }
        tags.push(Tag {
            name,
            description: description.to_owned(),
        });
    }
    tags
}

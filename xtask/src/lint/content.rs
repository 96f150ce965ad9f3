//! Rules on message content: `x-crisp-content-by-type` of the `MessageContent` component gives
//! every message type a content shape (a string or a component).

use serde_yaml::Value;

use crate::spec::{ContentShape, MESSAGE_CONTENT, MESSAGE_TYPE, StringEnum};
use crate::yaml::{get, key_str, schemas};

/// The content shape of every message type.
pub(super) fn lint_content(
    raw: &Value,
    enums: &[StringEnum],
    report: &mut impl FnMut(&str, String),
) -> Vec<(String, ContentShape)> {
    let mut out = Vec::new();
    let Some(schema) = schemas(raw).and_then(|s| get(s, MESSAGE_CONTENT)) else {
        return out;
    };
    let place = format!("schema {MESSAGE_CONTENT}");
    let Some(map) = schema
        .get("x-crisp-content-by-type")
        .and_then(Value::as_mapping)
    else {
        report(
            &place,
            "needs `x-crisp-content-by-type`: message type -> `string` or a component".into(),
        );
        return out;
    };
    let types = enums.iter().find(|e| e.name == MESSAGE_TYPE);
    // The description is what a reader (a model filling a tool's arguments) sees of the shapes.
    let description = schema
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    for (ty, shape) in map {
        let ty = key_str(ty).unwrap_or_default();
        if !description.contains(&format!("`{ty}`")) {
            report(
                &place,
                format!("the description must say what content `{ty}` takes (name it as `{ty}`)"),
            );
        }
        if types.is_some_and(|t| !t.values.contains(&ty)) {
            report(&place, format!("`{ty}` is not a value of {MESSAGE_TYPE}"));
        }
        let shape = match shape.as_str() {
            Some("string") => ContentShape::String,
            Some(name) if schemas(raw).and_then(|s| get(s, name)).is_some() => {
                ContentShape::Schema(name.to_owned())
            }
            _ => {
                report(
                    &place,
                    format!("content of `{ty}` must be `string` or a component name"),
                );
                continue;
            }
        };
        out.push((ty, shape));
    }
    if let Some(types) = types {
        for value in &types.values {
            if !out.iter().any(|(t, _)| t == value) {
                report(
                    &place,
                    format!("message type `{value}` has no content shape"),
                );
            }
        }
    }
    out
}

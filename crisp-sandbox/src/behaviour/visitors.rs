//! The spec's `Visitors` tag: the visitors browsing now, and how many there are.

use serde_json::{Value, json};

use super::call::{Call, Success};
use crate::envelope::ApiError;
use crate::state::Workspace;

pub(super) fn list(call: &Call, ws: &Workspace) -> Result<Success, ApiError> {
    let items: Vec<Value> = ws.visitors.iter().cloned().map(Value::Object).collect();
    Ok(Success::ok("resolved", Value::Array(call.page(items))))
}

pub(super) fn count(ws: &Workspace) -> Result<Success, ApiError> {
    let active = ws
        .visitors
        .iter()
        .filter(|v| v.get("active").and_then(Value::as_bool) == Some(true))
        .count();
    Ok(Success::ok(
        "resolved",
        json!({ "count": ws.visitors.len(), "active": active, "limited": false }),
    ))
}

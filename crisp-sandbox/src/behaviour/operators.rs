//! The spec's `Operators` tag: list the website's operators and get one.

use serde_json::{Value, json};

use super::call::{Call, Success, str_of};
use crate::envelope::ApiError;
use crate::state::Workspace;

pub(super) fn list(ws: &Workspace) -> Result<Success, ApiError> {
    let operators = ws
        .operators
        .iter()
        .map(|op| json!({ "type": "operator", "details": op }))
        .collect();
    Ok(Success::ok("resolved", Value::Array(operators)))
}

pub(super) fn get(call: &Call, ws: &Workspace) -> Result<Success, ApiError> {
    let id = call.input.path_str("user_id");
    let op = ws
        .operators
        .iter()
        .find(|op| str_of(op, "user_id") == Some(id))
        .ok_or_else(|| ApiError::not_found(format!("operator `{id}` is not on this website")))?;
    Ok(Success::ok("resolved", Value::Object(op.clone())))
}

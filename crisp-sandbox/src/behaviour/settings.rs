//! The spec's `Website settings` tag: read and patch the website's settings.

use serde_json::{Value, json};

use super::call::{Call, Success, merge};
use crate::envelope::ApiError;
use crate::state::Workspace;

pub(super) fn get(ws: &Workspace) -> Result<Success, ApiError> {
    let mut settings = ws.settings.clone();
    settings.insert("website_id".into(), ws.website_id.clone().into());
    Ok(Success::ok("resolved", Value::Object(settings)))
}

pub(super) fn update(call: &Call, ws: &mut Workspace) -> Result<Success, ApiError> {
    if let Value::Object(patch) = call.input.body() {
        merge(&mut ws.settings, patch);
    }
    Ok(Success::ok("updated", json!({})))
}

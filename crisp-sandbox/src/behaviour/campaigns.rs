//! The spec's `Campaigns` tag: list and dispatch campaigns.

use serde_json::{Value, json};

use super::call::{Call, Success, str_of};
use super::filters;
use crate::envelope::ApiError;
use crate::state::Workspace;

pub(super) fn list(call: &Call, ws: &Workspace) -> Result<Success, ApiError> {
    let filter = filters::Campaigns::new(call.input);
    let items = ws
        .campaigns
        .iter()
        .filter(|c| filter.keeps(c))
        .cloned()
        .map(Value::Object)
        .collect();
    Ok(Success::ok("resolved", Value::Array(call.page(items))))
}

pub(super) fn dispatch(call: &Call, ws: &mut Workspace) -> Result<Success, ApiError> {
    let id = call.input.path_str("campaign_id").to_owned();
    let website_id = ws.website_id.clone();
    let campaign = ws
        .campaigns
        .iter_mut()
        .find(|c| str_of(c, "campaign_id") == Some(id.as_str()))
        .ok_or_else(|| ApiError::not_found(format!("campaign `{id}` does not exist")))?;
    if campaign.get("ready").and_then(Value::as_bool) != Some(true) {
        return Err(ApiError::conflict(format!(
            "campaign `{id}` is not configured: it cannot be dispatched"
        )));
    }
    let automated = str_of(campaign, "type") == Some("automated");
    campaign.insert("dispatched".into(), true.into());
    campaign.insert("dispatched_at".into(), call.now.into());
    campaign.insert("updated_at".into(), call.now.into());
    campaign.insert("running".into(), automated.into());
    if !automated {
        let targets = campaign.get("targets").cloned().unwrap_or(0.into());
        campaign.insert("reached".into(), targets);
        campaign.insert("progress".into(), 100.into());
    }
    Ok(Success::ok("dispatched", json!({})).with_webhook_of(
        call.op(),
        json!({ "website_id": website_id, "campaign_id": id }),
    ))
}

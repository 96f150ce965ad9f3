//! The spec's `Conversation state & routing` tag: a conversation's state, meta, assignment and
//! block.

use serde_json::{Map, Value, json};

use super::call::{Call, Success};
use crate::envelope::ApiError;
use crate::state::Workspace;

pub(super) fn get_state(call: &Call, ws: &Workspace) -> Result<Success, ApiError> {
    let state = call.conversation(ws)?.record.get("state").cloned();
    Ok(Success::ok(
        "resolved",
        json!({ "state": state.unwrap_or_else(|| "pending".into()) }),
    ))
}

pub(super) fn get_meta(call: &Call, ws: &Workspace) -> Result<Success, ApiError> {
    let meta = call.conversation(ws)?.record.get("meta").cloned();
    Ok(Success::ok("resolved", meta.unwrap_or_else(|| json!({}))))
}

pub(super) fn change_state(call: &Call, ws: &mut Workspace) -> Result<Success, ApiError> {
    let state = call
        .input
        .body()
        .get("state")
        .and_then(Value::as_str)
        .unwrap_or("pending")
        .to_owned();
    let now = call.now;
    let conversation = call.conversation_mut(ws)?;
    let r = &mut conversation.record;
    let status = ["pending", "unresolved", "resolved"]
        .iter()
        .position(|s| *s == state)
        .unwrap_or(0);
    r.insert("state".into(), state.clone().into());
    r.insert("status".into(), status.into());
    r.insert("updated_at".into(), now.into());
    if state == "resolved" {
        r.remove("waiting_since");
    }
    let mut event = call.session_event(conversation);
    event.insert("state".into(), state.into());
    Ok(Success::ok("updated", json!({})).with_webhook_of(call.op(), Value::Object(event)))
}

pub(super) fn update_meta(call: &Call, ws: &mut Workspace) -> Result<Success, ApiError> {
    let patch = call.body_object()?;
    let now = call.now;
    let conversation = call.conversation_mut(ws)?;
    let r = &mut conversation.record;
    let meta = r.entry("meta").or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    let Value::Object(meta) = meta else {
        unreachable!("made an object above")
    };
    for (key, value) in patch {
        match (key.as_str(), value) {
            ("segments", Value::Null) => {
                meta.insert(key.clone(), json!([]));
            }
            (_, Value::Null) => {
                meta.remove(key);
            }
            ("data", Value::Object(data)) => {
                let have = meta
                    .entry("data")
                    .or_insert_with(|| Value::Object(Map::new()));
                match have {
                    Value::Object(have) => {
                        for (k, v) in data {
                            have.insert(k.clone(), v.clone());
                        }
                    }
                    other => *other = Value::Object(data.clone()),
                }
            }
            _ => {
                meta.insert(key.clone(), value.clone());
            }
        }
    }
    r.insert("updated_at".into(), now.into());
    let mut outcome = Success::ok("updated", json!({}));
    if let Some(email) = patch.get("email").and_then(Value::as_str) {
        let mut event = call.session_event(conversation);
        event.insert("email".into(), email.into());
        outcome = outcome.with_webhook_of(call.op(), Value::Object(event));
    }
    Ok(outcome)
}

pub(super) fn assign_routing(call: &Call, ws: &mut Workspace) -> Result<Success, ApiError> {
    let user_id = call
        .input
        .body()
        .get("assigned")
        .and_then(|a| a.get("user_id"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    // Any user_id is taken: a 404 here would read as "no such conversation", and Crisp's
    // answer for an unknown operator is not documented.
    let now = call.now;
    let conversation = call.conversation_mut(ws)?;
    let r = &mut conversation.record;
    let previous = r
        .get("assigned")
        .and_then(|a| a.get("user_id"))
        .cloned()
        .unwrap_or(Value::Null);
    match &user_id {
        Some(id) => {
            r.insert("assigned".into(), json!({ "user_id": id }));
        }
        None => {
            r.remove("assigned");
        }
    }
    r.insert("updated_at".into(), now.into());
    let mut event = call.session_event(conversation);
    event.insert(
        "routing_id".into(),
        user_id.map_or(Value::Null, Value::from),
    );
    event.insert("previous_routing_id".into(), previous);
    Ok(Success::ok("updated", json!({})).with_webhook_of(call.op(), Value::Object(event)))
}

pub(super) fn block(call: &Call, ws: &mut Workspace) -> Result<Success, ApiError> {
    let blocked = call
        .input
        .body()
        .get("blocked")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let now = call.now;
    let conversation = call.conversation_mut(ws)?;
    conversation
        .record
        .insert("is_blocked".into(), blocked.into());
    conversation.record.insert("updated_at".into(), now.into());
    let mut event = call.session_event(conversation);
    event.insert("is_blocked".into(), blocked.into());
    Ok(Success::ok("updated", json!({})).with_webhook_of(call.op(), Value::Object(event)))
}

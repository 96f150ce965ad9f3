//! The spec's `Conversations` tag: list, create, get and remove conversations.

use serde_json::{Value, json};

use super::call::{Call, Success, i64_of};
use super::filters;
use crate::envelope::ApiError;
use crate::state::{Conversation, Workspace};
use crate::util::random_uuid;

pub(super) fn list(call: &Call, ws: &Workspace) -> Result<Success, ApiError> {
    let q = call.input;
    let filter = filters::Conversations::new(q);
    let mut list: Vec<&Conversation> = ws
        .conversations
        .values()
        .filter(|c| filter.keeps(c))
        .collect();
    let key = |c: &Conversation, field: &str| i64_of(&c.record, field).unwrap_or(0);
    if q.flag("order_date_waiting") {
        list.sort_by_key(|c| (key(c, "waiting_since"), c.seq));
    } else if q.flag("order_date_created") {
        list.sort_by_key(|c| std::cmp::Reverse((key(c, "created_at"), c.seq)));
    } else {
        list.sort_by_key(|c| std::cmp::Reverse((key(c, "updated_at"), c.seq)));
    }
    let page = call
        .page(list)
        .into_iter()
        .map(|c| Value::Object(c.record.clone()))
        .collect();
    Ok(Success::ok("resolved", Value::Array(page)))
}

pub(super) fn create(call: &Call, ws: &mut Workspace) -> Result<Success, ApiError> {
    let session_id = format!("session_{}", random_uuid());
    let record = json!({
        "session_id": session_id,
        "website_id": ws.website_id,
        "state": "pending",
        "status": 0,
        "is_verified": false,
        "is_blocked": false,
        "availability": "offline",
        "active": { "now": false, "last": call.now },
        "unread": { "operator": 0, "visitor": 0 },
        "meta": { "segments": [] },
        "created_at": call.now,
        "updated_at": call.now,
    });
    let Value::Object(record) = record else {
        unreachable!("a JSON object literal")
    };
    let seq = ws.next_seq();
    let conversation = Conversation {
        record,
        messages: Vec::new(),
        seq,
    };
    let event = call.session_event(&conversation);
    ws.conversations.insert(session_id.clone(), conversation);
    Ok(Success::ok("added", json!({ "session_id": session_id }))
        .with_webhook_of(call.op(), Value::Object(event)))
}

pub(super) fn get(call: &Call, ws: &Workspace) -> Result<Success, ApiError> {
    let record = &call.conversation(ws)?.record;
    Ok(Success::ok("resolved", Value::Object(record.clone())))
}

pub(super) fn remove(call: &Call, ws: &mut Workspace) -> Result<Success, ApiError> {
    call.conversation(ws)?;
    let conversation = ws
        .conversations
        .remove(call.session_id())
        .ok_or_else(|| ApiError::not_found("conversation does not exist"))?;
    let event = call.session_event(&conversation);
    Ok(Success::ok("deleted", json!({})).with_webhook_of(call.op(), Value::Object(event)))
}

//! The spec's `Messages` tag: list (backwards by `timestamp_before`), send, get, edit, and mark
//! messages read; and what a conversation shows of its messages.

use serde_json::{Map, Value, json};

use super::call::{Call, Success, i64_of, str_of};
use crate::envelope::ApiError;
use crate::state::{Conversation, Workspace};

/// How many messages `list_messages` answers at most (Crisp does not document its batch).
pub const MESSAGE_BATCH: usize = 20;

pub(super) fn get(call: &Call, ws: &Workspace) -> Result<Success, ApiError> {
    let conversation = call.conversation(ws)?;
    let message = call.message(conversation)?;
    Ok(Success::ok(
        "resolved",
        Value::Object(conversation.messages[message].clone()),
    ))
}

pub(super) fn list(call: &Call, ws: &Workspace) -> Result<Success, ApiError> {
    let conversation = call.conversation(ws)?;
    let before = call.input.query_i64("timestamp_before");
    let end = match before {
        Some(before) => conversation
            .messages
            .partition_point(|m| i64_of(m, "timestamp").unwrap_or(0) < before),
        None => conversation.messages.len(),
    };
    let start = end.saturating_sub(MESSAGE_BATCH);
    let batch = conversation.messages[start..end]
        .iter()
        .cloned()
        .map(Value::Object)
        .collect();
    Ok(Success::ok("resolved", Value::Array(batch)))
}

pub(super) fn send(call: &Call, ws: &mut Workspace) -> Result<Success, ApiError> {
    let body = call.body_object()?;
    let mut message = body.clone();
    message.remove("stealth");
    let from = str_of(&message, "from").unwrap_or("operator").to_owned();
    let wanted = i64_of(&message, "fingerprint");
    let fingerprint = match wanted {
        // A fingerprint the client chose is never handed out again.
        Some(f) => {
            ws.note_fingerprint(f);
            f
        }
        None => ws.next_fingerprint(),
    };
    let website_id = ws.website_id.clone();
    let now = call.now;
    let conversation = call.conversation_mut(ws)?;
    if from == "user" && conversation.record.get("is_blocked") == Some(&Value::Bool(true)) {
        return Err(ApiError::conflict(
            "the conversation is blocked: it takes no message from the visitor",
        ));
    }
    if wanted.is_some()
        && conversation
            .messages
            .iter()
            .any(|m| i64_of(m, "fingerprint") == Some(fingerprint))
    {
        return Err(ApiError::conflict(format!(
            "a message with fingerprint {fingerprint} is already in this conversation"
        )));
    }
    let last = conversation
        .messages
        .last()
        .and_then(|m| i64_of(m, "timestamp"))
        .unwrap_or(i64::MIN);
    // Distinct timestamps, so that paging by `timestamp_before` never skips a message.
    let timestamp =
        i64_of(&message, "timestamp").unwrap_or_else(|| now.max(last.saturating_add(1)));
    let session_id = call.session_id().to_owned();
    message.insert("session_id".into(), session_id.into());
    message.insert("website_id".into(), website_id.into());
    message.insert("fingerprint".into(), fingerprint.into());
    message.insert("timestamp".into(), timestamp.into());
    message.entry("edited").or_insert(Value::Bool(false));
    let at = conversation
        .messages
        .partition_point(|m| i64_of(m, "timestamp").unwrap_or(0) <= timestamp);
    conversation.messages.insert(at, message.clone());
    refresh_conversation(conversation, now, Unread::Added(&from));
    let r = &mut conversation.record;
    if from == "user" {
        if str_of(r, "state") == Some("resolved") {
            r.insert("state".into(), "unresolved".into());
            r.insert("status".into(), 1.into());
        }
    } else if str_of(r, "state") == Some("pending") {
        r.insert("state".into(), "unresolved".into());
        r.insert("status".into(), 1.into());
    }
    let mut event = call.session_event(conversation);
    for (k, v) in message {
        event.entry(k).or_insert(v);
    }
    let mut event = Value::Object(event);
    call.validators
        .prune_component("MessageEventData", &mut event);
    let name = if from == "user" {
        "message:send"
    } else {
        "message:received"
    };
    Ok(Success::ok("dispatched", json!({ "fingerprint": fingerprint })).with_event(name, event))
}

pub(super) fn update(call: &Call, ws: &mut Workspace) -> Result<Success, ApiError> {
    let content = call
        .input
        .body()
        .get("content")
        .cloned()
        .unwrap_or(Value::Null);
    let now = call.now;
    let conversation = call.conversation_mut(ws)?;
    let at = call.message(conversation)?;
    let message = &mut conversation.messages[at];
    message.insert("content".into(), content.clone());
    message.insert("edited".into(), Value::Bool(true));
    let fingerprint = message.get("fingerprint").cloned().unwrap_or(Value::Null);
    refresh_conversation(conversation, now, Unread::Same);
    let mut event = call.session_event(conversation);
    event.insert("fingerprint".into(), fingerprint);
    event.insert("content".into(), content);
    Ok(Success::ok("updated", json!({})).with_webhook_of(call.op(), Value::Object(event)))
}

pub(super) fn mark_read(call: &Call, ws: &mut Workspace) -> Result<Success, ApiError> {
    let body = call.input.body();
    let reader = body
        .get("from")
        .and_then(Value::as_str)
        .unwrap_or("operator");
    let origin = body.get("origin").and_then(Value::as_str).unwrap_or("chat");
    let only: Option<Vec<i64>> = body
        .get("fingerprints")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_i64).collect());
    let now = call.now;
    let conversation = call.conversation_mut(ws)?;
    for message in &mut conversation.messages {
        let theirs = str_of(message, "from") != Some(reader);
        let chosen = only
            .as_ref()
            .is_none_or(|list| i64_of(message, "fingerprint").is_some_and(|f| list.contains(&f)));
        if theirs && chosen {
            message.insert("read".into(), origin.into());
        }
    }
    refresh_conversation(conversation, now, Unread::Recount);
    Ok(Success::ok("updated", json!({})))
}

/// How the unread counts of a conversation change.
enum Unread<'a> {
    /// One message was added, from this side.
    Added(&'a str),
    /// Nothing that counts changed.
    Same,
    /// Count again (messages were marked read).
    Recount,
}

/// Recomputes what a conversation shows of its messages: the last message, the unread
/// counts, whether the visitor waits for an answer.
fn refresh_conversation(conversation: &mut Conversation, now: i64, unread: Unread<'_>) {
    let r = &mut conversation.record;
    let count = |side: &str| {
        conversation
            .messages
            .iter()
            .filter(|m| str_of(m, "from") == Some(side) && !m.contains_key("read"))
            .count()
    };
    let have = |r: &Map<String, Value>, key: &str| {
        r.get("unread")
            .and_then(|u| u.get(key))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let (operator, visitor) = match unread {
        Unread::Recount => (count("user") as u64, count("operator") as u64),
        Unread::Same => (have(r, "operator"), have(r, "visitor")),
        // A visitor's message is unread by the operators, and the other way round.
        Unread::Added("user") => (have(r, "operator") + 1, have(r, "visitor")),
        Unread::Added(_) => (have(r, "operator"), have(r, "visitor") + 1),
    };
    r.insert(
        "unread".into(),
        json!({ "operator": operator, "visitor": visitor }),
    );
    if let Some(last) = conversation.messages.last() {
        let excerpt = match last.get("content") {
            Some(Value::String(s)) => s.chars().take(200).collect(),
            _ => format!("({})", str_of(last, "type").unwrap_or("message")),
        };
        r.insert("last_message".into(), excerpt.clone().into());
        let mut preview = Map::new();
        for key in ["type", "from", "fingerprint"] {
            if let Some(v) = last.get(key) {
                preview.insert(key.into(), v.clone());
            }
        }
        preview.insert("excerpt".into(), excerpt.into());
        r.insert("preview_message".into(), Value::Object(preview));
        if str_of(last, "from") == Some("user") {
            let since = i64_of(last, "timestamp").unwrap_or(now);
            r.entry("waiting_since").or_insert(since.into());
        } else {
            r.remove("waiting_since");
        }
    }
    let updated = i64_of(r, "updated_at").unwrap_or(0).max(now);
    r.insert("updated_at".into(), updated.into());
}

//! The spec's `People` tag: contact profiles and their custom data.

use serde_json::{Map, Value, json};

use super::call::{Call, Success, merge, str_of};
use super::filters;
use crate::envelope::ApiError;
use crate::state::{Person, Workspace};
use crate::util::random_uuid;

pub(super) fn get(call: &Call, ws: &Workspace) -> Result<Success, ApiError> {
    let profile = &call.person(ws)?.profile;
    Ok(Success::ok("resolved", Value::Object(profile.clone())))
}

pub(super) fn get_data(call: &Call, ws: &Workspace) -> Result<Success, ApiError> {
    Ok(Success::ok(
        "resolved",
        json!({ "data": call.person(ws)?.data }),
    ))
}

pub(super) fn list(call: &Call, ws: &Workspace) -> Result<Success, ApiError> {
    let q = call.input;
    let filter = filters::People::new(q);
    let mut list: Vec<&Person> = ws.people.values().filter(|p| filter.keeps(p)).collect();
    let field = q.query_str("sort_field").unwrap_or("");
    let sort_key = |p: &Person| -> String {
        let value = p
            .profile
            .get(field)
            .or_else(|| p.profile.get("person").and_then(|c| c.get(field)));
        match value {
            Some(Value::String(s)) => s.to_lowercase(),
            Some(Value::Number(n)) => format!("{:020}", n.as_i64().unwrap_or(0)),
            _ => String::new(),
        }
    };
    if field.is_empty() {
        list.sort_by_key(|p| std::cmp::Reverse(p.seq));
    } else {
        list.sort_by_key(|p| (sort_key(p), p.seq));
        if q.query_str("sort_order") == Some("descending") {
            list.reverse();
        }
    }
    let page = call
        .page(list)
        .into_iter()
        .map(|p| Value::Object(p.profile.clone()))
        .collect();
    Ok(Success::ok("resolved", Value::Array(page)))
}

/// A profile card from a `PeopleProfileWrite` body: `active` as `{now, last}`, no nulls.
fn card(call: &Call, body: &Map<String, Value>) -> Map<String, Value> {
    let mut card = Map::new();
    for (key, value) in body {
        match (key.as_str(), value) {
            (_, Value::Null) => {}
            ("active", v) => {
                card.insert(
                    "active".into(),
                    json!({ "now": false, "last": v.as_i64().unwrap_or(call.now) }),
                );
            }
            (_, v) => {
                card.insert(key.clone(), v.clone());
            }
        }
    }
    card
}

pub(super) fn add(call: &Call, ws: &mut Workspace) -> Result<Success, ApiError> {
    let body = call.body_object()?;
    let email = str_of(body, "email");
    if let Some(email) = email
        && ws
            .people
            .values()
            .any(|p| str_of(&p.profile, "email") == Some(email))
    {
        return Err(ApiError::conflict(format!(
            "a profile with email `{email}` already exists"
        )));
    }
    let people_id = random_uuid();
    let mut profile = card(call, body);
    profile.insert("people_id".into(), people_id.clone().into());
    profile.entry("segments").or_insert_with(|| json!([]));
    profile.insert("score".into(), 0.into());
    profile.insert("created_at".into(), call.now.into());
    profile.insert("updated_at".into(), call.now.into());
    let mut event = Map::new();
    event.insert("website_id".into(), ws.website_id.clone().into());
    event.insert("people_id".into(), people_id.clone().into());
    if let Some(email) = email {
        event.insert("email".into(), email.into());
    }
    let seq = ws.next_seq();
    ws.people.insert(
        people_id.clone(),
        Person {
            profile,
            data: Map::new(),
            seq,
        },
    );
    Ok(Success::ok("added", json!({ "people_id": people_id }))
        .with_webhook_of(call.op(), Value::Object(event)))
}

pub(super) fn write(call: &Call, ws: &mut Workspace, replace: bool) -> Result<Success, ApiError> {
    let body = call.body_object()?;
    let id = call.input.path_str("people_id").to_owned();
    call.person(ws)?;
    let card = card(call, body);
    let website_id = ws.website_id.clone();
    let person = ws
        .people
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found(format!("profile `{id}` does not exist")))?;
    let profile = &mut person.profile;
    if replace {
        let keep: Map<String, Value> = profile
            .iter()
            .filter(|(k, _)| matches!(k.as_str(), "people_id" | "created_at" | "score"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        *profile = keep;
        for (k, v) in &card {
            profile.insert(k.clone(), v.clone());
        }
    } else {
        merge(profile, &card);
    }
    profile.insert("updated_at".into(), call.now.into());
    let mut update = card;
    update.insert("updated_at".into(), call.now.into());
    let mut event = Map::new();
    event.insert("website_id".into(), website_id.into());
    event.insert("people_id".into(), id.into());
    if let Some(email) = profile.get("email") {
        event.insert("email".into(), email.clone());
    }
    event.insert("update".into(), Value::Object(update));
    let mut event = Value::Object(event);
    call.validators
        .prune_component("PeopleProfileUpdatedData", &mut event);
    Ok(Success::ok("updated", json!({})).with_webhook_of(call.op(), event))
}

pub(super) fn remove(call: &Call, ws: &mut Workspace) -> Result<Success, ApiError> {
    let id = call.input.path_str("people_id").to_owned();
    let person = ws
        .people
        .remove(&id)
        .ok_or_else(|| ApiError::not_found(format!("profile `{id}` does not exist")))?;
    let mut event = Map::new();
    event.insert("website_id".into(), ws.website_id.clone().into());
    event.insert("people_id".into(), id.into());
    if let Some(email) = person.profile.get("email") {
        event.insert("email".into(), email.clone());
    }
    Ok(Success::ok("deleted", json!({})).with_webhook_of(call.op(), Value::Object(event)))
}

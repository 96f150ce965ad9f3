//! Fixtures into a workspace: every entry checked against its schema in the spec, ids checked
//! for duplicates, missing fingerprints filled in.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use serde_json::{Map, Value};

use crate::fixtures::Fixtures;
use crate::state::{Conversation, Person, Workspace};
use crate::validate::Validators;

/// Builds the workspace from fixtures, checking every entry against its schema.
pub(crate) fn workspace(fixtures: &Fixtures, validators: &Validators) -> Result<Workspace, String> {
    if fixtures.website_id.trim().is_empty() {
        return Err("fixtures: `website_id` is empty".into());
    }
    let check = |component: &str, what: &str, value: &Value| {
        validators
            .check_component(component, value)
            .map_err(|e| format!("fixtures: {what} is not a {component}: {e}"))
    };
    let website_id = fixtures.website_id.clone();
    let mut ws = Workspace {
        website_id: website_id.clone(),
        ..Default::default()
    };
    let mut settings = Value::Object(fixtures.settings.clone());
    check("WebsiteSettings", "settings", &settings)?;
    if let Value::Object(map) = &mut settings {
        map.insert("website_id".into(), website_id.clone().into());
    }
    ws.settings = object(settings, "settings")?;
    let mut operators = Ids::new("operators", "user_id");
    let mut campaigns = Ids::new("campaigns", "campaign_id");
    let mut people = Ids::new("people", "people_id");
    let mut conversations = Ids::new("conversations", "session_id");
    for (i, op) in fixtures.operators.iter().enumerate() {
        let what = format!("operators[{i}]");
        check("Operator", &what, op)?;
        let op = object(op.clone(), &what)?;
        let Some(id) = op.get("user_id") else {
            return Err(format!("fixtures: {what} has no user_id"));
        };
        operators.note(id, &what)?;
        ws.operators.push(op);
    }
    for (i, visitor) in fixtures.visitors.iter().enumerate() {
        let what = format!("visitors[{i}]");
        check("Visitor", &what, visitor)?;
        ws.visitors.push(object(visitor.clone(), &what)?);
    }
    for (i, campaign) in fixtures.campaigns.iter().enumerate() {
        let what = format!("campaigns[{i}]");
        check("CampaignExcerpt", &what, campaign)?;
        let campaign = object(campaign.clone(), &what)?;
        let Some(id) = campaign.get("campaign_id") else {
            return Err(format!("fixtures: {what} has no campaign_id"));
        };
        campaigns.note(id, &what)?;
        ws.campaigns.push(campaign);
    }
    for (i, person) in fixtures.people.iter().enumerate() {
        let what = format!("people[{i}]");
        let mut profile = object(person.clone(), &what)?;
        let data = match profile.remove("data") {
            None => Map::new(),
            Some(data) => object(data, &format!("{what}.data"))?,
        };
        let profile_value = Value::Object(profile);
        check("PeopleProfile", &what, &profile_value)?;
        let profile = object(profile_value, &what)?;
        let Some(id) = profile.get("people_id").and_then(Value::as_str) else {
            return Err(format!("fixtures: {what} has no people_id"));
        };
        people.note(&Value::from(id), &what)?;
        let seq = ws.next_seq();
        ws.people
            .insert(id.to_owned(), Person { profile, data, seq });
    }
    for (i, conversation) in fixtures.conversations.iter().enumerate() {
        let what = format!("conversations[{i}]");
        let mut record = object(conversation.clone(), &what)?;
        record.insert("website_id".into(), website_id.clone().into());
        let messages = match record.remove("messages") {
            None => Vec::new(),
            Some(Value::Array(list)) => list,
            Some(_) => return Err(format!("fixtures: {what}.messages must be a list")),
        };
        let record_value = Value::Object(record);
        check("Conversation", &what, &record_value)?;
        let record = object(record_value, &what)?;
        let Some(session_id) = record.get("session_id").and_then(Value::as_str) else {
            return Err(format!("fixtures: {what} has no session_id"));
        };
        let session_id = session_id.to_owned();
        conversations.note(&Value::from(session_id.as_str()), &what)?;
        let mut fingerprints = Ids::new("messages", "fingerprint");
        let mut list = Vec::new();
        for (j, message) in messages.into_iter().enumerate() {
            let what = format!("{what}.messages[{j}]");
            check("Message", &what, &message)?;
            let mut message = object(message, &what)?;
            if let Some(fingerprint) = message.get("fingerprint") {
                fingerprints.note(fingerprint, &what)?;
            }
            message.insert("session_id".into(), session_id.clone().into());
            message.insert("website_id".into(), website_id.clone().into());
            let fingerprint = message.get("fingerprint").and_then(Value::as_i64);
            if let Some(f) = fingerprint {
                ws.note_fingerprint(f);
            }
            list.push(message);
        }
        for message in &mut list {
            if !message.contains_key("fingerprint") {
                let f = ws.next_fingerprint();
                message.insert("fingerprint".into(), f.into());
            }
        }
        list.sort_by_key(|m| m.get("timestamp").and_then(Value::as_i64).unwrap_or(0));
        let seq = ws.next_seq();
        ws.conversations.insert(
            session_id,
            Conversation {
                record,
                messages: list,
                seq,
            },
        );
    }
    Ok(ws)
}

/// The ids of one kind of entry seen so far, and where each was first seen: two entries with
/// one id would be collapsed into one, or make a lookup ambiguous.
struct Ids {
    kind: &'static str,
    field: &'static str,
    first: HashMap<String, String>,
}

impl Ids {
    fn new(kind: &'static str, field: &'static str) -> Self {
        Self {
            kind,
            field,
            first: HashMap::new(),
        }
    }

    /// Notes the id of entry `what`, or refuses it if an earlier entry has it.
    fn note(&mut self, id: &Value, what: &str) -> Result<(), String> {
        let id = id.as_str().map_or_else(|| id.to_string(), str::to_owned);
        match self.first.entry(id) {
            Entry::Occupied(first) => Err(format!(
                "fixtures: two {} have {} `{}` ({} and {what}): each needs its own",
                self.kind,
                self.field,
                first.key(),
                first.get()
            )),
            Entry::Vacant(slot) => {
                slot.insert(what.to_owned());
                Ok(())
            }
        }
    }
}

fn object(value: Value, what: &str) -> Result<Map<String, Value>, String> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(format!("{what} must be a JSON object, not {other}")),
    }
}

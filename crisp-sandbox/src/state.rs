//! The workspace the sandbox serves, in memory, and the fixtures format it loads and exports.
//!
//! Every record is kept as the JSON object the spec's response schema describes (a
//! `Conversation`, a `Message`, a `PeopleProfile`...), so reads answer what was stored and
//! writes change it in place.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::validate::Validators;

/// A workspace as JSON: what `--fixtures FILE` loads and `GET /_sandbox/fixtures` exports.
///
/// Each entry has the shape of the spec's response schema for it, so a workspace can be
/// written by copying what the real Crisp answers:
///
/// ```json
/// {
///   "website_id": "8c842203-7ed8-4e29-a608-7cf78a7d2fcc",
///   "settings": { "name": "Acme Support", "domain": "acme.example.com" },
///   "operators": [ { "user_id": "aa0b0c3b-...", "first_name": "Alex", "role": "owner" } ],
///   "visitors": [ { "session_id": "session_...", "nickname": "Jane Doe" } ],
///   "campaigns": [ { "campaign_id": "4f1e2d3c-...", "type": "one-shot", "ready": true } ],
///   "people": [ { "people_id": "c5d2a9f1-...", "email": "jane@example.com", "data": { "plan": "pro" } } ],
///   "conversations": [
///     { "session_id": "session_...", "state": "unresolved", "meta": { "nickname": "Jane Doe" },
///       "messages": [ { "type": "text", "from": "user", "origin": "chat", "content": "Hi!",
///                       "fingerprint": 163408221955193, "timestamp": 1700000300000 } ] }
///   ]
/// }
/// ```
///
/// `settings` is a `WebsiteSettings`, `operators` are `Operator`s, `visitors` `Visitor`s,
/// `campaigns` `CampaignExcerpt`s, `people` `PeopleProfile`s (plus the profile's custom `data`,
/// served by `get_people_data`), and `conversations` `Conversation`s (plus their `messages`).
/// Loading checks every entry against its schema and names the first one that does not fit.
/// Missing identifiers, timestamps and fingerprints are filled in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fixtures {
    /// The website (workspace) identifier every route is called with.
    pub website_id: String,
    /// The website's settings (`WebsiteSettings`).
    #[serde(default)]
    pub settings: Map<String, Value>,
    /// The operators (`Operator`).
    #[serde(default)]
    pub operators: Vec<Value>,
    /// The visitors browsing now (`Visitor`).
    #[serde(default)]
    pub visitors: Vec<Value>,
    /// The campaigns (`CampaignExcerpt`).
    #[serde(default)]
    pub campaigns: Vec<Value>,
    /// The contact profiles (`PeopleProfile`, plus `data`).
    #[serde(default)]
    pub people: Vec<Value>,
    /// The conversations (`Conversation`, plus `messages`: a list of `Message`).
    #[serde(default)]
    pub conversations: Vec<Value>,
}

impl Fixtures {
    /// The built-in demo workspace: operators, visitors, campaigns, people, and conversations
    /// with messages in all three states; the conversation list spans several pages.
    pub fn demo() -> Self {
        crate::seed::demo()
    }

    /// Reads fixtures from JSON text.
    ///
    /// # Errors
    ///
    /// When the text is not JSON of this shape; entries are checked against the spec when the
    /// sandbox starts.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// A conversation and its messages, oldest first.
#[derive(Debug, Clone)]
pub(crate) struct Conversation {
    pub record: Map<String, Value>,
    pub messages: Vec<Map<String, Value>>,
    /// Order of creation, to list conversations stably.
    pub seq: u64,
}

/// A contact profile and its custom data.
#[derive(Debug, Clone)]
pub(crate) struct Person {
    pub profile: Map<String, Value>,
    pub data: Map<String, Value>,
    pub seq: u64,
}

/// The workspace in memory.
#[derive(Debug, Clone, Default)]
pub(crate) struct Workspace {
    pub website_id: String,
    pub settings: Map<String, Value>,
    pub operators: Vec<Map<String, Value>>,
    pub visitors: Vec<Map<String, Value>>,
    pub campaigns: Vec<Map<String, Value>>,
    pub people: HashMap<String, Person>,
    pub conversations: HashMap<String, Conversation>,
    /// The next creation sequence number.
    pub seq: u64,
    /// The last fingerprint handed out; new ones count up from it.
    pub last_fingerprint: i64,
}

/// Unix milliseconds now.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn object(value: Value, what: &str) -> Result<Map<String, Value>, String> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(format!("{what} must be a JSON object, not {other}")),
    }
}

impl Workspace {
    /// Builds the workspace from fixtures, checking every entry against its schema.
    pub fn from_fixtures(fixtures: &Fixtures, validators: &Validators) -> Result<Self, String> {
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
        for (i, op) in fixtures.operators.iter().enumerate() {
            let what = format!("operators[{i}]");
            check("Operator", &what, op)?;
            let op = object(op.clone(), &what)?;
            if !op.contains_key("user_id") {
                return Err(format!("fixtures: {what} has no user_id"));
            }
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
            if !campaign.contains_key("campaign_id") {
                return Err(format!("fixtures: {what} has no campaign_id"));
            }
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
            let mut list = Vec::new();
            for (j, message) in messages.into_iter().enumerate() {
                let what = format!("{what}.messages[{j}]");
                check("Message", &what, &message)?;
                let mut message = object(message, &what)?;
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

    /// The workspace as fixtures.
    pub fn to_fixtures(&self) -> Fixtures {
        let mut people: Vec<&Person> = self.people.values().collect();
        people.sort_by_key(|p| p.seq);
        let mut conversations: Vec<&Conversation> = self.conversations.values().collect();
        conversations.sort_by_key(|c| c.seq);
        Fixtures {
            website_id: self.website_id.clone(),
            settings: self.settings.clone(),
            operators: self.operators.iter().cloned().map(Value::Object).collect(),
            visitors: self.visitors.iter().cloned().map(Value::Object).collect(),
            campaigns: self.campaigns.iter().cloned().map(Value::Object).collect(),
            people: people
                .into_iter()
                .map(|p| {
                    let mut profile = p.profile.clone();
                    profile.insert("data".into(), Value::Object(p.data.clone()));
                    Value::Object(profile)
                })
                .collect(),
            conversations: conversations
                .into_iter()
                .map(|c| {
                    let mut record = c.record.clone();
                    record.insert(
                        "messages".into(),
                        Value::Array(c.messages.iter().cloned().map(Value::Object).collect()),
                    );
                    Value::Object(record)
                })
                .collect(),
        }
    }

    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// A fingerprint no message of the workspace has: 15 digits, like Crisp's.
    pub fn next_fingerprint(&mut self) -> i64 {
        self.last_fingerprint = self.last_fingerprint.max(100_000_000_000_000) + 1;
        self.last_fingerprint
    }

    /// Notes a fingerprint a message has (one a client chose, or a fixture's), so that
    /// [`next_fingerprint`](Self::next_fingerprint) never hands it out. Only 15-digit ones can
    /// meet the generated ones; a larger one is left alone (so the counter cannot overflow).
    pub fn note_fingerprint(&mut self, fingerprint: i64) {
        if fingerprint < 1_000_000_000_000_000 {
            self.last_fingerprint = self.last_fingerprint.max(fingerprint);
        }
    }
}

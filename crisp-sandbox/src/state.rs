//! The workspace the sandbox serves, in memory.
//!
//! Every record is kept as the JSON object the spec's response schema describes (a
//! `Conversation`, a `Message`, a `PeopleProfile`...), so reads answer what was stored and
//! writes change it in place.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::fixtures::Fixtures;

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

impl Workspace {
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

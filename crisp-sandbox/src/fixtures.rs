//! The fixtures format: a workspace as JSON, what `--fixtures FILE` loads and
//! `GET /_sandbox/fixtures` exports. `demo.rs` builds the built-in one; `load.rs` checks one and
//! turns it into the workspace.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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

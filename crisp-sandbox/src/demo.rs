//! The identifiers of the built-in demo workspace, and the workspace itself
//! ([`Fixtures::demo`]): the spec's example values, so that a call made with them finds what it
//! names.

use serde_json::{Map, Value, json};

use crate::fixtures::Fixtures;
use crate::util::uuid_v4;

/// The default token identifier of a sandbox (its key is fresh and random).
pub const DEMO_IDENTIFIER: &str = "e5b8f4a2-6c1d-4f3e-9a7b-2d8c0f1e3b5a";

/// The demo website, the spec's example `website_id`.
pub const WEBSITE_ID: &str = "8c842203-7ed8-4e29-a608-7cf78a7d2fcc";
/// The demo conversation, the spec's example `session_id`.
pub const SESSION_ID: &str = "session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881";
/// A message of [`SESSION_ID`], the spec's example `fingerprint`.
pub const FINGERPRINT: i64 = 163_408_221_955_193;
/// The demo contact profile, the spec's example `people_id`.
pub const PEOPLE_ID: &str = "c5d2a9f1-3b7e-4f0a-8d61-2e9b4c7a1f05";
/// The demo operator, the spec's example `user_id`.
pub const OPERATOR_ID: &str = "aa0b0c3b-1b11-4c9f-b6e5-0e1b5d6a7c42";
/// The demo campaign, ready to dispatch: the spec's example `campaign_id`.
pub const CAMPAIGN_ID: &str = "4f1e2d3c-5b6a-4978-8e1f-0a9b8c7d6e5f";

/// How many conversations the demo has (three pages of 20 when listed with empty ones).
pub const CONVERSATIONS: usize = 45;
/// How many messages the demo conversation [`SESSION_ID`] holds (two batches of messages).
pub const SESSION_MESSAGES: usize = 30;

const FIRST: &[&str] = &[
    "Jane", "Omar", "Li", "Sofia", "Lukas", "Amara", "Mateo", "Yuki", "Noah", "Chloe", "Ivan",
    "Priya", "Tom", "Fatima", "Hugo",
];
const LAST: &[&str] = &[
    "Doe", "Haddad", "Wei", "Rossi", "Becker", "Okafor", "Garcia", "Tanaka", "Smith", "Martin",
    "Petrov", "Shah", "Brown", "Zahra", "Laurent",
];
const VISITOR_LINES: &[&str] = &[
    "Hi, my order has not arrived yet.",
    "Can I change the delivery address?",
    "The checkout page shows an error.",
    "Do you ship to Canada?",
    "I was charged twice for the same order.",
    "How do I reset my password?",
    "Is the blue mug back in stock?",
    "Can I get an invoice for my company?",
];
const OPERATOR_LINES: &[&str] = &[
    "Thanks for reaching out! Let me check that for you.",
    "Could you share your order number?",
    "I have forwarded this to our logistics team.",
    "That is fixed now, sorry for the trouble.",
    "You will receive an email confirmation shortly.",
];
const STATES: &[&str] = &["pending", "unresolved", "resolved"];
const BASE_TIME: i64 = 1_700_000_000_000;
const HOUR: i64 = 3_600_000;

/// A UUID from the demo's seeded generator: the same on every run.
fn uuid(rng: &mut fastrand::Rng) -> String {
    let bits = rng.u128(..);
    uuid_v4(bits, rng.usize(..4))
}

fn name(i: usize) -> (String, String) {
    let first = FIRST[i % FIRST.len()];
    let last = LAST[(i * 7 + 3) % LAST.len()];
    (
        format!("{first} {last}"),
        format!(
            "{}.{}@example.com",
            first.to_lowercase(),
            last.to_lowercase()
        ),
    )
}

fn obj(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

impl Fixtures {
    /// The built-in demo workspace: operators, visitors, campaigns, people, and conversations
    /// with messages in all three states; the conversation list spans several pages.
    pub fn demo() -> Self {
        build()
    }
}

fn build() -> Fixtures {
    let mut rng = fastrand::Rng::with_seed(0x00c0_ffee);
    let operators = vec![
        json!({
            "user_id": OPERATOR_ID, "email": "alex.martin@acme.example.com",
            "avatar": "https://example.com/avatars/alex.png", "first_name": "Alex",
            "last_name": "Martin", "role": "owner", "title": "Support lead",
            "availability": "online", "has_token": false
        }),
        json!({
            "user_id": "3d8e5a5c-6b2f-4c1e-9a1f-2f9bb3b5c4d1", "email": "sam.lee@acme.example.com",
            "first_name": "Sam", "last_name": "Lee", "role": "member", "title": "Support agent",
            "availability": "away", "has_token": false
        }),
        json!({
            "user_id": "9f1b2c3d-4e5f-4a6b-8c7d-1e2f3a4b5c6d", "email": "ria.kapoor@acme.example.com",
            "first_name": "Ria", "last_name": "Kapoor", "role": "member", "title": "Billing",
            "availability": "offline", "has_token": false
        }),
    ];
    let operator_ids: Vec<String> = operators
        .iter()
        .filter_map(|o| o["user_id"].as_str().map(str::to_owned))
        .collect();

    let mut people = Vec::new();
    let mut people_ids = Vec::new();
    for i in 0..25 {
        let id = if i == 0 {
            PEOPLE_ID.to_owned()
        } else {
            uuid(&mut rng)
        };
        let (nickname, email) = name(i);
        let created = BASE_TIME - 90 * 24 * HOUR + i as i64 * HOUR;
        let segments = if i % 4 == 0 {
            json!(["customer", "vip"])
        } else {
            json!(["customer"])
        };
        people.push(json!({
            "people_id": id,
            "email": email,
            "person": { "nickname": nickname, "locales": ["en"] },
            "segments": segments,
            "active": { "now": false, "last": created + 10 * HOUR },
            "score": (i % 5) + 1,
            "created_at": created,
            "updated_at": created + 10 * HOUR,
            "data": { "plan": if i % 3 == 0 { "pro" } else { "free" }, "orders": i % 7 }
        }));
        people_ids.push(id);
    }

    let mut conversations = Vec::new();
    let mut fingerprint: i64 = 163_408_222_000_000;
    for i in 0..CONVERSATIONS {
        let session_id = if i == 0 {
            SESSION_ID.to_owned()
        } else {
            format!("session_{}", uuid(&mut rng))
        };
        let state = if i == 0 { "unresolved" } else { STATES[i % 3] };
        let (nickname, email) = name(i);
        let created = BASE_TIME + i as i64 * HOUR;
        // Two conversations have no message: lists leave them out unless `include_empty=1`.
        let count = match i {
            0 => SESSION_MESSAGES,
            _ if i % 20 == 19 => 0,
            _ => 1 + rng.usize(..6),
        };
        let mut messages = Vec::new();
        let mut last_visitor_time = None;
        for m in 0..count {
            let timestamp = created + (m as i64 + 1) * 60_000;
            let from = if m % 2 == 0 { "user" } else { "operator" };
            fingerprint += 1 + rng.i64(0..1000);
            let this_fingerprint = if i == 0 && m == count - 2 {
                FINGERPRINT
            } else {
                fingerprint
            };
            let mut message = if from == "user" {
                last_visitor_time = Some(timestamp);
                json!({
                    "type": "text", "from": "user", "origin": "chat",
                    "content": VISITOR_LINES[(i + m) % VISITOR_LINES.len()],
                    "user": { "user_id": session_id, "nickname": nickname }
                })
            } else if m == 3 {
                json!({
                    "type": "file", "from": "operator", "origin": "chat",
                    "content": { "name": "invoice.pdf", "url": "https://storage.crisp.chat/users/upload/invoice.pdf", "type": "application/pdf" },
                    "user": { "type": "website", "user_id": OPERATOR_ID, "nickname": "Alex Martin" }
                })
            } else {
                json!({
                    "type": "text", "from": "operator", "origin": "chat",
                    "content": OPERATOR_LINES[(i + m) % OPERATOR_LINES.len()],
                    "user": { "type": "website", "user_id": OPERATOR_ID, "nickname": "Alex Martin" }
                })
            };
            if let Value::Object(map) = &mut message {
                map.insert("fingerprint".into(), this_fingerprint.into());
                map.insert("timestamp".into(), timestamp.into());
                map.insert("read".into(), "chat".into());
                map.insert("delivered".into(), "chat".into());
                map.insert("edited".into(), false.into());
            }
            messages.push(message);
        }
        let mut record = obj(json!({
            "session_id": session_id,
            "website_id": WEBSITE_ID,
            "state": state,
            "status": STATES.iter().position(|s| *s == state).unwrap_or(0),
            "is_verified": i % 2 == 0,
            "is_blocked": false,
            "availability": if i % 5 == 0 { "online" } else { "offline" },
            "active": { "now": i % 5 == 0, "last": created + count as i64 * 60_000 },
            "unread": { "operator": usize::from(state != "resolved"), "visitor": 0 },
            "meta": {
                "nickname": nickname,
                "email": email,
                "segments": ["customer"],
                "origin": "chat",
                "data": { "orders": i % 7 }
            },
            "created_at": created,
            "updated_at": created + count as i64 * 60_000,
        }));
        if i < people_ids.len() {
            record.insert("people_id".into(), people_ids[i].clone().into());
        }
        if i % 4 != 3 {
            let who = &operator_ids[i % operator_ids.len()];
            record.insert("assigned".into(), json!({ "user_id": who }));
        }
        if i % 6 == 0 {
            record.insert(
                "inbox_id".into(),
                "2c2d4a61-3f0f-4e53-8a9a-6b8f1c2d3e4f".into(),
            );
        }
        if let Some(last) = messages.last() {
            let content = &last["content"];
            let excerpt = content
                .as_str()
                .map_or_else(|| "(file)".to_owned(), str::to_owned);
            record.insert("last_message".into(), excerpt.clone().into());
            record.insert(
                "preview_message".into(),
                json!({ "type": last["type"], "from": last["from"], "excerpt": excerpt, "fingerprint": last["fingerprint"] }),
            );
        }
        if state != "resolved"
            && let Some(t) = last_visitor_time
        {
            record.insert("waiting_since".into(), t.into());
        }
        record.insert("messages".into(), Value::Array(messages));
        conversations.push(Value::Object(record));
    }

    let mut visitors = Vec::new();
    for (i, conversation) in conversations.iter().take(6).enumerate() {
        let (nickname, email) = name(i + 3);
        visitors.push(json!({
            "session_id": conversation["session_id"],
            "nickname": nickname,
            "email": email,
            "useragent": "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0",
            "initiated": i % 2 == 0,
            "active": i % 3 != 2,
            "last_page": { "page_title": "Pricing", "page_url": "https://acme.example.com/pricing" },
            "geolocation": { "country": "FR", "city": "Paris" },
            "timezone": -60,
            "capabilities": ["browsing"],
            "locales": ["fr", "en"]
        }));
    }

    let campaigns = vec![
        json!({
            "campaign_id": CAMPAIGN_ID, "type": "one-shot", "format": "markdown",
            "name": "Spring sale", "subject": "20% off this week", "tag": "promotions",
            "ready": true, "dispatched": false, "running": false, "progress": 0,
            "targets": 1200, "reached": 0,
            "created_at": BASE_TIME - 10 * HOUR, "updated_at": BASE_TIME - 5 * HOUR
        }),
        json!({
            "campaign_id": "5bd2b3ba-6c5b-47cb-9d3f-0e2a8b1f7c44", "type": "one-shot",
            "format": "markdown", "name": "November newsletter", "subject": "What's new this month",
            "tag": "newsletter", "ready": true, "dispatched": true, "running": false,
            "progress": 100, "targets": 1200, "reached": 1187,
            "created_at": BASE_TIME - 100 * HOUR, "updated_at": BASE_TIME - 50 * HOUR,
            "dispatched_at": BASE_TIME - 50 * HOUR
        }),
        json!({
            "campaign_id": "0d3c2b1a-9f8e-4d7c-8b6a-5f4e3d2c1b0a", "type": "automated",
            "format": "markdown", "name": "Welcome series", "subject": "Welcome to Acme",
            "tag": "onboarding", "ready": true, "dispatched": false, "running": true,
            "progress": 0, "targets": 0, "reached": 312,
            "created_at": BASE_TIME - 200 * HOUR, "updated_at": BASE_TIME - 20 * HOUR
        }),
        json!({
            "campaign_id": "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d", "type": "one-shot",
            "format": "html", "name": "Draft: summer", "tag": "promotions",
            "ready": false, "dispatched": false, "running": false, "progress": 0,
            "targets": 0, "reached": 0,
            "created_at": BASE_TIME - 2 * HOUR, "updated_at": BASE_TIME - 2 * HOUR
        }),
    ];

    let settings = obj(json!({
        "website_id": WEBSITE_ID,
        "name": "Acme Support",
        "domain": "acme.example.com",
        "logo": "https://example.com/logos/acme.png",
        "audit": { "log": true },
        "contact": { "email": "support@acme.example.com", "phone": "+33 1 23 45 67 89" },
        "inbox": { "lock_removal": false, "force_operator_token": false, "locale": "en" },
        "emails": { "rating": true, "transcript": true, "enrich": true, "junk_filter": true },
        "chatbox": {
            "tile": "default", "wait_game": false, "color_theme": "blue",
            "welcome_message": "default", "locale": "en", "hide_on_mobile": false,
            "blocked_countries": ["KP"]
        }
    }));

    Fixtures {
        website_id: WEBSITE_ID.to_owned(),
        settings,
        operators,
        visitors,
        campaigns,
        people,
        conversations,
    }
}

//! What the fan-out reads in a verified delivery ([`EventFacts`]): the event's name, website and
//! conversation, and its dedupe key. Pure: a function of the delivery's bytes.
//!
//! Crisp sends no event id, and it retries a delivery it did not see answered (with the same
//! body and a new `X-Delivery-Attempt-Count`), so the key is built from the event itself
//! ([`EventFacts::key`]):
//!
//! - a new message (`message:send`, `message:received`): its name, website, conversation and
//!   fingerprint, which name the message;
//! - any other event: its name, its ids (every top-level string field of `data` named `*_id`,
//!   and the envelope's `website_id`), the message's fingerprint if it has one, and the
//!   delivery's `timestamp` (when the event occurred); without a timestamp, the SHA-256 of the
//!   whole body instead.
//!
//! The key is the hex SHA-256 of those parts, one per line, so it is short and says nothing of
//! the event.

use crisp_api::webhook::Delivery;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// The events whose fingerprint alone (with the conversation) names them.
const NEW_MESSAGES: [&str; 2] = ["message:send", "message:received"];

/// What the fan-out needs to know about one delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventFacts {
    /// The event's name, such as `message:send`.
    pub name: String,
    /// Its website: the delivery's `website_id`, else its data's.
    pub website_id: Option<String>,
    /// Its conversation (`data.session_id`), for the conversation events.
    pub session_id: Option<String>,
    /// Its dedupe key: 64 hex digits (see the [module docs](self)).
    pub key: String,
}

impl EventFacts {
    /// The facts of `delivery`, whose raw (verified) body is `body`.
    ///
    /// ```
    /// use crisp_api::webhook::Delivery;
    /// use crisp_gateway::webhooks::EventFacts;
    ///
    /// let body = br#"{"website_id":"w1","event":"session:set_state","timestamp":1700000000000,
    ///     "data":{"website_id":"w1","session_id":"s1","state":"resolved"}}"#;
    /// let facts = EventFacts::of(&Delivery::from_slice(body)?, body);
    /// assert_eq!(facts.session_id.as_deref(), Some("s1"));
    /// assert_eq!(facts.key.len(), 64);
    /// # Ok::<(), crisp_api::webhook::WebhookError>(())
    /// ```
    pub fn of(delivery: &Delivery, body: &[u8]) -> Self {
        let envelope: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let data = &envelope["data"];
        let text = |value: &Value| value.as_str().map(str::to_owned);
        let name = delivery.event.name().to_owned();
        let website_id = delivery
            .website_id
            .clone()
            .or_else(|| text(&data["website_id"]));
        let session_id = text(&data["session_id"]);

        let mut parts = vec![format!("event={name}")];
        let mut ids: Vec<String> = data
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(field, _)| field.ends_with("_id"))
            .filter_map(|(field, value)| Some(format!("{field}={}", value.as_str()?)))
            .collect();
        if let Some(website) = &delivery.website_id {
            ids.push(format!("envelope.website_id={website}"));
        }
        ids.sort();
        parts.extend(ids);
        let fingerprint = data["fingerprint"]
            .as_i64()
            .map(|f| f.to_string())
            .or_else(|| data["fingerprint"].as_str().map(str::to_owned));
        if let Some(fingerprint) = &fingerprint {
            parts.push(format!("fingerprint={fingerprint}"));
        }
        let new_message = NEW_MESSAGES.contains(&name.as_str()) && fingerprint.is_some();
        if !new_message {
            match delivery.timestamp {
                Some(timestamp) => parts.push(format!("timestamp={timestamp}")),
                None => parts.push(format!("body={}", hex::encode(Sha256::digest(body)))),
            }
        }
        let key = hex::encode(Sha256::digest(parts.join("\n").as_bytes()));
        Self {
            name,
            website_id,
            session_id,
            key,
        }
    }
}

/// The Standard Webhooks `webhook-id` of the delivery of the event with dedupe key `key` to
/// `agent`: `msg_` and 32 hex digits, the same on every attempt and on every replica.
///
/// ```
/// use crisp_gateway::webhooks::webhook_id;
///
/// let id = webhook_id(&"ab".repeat(32), "triage");
/// assert!(id.starts_with("msg_") && id.len() == 36);
/// assert_ne!(id, webhook_id(&"ab".repeat(32), "reply"));
/// ```
pub fn webhook_id(key: &str, agent: &str) -> String {
    let digest = Sha256::digest(format!("{key}\n{agent}").as_bytes());
    format!("msg_{}", &hex::encode(digest)[..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(body: &str) -> EventFacts {
        EventFacts::of(
            &Delivery::from_slice(body.as_bytes()).unwrap(),
            body.as_bytes(),
        )
    }

    const MESSAGE: &str = r#"{"website_id":"w1","event":"message:send","timestamp":1700000300000,
        "data":{"website_id":"w1","session_id":"s1","type":"text","from":"user","origin":"chat",
        "content":"Hi","fingerprint":170000000012345,"timestamp":1700000300000}}"#;

    #[test]
    fn a_message_is_named_by_its_conversation_and_fingerprint() {
        let first = facts(MESSAGE);
        assert_eq!(first.name, "message:send");
        assert_eq!(first.website_id.as_deref(), Some("w1"));
        assert_eq!(first.session_id.as_deref(), Some("s1"));
        // Crisp's retry of the delivery, or the same delivery sent again later: one key, even
        // if its envelope's timestamp differs.
        let again = facts(&MESSAGE.replace("\"timestamp\":1700000300000,\n", "\"timestamp\":1,\n"));
        assert_eq!(again.key, first.key);
        // Another message, another conversation, another event: other keys.
        for other in [
            MESSAGE.replace("170000000012345", "170000000012346"),
            MESSAGE.replace("\"s1\"", "\"s2\""),
            MESSAGE.replace("message:send", "message:received"),
        ] {
            assert_ne!(facts(&other).key, first.key, "{other}");
        }
    }

    #[test]
    fn other_events_are_named_by_their_ids_and_timestamp() {
        let state = r#"{"website_id":"w1","event":"session:set_state","timestamp":1700000000000,
            "data":{"website_id":"w1","session_id":"s1","state":"resolved"}}"#;
        let first = facts(state);
        assert_eq!(facts(state).key, first.key);
        // The same conversation's state changed again later: another event.
        assert_ne!(
            facts(&state.replace("1700000000000", "1700000000001")).key,
            first.key
        );
        assert_ne!(facts(&state.replace("\"s1\"", "\"s2\"")).key, first.key);
        // Without a timestamp, the body tells them apart.
        let untimed = state.replace("\"timestamp\":1700000000000,", "");
        assert_ne!(facts(&untimed).key, first.key);
        assert_eq!(facts(&untimed).key, facts(&untimed).key);
        assert_ne!(
            facts(&untimed.replace("resolved", "unresolved")).key,
            facts(&untimed).key
        );
        // A people event has no conversation; its ids still name it.
        let profile = r#"{"website_id":"w1","event":"people:profile:removed","timestamp":5,
            "data":{"website_id":"w1","people_id":"p1"}}"#;
        let removed = facts(profile);
        assert_eq!(removed.session_id, None);
        assert_ne!(facts(&profile.replace("p1", "p2")).key, removed.key);
    }

    #[test]
    fn the_website_comes_from_the_envelope_or_the_data() {
        let bare = r#"{"event":"session:removed","timestamp":5,
            "data":{"website_id":"w9","session_id":"s1"}}"#;
        assert_eq!(facts(bare).website_id.as_deref(), Some("w9"));
    }
}

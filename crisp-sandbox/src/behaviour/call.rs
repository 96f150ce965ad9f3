//! What every behaviour works with: the call (route, validated input, clock), what it answers
//! ([`Success`]), and the lookups and JSON helpers the tag files share.

use serde_json::{Map, Value, json};

use crisp_api::Operation;

use crate::envelope::ApiError;
use crate::route::Route;
use crate::state::{Conversation, Person, Workspace};
use crate::validate::{Input, Validators};

/// What a call that succeeded did: its reason, data and the webhook events it fires.
#[derive(Debug)]
pub(crate) struct Success {
    /// Crisp's success reason.
    pub reason: String,
    /// The envelope's `data`.
    pub data: Value,
    /// Webhook events to deliver: name and `data`.
    pub events: Vec<(&'static str, Value)>,
}

impl Success {
    pub(super) fn ok(reason: &str, data: Value) -> Self {
        Self {
            reason: reason.to_owned(),
            data,
            events: Vec::new(),
        }
    }

    pub(super) fn with_event(mut self, event: &'static str, data: Value) -> Self {
        self.events.push((event, data));
        self
    }

    /// With the webhook event the spec says `op` fires, if any.
    pub(super) fn with_webhook_of(self, op: &Operation, data: Value) -> Self {
        match op.webhook {
            Some(event) => self.with_event(event, data),
            None => self,
        }
    }
}

/// One call of an operation: its route, its validated input and the time it is handled.
pub(super) struct Call<'a> {
    pub route: &'a Route,
    pub input: &'a Input,
    pub validators: &'a Validators,
    /// Unix milliseconds.
    pub now: i64,
}

impl<'a> Call<'a> {
    /// The call, if it names the workspace's website (404 `not_found` otherwise).
    pub fn new(
        ws: &Workspace,
        route: &'a Route,
        input: &'a Input,
        validators: &'a Validators,
        now: i64,
    ) -> Result<Self, ApiError> {
        if input.path.contains_key("website_id") && input.path_str("website_id") != ws.website_id {
            return Err(ApiError::not_found(format!(
                "website `{}` does not exist or is not visible to this token",
                input.path_str("website_id")
            )));
        }
        Ok(Self {
            route,
            input,
            validators,
            now,
        })
    }

    /// The operation being called.
    pub fn op(&self) -> &'static Operation {
        self.route.op
    }

    pub fn session_id(&self) -> &str {
        self.input.path_str("session_id")
    }

    pub fn conversation<'w>(&self, ws: &'w Workspace) -> Result<&'w Conversation, ApiError> {
        let id = self.session_id();
        ws.conversations.get(id).ok_or_else(|| {
            ApiError::not_found(format!(
                "conversation `{id}` does not exist in this website"
            ))
        })
    }

    pub fn conversation_mut<'w>(
        &self,
        ws: &'w mut Workspace,
    ) -> Result<&'w mut Conversation, ApiError> {
        let id = self.session_id();
        ws.conversations.get_mut(id).ok_or_else(|| {
            ApiError::not_found(format!(
                "conversation `{id}` does not exist in this website"
            ))
        })
    }

    /// The index of the message the path's `fingerprint` names.
    pub fn message(&self, conversation: &Conversation) -> Result<usize, ApiError> {
        let fingerprint = self.input.path_i64("fingerprint");
        conversation
            .messages
            .iter()
            .position(|m| i64_of(m, "fingerprint") == fingerprint && fingerprint.is_some())
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "message `{}` does not exist in conversation `{}`",
                    fingerprint.map_or_else(String::new, |f| f.to_string()),
                    self.session_id()
                ))
            })
    }

    pub fn person<'w>(&self, ws: &'w Workspace) -> Result<&'w Person, ApiError> {
        let id = self.input.path_str("people_id");
        ws.people
            .get(id)
            .ok_or_else(|| ApiError::not_found(format!("profile `{id}` does not exist")))
    }

    /// The common fields of a session event.
    pub fn session_event(&self, conversation: &Conversation) -> Map<String, Value> {
        let mut data = Map::new();
        for key in ["website_id", "session_id", "inbox_id"] {
            data.insert(
                key.into(),
                conversation.record.get(key).cloned().unwrap_or(Value::Null),
            );
        }
        data
    }

    /// One page of `items`, by the route's paging and the request's `page_number` and
    /// `per_page`.
    pub fn page<T>(&self, items: Vec<T>) -> Vec<T> {
        let (size, per_page) = match self.route.op.paging {
            Some(crisp_api::Paging::PageNumber {
                page_size,
                per_page,
            }) => (u64::from(page_size), per_page),
            _ => return items,
        };
        let size = per_page
            .and_then(|name| self.input.query_i64(name))
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(size)
            .max(1);
        let page = self
            .input
            .path
            .get("page_number")
            // A page number past 64 bits is past every page.
            .map_or(1, |n| n.as_u64().unwrap_or(u64::MAX))
            .max(1);
        let skip = (page - 1).saturating_mul(size);
        let skip = usize::try_from(skip).unwrap_or(usize::MAX);
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        items.into_iter().skip(skip).take(size).collect()
    }

    /// The body as an object, or 400 `invalid_data`.
    pub fn body_object(&self) -> Result<&'a Map<String, Value>, ApiError> {
        match self.input.body() {
            Value::Object(body) => Ok(body),
            _ => Err(ApiError::invalid("a JSON request body is required")),
        }
    }
}

/// The spec's example success response of an operation with no behaviour here.
pub(super) fn example(route: &Route) -> Result<Success, ApiError> {
    let example: Value = serde_json::from_str(route.facts.example).unwrap_or_else(|_| json!({}));
    let reason = example
        .get("reason")
        .and_then(Value::as_str)
        .unwrap_or("resolved");
    Ok(Success::ok(
        reason,
        example.get("data").cloned().unwrap_or_else(|| json!({})),
    ))
}

pub(super) fn str_of<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

pub(super) fn i64_of(map: &Map<String, Value>, key: &str) -> Option<i64> {
    map.get(key).and_then(Value::as_i64)
}

/// Merges `patch` into `target`: objects field by field, `null` removes the field, everything
/// else replaced.
pub(super) fn merge(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (key, value) in patch {
        match (target.get_mut(key), value) {
            (_, Value::Null) => {
                target.remove(key);
            }
            (Some(Value::Object(have)), Value::Object(new)) => merge(have, new),
            (_, value) => {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_without_behaviour_answers_the_spec_example() {
        for route in crate::table::routes() {
            let outcome = example(&route).unwrap();
            let envelope: Value = serde_json::from_str(route.facts.example).unwrap();
            assert_eq!(outcome.data, envelope["data"], "{}", route.op.id);
            assert_eq!(outcome.reason, envelope["reason"].as_str().unwrap());
            assert!(outcome.events.is_empty());
        }
    }

    #[test]
    fn a_patch_merges_objects_and_null_removes() {
        let Value::Object(mut have) =
            json!({"name": "A", "chatbox": {"tile": "x", "locale": "en"}, "logo": "l"})
        else {
            unreachable!()
        };
        let Value::Object(patch) = json!({"chatbox": {"tile": "y"}, "logo": null, "domain": "d"})
        else {
            unreachable!()
        };
        merge(&mut have, &patch);
        assert_eq!(
            Value::Object(have),
            json!({"name": "A", "chatbox": {"tile": "y", "locale": "en"}, "domain": "d"})
        );
    }
}

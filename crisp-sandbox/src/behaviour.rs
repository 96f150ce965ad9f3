//! What each operation does to the workspace: hand-written behaviour over the in-memory state.
//! An operation of the spec that has none here answers the spec's example instead.

use serde_json::{Map, Value, json};

use crisp_api::Operation;

use crate::error::ApiError;
use crate::route::Route;
use crate::state::{Conversation, Person, Workspace};
use crate::validate::{Input, Validators};

/// How many messages `list_messages` answers at most (Crisp does not document its batch).
pub const MESSAGE_BATCH: usize = 20;

/// What a call did.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// Crisp's success reason.
    pub reason: String,
    /// The envelope's `data`.
    pub data: Value,
    /// Webhook events to deliver: name and `data`.
    pub events: Vec<(&'static str, Value)>,
}

impl Outcome {
    fn ok(reason: &str, data: Value) -> Self {
        Self {
            reason: reason.to_owned(),
            data,
            events: Vec::new(),
        }
    }

    fn with_event(mut self, event: &'static str, data: Value) -> Self {
        self.events.push((event, data));
        self
    }

    /// With the webhook event the spec says `op` fires, if any.
    fn with_webhook_of(self, op: &Operation, data: Value) -> Self {
        match op.webhook {
            Some(event) => self.with_event(event, data),
            None => self,
        }
    }
}

/// Runs operation `route` on the workspace. `now` is Unix milliseconds.
pub(crate) fn run(
    ws: &mut Workspace,
    route: &Route,
    input: &Input,
    validators: &Validators,
    now: i64,
) -> Result<Outcome, ApiError> {
    if input.path.contains_key("website_id") && input.path_str("website_id") != ws.website_id {
        return Err(ApiError::not_found(format!(
            "website `{}` does not exist or is not visible to this token",
            input.path_str("website_id")
        )));
    }
    let call = Call {
        route,
        input,
        validators,
        now,
    };
    // Keyed by crisp-api's operations table: a misspelt operation does not compile. Any other
    // operation of the spec answers its example.
    match *route.op {
        Operation::LIST_CONVERSATIONS => call.list_conversations(ws),
        Operation::CREATE_CONVERSATION => call.create_conversation(ws),
        Operation::GET_CONVERSATION => Ok(Outcome::ok(
            "resolved",
            Value::Object(call.conversation(ws)?.record.clone()),
        )),
        Operation::REMOVE_CONVERSATION => call.remove_conversation(ws),
        Operation::LIST_MESSAGES => call.list_messages(ws),
        Operation::SEND_MESSAGE => call.send_message(ws),
        Operation::GET_MESSAGE => {
            let conversation = call.conversation(ws)?;
            let message = call.message(conversation)?;
            Ok(Outcome::ok(
                "resolved",
                Value::Object(conversation.messages[message].clone()),
            ))
        }
        Operation::UPDATE_MESSAGE => call.update_message(ws),
        Operation::MARK_MESSAGES_READ => call.mark_messages_read(ws),
        Operation::GET_CONVERSATION_STATE => {
            let state = call.conversation(ws)?.record.get("state").cloned();
            Ok(Outcome::ok(
                "resolved",
                json!({ "state": state.unwrap_or_else(|| "pending".into()) }),
            ))
        }
        Operation::CHANGE_CONVERSATION_STATE => call.change_state(ws),
        Operation::GET_CONVERSATION_META => {
            let meta = call.conversation(ws)?.record.get("meta").cloned();
            Ok(Outcome::ok("resolved", meta.unwrap_or_else(|| json!({}))))
        }
        Operation::UPDATE_CONVERSATION_META => call.update_meta(ws),
        Operation::ASSIGN_CONVERSATION_ROUTING => call.assign_routing(ws),
        Operation::BLOCK_CONVERSATION => call.block(ws),
        Operation::LIST_PEOPLE_PROFILES => call.list_people(ws),
        Operation::ADD_PEOPLE_PROFILE => call.add_person(ws),
        Operation::GET_PEOPLE_PROFILE => Ok(Outcome::ok(
            "resolved",
            Value::Object(call.person(ws)?.profile.clone()),
        )),
        Operation::UPDATE_PEOPLE_PROFILE => call.write_person(ws, false),
        Operation::SAVE_PEOPLE_PROFILE => call.write_person(ws, true),
        Operation::REMOVE_PEOPLE_PROFILE => call.remove_person(ws),
        Operation::GET_PEOPLE_DATA => Ok(Outcome::ok(
            "resolved",
            json!({ "data": call.person(ws)?.data }),
        )),
        Operation::GET_WEBSITE_SETTINGS => {
            let mut settings = ws.settings.clone();
            settings.insert("website_id".into(), ws.website_id.clone().into());
            Ok(Outcome::ok("resolved", Value::Object(settings)))
        }
        Operation::UPDATE_WEBSITE_SETTINGS => {
            if let Value::Object(patch) = input.body() {
                merge(&mut ws.settings, patch);
            }
            Ok(Outcome::ok("updated", json!({})))
        }
        Operation::LIST_OPERATORS => Ok(Outcome::ok(
            "resolved",
            Value::Array(
                ws.operators
                    .iter()
                    .map(|op| json!({ "type": "operator", "details": op }))
                    .collect(),
            ),
        )),
        Operation::GET_OPERATOR => {
            let id = input.path_str("user_id");
            let op = ws
                .operators
                .iter()
                .find(|op| op.get("user_id").and_then(Value::as_str) == Some(id))
                .ok_or_else(|| {
                    ApiError::not_found(format!("operator `{id}` is not on this website"))
                })?;
            Ok(Outcome::ok("resolved", Value::Object(op.clone())))
        }
        Operation::LIST_VISITORS => {
            let items: Vec<Value> = ws.visitors.iter().cloned().map(Value::Object).collect();
            Ok(Outcome::ok("resolved", Value::Array(call.page(items))))
        }
        Operation::COUNT_VISITORS => {
            let active = ws
                .visitors
                .iter()
                .filter(|v| v.get("active").and_then(Value::as_bool) == Some(true))
                .count();
            Ok(Outcome::ok(
                "resolved",
                json!({ "count": ws.visitors.len(), "active": active, "limited": false }),
            ))
        }
        Operation::LIST_CAMPAIGNS => call.list_campaigns(ws),
        Operation::DISPATCH_CAMPAIGN => call.dispatch_campaign(ws),
        _ => example(route),
    }
}

/// The spec's example success response of an operation with no behaviour here.
pub(crate) fn example(route: &Route) -> Result<Outcome, ApiError> {
    let example: Value = serde_json::from_str(route.facts.example).unwrap_or_else(|_| json!({}));
    let reason = example
        .get("reason")
        .and_then(Value::as_str)
        .unwrap_or("resolved");
    Ok(Outcome::ok(
        reason,
        example.get("data").cloned().unwrap_or_else(|| json!({})),
    ))
}

struct Call<'a> {
    route: &'a Route,
    input: &'a Input,
    validators: &'a Validators,
    now: i64,
}

fn str_of<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

fn i64_of(map: &Map<String, Value>, key: &str) -> Option<i64> {
    map.get(key).and_then(Value::as_i64)
}

/// Merges `patch` into `target`: objects field by field, `null` removes the field, everything
/// else replaced.
pub(crate) fn merge(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
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

impl Call<'_> {
    fn session_id(&self) -> &str {
        self.input.path_str("session_id")
    }

    fn conversation<'w>(&self, ws: &'w Workspace) -> Result<&'w Conversation, ApiError> {
        let id = self.session_id();
        ws.conversations.get(id).ok_or_else(|| {
            ApiError::not_found(format!(
                "conversation `{id}` does not exist in this website"
            ))
        })
    }

    fn conversation_mut<'w>(
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

    fn message(&self, conversation: &Conversation) -> Result<usize, ApiError> {
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

    fn person<'w>(&self, ws: &'w Workspace) -> Result<&'w Person, ApiError> {
        let id = self.input.path_str("people_id");
        ws.people
            .get(id)
            .ok_or_else(|| ApiError::not_found(format!("profile `{id}` does not exist")))
    }

    /// The common fields of a session event.
    fn session_event(&self, conversation: &Conversation) -> Map<String, Value> {
        let mut data = Map::new();
        data.insert(
            "website_id".into(),
            conversation
                .record
                .get("website_id")
                .cloned()
                .unwrap_or(Value::Null),
        );
        data.insert(
            "session_id".into(),
            conversation
                .record
                .get("session_id")
                .cloned()
                .unwrap_or(Value::Null),
        );
        data.insert(
            "inbox_id".into(),
            conversation
                .record
                .get("inbox_id")
                .cloned()
                .unwrap_or(Value::Null),
        );
        data
    }

    /// One page of `items`, by the route's paging and the request's `page_number` and
    /// `per_page`.
    fn page<T>(&self, items: Vec<T>) -> Vec<T> {
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

    fn list_conversations(&self, ws: &Workspace) -> Result<Outcome, ApiError> {
        let q = self.input;
        let start = q.query_str("filter_date_start").and_then(parse_date);
        let end = q.query_str("filter_date_end").and_then(parse_date);
        let search = q.query_str("search_query").filter(|s| !s.is_empty());
        let search_type = q.query_str("search_type").unwrap_or("text");
        let any_filter = q.query_str("search_operator") == Some("or");
        let filters = match (search, search_type) {
            (Some(text), "filter") => serde_json::from_str::<Vec<Value>>(text).ok(),
            _ => None,
        };
        let mut list: Vec<&Conversation> = ws
            .conversations
            .values()
            .filter(|c| {
                let r = &c.record;
                let state = str_of(r, "state").unwrap_or("pending");
                let meta = r.get("meta").and_then(Value::as_object);
                let updated = i64_of(r, "updated_at").unwrap_or(0);
                (q.flag("include_empty") || !c.messages.is_empty())
                    && (!q.flag("filter_not_resolved") || state != "resolved")
                    && (!q.flag("filter_resolved") || state == "resolved")
                    && (!q.flag("filter_unread")
                        || r.get("unread")
                            .and_then(|u| u.get("operator"))
                            .and_then(Value::as_i64)
                            .unwrap_or(0)
                            > 0)
                    && (!q.flag("filter_unassigned") || !r.contains_key("assigned"))
                    && q.query_str("filter_assigned").is_none_or(|who| {
                        r.get("assigned")
                            .and_then(|a| a.get("user_id"))
                            .and_then(Value::as_str)
                            == Some(who)
                    })
                    && q.query_str("filter_inbox_id")
                        .is_none_or(|inbox| str_of(r, "inbox_id") == Some(inbox))
                    && (!q.flag("filter_mention")
                        || r.get("mentions")
                            .and_then(Value::as_array)
                            .is_some_and(|m| !m.is_empty()))
                    && start.is_none_or(|t| updated >= t)
                    && end.is_none_or(|t| updated <= t)
                    && (!q.flag("order_date_waiting") || r.contains_key("waiting_since"))
                    && match (search, search_type, &filters) {
                        (None, _, _) => true,
                        (Some(_), "filter", Some(filters)) => {
                            let mut hits = filters.iter().map(|f| filter_matches(f, meta, r));
                            if any_filter {
                                hits.any(|h| h)
                            } else {
                                hits.all(|h| h)
                            }
                        }
                        // A filter that is not a JSON list of filters matches everything.
                        (Some(_), "filter", None) => true,
                        (Some(text), "segment", _) => meta
                            .and_then(|m| m.get("segments"))
                            .and_then(Value::as_array)
                            .is_some_and(|s| s.iter().any(|v| v.as_str() == Some(text))),
                        (Some(text), _, _) => {
                            let needle = text.to_lowercase();
                            let field = |v: Option<&Value>| {
                                v.and_then(Value::as_str)
                                    .is_some_and(|s| s.to_lowercase().contains(&needle))
                            };
                            field(meta.and_then(|m| m.get("nickname")))
                                || field(meta.and_then(|m| m.get("email")))
                                || field(r.get("last_message"))
                                || field(r.get("session_id"))
                        }
                    }
            })
            .collect();
        let key = |c: &Conversation, field: &str| i64_of(&c.record, field).unwrap_or(0);
        if q.flag("order_date_waiting") {
            list.sort_by_key(|c| (key(c, "waiting_since"), c.seq));
        } else if q.flag("order_date_created") {
            list.sort_by_key(|c| std::cmp::Reverse((key(c, "created_at"), c.seq)));
        } else {
            list.sort_by_key(|c| std::cmp::Reverse((key(c, "updated_at"), c.seq)));
        }
        let page = self
            .page(list)
            .into_iter()
            .map(|c| Value::Object(c.record.clone()))
            .collect();
        Ok(Outcome::ok("resolved", Value::Array(page)))
    }

    fn create_conversation(&self, ws: &mut Workspace) -> Result<Outcome, ApiError> {
        let mut rng = fastrand::Rng::new();
        let session_id = format!("session_{}", crate::seed::uuid(&mut rng));
        let record = json!({
            "session_id": session_id,
            "website_id": ws.website_id,
            "state": "pending",
            "status": 0,
            "is_verified": false,
            "is_blocked": false,
            "availability": "offline",
            "active": { "now": false, "last": self.now },
            "unread": { "operator": 0, "visitor": 0 },
            "meta": { "segments": [] },
            "created_at": self.now,
            "updated_at": self.now,
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
        let event = self.session_event(&conversation);
        ws.conversations.insert(session_id.clone(), conversation);
        Ok(Outcome::ok("added", json!({ "session_id": session_id }))
            .with_webhook_of(self.route.op, Value::Object(event)))
    }

    fn remove_conversation(&self, ws: &mut Workspace) -> Result<Outcome, ApiError> {
        self.conversation(ws)?;
        let conversation = ws
            .conversations
            .remove(self.session_id())
            .ok_or_else(|| ApiError::not_found("conversation does not exist"))?;
        let event = self.session_event(&conversation);
        Ok(Outcome::ok("deleted", json!({})).with_webhook_of(self.route.op, Value::Object(event)))
    }

    fn list_messages(&self, ws: &Workspace) -> Result<Outcome, ApiError> {
        let conversation = self.conversation(ws)?;
        let before = self.input.query_i64("timestamp_before");
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
        Ok(Outcome::ok("resolved", Value::Array(batch)))
    }

    fn send_message(&self, ws: &mut Workspace) -> Result<Outcome, ApiError> {
        let Value::Object(body) = self.input.body() else {
            return Err(ApiError::invalid("a JSON request body is required"));
        };
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
        let now = self.now;
        let conversation = self.conversation_mut(ws)?;
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
        let session_id = self.session_id().to_owned();
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
        let mut event = self.session_event(conversation);
        for (k, v) in message {
            event.entry(k).or_insert(v);
        }
        let mut event = Value::Object(event);
        self.validators
            .prune_component("MessageEventData", &mut event);
        let name = if from == "user" {
            "message:send"
        } else {
            "message:received"
        };
        Ok(
            Outcome::ok("dispatched", json!({ "fingerprint": fingerprint }))
                .with_event(name, event),
        )
    }

    fn update_message(&self, ws: &mut Workspace) -> Result<Outcome, ApiError> {
        let content = self
            .input
            .body()
            .get("content")
            .cloned()
            .unwrap_or(Value::Null);
        let now = self.now;
        let conversation = self.conversation_mut(ws)?;
        let at = self.message(conversation)?;
        let message = &mut conversation.messages[at];
        message.insert("content".into(), content.clone());
        message.insert("edited".into(), Value::Bool(true));
        let fingerprint = message.get("fingerprint").cloned().unwrap_or(Value::Null);
        refresh_conversation(conversation, now, Unread::Same);
        let mut event = self.session_event(conversation);
        event.insert("fingerprint".into(), fingerprint);
        event.insert("content".into(), content);
        Ok(Outcome::ok("updated", json!({})).with_webhook_of(self.route.op, Value::Object(event)))
    }

    fn mark_messages_read(&self, ws: &mut Workspace) -> Result<Outcome, ApiError> {
        let body = self.input.body();
        let reader = body
            .get("from")
            .and_then(Value::as_str)
            .unwrap_or("operator");
        let origin = body.get("origin").and_then(Value::as_str).unwrap_or("chat");
        let only: Option<Vec<i64>> = body
            .get("fingerprints")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(Value::as_i64).collect());
        let now = self.now;
        let conversation = self.conversation_mut(ws)?;
        for message in &mut conversation.messages {
            let theirs = str_of(message, "from") != Some(reader);
            let chosen = only.as_ref().is_none_or(|list| {
                i64_of(message, "fingerprint").is_some_and(|f| list.contains(&f))
            });
            if theirs && chosen {
                message.insert("read".into(), origin.into());
            }
        }
        refresh_conversation(conversation, now, Unread::Recount);
        Ok(Outcome::ok("updated", json!({})))
    }

    fn change_state(&self, ws: &mut Workspace) -> Result<Outcome, ApiError> {
        let state = self
            .input
            .body()
            .get("state")
            .and_then(Value::as_str)
            .unwrap_or("pending")
            .to_owned();
        let now = self.now;
        let conversation = self.conversation_mut(ws)?;
        let r = &mut conversation.record;
        let status = ["pending", "unresolved", "resolved"]
            .iter()
            .position(|s| *s == state)
            .unwrap_or(0);
        r.insert("state".into(), state.clone().into());
        r.insert("status".into(), status.into());
        r.insert("updated_at".into(), now.into());
        if state == "resolved" {
            r.remove("waiting_since");
        }
        let mut event = self.session_event(conversation);
        event.insert("state".into(), state.into());
        Ok(Outcome::ok("updated", json!({})).with_webhook_of(self.route.op, Value::Object(event)))
    }

    fn update_meta(&self, ws: &mut Workspace) -> Result<Outcome, ApiError> {
        let Value::Object(patch) = self.input.body() else {
            return Err(ApiError::invalid("a JSON request body is required"));
        };
        let now = self.now;
        let conversation = self.conversation_mut(ws)?;
        let r = &mut conversation.record;
        let meta = r.entry("meta").or_insert_with(|| Value::Object(Map::new()));
        if !meta.is_object() {
            *meta = Value::Object(Map::new());
        }
        let Value::Object(meta) = meta else {
            unreachable!("made an object above")
        };
        for (key, value) in patch {
            match (key.as_str(), value) {
                ("segments", Value::Null) => {
                    meta.insert(key.clone(), json!([]));
                }
                (_, Value::Null) => {
                    meta.remove(key);
                }
                ("data", Value::Object(data)) => {
                    let have = meta
                        .entry("data")
                        .or_insert_with(|| Value::Object(Map::new()));
                    match have {
                        Value::Object(have) => {
                            for (k, v) in data {
                                have.insert(k.clone(), v.clone());
                            }
                        }
                        other => *other = Value::Object(data.clone()),
                    }
                }
                _ => {
                    meta.insert(key.clone(), value.clone());
                }
            }
        }
        r.insert("updated_at".into(), now.into());
        let mut outcome = Outcome::ok("updated", json!({}));
        if let Some(email) = patch.get("email").and_then(Value::as_str) {
            let mut event = self.session_event(conversation);
            event.insert("email".into(), email.into());
            outcome = outcome.with_webhook_of(self.route.op, Value::Object(event));
        }
        Ok(outcome)
    }

    fn assign_routing(&self, ws: &mut Workspace) -> Result<Outcome, ApiError> {
        let user_id = self
            .input
            .body()
            .get("assigned")
            .and_then(|a| a.get("user_id"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        // Any user_id is taken: a 404 here would read as "no such conversation", and Crisp's
        // answer for an unknown operator is not documented.
        let now = self.now;
        let conversation = self.conversation_mut(ws)?;
        let r = &mut conversation.record;
        let previous = r
            .get("assigned")
            .and_then(|a| a.get("user_id"))
            .cloned()
            .unwrap_or(Value::Null);
        match &user_id {
            Some(id) => {
                r.insert("assigned".into(), json!({ "user_id": id }));
            }
            None => {
                r.remove("assigned");
            }
        }
        r.insert("updated_at".into(), now.into());
        let mut event = self.session_event(conversation);
        event.insert(
            "routing_id".into(),
            user_id.map_or(Value::Null, Value::from),
        );
        event.insert("previous_routing_id".into(), previous);
        Ok(Outcome::ok("updated", json!({})).with_webhook_of(self.route.op, Value::Object(event)))
    }

    fn block(&self, ws: &mut Workspace) -> Result<Outcome, ApiError> {
        let blocked = self
            .input
            .body()
            .get("blocked")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let now = self.now;
        let conversation = self.conversation_mut(ws)?;
        conversation
            .record
            .insert("is_blocked".into(), blocked.into());
        conversation.record.insert("updated_at".into(), now.into());
        let mut event = self.session_event(conversation);
        event.insert("is_blocked".into(), blocked.into());
        Ok(Outcome::ok("updated", json!({})).with_webhook_of(self.route.op, Value::Object(event)))
    }

    fn list_people(&self, ws: &Workspace) -> Result<Outcome, ApiError> {
        let q = self.input;
        let text = q
            .query_str("search_text")
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase);
        let start = q.query_str("filter_date_start").and_then(parse_date);
        let end = q.query_str("filter_date_end").and_then(parse_date);
        let filters = q
            .query_str("search_filter")
            .and_then(|f| serde_json::from_str::<Vec<Value>>(f).ok());
        let any_filter = q.query_str("search_operator") == Some("or");
        let mut list: Vec<&Person> = ws
            .people
            .values()
            .filter(|p| {
                let profile = &p.profile;
                let created = i64_of(profile, "created_at").unwrap_or(0);
                let nickname = profile
                    .get("person")
                    .and_then(|c| c.get("nickname"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                text.as_ref().is_none_or(|t| {
                    nickname.to_lowercase().contains(t)
                        || str_of(profile, "email").is_some_and(|e| e.to_lowercase().contains(t))
                }) && start.is_none_or(|t| created >= t)
                    && end.is_none_or(|t| created <= t)
                    && filters.as_ref().is_none_or(|filters| {
                        let mut hits = filters
                            .iter()
                            .map(|f| filter_matches(f, Some(profile), profile));
                        if any_filter {
                            hits.any(|h| h)
                        } else {
                            hits.all(|h| h)
                        }
                    })
            })
            .collect();
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
        let page = self
            .page(list)
            .into_iter()
            .map(|p| Value::Object(p.profile.clone()))
            .collect();
        Ok(Outcome::ok("resolved", Value::Array(page)))
    }

    /// A profile card from a `PeopleProfileWrite` body: `active` as `{now, last}`, no nulls.
    fn card(&self, body: &Map<String, Value>) -> Map<String, Value> {
        let mut card = Map::new();
        for (key, value) in body {
            match (key.as_str(), value) {
                (_, Value::Null) => {}
                ("active", v) => {
                    card.insert(
                        "active".into(),
                        json!({ "now": false, "last": v.as_i64().unwrap_or(self.now) }),
                    );
                }
                (_, v) => {
                    card.insert(key.clone(), v.clone());
                }
            }
        }
        card
    }

    fn add_person(&self, ws: &mut Workspace) -> Result<Outcome, ApiError> {
        let Value::Object(body) = self.input.body() else {
            return Err(ApiError::invalid("a JSON request body is required"));
        };
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
        let mut rng = fastrand::Rng::new();
        let people_id = crate::seed::uuid(&mut rng);
        let mut profile = self.card(body);
        profile.insert("people_id".into(), people_id.clone().into());
        profile.entry("segments").or_insert_with(|| json!([]));
        profile.insert("score".into(), 0.into());
        profile.insert("created_at".into(), self.now.into());
        profile.insert("updated_at".into(), self.now.into());
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
        Ok(Outcome::ok("added", json!({ "people_id": people_id }))
            .with_webhook_of(self.route.op, Value::Object(event)))
    }

    fn write_person(&self, ws: &mut Workspace, replace: bool) -> Result<Outcome, ApiError> {
        let Value::Object(body) = self.input.body() else {
            return Err(ApiError::invalid("a JSON request body is required"));
        };
        let id = self.input.path_str("people_id").to_owned();
        self.person(ws)?;
        let card = self.card(body);
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
        profile.insert("updated_at".into(), self.now.into());
        let mut update = card;
        update.insert("updated_at".into(), self.now.into());
        let mut event = Map::new();
        event.insert("website_id".into(), website_id.into());
        event.insert("people_id".into(), id.into());
        if let Some(email) = profile.get("email") {
            event.insert("email".into(), email.clone());
        }
        event.insert("update".into(), Value::Object(update));
        let mut event = Value::Object(event);
        self.validators
            .prune_component("PeopleProfileUpdatedData", &mut event);
        Ok(Outcome::ok("updated", json!({})).with_webhook_of(self.route.op, event))
    }

    fn remove_person(&self, ws: &mut Workspace) -> Result<Outcome, ApiError> {
        let id = self.input.path_str("people_id").to_owned();
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
        Ok(Outcome::ok("deleted", json!({})).with_webhook_of(self.route.op, Value::Object(event)))
    }

    fn list_campaigns(&self, ws: &Workspace) -> Result<Outcome, ApiError> {
        let q = self.input;
        let name = q
            .query_str("search_name")
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase);
        let tag = q.query_str("filter_tag");
        let flag =
            |c: &Map<String, Value>, k: &str| c.get(k).and_then(Value::as_bool) == Some(true);
        let items = ws
            .campaigns
            .iter()
            .filter(|c| {
                let ty = str_of(c, "type").unwrap_or("");
                let (ready, dispatched, running) =
                    (flag(c, "ready"), flag(c, "dispatched"), flag(c, "running"));
                name.as_ref().is_none_or(|n| {
                    str_of(c, "name").is_some_and(|s| s.to_lowercase().contains(n))
                }) && tag.is_none_or(|t| str_of(c, "tag") == Some(t))
                    && (!q.flag("filter_type_one_shot") || ty == "one-shot")
                    && (!q.flag("filter_type_automated") || ty == "automated")
                    && (!q.flag("filter_status_not_configured") || !ready)
                    && (!q.flag("filter_status_ready") || (ready && !dispatched && !running))
                    // The excerpt has no paused flag: a paused campaign is not represented.
                    && !q.flag("filter_status_paused")
                    && (!q.flag("filter_status_sending") || running)
                    && (!q.flag("filter_status_done") || (dispatched && !running))
            })
            .cloned()
            .map(Value::Object)
            .collect();
        Ok(Outcome::ok("resolved", Value::Array(self.page(items))))
    }

    fn dispatch_campaign(&self, ws: &mut Workspace) -> Result<Outcome, ApiError> {
        let id = self.input.path_str("campaign_id").to_owned();
        let website_id = ws.website_id.clone();
        let campaign = ws
            .campaigns
            .iter_mut()
            .find(|c| str_of(c, "campaign_id") == Some(id.as_str()))
            .ok_or_else(|| ApiError::not_found(format!("campaign `{id}` does not exist")))?;
        if campaign.get("ready").and_then(Value::as_bool) != Some(true) {
            return Err(ApiError::conflict(format!(
                "campaign `{id}` is not configured: it cannot be dispatched"
            )));
        }
        let automated = str_of(campaign, "type") == Some("automated");
        campaign.insert("dispatched".into(), true.into());
        campaign.insert("dispatched_at".into(), self.now.into());
        campaign.insert("updated_at".into(), self.now.into());
        campaign.insert("running".into(), automated.into());
        if !automated {
            let targets = campaign.get("targets").cloned().unwrap_or(0.into());
            campaign.insert("reached".into(), targets);
            campaign.insert("progress".into(), 100.into());
        }
        Ok(Outcome::ok("dispatched", json!({})).with_webhook_of(
            self.route.op,
            json!({ "website_id": website_id, "campaign_id": id }),
        ))
    }
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

/// Whether one search filter `{model, criterion, operator, query}` matches a record: the
/// criterion is read from `meta` (or the record), and matches when it equals or contains one of
/// the query values.
fn filter_matches(
    filter: &Value,
    meta: Option<&Map<String, Value>>,
    record: &Map<String, Value>,
) -> bool {
    let Some(criterion) = filter.get("criterion").and_then(Value::as_str) else {
        return true;
    };
    let wanted: Vec<String> = match filter.get("query") {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_lowercase)
            .collect(),
        Some(Value::String(s)) => vec![s.to_lowercase()],
        _ => return true,
    };
    let value = meta
        .and_then(|m| m.get(criterion))
        .or_else(|| record.get(criterion));
    let negate = matches!(
        filter.get("operator").and_then(Value::as_str),
        Some("neq" | "has_not" | "not_eq")
    );
    let hit = match value {
        Some(Value::String(s)) => {
            let s = s.to_lowercase();
            wanted.iter().any(|w| s.contains(w.as_str()))
        }
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|s| wanted.iter().any(|w| s.eq_ignore_ascii_case(w))),
        Some(other) => {
            let text = other.to_string();
            wanted.contains(&text)
        }
        None => false,
    };
    hit != negate
}

/// Unix milliseconds of an ISO-8601 date (`2023-11-14`) or date-time
/// (`2023-11-14T10:00:00Z`, `...+01:00`, fractions allowed). `None` when it is not one.
pub(crate) fn parse_date(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, rest) = if text.len() <= 10 {
        (text, "")
    } else if text.is_char_boundary(10) {
        text.split_at(10)
    } else {
        return None;
    };
    let mut parts = date.split('-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: i64 = parts.next()?.parse().ok()?;
    let day: i64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let mut ms = days.checked_mul(86_400_000)?;
    if rest.is_empty() {
        return Some(ms);
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let (clock, zone) = match rest.find(['Z', 'z', '+', '-']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (hms, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut hms = hms.split(':');
    let h: i64 = hms.next()?.parse().ok()?;
    let m: i64 = hms.next()?.parse().ok()?;
    let s: i64 = hms.next().map_or(Some(0), |s| s.parse().ok())?;
    if !(0..=23).contains(&h) || !(0..=59).contains(&m) || !(0..=60).contains(&s) {
        return None;
    }
    ms += (h * 3600 + m * 60 + s) * 1000;
    if !fraction.is_empty() {
        let digits: String = fraction.chars().take(3).collect();
        let value: i64 = format!("{digits:0<3}").parse().ok()?;
        ms += value;
    }
    match zone {
        "" | "Z" | "z" => {}
        offset => {
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let (oh, om) = offset[1..].split_once(':').unwrap_or((&offset[1..], "0"));
            if oh.len() > 2 || om.len() > 2 {
                return None;
            }
            let minutes = oh.parse::<i64>().ok()? * 60 + om.parse::<i64>().ok()?;
            ms -= sign * minutes * 60_000;
        }
    }
    Some(ms)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_of_the_spec_has_a_route() {
        // Behaviour is matched on crisp-api's operations, so it cannot name one the spec lacks;
        // an operation without behaviour answers its example (below).
        assert_eq!(
            crate::route::routes().len(),
            crisp_api::Operation::ALL.len()
        );
    }

    #[test]
    fn an_operation_without_behaviour_answers_the_spec_example() {
        for route in crate::route::routes() {
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

    #[test]
    fn dates_parse() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2023-11-14T22:13:20Z"), Some(1_700_000_000_000));
        assert_eq!(
            parse_date("2023-11-14T23:13:20.5+01:00"),
            Some(1_700_000_000_500)
        );
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(parse_date("2023-13-01"), None);
        assert_eq!(parse_date(""), None);
        assert_eq!(parse_date("2023-11-14T"), None);
        assert_eq!(parse_date("2023-11-14T10:00:00+99999999999999999"), None);
        assert_eq!(
            parse_date("2023-11-14T10:00:00.99999999999999999999Z"),
            Some(1_699_956_000_999)
        );
        assert_eq!(parse_date("2023-11-1\u{e9}T10:00"), None);
    }
}

//! `POST /webhooks/crisp`: a delivery from Crisp, verified, then fanned out once (see the
//! [module docs](super)). The answer is Crisp's envelope; Crisp retries anything but a 2xx.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use crisp_api::webhook::{ATTEMPT_COUNT_HEADER, Delivery};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT};
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use serde_json::json;

use super::allow::{self, Denied, Verdict};
use super::event::{EventFacts, webhook_id};
use super::secret::SIGNING_SECRET_VAR;
use super::state::{BODY_LIMIT, Webhooks};
use crate::audit::kept_text;
use crate::decide::ConversationFacts;
use crate::policy::{Agent, Policy};
use crate::refusal::Rule;
use crate::store::outbox::{NewDelivery, NewEvent, SEEN_FOR_MS};
use crate::store::{AuditRow, Take, Taken, now_ms, utc_day};

/// The audit rows' front.
pub(super) const FRONT: &str = "webhook";

/// What the receipt of one delivery is: its answer and its audit row's decision.
struct Answer {
    status: StatusCode,
    reason: &'static str,
    message: String,
    /// The audit row's `why` (None: fanned out).
    why: Option<&'static str>,
}

impl Answer {
    fn refused(
        status: StatusCode,
        reason: &'static str,
        why: &'static str,
        message: String,
    ) -> Self {
        Self {
            status,
            reason,
            message,
            why: Some(why),
        }
    }

    fn received(why: Option<&'static str>, message: &str) -> Self {
        Self {
            status: StatusCode::OK,
            reason: "received",
            message: message.to_owned(),
            why,
        }
    }
}

/// The receipt's audit row, filled in as the delivery is handled.
struct Receipt {
    row: AuditRow,
    received: Instant,
}

impl Receipt {
    fn new(headers: &HeaderMap, received: Instant) -> Self {
        let client = headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(kept_text);
        // Crisp's attempt number (it is not signed: only recorded).
        let attempts = headers
            .get(ATTEMPT_COUNT_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u32>().ok())
            .unwrap_or(1);
        Self {
            row: AuditRow {
                at_ms: now_ms(),
                agent: None,
                key_id: None,
                front: FRONT.to_owned(),
                client,
                operation: None,
                method: Some("POST".to_owned()),
                path_ids: Vec::new(),
                decision: "refused".to_owned(),
                why: None,
                outcome: None,
                status: None,
                reason: None,
                error: None,
                attempts,
                upstream_requests: 0,
                latency_us: 0,
            },
            received,
        }
    }

    fn about(&mut self, facts: &EventFacts) {
        self.row.operation = Some(facts.name.clone());
        self.row.path_ids = path_ids(facts.website_id.as_deref(), facts.session_id.as_deref());
    }

    fn finish(mut self, hooks: &Webhooks, answer: &Answer) {
        self.row.decision = if answer.status.is_success() {
            "allowed"
        } else {
            "refused"
        }
        .to_owned();
        self.row.why = answer.why.map(str::to_owned);
        self.row.status = Some(answer.status.as_u16());
        self.row.reason = Some(answer.reason.to_owned());
        self.row.latency_us =
            u64::try_from(self.received.elapsed().as_micros()).unwrap_or(u64::MAX);
        record(hooks, self.row);
    }
}

/// The handler of [`PATH`](super::state::PATH).
pub(super) async fn receive(State(hooks): State<Arc<Webhooks>>, request: Request) -> Response {
    let received = Instant::now();
    let (parts, body) = request.into_parts();
    let mut receipt = Receipt::new(&parts.headers, received);
    let answer = handle(&hooks, &parts.headers, body, &mut receipt).await;
    let response = render(&answer);
    receipt.finish(&hooks, &answer);
    response
}

async fn handle(
    hooks: &Webhooks,
    headers: &HeaderMap,
    body: Body,
    receipt: &mut Receipt,
) -> Answer {
    let Some(verifier) = &hooks.secrets.verifier else {
        return Answer::refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "config",
            format!(
                "the gateway does not receive Crisp's webhooks yet: set {SIGNING_SECRET_VAR} to \
                 the plugin's signing secret (shown in the Crisp Marketplace) and restart it"
            ),
        );
    };
    let Some(outbox) = hooks.gateway.store().outbox() else {
        return Answer::refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "store",
            "the gateway's store keeps no webhook outbox".to_owned(),
        );
    };
    let body = match read_body(headers, body).await {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    // The signature over the raw bytes first: nothing of an unverified request is read.
    if let Err(error) = verifier.verify_headers(headers, &body) {
        tracing::warn!(%error, "a webhook delivery was refused: its signature does not check");
        return Answer::refused(
            StatusCode::UNAUTHORIZED,
            "invalid_session",
            "signature",
            format!("the delivery is refused: {error}"),
        );
    }
    let delivery = match Delivery::from_slice(&body) {
        Ok(delivery) => delivery,
        Err(error) => {
            return Answer::refused(
                StatusCode::BAD_REQUEST,
                "invalid_data",
                "request",
                format!("the delivery is signed but cannot be read: {error}"),
            );
        }
    };
    let facts = EventFacts::of(&delivery, &body);
    receipt.about(&facts);
    if delivery.event.is_unknown() {
        return Answer::received(
            Some("unknown_event"),
            "an event this gateway does not know: no agent subscribes to it",
        );
    }
    match outbox.seen(&facts.key).await {
        Ok(true) => return Answer::received(Some("duplicate"), "already received"),
        Ok(false) => {}
        Err(error) => return store_failed(&error),
    }

    let policy = hooks.gateway.policy();
    let mut deliveries = Vec::new();
    let mut refused: Vec<(&Agent, Denied)> = Vec::new();
    let mut conversation = Conversation::default();
    for agent in policy.agents() {
        if !agent
            .webhook
            .as_ref()
            .is_some_and(|subscription| subscription.wants(&facts.name))
        {
            continue;
        }
        let allowed = match allow::check(agent, &facts) {
            Ok(Verdict::Allowed) => Ok(()),
            Ok(Verdict::NeedsConversation {
                website_id,
                session_id,
            }) => {
                match conversation
                    .facts(hooks, &policy, agent, &website_id, &session_id, receipt)
                    .await
                {
                    Ok(read) => allow::check_conversation(agent, &facts.name, read.as_ref()),
                    Err(Some(denied)) => Err(denied),
                    Err(None) => {
                        return Answer::refused(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "unavailable",
                            "upstream",
                            "the conversation could not be read from Crisp to check the agents' \
                             rules: send the delivery again"
                                .to_owned(),
                        );
                    }
                }
            }
            Err(denied) => Err(denied),
        };
        match allowed {
            Ok(()) => deliveries.push(NewDelivery {
                webhook_id: webhook_id(&facts.key, &agent.name),
                agent: agent.name.clone(),
            }),
            Err(denied) => refused.push((agent, denied)),
        }
    }

    let now = now_ms();
    let event = NewEvent {
        key: facts.key.clone(),
        event: facts.name.clone(),
        received_at_ms: now,
        expires_at_ms: now.saturating_add(SEEN_FOR_MS),
        website_id: facts.website_id.clone(),
        session_id: facts.session_id.clone(),
        // Verified and parsed as JSON, so UTF-8.
        body: String::from_utf8_lossy(&body).into_owned(),
        deliveries,
    };
    match outbox.enqueue(&event).await {
        Ok(true) => {
            if !event.deliveries.is_empty() {
                hooks.wake.notify_one();
            }
            for (agent, denied) in refused {
                tracing::info!(agent = %agent.name, event = %facts.name, rule = denied.rule.as_str(), "{}", denied.message);
                record(hooks, refusal_row(agent, &facts, &denied));
            }
            Answer::received(None, "received")
        }
        // Another replica (or an earlier attempt) fanned it out meanwhile.
        Ok(false) => Answer::received(Some("duplicate"), "already received"),
        Err(error) => store_failed(&error),
    }
}

/// The conversation of the event, read at most once per delivery, as the agents' rules need.
#[derive(Default)]
struct Conversation {
    read: Option<Option<ConversationFacts>>,
}

impl Conversation {
    /// Its facts (`Ok(None)`: Crisp refused to read it), read through the upstream's cache; a
    /// read upstream takes one request from `agent`'s budget and the quota first.
    /// `Err(Some)`: the agent's counters refused the read; `Err(None)`: the read failed on the
    /// way (the delivery is answered 503 so that Crisp sends it again).
    async fn facts(
        &mut self,
        hooks: &Webhooks,
        policy: &Policy,
        agent: &Agent,
        website_id: &str,
        session_id: &str,
        receipt: &mut Receipt,
    ) -> Result<Option<ConversationFacts>, Option<Denied>> {
        if let Some(read) = &self.read {
            return Ok(read.clone());
        }
        let upstream = hooks.gateway.upstream();
        if let Some(facts) = upstream.cached_facts(website_id, session_id) {
            self.read = Some(Some(facts.clone()));
            return Ok(Some(facts));
        }
        let day = utc_day(now_ms());
        let store = hooks.gateway.store();
        let taken = store
            .take(Take {
                day,
                agent: agent.name.clone(),
                agent_limit: agent.daily_budget,
                quota_limit: Some(policy.daily_quota()),
                n: 1,
            })
            .await;
        let spent = |rule: Rule, limit: u64| Denied {
            rule,
            message: format!(
                "agent `{}` does not get the event: reading its conversation to check its rules \
                 needs a request, and the {} of {limit} a day is spent",
                agent.name,
                if rule == Rule::Budget {
                    "agent's budget"
                } else {
                    "token's quota"
                }
            ),
        };
        match taken {
            Ok(Taken::Taken { .. }) => {}
            Ok(Taken::BudgetSpent { limit }) => return Err(Some(spent(Rule::Budget, limit))),
            Ok(Taken::QuotaSpent { limit }) => return Err(Some(spent(Rule::Quota, limit))),
            Err(error) => {
                tracing::error!(%error, "the counters could not be read to read a conversation");
                return Err(None);
            }
        }
        let (result, attempts) = upstream.fetch_facts(website_id, session_id).await;
        receipt.row.upstream_requests = receipt.row.upstream_requests.saturating_add(attempts);
        if attempts > 1
            && let Err(error) = store.add(day, &agent.name, u64::from(attempts - 1)).await
        {
            tracing::error!(%error, agent = %agent.name, "retries sent upstream were not counted");
        }
        match result {
            Ok(facts) => {
                self.read = Some(Some(facts.clone()));
                Ok(Some(facts))
            }
            // Crisp says it cannot be read (removed, not found): it cannot be checked.
            Err(crisp_api::Error::Api { status, .. }) if status.is_client_error() => {
                self.read = Some(None);
                Ok(None)
            }
            Err(error) => {
                tracing::warn!(
                    error = error.kind(),
                    "a conversation could not be read to check the agents' webhook rules"
                );
                Err(None)
            }
        }
    }
}

/// The body, at most [`BODY_LIMIT`] bytes.
async fn read_body(headers: &HeaderMap, body: Body) -> Result<axum::body::Bytes, Answer> {
    let too_large = || {
        Answer::refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_data",
            "request",
            format!("the delivery is larger than {BODY_LIMIT} bytes"),
        )
    };
    let announced = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|length| length > BODY_LIMIT as u64) {
        return Err(too_large());
    }
    match Limited::new(body, BODY_LIMIT).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(_) => Err(Answer::refused(
            StatusCode::BAD_REQUEST,
            "invalid_data",
            "request",
            "the delivery's body could not be read (the connection broke)".to_owned(),
        )),
    }
}

fn store_failed(error: &crate::store::StoreError) -> Answer {
    tracing::error!(%error, "a webhook delivery could not be recorded: answered 503 for Crisp to retry");
    Answer::refused(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "store",
        "the gateway's store cannot record the delivery now: send it again".to_owned(),
    )
}

/// Crisp's envelope, with the answer's status.
fn render(answer: &Answer) -> Response {
    let envelope = json!({
        "error": !answer.status.is_success(),
        "reason": answer.reason,
        "data": { "message": answer.message },
    });
    let mut response = (answer.status, envelope.to_string()).into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// The row of a subscribed agent the event is refused to.
fn refusal_row(agent: &Agent, facts: &EventFacts, denied: &Denied) -> AuditRow {
    AuditRow {
        at_ms: now_ms(),
        agent: Some(agent.name.clone()),
        key_id: Some(agent.key_sha256.key_id()),
        front: FRONT.to_owned(),
        client: None,
        operation: Some(facts.name.clone()),
        method: None,
        path_ids: path_ids(facts.website_id.as_deref(), facts.session_id.as_deref()),
        decision: "refused".to_owned(),
        why: Some(denied.rule.as_str().to_owned()),
        outcome: Some("not_sent".to_owned()),
        status: None,
        reason: Some(denied.rule.reason().to_owned()),
        error: None,
        attempts: 0,
        upstream_requests: 0,
        latency_us: 0,
    }
}

/// Records `row`; a full or failing audit log is logged, the delivery is handled anyway (it
/// is recorded in the outbox).
pub(super) fn record(hooks: &Webhooks, row: AuditRow) {
    if let Err(error) = hooks.gateway.audit().record(row) {
        tracing::warn!(%error, "a webhook audit row was not recorded");
    }
}

/// The ids an event's rows name.
pub(super) fn path_ids(
    website_id: Option<&str>,
    session_id: Option<&str>,
) -> Vec<(String, String)> {
    [("website_id", website_id), ("session_id", session_id)]
        .into_iter()
        .filter_map(|(name, value)| Some((name.to_owned(), value?.to_owned())))
        .collect()
}

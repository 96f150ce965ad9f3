//! What runs around every call: a thin dispatcher over small policy modules.
//!
//! ```text
//! builder.send()
//!   └─ run: guard (ids, grants, confirmation) ─ loop { budget ─ attempt ─ retry::decide } ─ audit
//!        attempt = generated send() ─ pre hook (clean headers) ─ exec hook (observe, cap body)
//! ```
//!
//! Each policy module decides and does not send: [`guard`] refuses before any I/O, [`retry`]
//! classifies a failed attempt and says whether and when to send again, [`audit`] holds the
//! record, [`body`] turns bodies that are not the expected JSON into short, masked excerpts.
//! This file wires those decisions to the request.

pub(crate) mod audit;
pub(crate) mod body;
pub(crate) mod dynamic;
pub(crate) mod guard;
pub(crate) mod retry;

use std::cell::RefCell;
use std::error::Error as StdError;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo, ResponseValue};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue, LOCATION, RETRY_AFTER};
use serde::de::DeserializeOwned;

use self::audit::{AuditRecord, Outcome, Refusal};
use self::guard::PathId;
use self::retry::{Attempted, Class, Decision};
use crate::client::Client;
use crate::error::Error;
use crate::generated::client::Client as RawClient;
use crate::operation::Operation;
use crate::types::{ErrorEnvelope, ErrorReason};

/// Per-client settings the generated client carries to its hooks. Everything per call travels
/// in the call's task-local [`Facts`] instead.
#[derive(Clone, Debug, Default)]
pub(crate) struct Context {}

tokio::task_local! {
    /// What the hooks learn about the attempt in flight; set only inside [`run`].
    static FACTS: RefCell<Facts>;
}

/// What the exec hook saw of one attempt's answer.
#[derive(Debug, Default)]
pub(crate) struct Facts {
    /// The response-size cap for this call.
    max_body: usize,
    status: Option<StatusCode>,
    content_type: Option<HeaderValue>,
    retry_after: Option<HeaderValue>,
    bloom_status: Option<HeaderValue>,
    /// The path Crisp redirected to, when it did (same origin only).
    redirected_to: Option<String>,
    /// The answer was over the cap: its announced length, if any.
    too_large: Option<Option<u64>>,
}

/// Reads the current attempt's facts (inside [`run`] only).
fn with_facts<R>(f: impl FnOnce(&Facts) -> R) -> Option<R> {
    FACTS.try_with(|facts| f(&facts.borrow())).ok()
}

/// The response envelope of a successful call: `{error, reason, data}`.
pub(crate) trait Envelope {
    /// Crisp's `reason`, such as `resolved`.
    fn reason(&self) -> &str;
    /// Whether the body says `error: true` despite a 2xx status.
    fn is_error(&self) -> bool;
    /// `data.message`, where the envelope's data keeps it (untyped data).
    fn message(&self) -> Option<String> {
        None
    }
}

/// `message` of an untyped `data`.
pub(crate) fn data_message(data: Option<&serde_json::Value>) -> Option<String> {
    data?.get("message")?.as_str().map(str::to_owned)
}

impl<T: Envelope> Envelope for Box<T> {
    fn reason(&self) -> &str {
        (**self).reason()
    }

    fn is_error(&self) -> bool {
        (**self).is_error()
    }

    fn message(&self) -> Option<String> {
        (**self).message()
    }
}

impl Envelope for serde_json::Value {
    fn reason(&self) -> &str {
        self.get("reason")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
    }

    fn is_error(&self) -> bool {
        self.get("error") == Some(&serde_json::Value::Bool(true))
    }

    fn message(&self) -> Option<String> {
        data_message(self.get("data"))
    }
}

impl ClientHooks<Context> for RawClient {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        // Only `run` sends: it has checked the grants, confirmation and budget. A request that
        // did not come through it is refused (the raw client is not public; this keeps it so).
        if with_facts(|_| ()).is_none() {
            return Err(progenitor_client::Error::Custom(format!(
                "{}: calls go through crisp_api::Client",
                info.operation_id
            )));
        }
        // progenitor sends the spec's version in an `api-version` header; Crisp has none.
        request.headers_mut().remove("api-version");
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let response = self.client().execute(request).await?;
        Ok(observe(response))
    }
}

/// Records what the answer says in the attempt's [`Facts`], and caps its body: an answer that
/// announces more than the cap is not read; one that does not announce its length is cut off
/// at the cap while it is read.
fn observe(response: reqwest::Response) -> reqwest::Response {
    const BLOOM_STATUS: HeaderName = HeaderName::from_static("bloom-status");
    let status = response.status();
    let length = response.content_length();
    let max = FACTS
        .try_with(|facts| {
            let mut facts = facts.borrow_mut();
            let headers = response.headers();
            facts.status = Some(status);
            facts.content_type = headers.get(CONTENT_TYPE).cloned();
            if !status.is_success() {
                facts.retry_after = headers.get(RETRY_AFTER).cloned();
            }
            facts.bloom_status = headers.get(BLOOM_STATUS).cloned();
            facts.max_body
        })
        .unwrap_or(body::DEFAULT_MAX_RESPONSE_BYTES);
    match length {
        Some(length) if length > max as u64 => {
            let _ = FACTS.try_with(|facts| facts.borrow_mut().too_large = Some(Some(length)));
            empty_response(status)
        }
        Some(_) => response,
        None => {
            let response: http::Response<reqwest::Body> = response.into();
            reqwest::Response::from(
                response.map(|b| reqwest::Body::wrap(http_body_util::Limited::new(b, max))),
            )
        }
    }
}

fn empty_response(status: StatusCode) -> reqwest::Response {
    let mut response = http::Response::new(reqwest::Body::from(Vec::new()));
    *response.status_mut() = status;
    reqwest::Response::from(response)
}

/// How one attempt ended, before the retry decision.
pub(crate) enum Failure {
    /// Crisp's error envelope (or `error: true` on a 2xx).
    Api {
        status: StatusCode,
        reason: ErrorReason,
        message: Option<String>,
        retry_after: Option<Duration>,
    },
    /// A body that is not the expected JSON.
    Body {
        status: StatusCode,
        content_type: Option<String>,
        detail: String,
        excerpt: String,
        length: usize,
        retry_after: Option<Duration>,
    },
    TooLarge {
        status: StatusCode,
        length: Option<u64>,
    },
    Transport {
        sent: bool,
        timeout: bool,
        message: String,
    },
    Redirect {
        location: String,
    },
    Invalid {
        problem: String,
    },
}

impl Failure {
    fn class(&self) -> Class {
        let limited = |status: StatusCode| matches!(status.as_u16(), 429 | 420);
        match self {
            Self::Api {
                status,
                retry_after,
                ..
            }
            | Self::Body {
                status,
                retry_after,
                ..
            } => {
                if limited(*status) {
                    Class::RateLimited {
                        retry_after: *retry_after,
                    }
                } else if crate::error::is_transient_status(*status) {
                    Class::Transient {
                        retry_after: *retry_after,
                    }
                } else {
                    Class::Final
                }
            }
            Self::Transport { sent: false, .. } => Class::NotSent,
            Self::Transport { .. } => Class::MaybeSent,
            Self::TooLarge { .. } | Self::Redirect { .. } | Self::Invalid { .. } => Class::Final,
        }
    }

    fn reason(&self) -> Option<String> {
        match self {
            Self::Api { reason, .. } => Some(reason.to_string()),
            _ => None,
        }
    }

    fn into_error(self, operation: &'static Operation, attempts: u32, timeout: Duration) -> Error {
        let limited = |status: StatusCode| matches!(status.as_u16(), 429 | 420);
        match self {
            Self::Api {
                status,
                retry_after,
                ..
            }
            | Self::Body {
                status,
                retry_after,
                ..
            } if limited(status) => Error::RateLimited {
                operation,
                status,
                retry_after,
                attempts,
            },
            Self::Api {
                status,
                reason,
                message,
                ..
            } => Error::Api {
                operation,
                status,
                reason,
                message,
            },
            Self::Body {
                status,
                content_type,
                detail,
                excerpt,
                length,
                ..
            } => Error::UnexpectedBody {
                operation,
                status,
                content_type,
                detail,
                excerpt,
                length,
            },
            Self::TooLarge { status, length } => Error::TooLarge {
                operation,
                status,
                limit: with_facts(|f| f.max_body).unwrap_or(0),
                length,
            },
            Self::Transport { timeout: true, .. } => Error::Timeout {
                operation,
                after: timeout,
                attempts,
            },
            Self::Transport { sent, message, .. } => Error::Transport {
                operation,
                sent,
                attempts,
                message,
            },
            Self::Redirect { location } => Error::Redirect {
                operation,
                location,
            },
            Self::Invalid { problem } => Error::InvalidRequest {
                operation,
                parameter: None,
                problem,
            },
        }
    }
}

/// A call's per-call options, set on its builder.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CallOptions {
    /// Overrides the policy's `retry_writes` for this call.
    pub(crate) retry_writes: Option<bool>,
    /// A (non-path) parameter whose value could not be converted.
    pub(crate) invalid: Option<&'static str>,
}

/// Runs a typed call of the generated client: `send` makes one attempt (a fresh clone of the
/// generated builder each time).
pub(crate) async fn run<T, F, Fut, const N: usize>(
    client: &Client,
    operation: &'static Operation,
    names: &[&'static str; N],
    ids: [PathId; N],
    options: CallOptions,
    mut send: F,
) -> Result<T, Error>
where
    T: DeserializeOwned + Envelope,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<ErrorEnvelope>>>,
{
    let path_ids = match options.invalid {
        Some(parameter) => Err(Error::InvalidRequest {
            operation,
            parameter: Some(parameter),
            problem: format!("`{parameter}` could not be converted"),
        }),
        None => guard::path_ids(operation, names, ids),
    };
    let (result, record) = pipeline(client, operation, path_ids, options, || {
        let attempt = send();
        async move {
            match classify_typed(attempt.await) {
                Typed::Done(result) => result,
                // Rare: boxed, so its state does not grow every call's future.
                Typed::Unexpected(response) => Box::pin(decode_unexpected(response)).await,
            }
        }
    })
    .await;
    client.audit(&record);
    result.map(|value| *value)
}

/// The pipeline every call goes through, typed or dynamic: guard, budget, attempts and
/// retries, audit record.
pub(crate) async fn pipeline<T, F, Fut>(
    client: &Client,
    operation: &'static Operation,
    path_ids: Result<Vec<(&'static str, String)>, Error>,
    options: CallOptions,
    mut attempt: F,
) -> (Result<T, Error>, AuditRecord)
where
    T: Envelope,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let started = Instant::now();
    let inner = &client.inner;
    let mut record = AuditRecord {
        operation,
        path_ids: Vec::new(),
        outcome: Outcome::Refused(Refusal::InvalidRequest),
        status: None,
        reason: None,
        error: None,
        attempts: 0,
        latency: Duration::ZERO,
        bloom_status: None,
        redirected_to: None,
    };
    let refuse = |mut record: AuditRecord, error: Error| {
        record.outcome = match &error {
            Error::NotGranted { .. } => Outcome::Refused(Refusal::NotGranted),
            Error::NotConfirmed { .. } => Outcome::Refused(Refusal::NotConfirmed),
            Error::BudgetSpent { .. } => Outcome::Refused(Refusal::BudgetSpent),
            _ => Outcome::Refused(Refusal::InvalidRequest),
        };
        record.error = Some(error.kind());
        record.latency = started.elapsed();
        (Err(error), record)
    };
    record.path_ids = match path_ids {
        Ok(ids) => ids,
        Err(error) => return refuse(record, error),
    };
    let checked = guard::grants(inner.grants.as_ref(), operation)
        .and_then(|()| guard::confirm(inner.confirm.as_deref(), operation, &record.path_ids));
    if let Err(error) = checked {
        return refuse(record, error);
    }
    let mut ceilings = inner.retry.ceilings();
    loop {
        if let Some(budget) = &inner.budget
            && let Err(error) = budget.take(operation)
        {
            return refuse(record, error);
        }
        record.attempts += 1;
        let facts = RefCell::new(Facts {
            max_body: inner.max_response_bytes,
            ..Facts::default()
        });
        let (result, facts) = FACTS
            .scope(facts, async {
                let result = attempt().await;
                // A failure keeps reading the facts (the cap) when it becomes an error.
                let result = result.map_err(|mut failure| {
                    if let Failure::Body { excerpt, .. } = &mut failure {
                        let key = inner.key.expose_secret();
                        if excerpt.contains(key) {
                            *excerpt = excerpt.replace(key, "[redacted]");
                        }
                    }
                    let error =
                        |f: Failure| f.into_error(operation, record.attempts, inner.timeout);
                    (failure.class(), failure.reason(), error(failure))
                });
                (result, FACTS.with(RefCell::take))
            })
            .await;
        record.status = facts.status.map(|s| s.as_u16());
        record.bloom_status = header_text(facts.bloom_status.as_ref());
        record.redirected_to = facts.redirected_to;
        match result {
            Ok(value) => {
                record.outcome = Outcome::Succeeded;
                record.reason = Some(value.reason().to_owned()).filter(|r| !r.is_empty());
                record.error = None;
                record.latency = started.elapsed();
                return (Ok(value), record);
            }
            Err((class, reason, error)) => {
                let decision = retry::decide(Attempted {
                    policy: &inner.retry,
                    operation,
                    retry_writes: options.retry_writes,
                    class,
                    attempts: record.attempts,
                    elapsed: started.elapsed(),
                    ceiling: ceilings.next(),
                    jitter: fastrand::f64(),
                });
                match decision {
                    Decision::Retry(wait) => {
                        tracing::debug!(
                            target: audit::AUDIT_TARGET,
                            operation = operation.id,
                            attempt = record.attempts,
                            error = %error,
                            wait_ms = wait.as_millis() as u64,
                            "retrying"
                        );
                        // Boxed: the timer's state stays out of every call's future.
                        Box::pin(tokio::time::sleep(wait)).await;
                    }
                    Decision::Stop => {
                        record.outcome = Outcome::Failed;
                        record.reason = reason;
                        record.error = Some(error.kind());
                        record.latency = started.elapsed();
                        return (Err(error), record);
                    }
                }
            }
        }
    }
}

fn header_text(value: Option<&HeaderValue>) -> Option<String> {
    value.and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn retry_after(value: Option<&HeaderValue>) -> Option<Duration> {
    retry::parse_retry_after(value?.to_str().ok()?, SystemTime::now())
}

/// What the generated client's result is: done, or a 1xx/2xx/3xx it did not expect, whose
/// body must still be read.
enum Typed<T> {
    Done(Result<Box<T>, Failure>),
    Unexpected(reqwest::Response),
}

/// Turns the generated client's result into a (boxed) value or a [`Failure`].
///
/// The value is boxed here, once: a response type can be over a kilobyte, and the layers above
/// (retries, task-local scope, audit) would otherwise move it several times.
fn classify_typed<T>(
    result: Result<ResponseValue<T>, progenitor_client::Error<ErrorEnvelope>>,
) -> Typed<T>
where
    T: DeserializeOwned + Envelope,
{
    use progenitor_client::Error as P;
    let status = || with_facts(|f| f.status).flatten().unwrap_or(StatusCode::OK);
    Typed::Done(match result {
        Ok(value) => {
            let value = Box::new(value.into_inner());
            if value.is_error() {
                return Typed::Done(Err(Failure::Api {
                    status: status(),
                    reason: ErrorReason::from(value.reason()),
                    message: value.message(),
                    retry_after: None,
                }));
            }
            Ok(value)
        }
        Err(P::ErrorResponse(answer)) => {
            let retry_after = retry_after(answer.headers().get(RETRY_AFTER));
            let status = answer.status();
            let envelope = answer.into_inner();
            Err(Failure::Api {
                status,
                reason: envelope.reason,
                message: envelope.data.and_then(|d| d.message),
                retry_after,
            })
        }
        Err(P::InvalidResponsePayload(bytes, _)) => Err(invalid_body::<T>(status(), &bytes)),
        Err(P::ResponseBodyError(e)) => Err(body_error(status(), e)),
        Err(P::CommunicationError(e) | P::InvalidUpgrade(e)) => Err(transport(e)),
        Err(P::UnexpectedResponse(response)) => return Typed::Unexpected(response),
        Err(P::InvalidRequest(problem) | P::Custom(problem)) => Err(Failure::Invalid { problem }),
    })
}

/// A body that did not decode: too large, an error envelope on a 2xx, or not the expected
/// JSON.
fn invalid_body<T: DeserializeOwned>(status: StatusCode, bytes: &[u8]) -> Failure {
    if let Some(Some(length)) = with_facts(|f| f.too_large) {
        return Failure::TooLarge { status, length };
    }
    if let Ok(envelope) = serde_json::from_slice::<ErrorEnvelope>(bytes)
        && envelope.error
    {
        return Failure::Api {
            status,
            reason: envelope.reason,
            message: envelope.data.and_then(|d| d.message),
            retry_after: with_facts(|f| retry_after(f.retry_after.as_ref())).flatten(),
        };
    }
    let detail = if status.is_success() {
        body::decode_detail::<T>(bytes)
    } else {
        format!(
            "not a Crisp error envelope ({})",
            body::decode_detail::<ErrorEnvelope>(bytes)
        )
    };
    Failure::Body {
        status,
        content_type: with_facts(|f| header_text(f.content_type.as_ref())).flatten(),
        detail,
        excerpt: body::excerpt(bytes),
        length: bytes.len(),
        retry_after: with_facts(|f| retry_after(f.retry_after.as_ref())).flatten(),
    }
}

/// An error while reading the body: over the cap, or the connection broke.
fn body_error(status: StatusCode, error: reqwest::Error) -> Failure {
    if has_source::<http_body_util::LengthLimitError>(&error) {
        return Failure::TooLarge {
            status,
            length: None,
        };
    }
    transport(error)
}

/// A transport error: never sent, timed out, broke, or a refused redirect.
pub(crate) fn transport(error: reqwest::Error) -> Failure {
    if let Some(refused) = find_source::<CrossOriginRedirect>(&error) {
        return Failure::Redirect {
            location: refused.0.clone(),
        };
    }
    if error.is_builder() {
        return Failure::Invalid {
            problem: sources(&error.without_url()),
        };
    }
    Failure::Transport {
        sent: !error.is_connect(),
        timeout: error.is_timeout(),
        message: sources(&error.without_url()),
    }
}

/// A 1xx, 2xx or 3xx answer the generated client did not expect: decode a 2xx ourselves.
async fn decode_unexpected<T: DeserializeOwned + Envelope>(
    response: reqwest::Response,
) -> Result<Box<T>, Failure> {
    let status = response.status();
    if status.is_redirection()
        && let Some(location) = header_text(response.headers().get(LOCATION))
    {
        // The redirect policy stopped following (more than 5 hops).
        return Err(Failure::Redirect { location });
    }
    let bytes = response.bytes().await.map_err(|e| body_error(status, e))?;
    if status.is_success()
        && let Ok(value) = serde_json::from_slice::<T>(&bytes)
        && !value.is_error()
    {
        return Ok(Box::new(value));
    }
    Err(invalid_body::<T>(status, &bytes))
}

/// The error and its sources, `: `-joined, without any URL.
fn sources(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}

fn find_source<'e, E: StdError + 'static>(error: &'e (dyn StdError + 'static)) -> Option<&'e E> {
    let mut source = Some(error);
    while let Some(e) = source {
        if let Some(found) = e.downcast_ref::<E>() {
            return Some(found);
        }
        source = e.source();
    }
    None
}

fn has_source<E: StdError + 'static>(error: &(dyn StdError + 'static)) -> bool {
    find_source::<E>(error).is_some()
}

/// The redirect policy refused a redirect to another origin (`scheme://host:port`).
#[derive(Debug)]
pub(crate) struct CrossOriginRedirect(pub(crate) String);

impl std::fmt::Display for CrossOriginRedirect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refused a redirect to another origin ({})", self.0)
    }
}

impl StdError for CrossOriginRedirect {}

/// Follows redirects within the base URL's origin (at most 5); refuses any other.
pub(crate) fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let Some(first) = attempt.previous().first() else {
            return attempt.follow();
        };
        let target = attempt.url().origin();
        if target != first.origin() {
            let origin = target.ascii_serialization();
            return attempt.error(CrossOriginRedirect(origin));
        }
        if attempt.previous().len() > 5 {
            return attempt.error("more than 5 redirects");
        }
        // The policy runs inside the call's task: the audit records where it went.
        let path = attempt.url().path().to_owned();
        let _ = FACTS.try_with(|facts| facts.borrow_mut().redirected_to = Some(path));
        attempt.follow()
    })
}

/// Classifies a body read by the dynamic path.
pub(crate) fn classify_bytes(
    status: StatusCode,
    bytes: &[u8],
) -> Result<serde_json::Value, Failure> {
    if status.is_success() {
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes)
            && value.is_object()
        {
            if value.is_error() {
                return Err(Failure::Api {
                    status,
                    reason: ErrorReason::from(value.reason()),
                    message: value
                        .pointer("/data/message")
                        .and_then(serde_json::Value::as_str)
                        .map(str::to_owned),
                    retry_after: None,
                });
            }
            return Ok(value);
        }
    } else if let Ok(envelope) = serde_json::from_slice::<ErrorEnvelope>(bytes) {
        return Err(Failure::Api {
            status,
            reason: envelope.reason,
            message: envelope.data.and_then(|d| d.message),
            retry_after: with_facts(|f| retry_after(f.retry_after.as_ref())).flatten(),
        });
    }
    Err(invalid_body::<serde_json::Map<String, serde_json::Value>>(
        status, bytes,
    ))
}

impl Client {
    /// Hands a finished call's record to the `tracing` target and the `on_audit` callback.
    pub(crate) fn audit(&self, record: &AuditRecord) {
        record.trace();
        if let Some(on_audit) = &self.inner.on_audit {
            on_audit(record);
        }
    }
}

/// Reads a raw client's base URL (for the dynamic path).
pub(crate) fn base_url(raw: &RawClient) -> &str {
    raw.baseurl()
}

/// The raw client's HTTP client (for the dynamic path).
pub(crate) fn http(raw: &RawClient) -> &reqwest::Client {
    raw.client()
}

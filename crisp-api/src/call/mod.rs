//! What runs around every call: a thin dispatcher over small policy modules.
//!
//! ```text
//! builder.send()                      (generated: ids, query and body as text and bytes)
//!   └─ send: guard (ids, grants, confirmation) ─ loop { budget ─ attempt ─ retry::decide } ─ audit
//!        attempt = one HTTP exchange: request, answer facts, body under the cap, decode
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
pub(crate) mod param;
pub(crate) mod retry;

use std::error::Error as StdError;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderName, HeaderValue, LOCATION, RETRY_AFTER};
use serde::de::DeserializeOwned;

use self::audit::{AuditRecord, Outcome, Refusal};
use self::retry::{Attempted, Class, Decision};
use crate::client::Client;
use crate::error::Error;
use crate::operation::{Method, Operation};
use crate::types::{ErrorEnvelope, ErrorReason};

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

/// What one attempt's answer said, for the audit record and the error.
#[derive(Debug, Default)]
pub(crate) struct Facts {
    status: Option<StatusCode>,
    bloom_status: Option<HeaderValue>,
    /// The path Crisp redirected to, when it did (same origin only).
    redirected_to: Option<String>,
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
        limit: usize,
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

fn is_rate_limited(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 420)
}

impl Failure {
    fn class(&self) -> Class {
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
                if is_rate_limited(*status) {
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
            } if is_rate_limited(status) => Error::RateLimited {
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
            Self::TooLarge {
                status,
                limit,
                length,
            } => Error::TooLarge {
                operation,
                status,
                limit,
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
}

/// A request ready to send, as the generated builders prepare it: the path ids (checked), the
/// query as text, the body as JSON bytes.
pub(crate) struct Prepared {
    pub(crate) ids: Vec<(&'static str, String)>,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) body: Option<bytes::Bytes>,
}

/// Sends a typed call: the generated builders' `send()`.
pub(crate) async fn send<T>(
    client: &Client,
    operation: &'static Operation,
    prepared: Result<Prepared, Error>,
    options: CallOptions,
) -> Result<T, Error>
where
    T: DeserializeOwned + Envelope,
{
    let (url, ids, query, body) = match prepared {
        Ok(Prepared { ids, query, body }) => (url(client, operation, &ids), Ok(ids), query, body),
        Err(error) => (String::new(), Err(error), Vec::new(), None),
    };
    let (result, record) = pipeline(client, operation, ids, options, || {
        attempt::<T, _>(client, operation, &url, &query, body.clone())
    })
    .await;
    client.audit(&record);
    result.map(|value| *value)
}

/// The URL of a call: the base URL and the path template, each id percent-encoded as one
/// segment.
pub(crate) fn url(
    client: &Client,
    operation: &Operation,
    ids: &[(&'static str, String)],
) -> String {
    let base = client.base_url();
    let mut url = String::with_capacity(base.len() + operation.path.len() + 64);
    url.push_str(base);
    let mut rest = operation.path;
    while let Some(open) = rest.find('{') {
        url.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
        let name = &rest[open + 1..close];
        if let Some((_, value)) = ids.iter().find(|(n, _)| *n == name) {
            url.extend(percent_encoding::utf8_percent_encode(value, SEGMENT));
        }
        rest = rest.get(close + 1..).unwrap_or("");
    }
    url.push_str(rest);
    url
}

/// What a path segment may not hold unencoded (the WHATWG path-segment set, plus `%`).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'%')
    .add(b'\\');

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
    Fut: Future<Output = (Result<T, Failure>, Facts)>,
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
    let mut ceilings = None;
    loop {
        if let Some(budget) = &inner.budget
            && let Err(error) = budget.take(operation)
        {
            return refuse(record, error);
        }
        record.attempts += 1;
        let (result, facts) = attempt().await;
        record.status = facts.status.map(|s| s.as_u16());
        record.bloom_status = header_text(facts.bloom_status.as_ref());
        record.redirected_to = facts.redirected_to;
        let mut failure = match result {
            Ok(value) => {
                record.outcome = Outcome::Succeeded;
                let reason = value.reason();
                record.reason = (!reason.is_empty()).then(|| reason.to_owned());
                record.error = None;
                record.latency = started.elapsed();
                return (Ok(value), record);
            }
            Err(failure) => failure,
        };
        // An answer that quotes the key (a proxy page, an echo) never carries it further.
        if let Failure::Body { excerpt, .. } = &mut failure {
            let key = inner.key.expose_secret();
            if excerpt.contains(key) {
                *excerpt = excerpt.replace(key, "[redacted]");
            }
        }
        let decision = retry::decide(Attempted {
            policy: &inner.retry,
            operation,
            retry_writes: options.retry_writes,
            class: failure.class(),
            attempts: record.attempts,
            elapsed: started.elapsed(),
            ceiling: ceilings
                .get_or_insert_with(|| inner.retry.ceilings())
                .next(),
            jitter: fastrand::f64(),
        });
        let reason = failure.reason();
        let error = failure.into_error(operation, record.attempts, inner.timeout);
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

/// One HTTP exchange: send, note the answer's facts, read its body under the cap, decode it.
pub(crate) async fn attempt<T, Q>(
    client: &Client,
    operation: &Operation,
    url: &str,
    query: &[(Q, String)],
    body: Option<bytes::Bytes>,
) -> (Result<Box<T>, Failure>, Facts)
where
    T: DeserializeOwned + Envelope,
    Q: serde::Serialize,
{
    let mut facts = Facts::default();
    let http = &client.inner.http;
    let method = match operation.method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
    };
    let mut request = http
        .request(method, url)
        .header(ACCEPT, HeaderValue::from_static("application/json"));
    if !query.is_empty() {
        request = request.query(query);
    }
    if let Some(body) = body {
        request = request
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body);
    }
    let request = match request.build() {
        Ok(request) => request,
        Err(e) => return (Err(transport(e)), facts),
    };
    let sent_path = fingerprint(request.url().path());
    let mut response = match http.execute(request).await {
        Ok(response) => response,
        Err(e) => return (Err(transport(e)), facts),
    };
    let status = response.status();
    facts.status = Some(status);
    let headers = response.headers();
    facts.bloom_status = headers.get(BLOOM_STATUS).cloned();
    let content_type = headers.get(CONTENT_TYPE).cloned();
    let location = if status.is_redirection() {
        header_text(headers.get(LOCATION))
    } else {
        None
    };
    let retry_after = if status.is_success() {
        None
    } else {
        retry_after(headers.get(RETRY_AFTER))
    };
    let final_path = response.url().path();
    if fingerprint(final_path) != sent_path {
        facts.redirected_to = Some(final_path.to_owned());
    }
    let limit = client.inner.max_response_bytes;
    let length = response.content_length();
    let too_large = |length| Failure::TooLarge {
        status,
        limit,
        length,
    };
    if length.is_some_and(|length| length > limit as u64) {
        return (Err(too_large(length)), facts);
    }
    let read = if length.is_some() {
        response.bytes().await.map_err(Read::Http)
    } else {
        read_capped(&mut response, limit).await
    };
    let bytes = match read {
        Ok(bytes) => bytes,
        Err(Read::TooLarge) => return (Err(too_large(None)), facts),
        Err(Read::Http(e)) => return (Err(transport(e)), facts),
    };
    let answer = Answer {
        status,
        content_type: content_type.as_ref(),
        location,
        retry_after,
        bytes: &bytes,
    };
    (answer.decode::<T>(), facts)
}

/// Why a body could not be read.
enum Read {
    TooLarge,
    Http(reqwest::Error),
}

/// Reads a body whose length was not announced, refusing it once it passes `limit`.
async fn read_capped(response: &mut reqwest::Response, limit: usize) -> Result<bytes::Bytes, Read> {
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(Read::Http)? {
        if body.len() + chunk.len() > limit {
            return Err(Read::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

const BLOOM_STATUS: HeaderName = HeaderName::from_static("bloom-status");

/// FNV-1a of a path: tells a redirected answer from the request without keeping a copy.
fn fingerprint(path: &str) -> u64 {
    path.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// An answer, read whole.
struct Answer<'a> {
    status: StatusCode,
    content_type: Option<&'a HeaderValue>,
    /// `Location`, on a 3xx.
    location: Option<String>,
    retry_after: Option<Duration>,
    bytes: &'a [u8],
}

impl Answer<'_> {
    /// Decodes a 2xx into `T` (an `error: true` envelope is an API error whatever the status),
    /// and anything else into a failure.
    fn decode<T: DeserializeOwned + Envelope>(&self) -> Result<Box<T>, Failure> {
        let status = self.status;
        if status.is_success() {
            if let Ok(value) = serde_json::from_slice::<Box<T>>(self.bytes) {
                if value.is_error() {
                    return Err(Failure::Api {
                        status,
                        reason: ErrorReason::from(value.reason()),
                        message: value.message(),
                        retry_after: None,
                    });
                }
                return Ok(value);
            }
        } else if let Some(location) = &self.location {
            // A redirect the policy did not follow (more than 5 hops).
            return Err(Failure::Redirect {
                location: location.clone(),
            });
        }
        Err(self.invalid::<T>())
    }

    /// A body that did not decode: an error envelope (on any status), or not the expected JSON.
    fn invalid<T: DeserializeOwned>(&self) -> Failure {
        let status = self.status;
        if let Ok(envelope) = serde_json::from_slice::<ErrorEnvelope>(self.bytes)
            && (envelope.error || !status.is_success())
        {
            return Failure::Api {
                status,
                reason: envelope.reason,
                message: envelope.data.and_then(|d| d.message),
                retry_after: self.retry_after,
            };
        }
        let detail = if status.is_success() {
            body::decode_detail::<T>(self.bytes)
        } else {
            format!(
                "not a Crisp error envelope ({})",
                body::decode_detail::<ErrorEnvelope>(self.bytes)
            )
        };
        Failure::Body {
            status,
            content_type: header_text(self.content_type),
            detail,
            excerpt: body::excerpt(self.bytes),
            length: self.bytes.len(),
            retry_after: self.retry_after,
        }
    }
}

fn header_text(value: Option<&HeaderValue>) -> Option<String> {
    value.and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn retry_after(value: Option<&HeaderValue>) -> Option<Duration> {
    retry::parse_retry_after(value?.to_str().ok()?, SystemTime::now())
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
        attempt.follow()
    })
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

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
//! [`param`] prepares a request from a builder, [`exchange`] makes one HTTP exchange and
//! reports a [`Failure`](failure::Failure). This file wires them together.

pub(crate) mod audit;
pub(crate) mod body;
pub(crate) mod dynamic;
pub(crate) mod exchange;
pub(crate) mod failure;
pub(crate) mod guard;
pub(crate) mod param;
pub(crate) mod retry;

use std::future::Future;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use self::audit::{AuditRecord, Outcome, Refusal};
use self::exchange::{Facts, attempt, header_text, url};
use self::failure::Failure;
use self::retry::{Attempted, Decision};
use crate::client::Client;
use crate::error::Error;
use crate::operation::Operation;

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
    let (ids, query, body) = match prepared {
        Ok(Prepared { ids, query, body }) => (Ok(ids), query, body),
        Err(error) => (Err(error), Vec::new(), None),
    };
    run::<T, _>(client, operation, ids, &query, body, options)
        .await
        .0
}

/// One call, typed or dynamic, from its checked path ids (or why they were refused): the
/// pipeline, then the audit record, which goes to the client's sinks and is returned.
pub(crate) async fn run<T, Q>(
    client: &Client,
    operation: &'static Operation,
    ids: Result<Vec<(&'static str, String)>, Error>,
    query: &[(Q, String)],
    body: Option<bytes::Bytes>,
    options: CallOptions,
) -> (Result<T, Error>, AuditRecord)
where
    T: DeserializeOwned + Envelope,
    Q: serde::Serialize,
{
    let url = match &ids {
        Ok(ids) => url(client, operation, ids),
        Err(_) => String::new(),
    };
    let (result, record) = pipeline(client, operation, ids, options, || {
        attempt::<T, _>(client, operation, &url, query, body.clone())
    })
    .await;
    client.audit(&record);
    (result.map(|value| *value), record)
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
            if record.attempts == 0 {
                return refuse(record, error);
            }
            // Spent between retries: the call was sent and failed; the caller learns the budget
            // is spent, and the record keeps the last answer's status and reason.
            record.outcome = Outcome::Failed;
            record.error = Some(error.kind());
            record.latency = started.elapsed();
            return (Err(error), record);
        }
        record.attempts += 1;
        let (result, facts) = attempt().await;
        record.status = facts.status.map(|s| s.as_u16());
        record.bloom_status = header_text(facts.bloom_status.as_ref());
        record.redirected_to = facts.redirected_to;
        let failure = match result {
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

impl Client {
    /// Hands a finished call's record to the `tracing` target and the `on_audit` callback.
    pub(crate) fn audit(&self, record: &AuditRecord) {
        record.trace();
        if let Some(on_audit) = &self.inner.on_audit {
            on_audit(record);
        }
    }
}

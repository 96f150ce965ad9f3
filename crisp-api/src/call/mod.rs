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
mod envelope;
pub(crate) mod exchange;
pub(crate) mod failure;
pub(crate) mod guard;
pub(crate) mod param;
pub(crate) mod retry;
pub(crate) mod transport;

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use self::audit::{AuditFn, AuditRecord, Outcome, Refusal};
use self::exchange::{Facts, attempt, header_text, url};
use self::failure::Failure;
use self::guard::{Budget, ConfirmFn};
use self::retry::{Attempted, Decision, RetryPolicy};
use self::transport::Transport;
use crate::error::Error;
use crate::grants::Grants;
use crate::operation::Operation;

pub(crate) use self::envelope::{Envelope, data_message};

/// What every call runs on, built by `ClientBuilder` and owned by the client: the transport
/// that sends, and the policies that decide around it.
pub(crate) struct Pipeline {
    pub(crate) transport: Transport,
    pub(crate) policies: Policies,
}

/// The policies every call goes through, as the client was built with them.
pub(crate) struct Policies {
    /// Calls outside them are refused before any I/O; `None`: nothing is refused.
    pub(crate) grants: Option<Grants>,
    /// Asked before what reaches a customer or cannot be undone.
    pub(crate) confirm: Option<Box<ConfirmFn>>,
    /// Requests per UTC day.
    pub(crate) budget: Option<Budget>,
    pub(crate) retry: RetryPolicy,
    /// Gets every record, beside the `tracing` target.
    pub(crate) on_audit: Option<Box<AuditFn>>,
}

impl fmt::Debug for Pipeline {
    /// The settings, never the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("transport", &self.transport)
            .field("policies", &self.policies)
            .finish()
    }
}

impl fmt::Debug for Policies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policies")
            .field("grants", &self.grants.as_ref().map(ToString::to_string))
            .field("confirm", &self.confirm.is_some())
            .field("budget", &self.budget)
            .field("retry", &self.retry)
            .field("on_audit", &self.on_audit.is_some())
            .finish()
    }
}

impl Policies {
    /// Hands a finished call's record to the `tracing` target and the `on_audit` callback.
    pub(crate) fn audit(&self, record: &AuditRecord) {
        record.trace();
        if let Some(on_audit) = &self.on_audit {
            on_audit(record);
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
    client: &impl AsRef<Pipeline>,
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
    run::<T, _>(client.as_ref(), operation, ids, &query, body, options)
        .await
        .0
}

/// One call, typed or dynamic, from its checked path ids (or why they were refused): the
/// pipeline, then the audit record, which goes to the client's sinks and is returned.
pub(crate) async fn run<T, Q>(
    pipeline: &Pipeline,
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
    let transport = &pipeline.transport;
    let url = match &ids {
        Ok(ids) => url(transport, operation, ids),
        Err(_) => String::new(),
    };
    let policies = &pipeline.policies;
    let (result, record) = calls(policies, transport, operation, ids, options, || {
        attempt::<T, _>(transport, operation, &url, query, body.clone())
    })
    .await;
    policies.audit(&record);
    (result.map(|value| *value), record)
}

/// The pipeline every call goes through, typed or dynamic: guard, budget, attempts and
/// retries, audit record.
async fn calls<T, F, Fut>(
    policies: &Policies,
    transport: &Transport,
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
    let checked = guard::grants(policies.grants.as_ref(), operation)
        .and_then(|()| guard::confirm(policies.confirm.as_deref(), operation, &record.path_ids));
    if let Err(error) = checked {
        return refuse(record, error);
    }
    let mut ceilings = None;
    loop {
        if let Some(budget) = &policies.budget
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
            policy: &policies.retry,
            operation,
            retry_writes: options.retry_writes,
            class: failure.class(),
            attempts: record.attempts,
            elapsed: started.elapsed(),
            ceiling: ceilings
                .get_or_insert_with(|| policies.retry.ceilings())
                .next(),
            jitter: fastrand::f64(),
        });
        let reason = failure.reason();
        let error = failure.into_error(operation, record.attempts, transport.timeout());
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

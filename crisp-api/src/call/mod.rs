//! What runs around every call: a thin dispatcher over small policy modules.
//!
//! ```text
//! builder.send() / DynamicCall::send()   both make one Request (ids checked, query as text,
//!   │                                     body as JSON bytes, options)
//!   └─ Pipeline::run: guard (grants, confirmation) ─ loop { budget ─ attempt ─ retry::decide } ─ audit
//!        attempt = one HTTP exchange of that Request over the Transport: send (redirects by
//!        the transport's policy), answer facts, body under the cap, decode
//! ```
//!
//! Each policy module decides and does not send: [`guard`] refuses before any I/O, [`retry`]
//! classifies a failed attempt and says whether and when to send again, [`audit`] holds the
//! record, [`body`] turns bodies that are not the expected JSON into short, masked excerpts.
//! [`param`] makes a [`Request`] from a typed builder and [`dynamic`] from a call chosen at run
//! time; [`transport`] holds the HTTP side (connection pool, base URL, cap, redirects, secrets),
//! [`exchange`] makes one HTTP exchange of a request and reports a
//! [`Failure`](failure::Failure). This file wires them together; it knows nothing of the
//! `Client`, which hands over its [`Pipeline`].

pub(crate) mod audit;
pub(crate) mod body;
pub(crate) mod dynamic;
mod envelope;
pub(crate) mod exchange;
pub(crate) mod failure;
pub(crate) mod guard;
pub(crate) mod param;
mod request;
pub(crate) mod retry;
pub(crate) mod transport;

use std::fmt;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use self::audit::{AuditFn, AuditRecord, Outcome, Refusal};
use self::exchange::header_text;
use self::guard::{Budget, ConfirmFn};
use self::retry::{Attempted, Decision, RetryPolicy};
use self::transport::Transport;
use crate::error::Error;
use crate::grants::Grants;
use crate::operation::Operation;

pub(crate) use self::envelope::{Envelope, data_message};
pub(crate) use self::request::{CallOptions, Request};

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

/// Sends a typed call: the generated builders' `send()`, with the request their
/// [`Preparing`](param::Preparing) made (or why it could not) and the builder's options.
pub(crate) async fn send<T>(
    client: &impl AsRef<Pipeline>,
    operation: &'static Operation,
    prepared: Result<Request, Error>,
    options: CallOptions,
) -> Result<T, Error>
where
    T: DeserializeOwned + Envelope,
{
    let request = prepared.map(|request| Request { options, ..request });
    client.as_ref().run(operation, request).await.0
}

impl Pipeline {
    /// One call of `operation`, typed or dynamic, from its request (or why it could not be
    /// made): the guard, the attempts and retries, then the audit record, which goes to the
    /// client's sinks and is returned.
    pub(crate) async fn run<T>(
        &self,
        operation: &'static Operation,
        request: Result<Request, Error>,
    ) -> (Result<T, Error>, AuditRecord)
    where
        T: DeserializeOwned + Envelope,
    {
        let started = Instant::now();
        let mut record = AuditRecord {
            operation,
            path_ids: Vec::new(),
            outcome: Outcome::Failed,
            status: None,
            reason: None,
            error: None,
            attempts: 0,
            latency: Duration::ZERO,
            bloom_status: None,
            redirected_to: None,
        };
        let result = match request {
            Ok(request) => {
                let result = self.attempts::<T>(&request, &mut record, started).await;
                record.path_ids = request.ids;
                result
            }
            Err(error) => Err(refused(&mut record, error)),
        };
        record.latency = started.elapsed();
        self.policies.audit(&record);
        (result.map(|value| *value), record)
    }

    /// Guards `request`, then sends it until it succeeds or the retry policy stops, noting
    /// each attempt in `record`.
    async fn attempts<T>(
        &self,
        request: &Request,
        record: &mut AuditRecord,
        started: Instant,
    ) -> Result<Box<T>, Error>
    where
        T: DeserializeOwned + Envelope,
    {
        let policies = &self.policies;
        let operation = request.operation;
        guard::grants(policies.grants.as_ref(), operation)
            .and_then(|()| guard::confirm(policies.confirm.as_deref(), operation, &request.ids))
            .map_err(|error| refused(record, error))?;
        let mut ceilings = None;
        loop {
            if let Some(budget) = &policies.budget
                && let Err(error) = budget.take(operation)
            {
                if record.attempts == 0 {
                    return Err(refused(record, error));
                }
                // Spent between retries: the call was sent and failed; the caller learns the
                // budget is spent, and the record keeps the last answer's status and reason.
                record.outcome = Outcome::Failed;
                record.error = Some(error.kind());
                return Err(error);
            }
            record.attempts += 1;
            let (result, facts) = exchange::attempt::<T>(&self.transport, request).await;
            record.status = facts.status.map(|s| s.as_u16());
            record.bloom_status = header_text(facts.bloom_status.as_ref());
            record.redirected_to = facts.redirected_to;
            let failure = match result {
                Ok(value) => {
                    record.outcome = Outcome::Succeeded;
                    let reason = value.reason();
                    record.reason = (!reason.is_empty()).then(|| reason.to_owned());
                    record.error = None;
                    return Ok(value);
                }
                Err(failure) => failure,
            };
            let decision = retry::decide(Attempted {
                policy: &policies.retry,
                operation,
                retry_writes: request.options.retry_writes,
                class: failure.class(),
                attempts: record.attempts,
                elapsed: started.elapsed(),
                ceiling: ceilings
                    .get_or_insert_with(|| policies.retry.ceilings())
                    .next(),
                jitter: fastrand::f64(),
            });
            let reason = failure.reason();
            let error = failure.into_error(operation, record.attempts, self.transport.timeout());
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
                    return Err(error);
                }
            }
        }
    }
}

/// Notes in `record` that the call was refused before any request, and why; gives the error
/// back.
fn refused(record: &mut AuditRecord, error: Error) -> Error {
    record.outcome = Outcome::Refused(match &error {
        Error::NotGranted { .. } => Refusal::NotGranted,
        Error::NotConfirmed { .. } => Refusal::NotConfirmed,
        Error::BudgetSpent { .. } => Refusal::BudgetSpent,
        _ => Refusal::InvalidRequest,
    });
    record.error = Some(error.kind());
    error
}

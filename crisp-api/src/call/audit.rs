//! The record every call leaves, refused ones included, and where it goes: the
//! [`AUDIT_TARGET`] `tracing` target, and the client's `on_audit` callback.
//!
//! A record holds what was called on which ids and how it ended; never the key, a header, a
//! query or a body.

use std::fmt;
use std::time::Duration;

use crate::operation::Operation;

/// The `tracing` target of the record every call leaves: filter on it to keep (or route) the
/// audit trail.
///
/// ```
/// assert_eq!(crisp_api::AUDIT_TARGET, "crisp_api::audit");
/// ```
pub const AUDIT_TARGET: &str = "crisp_api::audit";

/// How a call ended, for the audit.
///
/// ```
/// use crisp_api::{AuditRecord, Outcome, Refusal};
///
/// fn refused_for_grants(record: &AuditRecord) -> bool {
///     record.outcome == Outcome::Refused(Refusal::NotGranted)
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Sent, and Crisp answered with success.
    Succeeded,
    /// Sent (at least attempted), and it failed: see the record's `status`, `reason` and
    /// `error`.
    Failed,
    /// Refused before any request was sent.
    Refused(Refusal),
}

impl Outcome {
    /// `succeeded`, `failed`, or `refused:<why>`.
    ///
    /// ```
    /// use crisp_api::{Outcome, Refusal};
    ///
    /// assert_eq!(Outcome::Refused(Refusal::NotGranted).as_str(), "refused:not_granted");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Refused(Refusal::NotGranted) => "refused:not_granted",
            Self::Refused(Refusal::NotConfirmed) => "refused:not_confirmed",
            Self::Refused(Refusal::BudgetSpent) => "refused:budget_spent",
            Self::Refused(Refusal::InvalidRequest) => "refused:invalid_request",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a call was refused before any I/O.
///
/// ```
/// use crisp_api::{Outcome, Refusal};
///
/// assert_eq!(Outcome::Refused(Refusal::BudgetSpent).to_string(), "refused:budget_spent");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The grants do not allow the operation.
    NotGranted,
    /// The confirmation callback said no.
    NotConfirmed,
    /// The daily budget is spent.
    BudgetSpent,
    /// A parameter is missing or unsafe.
    InvalidRequest,
}

/// One call, as the audit sees it.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use crisp_api::{AuditRecord, Client, Credentials};
///
/// let log: Arc<Mutex<Vec<String>>> = Arc::default();
/// let sink = Arc::clone(&log);
/// let client = Client::builder(Credentials::plugin("identifier", "key"))
///     .on_audit(move |record: &AuditRecord| sink.lock().unwrap().push(record.to_string()))
///     .build()?;
/// # Ok::<(), crisp_api::BuildError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AuditRecord {
    /// The operation: its id, method, path template, scope, access and effect.
    pub operation: &'static Operation,
    /// The path parameters, `(name, value)`, in path order: the website, session, people...
    /// the call acted on. Empty when they were refused as unsafe.
    pub path_ids: Vec<(&'static str, String)>,
    /// How it ended.
    pub outcome: Outcome,
    /// The HTTP status of the last answer, if there was one.
    pub status: Option<u16>,
    /// Crisp's `reason` of the last answer (`resolved`, `not_found`...), if it sent one:
    /// Crisp's word for how the call went, not a conversation's state (`Display` shows it as
    /// `crisp:resolved`).
    pub reason: Option<String>,
    /// The error's [`kind`](crate::Error::kind), when the call failed or was refused.
    pub error: Option<&'static str>,
    /// Requests sent for this call (0 when refused).
    pub attempts: u32,
    /// From the call's start to its end, waits between attempts included.
    pub latency: Duration,
    /// Crisp's cache status (`Bloom-Status`: `HIT`, `MISS`...) of the last answer.
    pub bloom_status: Option<String>,
    /// The path Crisp redirected to (same origin only; other origins are refused).
    pub redirected_to: Option<String>,
}

impl AuditRecord {
    /// Writes the record to the [`AUDIT_TARGET`] `tracing` target: `INFO` when it succeeded,
    /// `WARN` otherwise.
    pub(crate) fn trace(&self) {
        let op = self.operation;
        let ids = PathIds(&self.path_ids);
        let latency_ms = self.latency.as_secs_f64() * 1000.0;
        macro_rules! event {
            ($level:expr) => {
                tracing::event!(
                    target: AUDIT_TARGET,
                    $level,
                    operation = op.id,
                    method = op.method.as_str(),
                    path = op.path,
                    ids = %ids,
                    scope = op.scope,
                    access = op.access.as_str(),
                    effect = op.effect.map_or("", |e| e.as_str()),
                    outcome = self.outcome.as_str(),
                    status = self.status,
                    reason = self.reason.as_deref(),
                    error = self.error,
                    attempts = self.attempts,
                    latency_ms,
                    bloom_status = self.bloom_status.as_deref(),
                    redirected_to = self.redirected_to.as_deref(),
                    "crisp call"
                )
            };
        }
        if self.outcome == Outcome::Succeeded {
            event!(tracing::Level::INFO);
        } else {
            event!(tracing::Level::WARN);
        }
    }
}

impl fmt::Display for AuditRecord {
    /// One line: `send_message POST website_id=... session_id=... succeeded 200 crisp:dispatched
    /// (1 attempt, 12.3 ms)`. Crisp's reason is labelled `crisp:`, so that a read's success
    /// reason, `resolved`, is not taken for a conversation's state.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.operation.id, self.operation.method)?;
        if !self.path_ids.is_empty() {
            write!(f, " {}", PathIds(&self.path_ids))?;
        }
        write!(f, " {}", self.outcome)?;
        if let Some(status) = self.status {
            write!(f, " {status}")?;
        }
        if let Some(reason) = &self.reason {
            write!(f, " crisp:{reason}")?;
        }
        if let Some(error) = self.error
            && self.outcome == Outcome::Failed
        {
            write!(f, " ({error})")?;
        }
        write!(
            f,
            " ({} attempt{}, {:.1} ms)",
            self.attempts,
            if self.attempts == 1 { "" } else { "s" },
            self.latency.as_secs_f64() * 1000.0
        )
    }
}

/// `website_id=... session_id=...`
struct PathIds<'a>(&'a [(&'static str, String)]);

impl fmt::Display for PathIds<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, value)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{name}={value}")?;
        }
        Ok(())
    }
}

/// The audit callback a client holds.
pub(crate) type AuditFn = dyn Fn(&AuditRecord) + Send + Sync;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_as_one_line() {
        let record = AuditRecord {
            operation: &Operation::SEND_MESSAGE,
            path_ids: vec![
                ("website_id", "w".to_owned()),
                ("session_id", "s".to_owned()),
            ],
            outcome: Outcome::Failed,
            status: Some(503),
            reason: None,
            error: Some("unexpected_body"),
            attempts: 1,
            latency: Duration::from_micros(12_345),
            bloom_status: None,
            redirected_to: None,
        };
        assert_eq!(
            record.to_string(),
            "send_message POST website_id=w session_id=s failed 503 (unexpected_body) (1 attempt, 12.3 ms)"
        );
        // Crisp's reason, labelled: a read's `resolved` is not a conversation's state.
        let read = AuditRecord {
            operation: &Operation::GET_CONVERSATION_STATE,
            outcome: Outcome::Succeeded,
            status: Some(200),
            reason: Some("resolved".to_owned()),
            error: None,
            ..record.clone()
        };
        assert_eq!(
            read.to_string(),
            "get_conversation_state GET website_id=w session_id=s succeeded 200 crisp:resolved (1 attempt, 12.3 ms)"
        );
        let not_found = AuditRecord {
            outcome: Outcome::Failed,
            status: Some(404),
            reason: Some("not_found".to_owned()),
            error: Some("api"),
            ..read
        };
        assert_eq!(
            not_found.to_string(),
            "get_conversation_state GET website_id=w session_id=s failed 404 crisp:not_found (api) (1 attempt, 12.3 ms)"
        );
        let refused = AuditRecord {
            outcome: Outcome::Refused(Refusal::NotGranted),
            status: None,
            error: Some("not_granted"),
            attempts: 0,
            latency: Duration::ZERO,
            ..record
        };
        assert_eq!(
            refused.to_string(),
            "send_message POST website_id=w session_id=s refused:not_granted (0 attempts, 0.0 ms)"
        );
    }
}

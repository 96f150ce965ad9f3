//! One JSON line per tool call: who asked, what for, what the server decided, and how the
//! call to Crisp ended, from the client layer's [`AuditRecord`]. Never the key, a token, a
//! header or a body.
//!
//! ```json
//! {"time":"2026-11-25T18:20:00.123Z","tool":"send_message","client":"claude-code","transport":"stdio","path_ids":{"website_id":"8c84...","session_id":"session_700c..."},"decision":"confirmed","outcome":"succeeded","status":200,"reason":"dispatched","attempts":1,"latency_ms":12.3}
//! ```

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crisp_api::{AuditRecord, Outcome};
use serde::Serialize;

/// What the server decided about a call (the line's `decision`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Called (no confirmation needed, or confirmation is off).
    Allowed,
    /// Not called; the line's `refusal` says why.
    Refused,
    /// Not called: a preview and a confirmation token were returned.
    AwaitingConfirmation,
    /// Called with a valid confirmation token.
    Confirmed,
    /// Not sent: the [`Dispatch`](crate::Dispatch) held the call for a person's approval
    /// ([`Held`](crate::Held)), and the answer was its approval id and a preview.
    AwaitingApproval,
}

/// One line of the audit.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct AuditLine {
    /// When the call ended, RFC 3339 in UTC.
    pub time: String,
    /// The tool asked for (cut to 64 characters: it comes from outside).
    pub tool: String,
    /// The MCP client's name, from its `initialize` (or the request's metadata).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// `stdio` or `http`.
    pub transport: &'static str,
    /// The website a Hugo-signed request was signed for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hugo_website_id: Option<String>,
    /// The conversation Hugo named (`X-Crisp-Session-Id`, not signed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crisp_session_id: Option<String>,
    /// The ids the call acts on: the path parameters, by name.
    pub path_ids: BTreeMap<String, String>,
    /// What the server decided.
    pub decision: Verdict,
    /// Why it was refused: `unauthorized` or `bad_signature` (refused by the HTTP layer),
    /// `unknown_tool`, `not_granted`, `invalid_arguments`, `website_mismatch`,
    /// `too_many_pending`, `confirmations_full`, `unknown_token`, `expired_token`,
    /// `token_mismatch`, the client layer's refusal (`invalid_request`, `budget_spent`, ...),
    /// or a [`Dispatch`](crate::Dispatch)'s refusal code (a gateway's `website`, `rate`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// How the call to Crisp ended (`succeeded`, `failed`, `refused:<why>`), when it was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<&'static str>,
    /// The HTTP status of Crisp's last answer, or the one a dispatch refused with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Crisp's `reason` of its last answer, or the one a dispatch refused with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The error's kind (`api`, `rate_limited`, `transport`, ...), when the call failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    /// Requests sent to Crisp for the call itself (0 when none was).
    pub attempts: u32,
    /// Requests sent to Crisp before the call, to decide on it (a gateway reading the
    /// conversation to check its inbox); not counted in `attempts`. Written when not 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub lookups: u32,
    /// From the tool call's start to its end, in milliseconds (to the microsecond).
    pub latency_ms: f64,
    /// When the call ended, as a value (`time` is its text): for a sink that stores lines.
    #[serde(skip)]
    pub ended_at: SystemTime,
    /// Crisp's `Bloom-Status` of its last answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bloom_status: Option<String>,
    /// The path a same-origin redirect led to, when the answer came from there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirected_to: Option<String>,
    /// Whether the call was handed to the server's [`Dispatch`](crate::Dispatch) to be sent
    /// (not only to its `check`), whatever came of it. A dispatch that keeps its own record of
    /// every call it is handed (a gateway's audit store) records only the other lines (previews,
    /// and calls refused before the send step), so that each call has one record. Not written.
    #[serde(skip)]
    pub dispatched: bool,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The longest tool or client name written.
const MAX_NAME: usize = 64;

/// `text` cut to `max` characters.
pub(crate) fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

impl AuditLine {
    /// A line for a call of `tool` that has not been decided yet.
    pub(crate) fn new(tool: &str, client: Option<&str>, transport: &'static str) -> Self {
        Self {
            time: String::new(),
            tool: cut(tool, MAX_NAME),
            client: client.map(|c| cut(c, MAX_NAME)),
            transport,
            hugo_website_id: None,
            crisp_session_id: None,
            path_ids: BTreeMap::new(),
            decision: Verdict::Refused,
            refusal: None,
            outcome: None,
            status: None,
            reason: None,
            error: None,
            attempts: 0,
            lookups: 0,
            latency_ms: 0.0,
            ended_at: SystemTime::UNIX_EPOCH,
            bloom_status: None,
            redirected_to: None,
            dispatched: false,
        }
    }

    /// Marks the call refused, for `why`.
    pub(crate) fn refuse(&mut self, why: impl Into<String>) {
        self.decision = Verdict::Refused;
        self.refusal = Some(why.into());
    }

    /// Takes what the client layer recorded of the call to Crisp.
    pub(crate) fn record(&mut self, record: &AuditRecord) {
        // The client leaves unsafe ids out of its record; the line keeps the ones it had, cut.
        if !record.path_ids.is_empty() {
            self.path_ids = record
                .path_ids
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.clone()))
                .collect();
        }
        self.outcome = Some(record.outcome.as_str());
        if let Outcome::Refused(_) = record.outcome {
            self.refuse(record.error.unwrap_or("refused"));
        }
        self.status = record.status;
        self.reason = record.reason.clone();
        self.error = record.error;
        self.attempts = record.attempts;
        self.bloom_status = record.bloom_status.clone();
        self.redirected_to = record.redirected_to.clone();
    }

    /// Takes what a dispatch that sent the call through its own path answered: the status and
    /// Crisp's envelope (`reason`, and `error: true` when it failed).
    pub(crate) fn answered(&mut self, status: u16, envelope: &serde_json::Value) {
        let failed = crate::answer::is_error(status, envelope);
        self.outcome = Some(if failed { "failed" } else { "succeeded" });
        self.status = Some(status);
        self.reason = envelope
            .get("reason")
            .and_then(serde_json::Value::as_str)
            .map(|reason| cut(reason, MAX_NAME));
        self.error = failed.then_some("api");
    }

    /// Sets the time to now and the latency.
    pub(crate) fn finish(&mut self, latency: Duration) {
        let now = chrono::Utc::now();
        self.ended_at = now.into();
        self.time = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        self.latency_ms = (latency.as_secs_f64() * 1_000_000.0).round() / 1000.0;
    }
}

/// Where audit lines go: a file, standard error, any writer, or a callback (such as a
/// gateway's audit store). Cheap to clone: clones share the sink.
#[derive(Clone)]
pub struct Audit {
    sink: Arc<Sink>,
}

enum Sink {
    Writer(Mutex<Box<dyn Write + Send>>),
    Callback(Box<dyn Fn(&AuditLine) + Send + Sync>),
}

impl fmt::Debug for Audit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match *self.sink {
            Sink::Writer(_) => "Audit(writer)",
            Sink::Callback(_) => "Audit(callback)",
        })
    }
}

impl Audit {
    /// Lines to standard error (the default: a stdio server's standard output is the protocol).
    pub fn stderr() -> Self {
        Self::to_writer(std::io::stderr())
    }

    /// Lines appended to the file at `path`, created if need be.
    ///
    /// # Errors
    ///
    /// When the file cannot be opened for appending.
    pub fn file(path: &std::path::Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self::to_writer(file))
    }

    /// Lines to any writer, flushed after each line.
    pub fn to_writer(writer: impl Write + Send + 'static) -> Self {
        Self {
            sink: Arc::new(Sink::Writer(Mutex::new(Box::new(writer)))),
        }
    }

    /// Each line, complete, to `callback`, called on the task that ran the call once the call
    /// has ended (so keep it short: hand the line to a queue, as a gateway's batched audit
    /// store does). Nothing is written anywhere else.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    ///
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let audit = crisp_mcp::Audit::callback({
    ///     let seen = Arc::clone(&seen);
    ///     move |line: &crisp_mcp::AuditLine| seen.lock().unwrap().push(line.tool.clone())
    /// });
    /// # let _ = audit;
    /// ```
    pub fn callback(callback: impl Fn(&AuditLine) + Send + Sync + 'static) -> Self {
        Self {
            sink: Arc::new(Sink::Callback(Box::new(callback))),
        }
    }

    /// Writes one line. A failed write is reported on the `crisp_mcp::audit` tracing target
    /// and does not fail the call.
    pub fn write(&self, line: &AuditLine) {
        let out = match &*self.sink {
            Sink::Callback(callback) => return callback(line),
            Sink::Writer(out) => out,
        };
        let mut text = match serde_json::to_string(line) {
            Ok(text) => text,
            Err(error) => {
                tracing::error!(target: "crisp_mcp::audit", %error, "cannot encode an audit line");
                return;
            }
        };
        text.push('\n');
        let mut out = out.lock();
        if let Err(error) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            tracing::error!(target: "crisp_mcp::audit", %error, "cannot write an audit line");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_one_json_object_without_empty_fields() {
        let mut line = AuditLine::new("send_message", Some("agent"), "stdio");
        line.path_ids.insert("website_id".into(), "w".into());
        line.decision = Verdict::AwaitingConfirmation;
        line.finish(Duration::from_micros(1500));
        let text = serde_json::to_string(&line).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["decision"], "awaiting_confirmation");
        assert_eq!(value["latency_ms"], 1.5);
        assert_eq!(value["path_ids"]["website_id"], "w");
        assert!(value.get("status").is_none() && value.get("refusal").is_none());
        assert!(value["time"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn names_from_outside_are_cut() {
        let line = AuditLine::new(&"x".repeat(10_000), Some(&"y".repeat(10_000)), "http");
        assert_eq!(line.tool.len(), MAX_NAME);
        assert_eq!(line.client.unwrap().len(), MAX_NAME);
    }
}

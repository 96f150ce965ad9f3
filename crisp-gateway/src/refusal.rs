//! A refusal: one value, rendered by the REST front as Crisp's error envelope and by the MCP
//! front as a tool error, so that clients handle it as they already handle Crisp's errors.
//!
//! | rule | status | reason |
//! | --- | --- | --- |
//! | `auth` | 401 | `invalid_session` |
//! | `website`, `grants`, `inbox`, `assignee` | 403 | `not_allowed` |
//! | `rate`, `budget`, `quota` | 429 (with `Retry-After`) | `rate_limited` |
//! | `request` | 400 (413 for a body too large) | `invalid_data` |
//! | `route` | 404 | `not_found` |
//! | `store` | 503 | `unavailable` |
//!
//! Messages never hold a key: the constructors take names, ids and operations only.

use std::fmt;
use std::time::Duration;

use crisp_api::Operation;
use serde_json::{Value, json};

/// Which rule refused a call: the `why` of an audit row, the `code` of an MCP tool error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// No credentials, malformed credentials, an unknown agent or a wrong key.
    Auth,
    /// The website is not one of the agent's.
    Website,
    /// The agent's grants do not allow the operation.
    Grants,
    /// The conversation is not in one of the agent's inboxes.
    Inbox,
    /// The conversation is not assigned to one of the agent's operators.
    Assignee,
    /// The agent's rate limit.
    Rate,
    /// The agent's daily budget is spent.
    Budget,
    /// The upstream token's daily quota is spent.
    Quota,
    /// The request itself is malformed (an id, a body, a query parameter).
    Request,
    /// No operation has this method and path.
    Route,
    /// The audit store cannot be written, so no call is made unlogged.
    Store,
}

impl Rule {
    /// Its name: `auth`, `website`, `grants`, `inbox`, `assignee`, `rate`, `budget`, `quota`,
    /// `request`, `route` or `store`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Website => "website",
            Self::Grants => "grants",
            Self::Inbox => "inbox",
            Self::Assignee => "assignee",
            Self::Rate => "rate",
            Self::Budget => "budget",
            Self::Quota => "quota",
            Self::Request => "request",
            Self::Route => "route",
            Self::Store => "store",
        }
    }

    /// The HTTP status a refusal by this rule answers with (a body too large answers 413).
    pub fn status(self) -> u16 {
        match self {
            Self::Auth => 401,
            Self::Website | Self::Grants | Self::Inbox | Self::Assignee => 403,
            Self::Rate | Self::Budget | Self::Quota => 429,
            Self::Request => 400,
            Self::Route => 404,
            Self::Store => 503,
        }
    }

    /// Crisp's `reason` for it.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Auth => "invalid_session",
            Self::Website | Self::Grants | Self::Inbox | Self::Assignee => "not_allowed",
            Self::Rate | Self::Budget | Self::Quota => "rate_limited",
            Self::Request => "invalid_data",
            Self::Route => "not_found",
            Self::Store => "unavailable",
        }
    }

    /// What the caller can do about it, for an agent reading the error.
    pub fn hint(self) -> &'static str {
        match self {
            Self::Auth => {
                "check the agent's name and key; the gateway's operator can make a new key with \
                 `crisp-gateway agents add`"
            }
            Self::Website | Self::Grants | Self::Inbox | Self::Assignee => {
                "this agent's policy does not allow it: do not retry; ask the gateway's operator \
                 if the agent needs it"
            }
            Self::Rate | Self::Budget | Self::Quota => {
                "wait for the time in Retry-After (retry_after) before calling again"
            }
            Self::Request => "fix the request as the message says, then send it again",
            Self::Route => "check the method and path against Crisp's REST API v1",
            Self::Store => {
                "the gateway cannot record calls right now and makes none unrecorded: retry \
                 later; the operator should check the gateway's data directory"
            }
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the gateway refused a call, as Crisp's error values: the same value is rendered by both
/// fronts ([`envelope`](Self::envelope) on REST, [`tool_error`](Self::tool_error) on MCP).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: u16,
    /// Crisp's reason, such as `not_allowed`.
    pub reason: &'static str,
    /// The rule that refused.
    pub rule: Rule,
    /// One sentence: what was refused and why. Never holds a key.
    pub message: String,
    /// For 429: seconds to wait before calling again (the `Retry-After` header), at least 1.
    pub retry_after: Option<u64>,
}

impl Refusal {
    fn new(rule: Rule, message: String) -> Self {
        Self {
            status: rule.status(),
            reason: rule.reason(),
            rule,
            message,
            retry_after: None,
        }
    }

    /// 401: the credentials do not name an agent (missing, malformed, unknown, wrong key).
    pub fn auth(message: impl Into<String>) -> Self {
        Self::new(Rule::Auth, message.into())
    }

    /// 403: a policy rule (`website`, `grants`, `inbox` or `assignee`) does not allow `agent`
    /// to call `operation`; `why` says which and how.
    ///
    /// ```
    /// use crisp_api::Operation;
    /// use crisp_gateway::refusal::{Refusal, Rule};
    ///
    /// let r = Refusal::not_allowed(Rule::Website, "triage", &Operation::GET_CONVERSATION, "website `w2` is not one of its websites (w1)");
    /// assert_eq!((r.status, r.reason), (403, "not_allowed"));
    /// assert_eq!(r.message, "agent `triage` may not call get_conversation: website `w2` is not one of its websites (w1)");
    /// ```
    pub fn not_allowed(rule: Rule, agent: &str, operation: &Operation, why: &str) -> Self {
        debug_assert!(matches!(
            rule,
            Rule::Website | Rule::Grants | Rule::Inbox | Rule::Assignee
        ));
        Self::new(
            rule,
            format!("agent `{agent}` may not call {}: {why}", operation.id),
        )
    }

    /// 429 (`rate`): the agent's rate limit; it may call again after `wait`.
    pub fn rate(agent: &str, rate: impl fmt::Display, wait: Duration) -> Self {
        Self::new(
            Rule::Rate,
            format!("agent `{agent}` is over its rate of {rate}: wait before calling again"),
        )
        .retry_after(wait)
    }

    /// 429 (`budget`): the agent's daily budget of `limit` requests is spent until `wait` has
    /// passed (the next UTC day).
    pub fn budget(agent: &str, limit: u64, wait: Duration) -> Self {
        Self::new(
            Rule::Budget,
            format!(
                "agent `{agent}` has spent its daily budget of {limit} requests: it renews at \
                 midnight UTC"
            ),
        )
        .retry_after(wait)
    }

    /// 429 (`quota`): the upstream token's daily quota of `limit` requests, shared by all
    /// agents, is spent until `wait` has passed.
    pub fn quota(limit: u64, wait: Duration) -> Self {
        Self::new(
            Rule::Quota,
            format!(
                "the gateway's daily quota of {limit} Crisp requests (shared by all agents) is \
                 spent: it renews at midnight UTC"
            ),
        )
        .retry_after(wait)
    }

    /// 400 (`request`): the request is malformed; `message` says how.
    pub fn request(message: impl Into<String>) -> Self {
        Self::new(Rule::Request, message.into())
    }

    /// 413 (`request`): the body is over `limit` bytes.
    pub fn too_large(limit: usize) -> Self {
        Self {
            status: 413,
            ..Self::request(format!(
                "the request body is over the gateway's limit of {limit} bytes: send a smaller one"
            ))
        }
    }

    /// 404 (`route`): no operation of Crisp's REST API v1 has this method and path.
    pub fn route(method: &str, path: &str) -> Self {
        Self::new(
            Rule::Route,
            format!(
                "no operation of Crisp's REST API v1 is `{} {}`: check the method and path",
                method.escape_debug(),
                path.escape_debug()
            ),
        )
    }

    /// 503 (`store`): the audit store cannot be written, so the call is not made.
    pub fn store() -> Self {
        Self::new(
            Rule::Store,
            "the gateway cannot write its audit log, and makes no call it cannot record: retry \
             later"
                .to_owned(),
        )
    }

    /// The same refusal, waiting `wait` (rounded up to whole seconds, at least 1).
    #[must_use]
    pub fn retry_after(mut self, wait: Duration) -> Self {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// Crisp's error envelope: `{"error": true, "reason": ..., "data": {"message": ...}}`.
    ///
    /// ```
    /// let r = crisp_gateway::refusal::Refusal::request("bad id");
    /// assert_eq!(
    ///     r.envelope(),
    ///     serde_json::json!({"error": true, "reason": "invalid_data", "data": {"message": "bad id"}})
    /// );
    /// ```
    pub fn envelope(&self) -> Value {
        json!({
            "error": true,
            "reason": self.reason,
            "data": { "message": self.message },
        })
    }

    /// The MCP front's `structuredContent` for a refused tool call:
    /// `{"error": {"kind": "refused", "code": rule, "status", "reason", "message", "hint"}}`
    /// (and `retry_after` in seconds for a 429).
    pub fn tool_error(&self) -> Value {
        let mut error = json!({
            "kind": "refused",
            "code": self.rule.as_str(),
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
            "hint": self.rule.hint(),
        });
        if let (Some(seconds), Some(object)) = (self.retry_after, error.as_object_mut()) {
            object.insert("retry_after".to_owned(), json!(seconds));
        }
        json!({ "error": error })
    }
}

impl fmt::Display for Refusal {
    /// `403 not_allowed (grants): agent ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({}): {}",
            self.status, self.reason, self.rule, self.message
        )
    }
}

impl std::error::Error for Refusal {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_its_status_and_reason() {
        let cases = [
            (Refusal::auth("m"), 401, "invalid_session", Rule::Auth),
            (
                Refusal::not_allowed(Rule::Grants, "a", &Operation::SEND_MESSAGE, "m"),
                403,
                "not_allowed",
                Rule::Grants,
            ),
            (
                Refusal::rate("a", "5/second", Duration::from_millis(200)),
                429,
                "rate_limited",
                Rule::Rate,
            ),
            (
                Refusal::budget("a", 5, Duration::from_secs(60)),
                429,
                "rate_limited",
                Rule::Budget,
            ),
            (
                Refusal::quota(5, Duration::from_secs(60)),
                429,
                "rate_limited",
                Rule::Quota,
            ),
            (Refusal::request("m"), 400, "invalid_data", Rule::Request),
            (Refusal::too_large(10), 413, "invalid_data", Rule::Request),
            (Refusal::route("GET", "/x"), 404, "not_found", Rule::Route),
            (Refusal::store(), 503, "unavailable", Rule::Store),
        ];
        for (refusal, status, reason, rule) in cases {
            assert_eq!(
                (refusal.status, refusal.reason, refusal.rule),
                (status, reason, rule),
                "{refusal}"
            );
            assert_eq!(refusal.retry_after.is_some(), status == 429, "{refusal}");
            let tool = refusal.tool_error();
            assert_eq!(tool["error"]["code"], rule.as_str());
            assert_eq!(tool["error"]["status"], status);
            assert_eq!(refusal.envelope()["reason"], reason);
        }
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let wait = |d| Refusal::rate("a", "1/hour", d).retry_after;
        assert_eq!(wait(Duration::from_millis(1)), Some(1));
        assert_eq!(wait(Duration::ZERO), Some(1));
        assert_eq!(wait(Duration::from_millis(2001)), Some(3));
        assert_eq!(wait(Duration::from_secs(2)), Some(2));
        let refusal = Refusal::quota(9, Duration::from_secs(30));
        assert_eq!(refusal.tool_error()["error"]["retry_after"], 30);
    }
}

//! What an agent is answered for a call that went upstream: Crisp's answer as it was, or, when
//! Crisp could not be reached or answered something that is not its envelope, an envelope of
//! Crisp's shape that says so (never with the key or the upstream's credentials). And the
//! second wall of `list_conversations`: conversations the agent may not see are dropped.

use std::time::Duration;

use crisp_api::{AuditRecord, Error};
use serde_json::{Map, Value, json};

use super::types::Outcome;
use crate::decide::check_conversation;
use crate::policy::Agent;
use crate::upstream::facts_of;

/// The `reason` of an answer that says Crisp could not be reached (or answered something that
/// is not its envelope).
pub const UPSTREAM_UNAVAILABLE: &str = "upstream_unavailable";

/// The answer to a call sent upstream: Crisp's envelope and status, its error envelope with
/// its status, or a 502 (504 for a timeout) saying what failed on the way.
pub(super) fn answer(result: Result<Value, Error>, record: &AuditRecord) -> Outcome {
    match result {
        Ok(envelope) => Outcome::Answered {
            status: record.status.unwrap_or(200),
            envelope,
            retry_after: None,
        },
        Err(error) => failure(&error),
    }
}

/// The answer for a call that failed: see [`answer`].
pub(super) fn failure(error: &Error) -> Outcome {
    let attempts = |n: &u32| match n {
        1 => "1 attempt".to_owned(),
        n => format!("{n} attempts"),
    };
    match error {
        Error::Api {
            status,
            reason,
            message,
            ..
        } => {
            let data = match message {
                Some(message) => json!({ "message": message }),
                None => Value::Object(Map::new()),
            };
            Outcome::Answered {
                status: status.as_u16(),
                envelope: json!({ "error": true, "reason": reason.as_str(), "data": data }),
                retry_after: None,
            }
        }
        Error::RateLimited {
            status,
            retry_after,
            attempts: n,
            ..
        } => {
            let mut outcome = Outcome::error(
                status.as_u16(),
                "rate_limited",
                format!(
                    "Crisp rate-limited the gateway's token ({}): wait before calling again",
                    attempts(n)
                ),
            );
            if let Outcome::Answered { retry_after: r, .. } = &mut outcome {
                *r = retry_after.map(whole_seconds);
            }
            outcome
        }
        Error::Timeout {
            after, attempts: n, ..
        } => Outcome::error(
            504,
            UPSTREAM_UNAVAILABLE,
            format!(
                "Crisp did not answer within {} s ({}): retry later",
                after.as_secs(),
                attempts(n)
            ),
        ),
        Error::Transport {
            sent, attempts: n, ..
        } => Outcome::error(
            502,
            UPSTREAM_UNAVAILABLE,
            if *sent {
                format!(
                    "the connection to Crisp broke ({}), so the call may have reached Crisp: \
                     check before sending a write again",
                    attempts(n)
                )
            } else {
                format!(
                    "the gateway could not connect to Crisp ({}): nothing was sent; retry later",
                    attempts(n)
                )
            },
        ),
        Error::UnexpectedBody { status, .. } => Outcome::error(
            502,
            UPSTREAM_UNAVAILABLE,
            format!(
                "Crisp (or a proxy before it) answered {} with a body that is not Crisp's JSON \
                 envelope: retry later",
                status.as_u16()
            ),
        ),
        Error::TooLarge { status, limit, .. } => Outcome::error(
            502,
            UPSTREAM_UNAVAILABLE,
            format!(
                "Crisp's answer ({}) is larger than the gateway's cap of {limit} bytes: ask for \
                 less (a smaller page)",
                status.as_u16()
            ),
        ),
        Error::Redirect { .. } => Outcome::error(
            502,
            UPSTREAM_UNAVAILABLE,
            "Crisp's answer redirected elsewhere, and the gateway does not follow it: retry \
             later",
        ),
        Error::UnknownRoute { .. } => Outcome::error(
            502,
            UPSTREAM_UNAVAILABLE,
            "the gateway's upstream answered that this route does not exist: its base URL is \
             likely wrong (the gateway's operator sets CRISP_BASE_URL; Crisp's API lives under \
             /v1)",
        ),
        Error::InvalidRequest { problem, .. } => Outcome::error(
            400,
            "invalid_data",
            format!("the request is invalid: {problem}"),
        ),
        // The upstream client has no grants, confirmation or budget, so these never happen.
        other => Outcome::error(
            500,
            "internal_error",
            format!(
                "the gateway's upstream client refused the call ({}): this is a bug of the \
                 gateway",
                other.kind()
            ),
        ),
    }
}

/// Rounds a wait up to whole seconds, at least 1 (as `Retry-After` says it).
fn whole_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// The second wall of `list_conversations`: drops from a successful answer every conversation
/// the agent's inbox and assignee rules do not allow (the filters the decision set should
/// leave none). Returns how many were dropped.
pub(super) fn keep_allowed(agent: &Agent, outcome: &mut Outcome) -> usize {
    let Outcome::Answered { envelope, .. } = outcome else {
        return 0;
    };
    let Some(conversations) = envelope.get_mut("data").and_then(Value::as_array_mut) else {
        return 0;
    };
    let before = conversations.len();
    conversations.retain(|conversation| {
        check_conversation(
            agent,
            &crisp_api::Operation::LIST_CONVERSATIONS,
            &facts_of(conversation),
        )
        .is_ok()
    });
    before - conversations.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{KeyHash, Websites};
    use crisp_api::Operation;
    use crisp_api::types::ErrorReason;
    use http::StatusCode;

    #[test]
    fn crisp_errors_keep_their_status_reason_and_message() {
        let error = Error::Api {
            operation: &Operation::GET_CONVERSATION,
            status: StatusCode::NOT_FOUND,
            reason: ErrorReason::NotFound,
            message: Some("no such session".to_owned()),
        };
        assert_eq!(
            failure(&error),
            Outcome::Answered {
                status: 404,
                envelope: json!({"error": true, "reason": "not_found", "data": {"message": "no such session"}}),
                retry_after: None,
            }
        );
        let limited = Error::RateLimited {
            operation: &Operation::GET_CONVERSATION,
            status: StatusCode::TOO_MANY_REQUESTS,
            retry_after: Some(Duration::from_millis(1500)),
            attempts: 3,
        };
        let outcome = failure(&limited);
        assert_eq!((outcome.status(), outcome.retry_after()), (429, Some(2)));
        let broken = Error::Transport {
            operation: &Operation::SEND_MESSAGE,
            sent: true,
            attempts: 1,
            message: "connection reset".to_owned(),
            url: "http://127.0.0.1:9/v1/website/w/conversation/s/message".to_owned(),
        };
        let outcome = failure(&broken);
        assert_eq!(outcome.status(), 502);
        let message = outcome.envelope()["data"]["message"].to_string();
        assert!(message.contains("may have reached Crisp"), "{message}");
        assert!(!message.contains("connection reset"), "{message}");
    }

    #[test]
    fn the_second_wall_drops_conversations_outside_the_rules() {
        let mut agent = Agent::new(
            "a",
            KeyHash::of(b"k"),
            "website:conversation:sessions=read".parse().unwrap(),
            Websites::Any,
        );
        agent.inboxes = Some(vec!["i1".to_owned()]);
        let mut outcome = Outcome::Answered {
            status: 200,
            envelope: json!({"error": false, "reason": "resolved", "data": [
                {"session_id": "s1", "inbox_id": "i1"},
                {"session_id": "s2", "inbox_id": "i2"},
                {"session_id": "s3"},
            ]}),
            retry_after: None,
        };
        assert_eq!(keep_allowed(&agent, &mut outcome), 2);
        assert_eq!(
            outcome.envelope()["data"],
            json!([{"session_id": "s1", "inbox_id": "i1"}])
        );
    }
}

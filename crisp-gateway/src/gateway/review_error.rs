//! Why a reviewer's decision on a proposal was not taken ([`ReviewError`]). A leaf of
//! `gateway/`.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::store::{ApprovalState, StoreError};

/// Why a decision on a proposal was not taken. Nothing was sent, and the proposal is as it was.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ReviewError {
    /// There is no such approval.
    NotFound {
        /// The id asked for.
        id: String,
    },
    /// It expired before anyone decided: it can no longer be approved or denied.
    Expired {
        /// The approval.
        id: String,
        /// When it expired (Unix ms).
        expires_ms: i64,
    },
    /// It was already decided (by another reviewer, or another replica, perhaps a moment ago).
    Decided {
        /// The approval.
        id: String,
        /// Its state now.
        state: ApprovalState,
        /// Who decided it.
        by: Option<String>,
    },
    /// The agent that proposed it is no longer in the policy in force: it cannot be sent.
    AgentGone {
        /// The approval.
        id: String,
        /// The agent.
        agent: String,
    },
    /// The stored request is not one this gateway can send (an operation the spec no longer
    /// has, ids that do not fit its path).
    Unsendable {
        /// The approval.
        id: String,
        /// What is wrong.
        detail: String,
    },
    /// The policy in force, the budget or the quota refuse the call now (it was checked
    /// again before anything was charged or claimed): it stays pending.
    Refused {
        /// The approval.
        id: String,
        /// The status the call would be answered.
        status: u16,
        /// The reason (`not_allowed`, `rate_limited`, ...).
        reason: String,
        /// Why.
        message: String,
    },
    /// The gateway's store keeps no approvals.
    NoApprovals,
    /// The store failed.
    Store(StoreError),
}

impl fmt::Display for ReviewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound { id } => write!(
                f,
                "there is no approval `{}`: `crisp-gateway approvals list --all` lists them",
                id.escape_debug()
            ),
            Self::Expired { id, expires_ms } => write!(
                f,
                "approval {id} expired at {} (nobody decided within the policy's approval_ttl): \
                 it cannot be approved; the agent must propose it again",
                time(*expires_ms)
            ),
            Self::Decided { id, state, by } => {
                let by = by
                    .as_deref()
                    .map(|by| format!(" by {by}"))
                    .unwrap_or_default();
                match state {
                    ApprovalState::Sending | ApprovalState::Sent => write!(
                        f,
                        "approval {id} was already approved{by} (it is {state}): it is sent once; \
                         nothing more was done"
                    ),
                    ApprovalState::UnknownOutcome => write!(
                        f,
                        "approval {id} was already approved{by} and sent, with an unknown \
                         outcome: it is never sent again; check in Crisp"
                    ),
                    _ => write!(
                        f,
                        "approval {id} is already {}{by}: nothing was done",
                        state.status()
                    ),
                }
            }
            Self::AgentGone { id, agent } => write!(
                f,
                "approval {id} was proposed by agent `{agent}`, which the policy in force no \
                 longer has: it cannot be sent; deny it"
            ),
            Self::Unsendable { id, detail } => {
                write!(f, "approval {id} cannot be sent: {detail}; deny it")
            }
            Self::Refused {
                id,
                status,
                reason,
                message,
            } => write!(
                f,
                "approval {id} cannot be sent now ({status} {reason}: {message}); nothing was \
                 sent and it stays pending: approve it again later, or deny it"
            ),
            Self::NoApprovals => f.write_str(
                "this gateway's store keeps no approvals: use the SQLite or PostgreSQL store",
            ),
            Self::Store(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for ReviewError {}

impl From<StoreError> for ReviewError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

fn time(unix_ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(unix_ms).map_or_else(
        || unix_ms.to_string(),
        |at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_or_decided_approval_says_what_to_do() {
        let expired = ReviewError::Expired {
            id: "a1".into(),
            expires_ms: 1_767_225_600_000,
        };
        let text = expired.to_string();
        assert!(text.contains("2026-01-01T00:00:00Z"), "{text}");
        assert!(text.contains("propose it again"), "{text}");
        let decided = ReviewError::Decided {
            id: "a1".into(),
            state: ApprovalState::Sent,
            by: Some("alice".into()),
        };
        assert!(decided.to_string().contains("already approved by alice"));
        let denied = ReviewError::Decided {
            id: "a1".into(),
            state: ApprovalState::Denied,
            by: None,
        };
        assert!(denied.to_string().contains("already denied"), "{denied}");
    }
}

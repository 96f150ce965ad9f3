//! [`GatewayDesk`]: the approvals page's [`ApprovalDesk`] over the gateway's own approvals, the
//! same code as `crisp-gateway approvals list|approve|deny` ([`Gateway::approve`],
//! [`Gateway::deny`]).

use std::sync::Arc;

use crisp_api::Operation;
use futures::future::BoxFuture;

use super::desk::{ApprovalDesk, PendingApproval, Review, Verdict};
use super::shared::FRONT;
use crate::approvals::ApprovalView;
use crate::gateway::{Gateway, Reviewer};
use crate::store::{Approval, ApprovalFilter, ApprovalState};

/// The most pending proposals the page shows at once (the oldest first).
const SHOWN: u32 = 200;

/// The gateway's approvals, for the dashboard.
pub(super) struct GatewayDesk(pub Arc<Gateway>);

impl GatewayDesk {
    async fn list(&self, now_ms: i64) -> Result<Vec<PendingApproval>, String> {
        let Some(store) = self.0.store().approvals() else {
            return Ok(Vec::new());
        };
        let filter = ApprovalFilter {
            state: Some(ApprovalState::Pending),
            agent: None,
            limit: Some(SHOWN),
        };
        let mut found: Vec<PendingApproval> = store
            .list_approvals(&filter)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            // One past its time reads expired, and cannot be approved any more.
            .filter(|approval| {
                ApprovalView::new(approval.clone(), now_ms).state == ApprovalState::Pending
            })
            .map(pending)
            .collect();
        found.sort_by_key(|approval| approval.created_ms);
        Ok(found)
    }

    async fn decide(&self, review: &Review) -> Result<String, String> {
        let reviewer = Reviewer::new(review.reviewer.clone(), FRONT);
        let note = review.note.clone();
        match review.verdict {
            Verdict::Deny => {
                let denied = self
                    .0
                    .deny(&review.id, &reviewer, note, review.at_ms)
                    .await
                    .map_err(|e| sentence(&e.to_string()))?;
                Ok(format!(
                    "Denied {} ({} by {}): it is never sent, and the agent reads your note.",
                    denied.id, denied.operation, denied.agent
                ))
            }
            Verdict::Approve => {
                let sent = self
                    .0
                    .approve(&review.id, &reviewer, note, review.at_ms)
                    .await
                    .map_err(|e| sentence(&e.to_string()))?;
                let approval = &sent.approval;
                let envelope = sent.outcome.envelope();
                let reason = envelope["reason"].as_str().unwrap_or("-");
                let what = format!(
                    "Approved {} ({} by {}) and sent it",
                    approval.id, approval.operation, approval.agent
                );
                Ok(if approval.state == ApprovalState::UnknownOutcome {
                    format!(
                        "{what}, but what happened is not known ({reason}): it is never sent \
                         again; check in Crisp."
                    )
                } else {
                    format!("{what}: Crisp answered {} {reason}.", sent.outcome.status())
                })
            }
        }
    }
}

impl ApprovalDesk for GatewayDesk {
    fn pending(&self, now_ms: i64) -> BoxFuture<'_, Result<Vec<PendingApproval>, String>> {
        Box::pin(self.list(now_ms))
    }

    fn review<'a>(&'a self, review: &'a Review) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(self.decide(review))
    }
}

/// What the page shows of a stored proposal: the request as it would go on the wire.
fn pending(approval: Approval) -> PendingApproval {
    let path = Operation::find(&approval.operation)
        .and_then(|operation| {
            operation
                .fill_path(
                    approval
                        .path_ids
                        .iter()
                        .map(|(name, value)| (name.as_str(), value.as_str())),
                )
                .ok()
        })
        .unwrap_or_else(|| {
            let ids: Vec<String> = approval
                .path_ids
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            format!("({} with {})", approval.operation, ids.join(", "))
        });
    PendingApproval {
        id: approval.id,
        agent: approval.agent,
        operation: approval.operation,
        method: approval.method,
        path,
        query: approval.query,
        body: approval.body,
        created_ms: approval.created_ms,
        expires_ms: approval.expires_ms,
    }
}

/// A message of the gateway's as a sentence for the page: capitalised, with a full stop.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_become_sentences() {
        assert_eq!(sentence("approval x expired"), "Approval x expired.");
        assert_eq!(sentence("done."), "Done.");
        assert_eq!(sentence(""), ".");
    }

    #[test]
    fn a_stored_proposal_shows_its_filled_path() {
        let mut approval = Approval::pending("ap".into(), "reply".into(), 1, 2);
        approval.operation = "send_message".into();
        approval.method = "POST".into();
        approval.path_ids = vec![
            ("website_id".into(), "w1".into()),
            ("session_id".into(), "session_1".into()),
        ];
        let shown = pending(approval);
        assert_eq!(shown.path, "/website/w1/conversation/session_1/message");
        assert_eq!((shown.created_ms, shown.expires_ms), (1, 2));
    }
}

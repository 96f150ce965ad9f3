//! The agent's side of approvals: a call it may only propose is stored and answered
//! [`Outcome::Proposed`] (nothing sent, nothing charged), and it reads what became of it with
//! [`Gateway::approval_status`]. See [`approvals`](crate::approvals).

use super::Gateway;
use super::trail::Trail;
use super::types::{Lookup, Outcome, Proposing};
use crate::approvals::{self, ApprovalView, Proposal, millis};
use crate::policy::Agent;
use crate::refusal::Refusal;
use crate::store::{Approval, ApprovalStore, Sweep, now_ms};

impl Gateway {
    /// Stores `request` as a proposal of `agent`'s, approvable for the policy's
    /// `approval_ttl`, and answers [`Outcome::Proposed`]; a store that cannot keep it refuses
    /// the call (503). Nothing is sent, nothing taken from the budget or the quota.
    pub(super) async fn propose(
        &self,
        agent: &Agent,
        request: Proposing<'_>,
        trail: &mut Trail,
    ) -> Outcome {
        let refuse = |trail: &mut Trail| {
            let refusal = Refusal::store();
            trail.refused(&refusal);
            Outcome::Refused(refusal)
        };
        let Some(store) = self.store.approvals() else {
            tracing::error!(
                agent = %agent.name,
                operation = request.operation.id,
                "this call needs an approval, but the store keeps no approvals: refused"
            );
            return refuse(trail);
        };
        let approval_id = match approvals::new_id() {
            Ok(id) => id,
            Err(error) => {
                tracing::error!(%error, "no random bytes for an approval id: the call is refused");
                return refuse(trail);
            }
        };
        let created_ms = now_ms();
        let ttl = self.policy.read().approval_ttl();
        let proposal = Proposal {
            approval_id,
            operation: request.operation,
            ids: request.ids.to_vec(),
            query: request.query,
            body: request.body,
            created_ms,
            expires_ms: created_ms.saturating_add(millis(ttl)),
        };
        let mut approval = Approval::pending(
            proposal.approval_id.clone(),
            agent.name.clone(),
            proposal.created_ms,
            proposal.expires_ms,
        );
        approval.key_id = Some(agent.key_sha256.key_id());
        approval.front = request.front.as_str().to_owned();
        approval.client = request.client.map(str::to_owned);
        approval.operation = request.operation.id.to_owned();
        approval.method = request.operation.method.as_str().to_owned();
        approval.path_ids = proposal
            .ids
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect();
        approval.query.clone_from(&proposal.query);
        approval.body.clone_from(&proposal.body);
        if let Err(error) = store.create_approval(&approval).await {
            tracing::error!(%error, agent = %agent.name, "a proposal could not be stored: refused");
            return refuse(trail);
        }
        tracing::info!(
            agent = %agent.name,
            operation = request.operation.id,
            approval = %proposal.approval_id,
            "proposed: waits for a person's approval (crisp-gateway approvals list)"
        );
        trail.proposed();
        Outcome::Proposed(proposal)
    }

    /// Answers `agent`'s lookup of one of its approvals: 200 with [`ApprovalView::envelope`],
    /// or Crisp's 404 envelope for an approval that does not exist or is another agent's (the
    /// same answer: an agent cannot learn another's ids). A pending approval past its time
    /// reads `expired`, and a send whose sender stopped `unknown_outcome` (recorded so, with
    /// their audit rows, as they are read). One audit row, as every request; 503 when the audit
    /// log cannot take it.
    pub async fn approval_status(&self, agent: &Agent, lookup: Lookup) -> Outcome {
        let mut trail = Trail::lookup(agent, &lookup);
        let slot = match self.audit.reserve() {
            Ok(slot) if self.audit.is_writable() => slot,
            _ => {
                let refusal = Refusal::store();
                trail.refused(&refusal);
                let outcome = Outcome::Refused(refusal);
                // The queue is full or closed: this row may not be taken either.
                let _ = self.audit.record(trail.finish(&outcome));
                return outcome;
            }
        };
        let outcome = match self.look_up(agent, &lookup.approval_id).await {
            Ok(Some(view)) => {
                trail.answered();
                Outcome::Answered {
                    status: 200,
                    envelope: view.envelope(),
                    retry_after: None,
                }
            }
            Ok(None) => {
                trail.not_found();
                Outcome::error(
                    404,
                    "not_found",
                    format!(
                        "agent `{}` has no approval `{}`: use the approval_id its proposal was \
                         answered with",
                        agent.name,
                        lookup.approval_id.escape_debug()
                    ),
                )
            }
            Err(refusal) => {
                trail.refused(&refusal);
                Outcome::Refused(refusal)
            }
        };
        slot.record(trail.finish(&outcome));
        outcome
    }

    /// The view of `agent`'s approval `id`, settled first (see [`settle`]).
    async fn look_up(&self, agent: &Agent, id: &str) -> Result<Option<ApprovalView>, Refusal> {
        if !approvals::is_id(id) {
            return Ok(None);
        }
        let Some(store) = self.store.approvals() else {
            return Ok(None);
        };
        let now = now_ms();
        let approval = settle(store, id, now, self.send_stale, "gateway")
            .await
            .map_err(|error| {
                tracing::error!(%error, "an approval could not be read");
                Refusal::store()
            })?;
        Ok(approval
            .filter(|approval| approval.agent == agent.name)
            .map(|approval| ApprovalView::new(approval, now)))
    }
}

/// The approval `id` as of `now`: if it is pending past its expiry it is marked `expired`,
/// and if its send was claimed longer than `stale` ago (the gateway's
/// [`send_stale`](crate::Gateway::send_stale), [`SEND_STALE`](approvals::SEND_STALE) by
/// default) it is marked `unknown_outcome` (each with its audit row, by whoever reads it
/// first: the store's conditional update lets one do it), then it is read again. An approval with nothing to
/// settle is only read (an agent polling its status takes no write lock).
pub(super) async fn settle(
    store: &dyn ApprovalStore,
    id: &str,
    now: i64,
    stale: std::time::Duration,
    front: &str,
) -> Result<Option<Approval>, crate::store::StoreError> {
    let stale_before_ms = now.saturating_sub(millis(stale));
    let Some(approval) = store.approval(id).await? else {
        return Ok(None);
    };
    if approval.state_at(now, stale_before_ms) == approval.state {
        return Ok(Some(approval));
    }
    let sweep = Sweep {
        at_ms: now,
        stale_before_ms,
        only: Some(id.to_owned()),
        front: front.to_owned(),
    };
    store.sweep_approvals(&sweep).await?;
    store.approval(id).await
}

//! The reviewer's side of approvals: [`Gateway::approve`] (check the call again, charge it,
//! claim its send, send it, record Crisp's answer), [`Gateway::deny`] and
//! [`Gateway::sweep_approvals`]. Used by `crisp-gateway approvals` (and the dashboard). See
//! [`approvals`](crate::approvals) and the store's state machine
//! ([`ApprovalStore`](crate::store::ApprovalStore)).

use std::time::Instant;

use crisp_api::{Error, Operation};
use serde_json::Value;

use super::Gateway;
use super::answer;
use super::propose::settle;
use super::review_error::ReviewError;
use super::trail::Trail;
use super::types::{Front, Incoming, Outcome};
use crate::approvals::{SEND_STALE, millis};
use crate::decide::{self, Call, Needed};
use crate::policy::Agent;
use crate::store::{
    Approval, ApprovalState, ApprovalStore, Decision, Finish, Step, StoreError, Sweep, utc_day,
};
use crate::upstream::Send;

/// Who decides on a proposal, and from where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reviewer {
    /// The person: the OS user on the command line, or the name given (`--as`).
    pub name: String,
    /// Where: `cli`, `dashboard`. The audit rows' front.
    pub front: String,
}

impl Reviewer {
    /// `name`, deciding from `front`.
    pub fn new(name: impl Into<String>, front: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            front: front.into(),
        }
    }
}

/// An approved proposal, sent.
#[derive(Clone, Debug, PartialEq)]
pub struct Sent {
    /// The approval as recorded: `sent` with Crisp's answer, or `unknown_outcome`.
    pub approval: Approval,
    /// What the send was answered: Crisp's answer (an error included), or the gateway's 502
    /// or 504 when Crisp could not be reached.
    pub outcome: Outcome,
    /// Whether the answer was recorded. When it was not (the store failed after the send),
    /// the approval stays `sending` and becomes `unknown_outcome`: it is never sent again.
    pub recorded: bool,
}

impl Gateway {
    /// Approves the proposal `id` for `reviewer` at `now_ms`, and sends it:
    ///
    /// 1. it must be pending and not expired at `now_ms`;
    /// 2. the call is checked again under the policy in force (its agent, website, grants and
    ///    resource rules, a conversation read included), and one request is taken from the
    ///    agent's daily budget and the token's quota: a refusal leaves it pending;
    /// 3. the send is claimed in the store (`pending -> sending`, with the `approved` audit row,
    ///    committed before anything leaves): if another reviewer or replica was first, the
    ///    request taken is given back and nothing is sent;
    /// 4. exactly the stored request is sent through the gateway's upstream (crisp-api's
    ///    retries: a write that may have reached Crisp is never retried);
    /// 5. Crisp's answer is recorded (`sent`, or `unknown_outcome` when the connection broke
    ///    after the request left), with its audit row.
    ///
    /// # Errors
    /// Nothing was sent: see [`ReviewError`].
    pub async fn approve(
        &self,
        id: &str,
        reviewer: &Reviewer,
        note: Option<String>,
        now_ms: i64,
    ) -> Result<Sent, ReviewError> {
        let store = self.store.approvals().ok_or(ReviewError::NoApprovals)?;
        let approval = pending(store, id, now_ms, self.send_stale, &reviewer.front).await?;
        let policy = self.policy();
        let agent = policy
            .agent(&approval.agent)
            .ok_or_else(|| ReviewError::AgentGone {
                id: id.to_owned(),
                agent: approval.agent.clone(),
            })?;
        let (operation, ids) = request_of(&approval)?;
        let call = Call {
            operation,
            ids: &ids,
            query: &approval.query,
        };
        let started = Instant::now();
        let spent = self.check_again(agent, &call, id).await?;
        self.take(agent)
            .await
            .map_err(|refusal| refused(id, &Outcome::Refused(refusal)))?;

        let decision = Decision {
            id: id.to_owned(),
            approve: true,
            by: reviewer.name.clone(),
            note,
            step: Step {
                at_ms: now_ms,
                front: reviewer.front.clone(),
                client: Some(reviewer.name.clone()),
                upstream_requests: spent,
                ..Step::default()
            },
        };
        let claimed = match store.decide_approval(&decision).await {
            Ok(Some(claimed)) => claimed,
            other => {
                self.give_back_one(agent, now_ms).await;
                return Err(match other {
                    Err(error) => ReviewError::Store(error),
                    _ => why_not(store, id, now_ms).await,
                });
            }
        };
        tracing::info!(
            agent = %agent.name,
            operation = operation.id,
            approval = %id,
            by = %reviewer.name,
            "approved: sending"
        );

        let (result, record) = self
            .upstream
            .send(Send {
                operation,
                ids: &ids,
                query: &claimed.query,
                body: claimed.body.clone(),
            })
            .await;
        self.add_retries(agent, record.attempts).await;
        let known = result.as_ref().map_or_else(answer_is_known, |_| true);
        let error = result.as_ref().err().map(Error::kind);
        let outcome = answer::answer(result, &record);
        let envelope = outcome.envelope();
        let elapsed = started.elapsed();
        let finish = Finish {
            id: id.to_owned(),
            state: if known {
                ApprovalState::Sent
            } else {
                ApprovalState::UnknownOutcome
            },
            status: outcome.status(),
            error: (!known).then(|| message_of(&envelope)),
            step: Step {
                at_ms: now_ms.saturating_add(millis(elapsed)),
                front: reviewer.front.clone(),
                client: Some(reviewer.name.clone()),
                outcome: known.then(|| {
                    if error.is_some() {
                        "failed"
                    } else {
                        "succeeded"
                    }
                    .to_owned()
                }),
                status: Some(outcome.status()),
                reason: envelope
                    .get("reason")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                error: error.map(str::to_owned),
                attempts: record.attempts,
                upstream_requests: record.attempts,
                latency_us: u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            },
            answer: envelope,
        };
        let (approval, recorded) = match store.finish_approval(&finish).await {
            Ok(Some(finished)) => (finished, true),
            Ok(None) => {
                tracing::warn!(
                    approval = %id,
                    status = finish.status,
                    "the approval was marked unknown_outcome before its answer was recorded"
                );
                (claimed, false)
            }
            Err(error) => {
                tracing::error!(
                    %error,
                    approval = %id,
                    status = finish.status,
                    "sent, but the answer could not be recorded: it will read unknown_outcome"
                );
                (claimed, false)
            }
        };
        Ok(Sent {
            approval,
            outcome,
            recorded,
        })
    }

    /// Denies the proposal `id` for `reviewer` at `now_ms`, with `note` (which the agent
    /// reads): `pending -> denied`, with its audit row. Never sent.
    ///
    /// # Errors
    /// It was not pending (decided, expired, unknown), or the store failed: see
    /// [`ReviewError`].
    pub async fn deny(
        &self,
        id: &str,
        reviewer: &Reviewer,
        note: Option<String>,
        now_ms: i64,
    ) -> Result<Approval, ReviewError> {
        let store = self.store.approvals().ok_or(ReviewError::NoApprovals)?;
        deny_in_store(store, id, reviewer, note, now_ms).await
    }

    /// Marks every pending proposal past its time `expired`, and every send claimed longer
    /// than [`send_stale`](Self::send_stale) ([`SEND_STALE`] by default) before `now_ms`
    /// `unknown_outcome` (its sender stopped: it is never
    /// sent again), each with its audit row taken by `front`. The gateway runs it at start and
    /// every minute; readers settle the one approval they read the same way.
    ///
    /// # Errors
    /// The store's.
    pub async fn sweep_approvals(
        &self,
        now_ms: i64,
        front: &str,
    ) -> Result<Vec<Approval>, StoreError> {
        let Some(store) = self.store.approvals() else {
            return Ok(Vec::new());
        };
        let swept = store
            .sweep_approvals(&Sweep {
                at_ms: now_ms,
                stale_before_ms: now_ms.saturating_sub(millis(self.send_stale)),
                only: None,
                front: front.to_owned(),
            })
            .await?;
        for approval in &swept {
            tracing::info!(
                approval = %approval.id,
                agent = %approval.agent,
                state = %approval.state,
                "approval settled"
            );
        }
        Ok(swept)
    }

    /// Checks the call again under the policy in force (a conversation read included, charged
    /// as for any call); the upstream requests that took.
    async fn check_again(
        &self,
        agent: &Agent,
        call: &Call<'_>,
        id: &str,
    ) -> Result<u32, ReviewError> {
        let (facts, spent) = match decide::needs(agent, call) {
            None => (None, 0),
            Some(Needed::Conversation {
                website_id,
                session_id,
            }) => {
                let mut scratch = Trail::call(agent, &Incoming::new(Front::Rest, call.operation));
                let facts = self
                    .facts(agent, &website_id, &session_id, &mut scratch)
                    .await
                    .map_err(|outcome| refused(id, &outcome))?;
                (facts, scratch.upstream_requests())
            }
        };
        decide::decide(agent, call, facts.as_ref())
            .map_err(|refusal| refused(id, &Outcome::Refused(refusal)))?;
        Ok(spent)
    }

    /// Gives back the request taken for a send that was not claimed.
    async fn give_back_one(&self, agent: &Agent, now_ms: i64) {
        if let Err(error) = self.store.give_back(utc_day(now_ms), &agent.name, 1).await {
            tracing::warn!(%error, agent = %agent.name, "a request taken for an approval stays counted");
        }
    }
}

/// Denies the proposal `id` in `store` for `reviewer` at `now_ms`, with `note` (which the agent
/// reads): `pending -> denied`, with its audit row. Never sent. What [`Gateway::deny`] does; it
/// needs no upstream nor policy, so `crisp-gateway approvals deny` calls it with the store
/// alone.
///
/// # Errors
/// It was not pending (decided, expired, unknown), or the store failed: see [`ReviewError`].
pub async fn deny_in_store(
    store: &dyn ApprovalStore,
    id: &str,
    reviewer: &Reviewer,
    note: Option<String>,
    now_ms: i64,
) -> Result<Approval, ReviewError> {
    pending(store, id, now_ms, SEND_STALE, &reviewer.front).await?;
    let decision = Decision {
        id: id.to_owned(),
        approve: false,
        by: reviewer.name.clone(),
        note,
        step: Step {
            at_ms: now_ms,
            front: reviewer.front.clone(),
            client: Some(reviewer.name.clone()),
            ..Step::default()
        },
    };
    match store.decide_approval(&decision).await? {
        Some(denied) => {
            tracing::info!(approval = %id, by = %reviewer.name, "denied");
            Ok(denied)
        }
        None => Err(why_not(store, id, now_ms).await),
    }
}

/// The approval `id`, settled, if it is pending; why not otherwise.
async fn pending(
    store: &dyn ApprovalStore,
    id: &str,
    now_ms: i64,
    stale: std::time::Duration,
    front: &str,
) -> Result<Approval, ReviewError> {
    if !crate::approvals::is_id(id) {
        return Err(ReviewError::NotFound { id: id.to_owned() });
    }
    let approval = settle(store, id, now_ms, stale, front)
        .await?
        .ok_or_else(|| ReviewError::NotFound { id: id.to_owned() })?;
    match approval.state {
        ApprovalState::Pending => Ok(approval),
        _ => Err(not_pending(approval)),
    }
}

/// Why the proposal `id` could not be decided, read after the store refused the decision.
async fn why_not(store: &dyn ApprovalStore, id: &str, now_ms: i64) -> ReviewError {
    match store.approval(id).await {
        Ok(Some(mut approval)) => {
            approval.state = approval.state_at(now_ms, i64::MIN);
            not_pending(approval)
        }
        Ok(None) => ReviewError::NotFound { id: id.to_owned() },
        Err(error) => ReviewError::Store(error),
    }
}

/// A stored request's path ids, by the operation's own names, in path order.
type PathIds = Vec<(&'static str, String)>;

/// The operation and path ids of a stored request.
fn request_of(approval: &Approval) -> Result<(&'static Operation, PathIds), ReviewError> {
    let unsendable = |detail: String| ReviewError::Unsendable {
        id: approval.id.clone(),
        detail,
    };
    let operation = Operation::find(&approval.operation).ok_or_else(|| {
        unsendable(format!(
            "its operation `{}` is not one this gateway knows",
            approval.operation
        ))
    })?;
    let mut ids = Vec::with_capacity(approval.path_ids.len());
    for (name, value) in &approval.path_ids {
        let name = operation
            .path_params()
            .find(|param| param == name)
            .ok_or_else(|| unsendable(format!("`{name}` is not a path id of {}", operation.id)))?;
        ids.push((name, value.clone()));
    }
    operation
        .fill_path(ids.iter().map(|(name, value)| (*name, value.as_str())))
        .map_err(|error| unsendable(format!("its path ids are refused: {error}")))?;
    Ok((operation, ids))
}

/// The error for an approval found in a state other than pending.
fn not_pending(approval: Approval) -> ReviewError {
    match approval.state {
        ApprovalState::Expired | ApprovalState::Pending => ReviewError::Expired {
            id: approval.id,
            expires_ms: approval.expires_ms,
        },
        state => ReviewError::Decided {
            id: approval.id,
            state,
            by: approval.decided_by,
        },
    }
}

/// A refusal (or a failed conversation read) as a [`ReviewError::Refused`].
fn refused(id: &str, outcome: &Outcome) -> ReviewError {
    let envelope = outcome.envelope();
    ReviewError::Refused {
        id: id.to_owned(),
        status: outcome.status(),
        reason: envelope
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or("refused")
            .to_owned(),
        message: message_of(&envelope),
    }
}

/// Whether, after `error`, what Crisp did is known: it answered (an error included), or
/// nothing left the gateway. A broken connection after the request left, a timeout, or an
/// answer that is not Crisp's leave it unknown.
fn answer_is_known(error: &Error) -> bool {
    matches!(
        error,
        Error::Api { .. }
            | Error::RateLimited { .. }
            | Error::InvalidRequest { .. }
            | Error::UnknownRoute { .. }
            | Error::Transport { sent: false, .. }
    )
}

/// The `data.message` of an envelope, or its reason.
fn message_of(envelope: &Value) -> String {
    envelope["data"]["message"]
        .as_str()
        .or_else(|| envelope["reason"].as_str())
        .unwrap_or("no message")
        .to_owned()
}

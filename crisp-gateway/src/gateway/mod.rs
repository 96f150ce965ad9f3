//! [`Gateway`]: the decision path both fronts call.
//!
//! A front reads a request into an [`Incoming`] (the operation, its checked ids, query and
//! body), authenticates it ([`Gateway::authenticate`]), and hands it to [`Gateway::handle`],
//! which, in order:
//!
//! 1. refuses with 503 when the audit log cannot take the call's row or cannot be written (no
//!    call is made that could not be recorded);
//! 2. decides with the policy ([`decide`](mod@crate::decide)): website, grants, then the
//!    resource rules. A call on one conversation by an agent with inbox or assignee rules
//!    needs the conversation's facts: the agent's rate is checked first, then one request is
//!    taken from its budget and the quota and the conversation is read (or its facts come from
//!    the upstream's short cache, for free);
//! 3. checks the agent's rate (in memory; in the store when replicas share it); a call the agent may only propose stops here: it is
//!    stored and answered [`Outcome::Proposed`], nothing sent or charged (see
//!    [`approvals`](crate::approvals));
//!    otherwise takes one request from its daily budget and the token's daily quota (in the
//!    store, atomically: they survive a restart);
//! 4. sends the call upstream through crisp-api (its retries, id checks and size cap); the
//!    attempts past the first are added to the counters afterwards;
//! 5. drops, from a `list_conversations` answer, what the agent's rules do not allow (a second
//!    wall behind the filters of step 2);
//! 6. records one audit row, whatever happened.
//!
//! A front that refuses a request before it is a call (no credentials, an unknown route, a
//! malformed id or body) records its row with [`Gateway::refuse`]: every request is one row.
//!
//! Approvals: [`Gateway::approval_status`] answers an agent's lookup of its proposal;
//! [`Gateway::approve`], [`Gateway::deny`] and [`Gateway::sweep_approvals`] are a reviewer's
//! (the CLI's, the dashboard's).

mod answer;
mod counters;
mod propose;
mod review;
mod review_error;
mod trail;
mod types;

use std::collections::HashSet;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::audit::{AuditError, AuditLog};
use crate::decide::{self, Call, ConversationFacts, Needed};
use crate::identity;
use crate::policy::{Agent, Policy};
use crate::rate::RateLimits;
use crate::refusal::Refusal;
use crate::store::{Store, StoreError, Usage, now_ms, utc_day};
use crate::upstream::{Send, Upstream};

pub use answer::UPSTREAM_UNAVAILABLE;
pub use counters::MAX_LEASE;
pub use review::{Reviewer, Sent, deny_in_store};
pub use review_error::ReviewError;
pub use types::{Caller, Front, Incoming, Lookup, Outcome, Unhandled};

use counters::Counters;
use trail::Trail;

/// The gateway: the policy in force, the store, the audit log, the rate limits and the
/// upstream. Share it as an `Arc`; every method takes `&self`.
pub struct Gateway {
    policy: RwLock<Arc<Policy>>,
    store: Arc<dyn Store>,
    audit: AuditLog,
    rate: RateLimits,
    counters: Arc<Counters>,
    upstream: Upstream,
    /// How long a send may stay claimed before it is held stale (`unknown_outcome`).
    send_stale: std::time::Duration,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("agents", &self.policy.read().agents().len())
            .field("upstream", &self.upstream.client().base_url())
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// A gateway deciding with `policy`, counting in `store`, recording to `audit` and sending
    /// to `upstream`.
    pub fn new(policy: Policy, store: Arc<dyn Store>, audit: AuditLog, upstream: Upstream) -> Self {
        Self {
            policy: RwLock::new(Arc::new(policy)),
            store,
            audit,
            rate: RateLimits::new(),
            counters: Arc::default(),
            upstream,
            send_stale: crate::approvals::SEND_STALE,
        }
    }

    /// The same gateway, holding a send claimed longer than `stale` ago stale: its sender
    /// stopped, and it is marked `unknown_outcome`, never sent again (default
    /// [`SEND_STALE`](crate::approvals::SEND_STALE), 10 minutes; it must exceed the longest a
    /// send can take).
    pub fn with_send_stale(mut self, stale: std::time::Duration) -> Self {
        self.send_stale = stale;
        self
    }

    /// How long a send may stay claimed before it is held stale (see
    /// [`with_send_stale`](Self::with_send_stale)).
    pub fn send_stale(&self) -> std::time::Duration {
        self.send_stale
    }

    /// The policy in force.
    pub fn policy(&self) -> Arc<Policy> {
        Arc::clone(&self.policy.read())
    }

    /// Puts `policy` in force for every request authenticated from now on: an agent it no
    /// longer has is refused at once; requests already authenticated finish under the old one.
    /// The unused leases of agents removed or whose budget changed are given back.
    pub fn reload(&self, policy: Policy) {
        let policy = Arc::new(policy);
        let old = std::mem::replace(&mut *self.policy.write(), Arc::clone(&policy));
        self.rate.retain(&policy);
        let changed: HashSet<String> = old
            .agents()
            .iter()
            .filter(|agent| {
                policy
                    .agent(&agent.name)
                    .is_none_or(|new| new.daily_budget != agent.daily_budget)
            })
            .map(|agent| agent.name.clone())
            .collect();
        if changed.is_empty() && old.daily_quota() == policy.daily_quota() {
            return;
        }
        let all = old.daily_quota() != policy.daily_quota();
        let (counters, store) = (Arc::clone(&self.counters), Arc::clone(&self.store));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                counters
                    .give_back(&*store, |name| all || changed.contains(name))
                    .await;
            });
        }
    }

    /// Ends the gateway's work once the server has stopped: gives back the unused leases of
    /// the daily counters, then writes every audit row queued ([`AuditLog::shutdown`]).
    ///
    /// # Errors
    /// The audit rows that could not be written.
    pub async fn close(&self) -> Result<(), AuditError> {
        self.counters.give_back(&*self.store, |_| true).await;
        self.audit.shutdown().await
    }

    /// Gives back the unused leases of the daily counters (see [`MAX_LEASE`]), so that the
    /// store's counts are the requests sent (the server keeps running; later calls take new
    /// leases).
    pub async fn give_back_leases(&self) {
        self.counters.give_back(&*self.store, |_| true).await;
    }

    /// The counts of the UTC day `day` as requests sent: the store's, less what this
    /// gateway's leases hold unused (see [`MAX_LEASE`]; another replica's unused leases still
    /// count).
    ///
    /// # Errors
    /// The store could not be read.
    pub async fn usage(&self, day: u32) -> Result<Usage, StoreError> {
        let mut usage = self.store.usage(day).await?;
        for (agent, unused) in self.counters.unused(day) {
            if let Some((_, used)) = usage.agents.iter_mut().find(|(name, _)| *name == agent) {
                *used = used.saturating_sub(unused);
            }
            usage.quota_used = usage.quota_used.saturating_sub(unused);
        }
        Ok(usage)
    }

    /// The audit log (to flush or shut down).
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The upstream.
    pub fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    /// The agent the `Authorization` header (its raw value, if the request has one) names,
    /// under the policy in force.
    ///
    /// # Errors
    ///
    /// A 401 [`Refusal`] (see [`identity::authenticate`]); record it with
    /// [`refuse`](Self::refuse).
    pub fn authenticate(&self, header: Option<&[u8]>) -> Result<Caller, Refusal> {
        let policy = self.policy();
        let index = identity::agent_index(&policy, header)?;
        Ok(Caller::new(policy, index))
    }

    /// Records the audit row of a request a front refused before it became a call, and
    /// returns the refusal to render.
    pub fn refuse(&self, request: &Unhandled<'_>, refusal: Refusal) -> Outcome {
        let mut trail = Trail::unhandled(request);
        trail.refused(&refusal);
        let outcome = Outcome::Refused(refusal);
        // A full queue cannot take this row either; the request is refused anyway.
        if let Err(error) = self.audit.record(trail.finish(&outcome)) {
            tracing::warn!(%error, "the audit row of a refused request was not recorded");
        }
        outcome
    }

    /// Decides `incoming` for `agent`, sends it upstream if allowed, and records its audit row:
    /// see the [module docs](self) for the order. Never fails: a refusal is an
    /// [`Outcome::Refused`], Crisp's error an [`Outcome::Answered`] with `error: true`.
    pub async fn handle(&self, agent: &Agent, incoming: Incoming) -> Outcome {
        let mut trail = Trail::call(agent, &incoming);
        let slot = match self.audit.reserve() {
            Ok(slot) => slot,
            Err(error) => {
                tracing::warn!(%error, agent = %agent.name, "call refused: no room in the audit log");
                let refusal = Refusal::store();
                trail.refused(&refusal);
                let outcome = Outcome::Refused(refusal);
                // The queue is full or closed: this row cannot be taken either.
                let _ = self.audit.record(trail.finish(&outcome));
                return outcome;
            }
        };
        let outcome = if self.audit.is_writable() {
            self.decide_and_send(agent, incoming, &mut trail).await
        } else {
            let refusal = Refusal::store();
            trail.refused(&refusal);
            Outcome::Refused(refusal)
        };
        slot.record(trail.finish(&outcome));
        outcome
    }

    async fn decide_and_send(
        &self,
        agent: &Agent,
        incoming: Incoming,
        trail: &mut Trail,
    ) -> Outcome {
        let operation = incoming.operation;
        let call = Call {
            operation,
            ids: &incoming.ids,
            query: &incoming.query,
        };
        let plan = match decide::needs(agent, &call) {
            None => match decide::decide(agent, &call, None) {
                Ok(plan) => self.check_rate(agent).await.map(|()| plan),
                Err(refusal) => Err(refusal),
            },
            Some(Needed::Conversation {
                website_id,
                session_id,
            }) => {
                if let Err(refusal) = self.check_rate(agent).await {
                    trail.refused(&refusal);
                    return Outcome::Refused(refusal);
                }
                let facts = match self.facts(agent, &website_id, &session_id, trail).await {
                    Ok(facts) => facts,
                    Err(outcome) => return outcome,
                };
                decide::decide(agent, &call, facts.as_ref())
            }
        };
        let plan = match plan {
            Ok(plan) => plan,
            Err(refusal) => {
                trail.refused(&refusal);
                return Outcome::Refused(refusal);
            }
        };
        let body = match operation.method {
            // Crisp's GET and DELETE routes take no body: none is sent.
            crisp_api::Method::Get | crisp_api::Method::Delete => None,
            _ => incoming.body,
        };
        if agent.must_approve(operation) {
            let request = types::Proposing {
                front: incoming.front,
                client: incoming.client.as_deref(),
                operation,
                ids: &incoming.ids,
                query: plan.query,
                body,
            };
            return self.propose(agent, request, trail).await;
        }
        if let Err(refusal) = self.take(agent).await {
            trail.refused(&refusal);
            return Outcome::Refused(refusal);
        }
        let (result, record) = self
            .upstream
            .send(Send {
                operation,
                ids: &incoming.ids,
                query: &plan.query,
                body,
            })
            .await;
        self.add_retries(agent, record.attempts).await;
        if let Err(error) = &result {
            tracing::warn!(
                agent = %agent.name,
                operation = operation.id,
                error = error.kind(),
                status = error.status().map(|s| s.as_u16()),
                "the upstream call failed"
            );
        }
        trail.sent(record.attempts, result.as_ref().err().map(|e| e.kind()));
        let mut outcome = answer::answer(result, &record);
        if operation.id == crisp_api::Operation::LIST_CONVERSATIONS.id
            && agent.has_conversation_rules()
        {
            let dropped = answer::keep_allowed(agent, &mut outcome);
            if dropped > 0 {
                tracing::warn!(
                    agent = %agent.name,
                    dropped,
                    "list_conversations answered conversations outside the agent's rules \
                     despite the filters: dropped"
                );
            }
        }
        outcome
    }

    /// The facts of the conversation a call needs: from the cache, or read upstream after one
    /// request is taken from the budget and the quota. `Ok(None)` when Crisp refused the read
    /// (then the decision refuses the call); `Err` with the answer when the read was refused by
    /// the counters or failed on the way.
    async fn facts(
        &self,
        agent: &Agent,
        website_id: &str,
        session_id: &str,
        trail: &mut Trail,
    ) -> Result<Option<ConversationFacts>, Outcome> {
        if let Some(facts) = self.upstream.cached_facts(website_id, session_id) {
            return Ok(Some(facts));
        }
        if let Err(refusal) = self.take(agent).await {
            trail.refused(&refusal);
            return Err(Outcome::Refused(refusal));
        }
        let (result, attempts) = self.upstream.fetch_facts(website_id, session_id).await;
        self.add_retries(agent, attempts).await;
        trail.spent(attempts);
        match result {
            Ok(facts) => Ok(Some(facts)),
            // Crisp says the agent cannot read it (not found, not allowed): refused by the rule.
            Err(crisp_api::Error::Api { status, .. }) if status.is_client_error() => Ok(None),
            Err(error) => {
                tracing::warn!(
                    agent = %agent.name,
                    error = error.kind(),
                    "the conversation could not be read to check the agent's rules"
                );
                trail.unreadable(error.kind());
                Err(answer::failure(&error))
            }
        }
    }

    /// Takes one call from the agent's rate: in the store when replicas share it
    /// ([`Store::rates`]), in memory otherwise.
    async fn check_rate(&self, agent: &Agent) -> Result<(), Refusal> {
        let (Some(rates), Some(rate)) = (self.store.rates(), agent.rate) else {
            return self.rate.check(agent);
        };
        match rates
            .take_rate(&agent.name, rate.count().get(), rate.per().duration())
            .await
        {
            Ok(None) => Ok(()),
            Ok(Some(wait)) => Err(Refusal::rate(&agent.name, rate, wait)),
            Err(error) => {
                tracing::error!(%error, agent = %agent.name, "the agent's rate cannot be taken from: calls are refused");
                Err(Refusal::store())
            }
        }
    }

    /// Takes one request from the agent's daily budget and the token's daily quota.
    async fn take(&self, agent: &Agent) -> Result<(), Refusal> {
        let quota = self.policy.read().daily_quota();
        self.counters
            .take(&*self.store, agent, quota, now_ms())
            .await
    }

    /// Counts the attempts past the first (crisp-api's retries): already sent, so counted
    /// even past a limit.
    async fn add_retries(&self, agent: &Agent, attempts: u32) {
        if attempts <= 1 {
            return;
        }
        let day = utc_day(now_ms());
        if let Err(error) = self
            .store
            .add(day, &agent.name, u64::from(attempts - 1))
            .await
        {
            tracing::error!(%error, agent = %agent.name, "retries sent upstream were not counted");
        }
    }
}

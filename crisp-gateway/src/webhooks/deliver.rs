//! Delivering from the outbox: a task that claims due rows with a lease, posts each to its
//! agent signed in the Standard Webhooks format, and records the outcome (delivered, retry
//! after a backoff, or failed once the attempts are spent) and an audit row per attempt.
//!
//! Every replica runs one. A replica wakes its own at once when it enqueues an event, when a
//! retry it scheduled is due, and otherwise every [`poll`] (to take what another replica
//! enqueued or left: a lease that ran out). It claims no more rows than it has free senders
//! ([`concurrency`]). At shutdown it stops claiming and lets the attempts in flight end (each
//! is bounded by [`timeout`]).
//!
//! [`poll`]: super::config::DeliveryConfig::poll
//! [`concurrency`]: super::config::DeliveryConfig::concurrency
//! [`timeout`]: super::config::DeliveryConfig::timeout

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};

use super::allow::{self, Verdict};
use super::event::EventFacts;
use super::receive::{FRONT, path_ids, record};
use super::secret::MASTER_SECRET_VAR;
use super::state::Webhooks;
use crate::store::outbox::{Claim, Claimed, Finish};
use crate::store::{AuditRow, now_ms};

/// How often the seen keys and old outbox rows are cleaned up: hourly.
const CLEANUP_EVERY: Duration = Duration::from_secs(3600);

/// The `User-Agent` of what the gateway posts to agents.
const USER_AGENT: &str = concat!("crisp-gateway/", env!("CARGO_PKG_VERSION"), " (webhooks)");

/// The running deliverer of one replica.
pub struct Deliveries {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Deliveries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliveries").finish_non_exhaustive()
    }
}

impl Webhooks {
    /// Starts delivering from the outbox; stop with [`Deliveries::shutdown`].
    pub fn start(self: &Arc<Self>) -> Deliveries {
        Deliveries::start(Arc::clone(self))
    }
}

impl Deliveries {
    fn start(hooks: Arc<Webhooks>) -> Self {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(hooks, stopped));
        Self { stop, task }
    }

    /// Stops claiming rows and waits for the attempts in flight to end (their outcomes and
    /// audit rows recorded). Call it before the gateway's own close, which flushes the audit.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            tracing::error!(%error, "the webhook deliverer ended abnormally");
        }
    }
}

async fn run(hooks: Arc<Webhooks>, mut stop: watch::Receiver<bool>) {
    let config = hooks.config;
    let senders = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let http = reqwest::Client::builder()
        .timeout(config.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(USER_AGENT)
        .build()
        .unwrap_or_default();
    let mut in_flight: JoinSet<Option<Instant>> = JoinSet::new();
    let mut retries: BinaryHeap<Reverse<Instant>> = BinaryHeap::new();
    let mut last_cleanup: Option<Instant> = None;
    let mut failing = false;
    while !*stop.borrow() {
        let Some(outbox) = hooks.gateway.store().outbox() else {
            return;
        };
        // A gateway that neither receives Crisp's webhooks nor has subscribed agents has no
        // outbox to tend. One that receives cleans its keys up and settles rows left by an
        // earlier policy (failed, if no agent wants them now), even with nobody subscribed.
        let active = hooks.receives()
            || hooks
                .gateway
                .policy()
                .agents()
                .iter()
                .any(|agent| agent.webhook.is_some());
        let mut full = false;
        if active {
            if last_cleanup.is_none_or(|at| at.elapsed() >= CLEANUP_EVERY) {
                last_cleanup = Some(Instant::now());
                match outbox.cleanup(now_ms()).await {
                    Ok(cleaned) if cleaned.keys + cleaned.rows > 0 => tracing::debug!(
                        keys = cleaned.keys,
                        rows = cleaned.rows,
                        "old webhook events and deliveries removed"
                    ),
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "old webhook events were not removed"),
                }
            }
            let free = senders.available_permits();
            if free > 0 {
                let now = now_ms();
                let claim = Claim {
                    now_ms: now,
                    lease_until_ms: now.saturating_add(millis(config.lease())),
                    lease: lease_token(),
                    limit: u32::try_from(free).unwrap_or(u32::MAX),
                };
                match outbox.claim(&claim).await {
                    Ok(claimed) => {
                        failing = false;
                        full = claimed.len() == free;
                        for row in claimed {
                            let Ok(permit) = Arc::clone(&senders).try_acquire_owned() else {
                                break;
                            };
                            let (hooks, http, lease) =
                                (Arc::clone(&hooks), http.clone(), claim.lease.clone());
                            in_flight.spawn(async move {
                                let retry = attempt(&hooks, &http, row, &lease).await;
                                drop(permit);
                                retry
                            });
                        }
                    }
                    Err(error) => {
                        // Said once per outage, not every poll.
                        if !failing {
                            tracing::error!(%error, "webhook deliveries cannot be claimed");
                        }
                        failing = true;
                    }
                }
            }
        }
        if full {
            // More may be due: claim again as soon as a sender is free.
            if let Some(Ok(Some(due))) = in_flight.join_next().await {
                retries.push(Reverse(due));
            }
            continue;
        }
        while retries
            .peek()
            .is_some_and(|Reverse(due)| *due <= Instant::now())
        {
            retries.pop();
        }
        let wake_at = retries
            .peek()
            .map_or(Instant::now() + config.poll, |Reverse(due)| {
                (*due).min(Instant::now() + config.poll)
            });
        tokio::select! {
            () = hooks.wake.notified() => {}
            () = tokio::time::sleep_until(wake_at.into()) => {}
            _ = stop.changed() => {}
            Some(done) = in_flight.join_next() => {
                if let Ok(Some(due)) = done {
                    retries.push(Reverse(due));
                }
            }
        }
    }
    while in_flight.join_next().await.is_some() {}
}

/// One attempt of one claimed row: post it, record the outcome (under the lease) and the audit
/// row. Returns when the retry is due, if one was scheduled.
async fn attempt(
    hooks: &Webhooks,
    http: &reqwest::Client,
    row: Claimed,
    lease: &str,
) -> Option<Instant> {
    let started = Instant::now();
    let config = hooks.config;
    let policy = hooks.gateway.policy();
    let agent = policy.agent(&row.agent);
    let mut audit = AuditRow {
        at_ms: now_ms(),
        agent: Some(row.agent.clone()),
        key_id: agent.map(|a| a.key_sha256.key_id()),
        front: FRONT.to_owned(),
        client: None,
        operation: Some(row.event.clone()),
        method: Some("POST".to_owned()),
        path_ids: path_ids(row.website_id.as_deref(), row.session_id.as_deref()),
        decision: "allowed".to_owned(),
        why: None,
        outcome: None,
        status: None,
        reason: None,
        error: None,
        attempts: row.attempt,
        upstream_requests: 0,
        latency_us: 0,
    };

    // The policy in force now: an agent removed, unsubscribed or whose grants no longer allow
    // the event gets no more attempts.
    let no_longer = match agent {
        None => Some((
            "subscription",
            "the agent is no longer in the policy".to_owned(),
        )),
        Some(agent) if !agent.webhook.as_ref().is_some_and(|s| s.wants(&row.event)) => Some((
            "subscription",
            "the agent no longer subscribes to the event".to_owned(),
        )),
        Some(agent) => {
            let facts = EventFacts {
                name: row.event.clone(),
                website_id: row.website_id.clone(),
                session_id: row.session_id.clone(),
                key: String::new(),
            };
            match allow::check(agent, &facts) {
                Ok(Verdict::Allowed | Verdict::NeedsConversation { .. }) => None,
                Err(denied) => Some((denied.rule.as_str(), denied.message)),
            }
        }
    };
    if let Some((why, error)) = no_longer {
        audit.decision = "refused".to_owned();
        audit.why = Some(why.to_owned());
        audit.outcome = Some("not_sent".to_owned());
        audit.error = Some(error.clone());
        finish(
            hooks,
            &row,
            lease,
            &Finish::Failed {
                status: None,
                error,
            },
        )
        .await;
        record(hooks, audit);
        return None;
    }
    let url = agent
        .and_then(|a| a.webhook.as_ref())
        .map(|s| s.url.clone())
        .unwrap_or_default();

    let sent = match &hooks.secrets.master {
        None => Err(format!(
            "cannot sign: {MASTER_SECRET_VAR} is not set on this replica"
        )),
        Some(master) => {
            let secret = master.agent(&row.agent);
            let timestamp = now_ms() / 1000;
            let signature = secret.sign(&row.webhook_id, timestamp, row.body.as_bytes());
            let result = http
                .post(&url)
                .header(http::header::CONTENT_TYPE, "application/json")
                .header("webhook-id", &row.webhook_id)
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signature)
                .body(row.body.clone())
                .send()
                .await;
            match result {
                Ok(response) => Ok(response.status().as_u16()),
                // reqwest's message would hold the URL, which may hold a token in its query.
                Err(error) => Err(error.without_url().to_string()),
            }
        }
    };
    let status = sent.as_ref().ok().copied();
    audit.status = status;
    audit.latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    let delivered = status.is_some_and(|s| (200..300).contains(&s));
    let failure = match &sent {
        Ok(status) => format!("the agent answered {status}"),
        Err(error) => error.clone(),
    };
    let (outcome, retry_at) = if delivered {
        audit.outcome = Some("succeeded".to_owned());
        (
            Finish::Delivered {
                status: status.unwrap_or(200),
            },
            None,
        )
    } else if row.attempt < config.attempts.max(1) {
        let wait = config.wait_after(row.attempt);
        audit.outcome = Some("failed".to_owned());
        audit.error = Some(format!(
            "{failure}; attempt {} of {}, the next in {} ms",
            row.attempt,
            config.attempts,
            wait.as_millis()
        ));
        (
            Finish::Retry {
                at_ms: now_ms().saturating_add(millis(wait)),
                status,
                error: failure,
            },
            Some(Instant::now() + wait),
        )
    } else {
        audit.outcome = Some("failed".to_owned());
        audit.error = Some(format!(
            "{failure}; attempt {} of {}: gave up",
            row.attempt, config.attempts
        ));
        (
            Finish::Failed {
                status,
                error: failure,
            },
            None,
        )
    };
    if !delivered {
        tracing::info!(
            agent = %row.agent,
            event = %row.event,
            attempt = row.attempt,
            error = audit.error.as_deref().unwrap_or_default(),
            "a webhook delivery failed"
        );
    }
    let recorded = finish(hooks, &row, lease, &outcome).await;
    record(hooks, audit);
    retry_at.filter(|_| recorded)
}

/// Records an attempt's outcome; `false` when it was not (the lease was lost, or the store
/// failed: the row is due again when its lease runs out).
async fn finish(hooks: &Webhooks, row: &Claimed, lease: &str, outcome: &Finish) -> bool {
    let Some(outbox) = hooks.gateway.store().outbox() else {
        return false;
    };
    match outbox.finish(row.id, lease, now_ms(), outcome).await {
        Ok(true) => true,
        Ok(false) => {
            tracing::warn!(
                agent = %row.agent,
                event = %row.event,
                "a webhook attempt outlived its lease: another replica took the delivery over"
            );
            false
        }
        Err(error) => {
            tracing::error!(%error, "a webhook attempt's outcome was not recorded: it will be made again");
            false
        }
    }
}

/// A fresh lease token: 16 random bytes in hex (a clock-and-counter token if the system has
/// no randomness to give, still unique to this process).
fn lease_token() -> String {
    let mut bytes = [0u8; 16];
    match getrandom::fill(&mut bytes) {
        Ok(()) => hex::encode(bytes),
        Err(_) => {
            use std::sync::atomic::{AtomicU64, Ordering};
            static NEXT: AtomicU64 = AtomicU64::new(0);
            format!(
                "{}-{}-{}",
                std::process::id(),
                now_ms(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            )
        }
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

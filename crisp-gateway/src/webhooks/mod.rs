//! Crisp's webhooks, received once and fanned out to each agent within its grants.
//!
//! ```text
//! Crisp ──POST /webhooks/crisp──> receive: verify (the plugin's signing secret), parse,
//!                                 dedupe key, which agents may see it, one transaction:
//!                                 key if absent + one outbox row per agent ──> 200
//!                                        │ (the shared store)
//! agent <──POST webhook_url── deliver: claim due rows with a lease, sign (Standard
//!                                      Webhooks, the agent's own secret), post, record;
//!                                      retry with backoff, bounded attempts
//! ```
//!
//! - **Receive** ([`router`], at [`PATH`]): checked with [`crisp_api::webhook::Verifier`] over
//!   the raw body ([`SIGNING_SECRET_VAR`]; without it the route answers 503 saying how to set
//!   it). A bad signature is 401 and an audit row; nothing of an unverified request is used.
//!   The body is at most [`BODY_LIMIT`] bytes.
//! - **Once**: a delivery Crisp retries, or that reaches several replicas, is fanned out by
//!   the one that inserts its dedupe key ([`event`]) first: the key and the outbox rows are
//!   one transaction in the shared store ([`Outbox::enqueue`](crate::store::Outbox::enqueue)).
//!   Keys expire after a day; a cleanup runs now and then.
//! - **Within its grants** ([`allow`]): an agent subscribed to the event (the policy's
//!   `events` and `webhook_url`) gets it if it may read what the event is about: its
//!   website, the scopes of the operations that fire it at `read` level, and for a
//!   conversation its inbox and assignee rules (the conversation read through the upstream's
//!   cache, one request from the agent's budget and the quota).
//! - **Deliver** ([`Deliveries`]): from the durable outbox, signed in the Standard Webhooks
//!   format with the agent's secret ([`MasterSecret::agent`]); each attempt is an audit row.
//!   A replica that stops mid-retry leaves the row to another once its lease runs out.
//!
//! Audit rows have the front `webhook` and the event's name as the operation: the receipt
//! (`allowed`; `refused` with `signature`, `request`, `config`, `store` or `upstream`; `allowed`
//! with `duplicate` for a delivery already fanned out), each subscribed agent the event is
//! refused to (`refused` with the rule), and each delivery attempt (`allowed`, outcome
//! `succeeded` or `failed`, the agent's status, the attempt's number).

pub mod allow;
mod deliver;
pub mod event;
mod receive;
mod secret;

use std::sync::Arc;

use axum::Router;
use axum::routing::post;
use tokio::sync::Notify;

use crate::gateway::Gateway;

pub use allow::{Denied, Verdict, check, scopes};
pub use deliver::{Deliveries, DeliveryConfig};
pub use event::{EventFacts, webhook_id};
pub use secret::{
    AgentSecret, MASTER_SECRET_MIN, MASTER_SECRET_VAR, MasterSecret, SIGNING_SECRET_VAR,
    WebhookSecrets, agent_webhook_secret,
};

/// Where Crisp posts its webhook deliveries.
pub const PATH: &str = "/webhooks/crisp";

/// The largest delivery body read: 1 MiB (413 past it; Crisp's are a few kilobytes).
pub const BODY_LIMIT: usize = 1 << 20;

/// The webhooks of one gateway: its secrets, how it delivers, and a wake-up for its deliverer.
/// Share it as an `Arc`.
pub struct Webhooks {
    gateway: Arc<Gateway>,
    secrets: WebhookSecrets,
    config: DeliveryConfig,
    /// Wakes the deliverer when this replica enqueued an event.
    wake: Notify,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks")
            .field("secrets", &self.secrets)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Webhooks {
    /// The webhooks of `gateway`, with `secrets` and delivering by `config`.
    ///
    /// # Errors
    /// When agents of the policy subscribe to events but no master secret is given (their
    /// deliveries could not be signed): the message names them and the variable to set.
    pub fn new(
        gateway: Arc<Gateway>,
        secrets: WebhookSecrets,
        config: DeliveryConfig,
    ) -> Result<Self, String> {
        if secrets.master.is_none() {
            let policy = gateway.policy();
            let subscribed: Vec<&str> = policy
                .agents()
                .iter()
                .filter(|agent| agent.webhook.is_some())
                .map(|agent| agent.name.as_str())
                .collect();
            if !subscribed.is_empty() {
                return Err(format!(
                    "agent(s) {} subscribe to webhook events, and {MASTER_SECRET_VAR} is not \
                     set: set it to the gateway's master webhook secret (make one with `openssl \
                     rand -hex 32`; every replica needs the same), from which each agent's \
                     signing secret is derived (`crisp-gateway agents webhook-secret NAME`)",
                    subscribed.join(", ")
                ));
            }
        }
        Ok(Self {
            gateway,
            secrets,
            config,
            wake: Notify::new(),
        })
    }

    /// The gateway.
    pub fn gateway(&self) -> &Arc<Gateway> {
        &self.gateway
    }

    /// Whether Crisp's deliveries can be checked ([`SIGNING_SECRET_VAR`] is set).
    pub fn receives(&self) -> bool {
        self.secrets.verifier.is_some()
    }

    /// How deliveries are made.
    pub fn config(&self) -> &DeliveryConfig {
        &self.config
    }

    /// Starts delivering from the outbox; stop with [`Deliveries::shutdown`].
    pub fn start(self: &Arc<Self>) -> Deliveries {
        Deliveries::start(Arc::clone(self))
    }
}

/// The route Crisp posts to, [`PATH`] (POST only). Merge it with the fronts' router
/// ([`server::router_with_webhooks`](crate::server::router_with_webhooks)).
pub fn router(webhooks: Arc<Webhooks>) -> Router {
    Router::new()
        .route(PATH, post(receive::receive))
        .with_state(webhooks)
}

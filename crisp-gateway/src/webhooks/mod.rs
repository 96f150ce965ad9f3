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
mod config;
mod deliver;
pub mod event;
mod receive;
mod secret;
mod state;

use std::sync::Arc;

use axum::Router;
use axum::routing::post;

pub use allow::{Denied, Verdict, check, scopes};
pub use config::{DeliveryConfig, LEASE_MARGIN};
pub use deliver::Deliveries;
pub use event::{EventFacts, webhook_id};
pub use secret::{
    AgentSecret, MASTER_SECRET_MIN, MASTER_SECRET_VAR, MasterSecret, SIGNING_SECRET_VAR,
    WebhookSecrets, agent_webhook_secret,
};
pub use state::{BODY_LIMIT, PATH, Webhooks};

/// The route Crisp posts to, [`PATH`] (POST only). Merge it with the fronts' router
/// ([`server::router_with_webhooks`](crate::server::router_with_webhooks)).
pub fn router(webhooks: Arc<Webhooks>) -> Router {
    Router::new()
        .route(PATH, post(receive::receive))
        .with_state(webhooks)
}

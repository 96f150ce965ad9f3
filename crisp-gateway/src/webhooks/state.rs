//! [`Webhooks`]: what one gateway needs to receive and deliver webhooks (its gateway, secrets,
//! delivery settings and the deliverer's wake-up), shared by the receiving route and the
//! deliverer as an `Arc`.

use std::sync::Arc;

use tokio::sync::Notify;

use super::config::DeliveryConfig;
use super::secret::{MASTER_SECRET_VAR, WebhookSecrets};
use crate::gateway::Gateway;

/// Where Crisp posts its webhook deliveries.
pub const PATH: &str = "/webhooks/crisp";

/// The largest delivery body read: 1 MiB (413 past it; Crisp's are a few kilobytes).
pub const BODY_LIMIT: usize = 1 << 20;

/// The webhooks of one gateway: its secrets, how it delivers, and a wake-up for its deliverer.
/// Share it as an `Arc`.
pub struct Webhooks {
    pub(super) gateway: Arc<Gateway>,
    pub(super) secrets: WebhookSecrets,
    pub(super) config: DeliveryConfig,
    /// Wakes the deliverer when this replica enqueued an event.
    pub(super) wake: Notify,
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

    /// Whether Crisp's deliveries can be checked ([`SIGNING_SECRET_VAR`](super::SIGNING_SECRET_VAR) is set).
    pub fn receives(&self) -> bool {
        self.secrets.verifier.is_some()
    }

    /// How deliveries are made.
    pub fn config(&self) -> &DeliveryConfig {
        &self.config
    }
}

//! The webhook secrets, read from the environment (never from the policy, never logged):
//!
//! - [`SIGNING_SECRET_VAR`] (`CRISP_WEBHOOK_SECRET`): the Crisp plugin's signing secret, which
//!   only the gateway holds; it checks what Crisp posts to `/webhooks/crisp`.
//! - [`MASTER_SECRET_VAR`] (`CRISP_GATEWAY_WEBHOOK_SECRET`): the gateway's master secret. Each
//!   agent's signing secret is derived from it and the agent's name ([`MasterSecret::agent`]),
//!   so the policy holds no secret and every replica given the same master secret signs alike.
//!   `crisp-gateway agents webhook-secret NAME` prints an agent's, in the Standard Webhooks
//!   form `whsec_<base64>`. Changing the master secret changes every agent's.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crisp_api::webhook::Verifier;
use hmac::Mac as _;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The environment variable holding the Crisp plugin's signing secret.
pub const SIGNING_SECRET_VAR: &str = "CRISP_WEBHOOK_SECRET";

/// The environment variable holding the gateway's master webhook secret.
pub const MASTER_SECRET_VAR: &str = "CRISP_GATEWAY_WEBHOOK_SECRET";

/// The fewest bytes a master secret may have: 32 (256 bits).
pub const MASTER_SECRET_MIN: usize = 32;

/// What an agent's secret is derived under: changing it would change every agent's secret.
const DERIVATION: &[u8] = b"crisp-gateway webhook signing secret v1\0";

/// The webhook secrets of the environment: each may be missing (see the module docs of `webhooks::secret`).
#[derive(Clone, Default)]
pub struct WebhookSecrets {
    /// Checks Crisp's deliveries, from [`SIGNING_SECRET_VAR`].
    pub verifier: Option<Verifier>,
    /// Derives the agents' secrets, from [`MASTER_SECRET_VAR`].
    pub master: Option<MasterSecret>,
}

impl fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSecrets")
            .field("verifier", &self.verifier.as_ref().map(|_| "[redacted]"))
            .field("master", &self.master)
            .finish()
    }
}

impl WebhookSecrets {
    /// Reads both from the process environment.
    ///
    /// # Errors
    /// As [`from_lookup`](Self::from_lookup).
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads both through `lookup` (a variable's value, if set).
    ///
    /// ```
    /// use crisp_gateway::webhooks::WebhookSecrets;
    ///
    /// let secrets = WebhookSecrets::from_lookup(|_| None)?;
    /// assert!(secrets.verifier.is_none() && secrets.master.is_none());
    /// let short = WebhookSecrets::from_lookup(|name| {
    ///     (name == "CRISP_GATEWAY_WEBHOOK_SECRET").then(|| "short".to_owned())
    /// });
    /// assert!(short.unwrap_err().contains("at least 32"));
    /// # Ok::<(), String>(())
    /// ```
    ///
    /// # Errors
    /// A variable that is set but unusable: a blank signing secret, a master secret shorter
    /// than [`MASTER_SECRET_MIN`] bytes. The message names the variable, never its value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let verifier = lookup(SIGNING_SECRET_VAR)
            .map(|secret| {
                Verifier::new(secret).map_err(|e| {
                    format!(
                        "{SIGNING_SECRET_VAR} is set but cannot be used ({e}): set it to the \
                         plugin's signing secret, shown in the Crisp Marketplace, or unset it"
                    )
                })
            })
            .transpose()?;
        let master = lookup(MASTER_SECRET_VAR)
            .map(|secret| MasterSecret::new(&secret))
            .transpose()?;
        Ok(Self { verifier, master })
    }
}

/// The gateway's master webhook secret: agents' secrets are derived from it. `Debug` shows
/// `[redacted]`.
#[derive(Clone)]
pub struct MasterSecret {
    /// HMAC-SHA256 state keyed with the secret.
    mac: HmacSha256,
}

impl fmt::Debug for MasterSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterSecret([redacted])")
    }
}

impl MasterSecret {
    /// The master secret `secret` (its UTF-8 bytes, used as given).
    ///
    /// # Errors
    /// When it has fewer than [`MASTER_SECRET_MIN`] bytes or is only whitespace; the message
    /// says how to make one, never the value.
    pub fn new(secret: &str) -> Result<Self, String> {
        if secret.len() < MASTER_SECRET_MIN || secret.trim().is_empty() {
            return Err(format!(
                "{MASTER_SECRET_VAR} must hold at least {MASTER_SECRET_MIN} bytes of secret \
                 (it derives every agent's webhook signing secret): make one with \
                 `openssl rand -hex 32`, and give every replica the same"
            ));
        }
        Ok(Self {
            mac: <HmacSha256 as hmac::KeyInit>::new_from_slice(secret.as_bytes())
                .expect("HMAC takes a key of any length"),
        })
    }

    /// The webhook signing secret of the agent named `agent`: HMAC-SHA256 of the agent's name
    /// (under a fixed label) keyed with the master secret.
    ///
    /// ```
    /// use crisp_gateway::webhooks::MasterSecret;
    ///
    /// let master = MasterSecret::new("0123456789abcdef0123456789abcdef")?;
    /// let triage = master.agent("triage");
    /// assert!(triage.whsec().starts_with("whsec_"));
    /// assert_eq!(triage.whsec(), master.agent("triage").whsec());
    /// assert_ne!(triage.whsec(), master.agent("reply").whsec());
    /// # Ok::<(), String>(())
    /// ```
    pub fn agent(&self, agent: &str) -> AgentSecret {
        let mut mac = self.mac.clone();
        mac.update(DERIVATION);
        mac.update(agent.as_bytes());
        AgentSecret(mac.finalize().into_bytes().to_vec())
    }
}

/// One agent's webhook signing secret (32 bytes when derived; Standard Webhooks allows 24 to
/// 64). `Debug` shows `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct AgentSecret(Vec<u8>);

impl fmt::Debug for AgentSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AgentSecret([redacted])")
    }
}

impl AgentSecret {
    /// A secret from its Standard Webhooks form, `whsec_<base64>` (or the base64 alone).
    ///
    /// # Errors
    /// When it is not base64 of 24 to 64 bytes (the Standard Webhooks range).
    pub fn from_whsec(text: &str) -> Result<Self, String> {
        let encoded = text.strip_prefix("whsec_").unwrap_or(text);
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|e| format!("a webhook secret is whsec_ and base64 ({e})"))?;
        if !(24..=64).contains(&bytes.len()) {
            return Err(format!(
                "a webhook secret holds 24 to 64 bytes, this one {}",
                bytes.len()
            ));
        }
        Ok(Self(bytes))
    }

    /// The Standard Webhooks form, `whsec_` and the base64 of the bytes: what the agent is
    /// given. A secret: show it only to whom it belongs.
    pub fn whsec(&self) -> String {
        format!("whsec_{}", STANDARD.encode(&self.0))
    }

    /// The `webhook-signature` header of a message: `v1,` and the base64 of the HMAC-SHA256,
    /// keyed with this secret, of `{webhook_id}.{timestamp}.{body}` (Standard Webhooks).
    ///
    /// ```
    /// use crisp_gateway::webhooks::AgentSecret;
    ///
    /// // The example of the Standard Webhooks specification.
    /// let secret = AgentSecret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    /// assert_eq!(
    ///     secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, br#"{"test": 2432232314}"#),
    ///     "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    /// );
    /// # Ok::<(), String>(())
    /// ```
    pub fn sign(&self, webhook_id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = <HmacSha256 as hmac::KeyInit>::new_from_slice(&self.0)
            .expect("HMAC takes a key of any length");
        mac.update(webhook_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// What `crisp-gateway agents webhook-secret NAME` prints: the agent's secret, derived from the
/// master secret that `lookup` gives.
///
/// # Errors
/// The name is not an agent name, or the master secret is unset or unusable.
pub fn agent_webhook_secret(
    name: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<AgentSecret, String> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !valid {
        return Err(format!(
            "`{}` is not an agent name: use the agent's name as in the policy (1 to 64 of a-z, \
             0-9, `_` and `-`)",
            name.escape_debug()
        ));
    }
    let master = lookup(MASTER_SECRET_VAR).ok_or_else(|| {
        format!(
            "{MASTER_SECRET_VAR} is not set: set it to the gateway's master webhook secret (the \
             one the gateway runs with; make one with `openssl rand -hex 32`)"
        )
    })?;
    Ok(MasterSecret::new(&master)?.agent(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_never_shown_by_debug() {
        let master = MasterSecret::new("0123456789abcdef0123456789abcdef-master").unwrap();
        let agent = master.agent("triage");
        for shown in [format!("{master:?}"), format!("{agent:?}")] {
            assert!(shown.contains("[redacted]"), "{shown}");
            assert!(!shown.contains("0123456789abcdef"), "{shown}");
        }
        let secrets = WebhookSecrets::from_lookup(|name| match name {
            SIGNING_SECRET_VAR => Some("plugin-signing-secret-value".to_owned()),
            _ => Some("0123456789abcdef0123456789abcdef-master".to_owned()),
        })
        .unwrap();
        let shown = format!("{secrets:?}");
        assert!(
            !shown.contains("plugin-signing") && !shown.contains("0123"),
            "{shown}"
        );
    }

    #[test]
    fn a_whsec_reads_back_as_the_same_secret() {
        let agent = MasterSecret::new(&"m".repeat(32)).unwrap().agent("a");
        assert_eq!(AgentSecret::from_whsec(&agent.whsec()).unwrap(), agent);
        assert!(AgentSecret::from_whsec("whsec_AAAA").is_err());
        assert!(AgentSecret::from_whsec("whsec_not base64!").is_err());
    }

    #[test]
    fn blank_or_short_secrets_are_refused_by_name_never_by_value() {
        let blank = WebhookSecrets::from_lookup(|name| {
            (name == SIGNING_SECRET_VAR).then(|| "   ".to_owned())
        })
        .unwrap_err();
        assert!(blank.contains(SIGNING_SECRET_VAR), "{blank}");
        let short = MasterSecret::new("tiny-secret-value").unwrap_err();
        assert!(short.contains(MASTER_SECRET_VAR), "{short}");
        assert!(!short.contains("tiny-secret-value"), "{short}");
        let unset = agent_webhook_secret("triage", |_| None).unwrap_err();
        assert!(unset.contains(MASTER_SECRET_VAR), "{unset}");
        let bad_name = agent_webhook_secret("Tri age", |_| Some("m".repeat(32))).unwrap_err();
        assert!(bad_name.contains("not an agent name"), "{bad_name}");
    }
}

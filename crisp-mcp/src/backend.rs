//! Where the tools send their calls: the real Crisp, when its credentials are in the
//! environment, or else an embedded sandbox started in-process, so that the server works out of
//! the box and offline.

use std::fmt;

use crisp_api::types::SecretString;
use crisp_api::{Client, Credentials, Grants, Tier};
use crisp_sandbox::Sandbox;

/// The environment variables that name a real Crisp workspace; all four, or none.
pub const CREDENTIAL_VARS: [&str; 4] = [
    "CRISP_IDENTIFIER",
    "CRISP_KEY",
    "CRISP_TIER",
    "CRISP_WEBSITE_ID",
];
/// An optional base URL for the real backend (default: Crisp's, `https://api.crisp.chat/v1`).
pub const BASE_URL_VAR: &str = "CRISP_BASE_URL";

/// A real Crisp workspace, from the environment. `Debug` redacts the key.
#[derive(Clone)]
pub struct CrispEnv {
    /// The token identifier.
    pub identifier: String,
    /// The token key.
    pub key: SecretString,
    /// The token's tier.
    pub tier: Tier,
    /// The website the tools act on by default.
    pub website_id: String,
    /// Another base URL than Crisp's, if set.
    pub base_url: Option<String>,
}

impl fmt::Debug for CrispEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrispEnv")
            .field("identifier", &self.identifier)
            .field("key", &"[redacted]")
            .field("tier", &self.tier)
            .field("website_id", &self.website_id)
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl CrispEnv {
    /// Reads [`CREDENTIAL_VARS`] (and [`BASE_URL_VAR`]) through `var`: `Ok(None)` when none is
    /// set (use the sandbox).
    ///
    /// # Errors
    ///
    /// When some but not all are set, or the tier is not `plugin`, `website` or `user`: a
    /// half-configured server must not quietly fall back to the sandbox.
    ///
    /// ```
    /// use crisp_mcp::backend::CrispEnv;
    ///
    /// assert!(CrispEnv::from_vars(|_| None).unwrap().is_none());
    /// let only_key = CrispEnv::from_vars(|name| (name == "CRISP_KEY").then(|| "k".to_owned()));
    /// assert!(only_key.unwrap_err().contains("CRISP_IDENTIFIER"));
    /// ```
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, String> {
        let values: Vec<Option<String>> = CREDENTIAL_VARS
            .iter()
            .map(|name| var(name).filter(|v| !v.trim().is_empty()))
            .collect();
        if values.iter().all(Option::is_none) {
            return Ok(None);
        }
        let missing: Vec<&str> = CREDENTIAL_VARS
            .iter()
            .zip(&values)
            .filter(|(_, v)| v.is_none())
            .map(|(name, _)| *name)
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "{} must be set too (all of {} for the real Crisp, or none of them for the \
                 embedded sandbox)",
                missing.join(", "),
                CREDENTIAL_VARS.join(", ")
            ));
        }
        let [identifier, key, tier, website_id] =
            <[Option<String>; 4]>::try_from(values).map_err(|_| "four values".to_owned())?;
        let tier = tier
            .unwrap_or_default()
            .parse::<crisp_api::Tier>()
            .map_err(|e| format!("CRISP_TIER: {e}"))?;
        Ok(Some(Self {
            identifier: identifier.unwrap_or_default(),
            key: SecretString::from(key.unwrap_or_default()),
            tier,
            website_id: website_id.unwrap_or_default(),
            base_url: var(BASE_URL_VAR).filter(|v| !v.trim().is_empty()),
        }))
    }
}

/// The backend a server calls, and the client that calls it.
#[derive(Debug)]
pub struct Backend {
    /// The client every tool call goes through.
    pub client: Client,
    /// The website calls default to.
    pub website_id: String,
    /// The embedded sandbox, when there are no credentials; it stops when this is dropped.
    pub sandbox: Option<Sandbox>,
}

/// Options of the client the server calls through.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ClientOptions {
    /// The grants, enforced by the client too (a second wall behind the server's).
    pub grants: Option<Grants>,
    /// Requests a day, retries included; `None`: no budget.
    pub daily_budget: Option<u32>,
}

impl ClientOptions {
    /// The client refuses what `grants` do not allow, and spends at most `daily_budget`
    /// requests a day.
    pub fn new(grants: Option<Grants>, daily_budget: Option<u32>) -> Self {
        Self {
            grants,
            daily_budget,
        }
    }
}

impl Backend {
    /// The real Crisp with `env`, or, with `None`, an embedded sandbox on a free loopback port.
    ///
    /// # Errors
    ///
    /// When the client cannot be built (credentials a header cannot carry, a bad base URL) or
    /// the sandbox cannot start.
    pub async fn connect(env: Option<CrispEnv>, options: &ClientOptions) -> Result<Self, String> {
        let (credentials, base_url, website_id, sandbox) = match env {
            Some(env) => (
                Credentials::new(env.tier, env.identifier, env.key.expose_secret()),
                env.base_url,
                env.website_id,
                None,
            ),
            None => {
                let sandbox = Sandbox::start()
                    .await
                    .map_err(|e| format!("the embedded sandbox did not start: {e}"))?;
                (
                    sandbox.credentials(),
                    Some(sandbox.base_url().to_owned()),
                    sandbox.website_id().to_owned(),
                    Some(sandbox),
                )
            }
        };
        let mut builder = Client::builder(credentials)
            .user_agent(concat!("crisp-mcp/", env!("CARGO_PKG_VERSION")));
        if let Some(base_url) = base_url {
            builder = builder.base_url(base_url);
        }
        if let Some(grants) = &options.grants {
            builder = builder.grants(grants.clone());
        }
        if let Some(budget) = options.daily_budget {
            builder = builder.daily_budget(budget);
        }
        let client = builder.build().map_err(|e| e.to_string())?;
        Ok(Self {
            client,
            website_id,
            sandbox,
        })
    }
}

//! Where the tools send their calls: the real Crisp, when its credentials are in the
//! environment, or else an embedded sandbox started in-process, so that the server works out of
//! the box and offline.

use crisp_api::env::{RealCrisp, WEBSITE_ID};
use crisp_api::{Client, Grants, Tier};
use crisp_sandbox::Sandbox;

/// The backend a server calls, and the client that calls it.
#[derive(Debug)]
pub struct Backend {
    /// The client every tool call goes through.
    pub client: Client,
    /// The website calls default to.
    pub website_id: String,
    /// The tier of the token the client sends.
    pub tier: Tier,
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
    /// The real Crisp as the environment names it ([`crisp_api::env::Env::read`]), or, with
    /// `None`, an embedded sandbox on a free loopback port.
    ///
    /// # Errors
    ///
    /// When the real Crisp has no website (`CRISP_WEBSITE_ID`), the client cannot be built
    /// (credentials a header cannot carry, a bad base URL) or the sandbox cannot start.
    pub async fn connect(
        crisp: Option<RealCrisp>,
        options: &ClientOptions,
    ) -> Result<Self, String> {
        let (builder, website_id, tier, sandbox) = match crisp {
            Some(crisp) => {
                let website_id = crisp.website_id.clone().ok_or_else(|| {
                    format!("{WEBSITE_ID} is not set: give it the website the tools act on")
                })?;
                let tier = crisp.credentials.tier();
                (crisp.client_builder(), website_id, tier, None)
            }
            None => {
                let sandbox = Sandbox::start()
                    .await
                    .map_err(|e| format!("the embedded sandbox did not start: {e}"))?;
                let builder = Client::builder(sandbox.credentials()).base_url(sandbox.base_url());
                (
                    builder,
                    sandbox.website_id().to_owned(),
                    sandbox.tier(),
                    Some(sandbox),
                )
            }
        };
        let mut builder = builder.user_agent(concat!("crisp-mcp/", env!("CARGO_PKG_VERSION")));
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
            tier,
            sandbox,
        })
    }
}

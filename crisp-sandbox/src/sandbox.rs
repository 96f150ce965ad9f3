//! A running sandbox ([`Sandbox`]), how to start one ([`SandboxBuilder`]), and what a client
//! needs to call it ([`SandboxInfo`]).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use crisp_api::Tier;
use crisp_api::types::SecretString;
use crisp_serve::Limits;
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::admin;
use crate::app::App;
use crate::auth::{self, Quota};
use crate::config::{FaultState, Faults, FaultsError, Token};
use crate::demo::DEMO_IDENTIFIER;
use crate::fixtures::Fixtures;
use crate::util::random_key;
use crate::validate::Validators;
use crate::webhook::{DeliveryRecord, WebhookLimits, WebhookRetry, Webhooks};
use crate::{load, server, table};

/// Why a sandbox did not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The address could not be bound.
    Bind(std::io::Error),
    /// The fixtures do not fit the spec.
    Fixtures(String),
    /// The generated route facts do not compile (a generator bug).
    Spec(String),
    /// The admin routes would be open to the network without a token, or the token is blank.
    AdminRoutes(String),
    /// A share of the faults is outside 0 to 1.
    Faults(FaultsError),
    /// The operating system's random generator failed to make a key.
    Random(std::io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bind(e) => write!(f, "cannot listen: {e}"),
            Self::Fixtures(e) => write!(f, "{e}"),
            Self::Spec(e) => write!(f, "the generated route facts are broken: {e}"),
            Self::AdminRoutes(e) => write!(f, "{e}"),
            Self::Faults(e) => write!(f, "{e}"),
            Self::Random(e) => write!(f, "cannot make a key: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Bind(e) => Some(e),
            Self::Faults(e) => Some(e),
            Self::Random(e) => Some(e),
            _ => None,
        }
    }
}

/// What a client needs to call a running sandbox: the line the binary prints on start.
///
/// `Serialize` writes every field, secrets included (that is the point of the line);
/// `Debug` redacts the key and the signing secret.
#[derive(Clone, Serialize)]
pub struct SandboxInfo {
    /// The base URL of the API, ending in `/v1`, such as `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    /// The demo workspace's website id.
    pub website_id: String,
    /// The token identifier (Basic auth user name).
    pub identifier: String,
    /// The token key (Basic auth password).
    pub key: String,
    /// The `X-Crisp-Tier` the token needs: `plugin`, `website` or `user`.
    pub tier: String,
    /// The secret webhook deliveries are signed with.
    pub signing_secret: String,
}

impl fmt::Debug for SandboxInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxInfo")
            .field("base_url", &self.base_url)
            .field("website_id", &self.website_id)
            .field("identifier", &self.identifier)
            .field("key", &"[redacted]")
            .field("tier", &self.tier)
            .field("signing_secret", &"[redacted]")
            .finish()
    }
}

/// Options of a sandbox, from [`Sandbox::builder`].
///
/// A sandbox whose token carries only the grants an agent was given, so that a call outside
/// them gets Crisp's 403 `not_allowed` (here `crisp-api`'s client is built without grants, so
/// the refusal comes from the server):
///
/// ```
/// use crisp_api::{Client, Credentials, Grants};
/// use crisp_sandbox::{Sandbox, Token};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let grants: Grants = "website:conversation:sessions=read".parse()?;
/// let sandbox = Sandbox::builder()
///     .token(Token::plugin("reader", "reader-key").with_grants(grants))
///     .start()
///     .await?;
/// let client = Client::builder(Credentials::plugin("reader", "reader-key"))
///     .base_url(sandbox.base_url())
///     .build()?;
///
/// let conversation = client
///     .get_conversation()
///     .website_id(sandbox.website_id())
///     .session_id(crisp_sandbox::demo::SESSION_ID)
///     .send()
///     .await?;
/// assert_eq!(conversation.data.session_id, crisp_sandbox::demo::SESSION_ID);
///
/// let refused = client
///     .remove_conversation()
///     .website_id(sandbox.website_id())
///     .session_id(crisp_sandbox::demo::SESSION_ID)
///     .send()
///     .await
///     .unwrap_err();
/// assert_eq!(refused.status().map(|status| status.as_u16()), Some(403));
/// sandbox.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct SandboxBuilder {
    host: IpAddr,
    port: u16,
    fixtures: Option<Fixtures>,
    token: Option<Token>,
    extra_tokens: Vec<Token>,
    signing_secret: Option<SecretString>,
    webhook_urls: Vec<String>,
    webhook_repeat: Option<NonZeroU32>,
    retry: WebhookRetry,
    webhook_limits: WebhookLimits,
    faults: Option<Faults>,
    limits: Limits,
    admin_token: Option<SecretString>,
    insecure_admin: bool,
}

impl Default for SandboxBuilder {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            fixtures: None,
            token: None,
            extra_tokens: Vec::new(),
            signing_secret: None,
            webhook_urls: Vec::new(),
            webhook_repeat: None,
            retry: WebhookRetry::default(),
            webhook_limits: WebhookLimits::default(),
            faults: None,
            limits: Limits::default(),
            admin_token: None,
            insecure_admin: false,
        }
    }
}

impl SandboxBuilder {
    /// The address to listen on (default `127.0.0.1`). A host other than loopback opens the
    /// admin routes to the network, so [`start`](Self::start) refuses it unless an
    /// [`admin_token`](Self::admin_token) is set or [`insecure_admin`](Self::insecure_admin)
    /// says to.
    #[must_use]
    pub fn host(mut self, host: IpAddr) -> Self {
        self.host = host;
        self
    }

    /// The port to listen on (default 0: a free port).
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Serves this workspace instead of the built-in demo.
    #[must_use]
    pub fn fixtures(mut self, fixtures: Fixtures) -> Self {
        self.fixtures = Some(fixtures);
        self
    }

    /// The main token, the one [`Sandbox::identifier`] and [`Sandbox::key`] name. By default a
    /// plugin token with a fresh random key, every scope, and Crisp's quota of 5,000 a day.
    #[must_use]
    pub fn token(mut self, token: Token) -> Self {
        self.token = Some(token);
        self
    }

    /// Another token the sandbox accepts, say one with fewer grants.
    #[must_use]
    pub fn add_token(mut self, token: Token) -> Self {
        self.extra_tokens.push(token);
        self
    }

    /// The plugin's webhook signing secret (by default a fresh random one).
    #[must_use]
    pub fn signing_secret(mut self, secret: impl Into<String>) -> Self {
        self.signing_secret = Some(SecretString::from(secret.into()));
        self
    }

    /// Posts webhook deliveries to this URL from the start.
    #[must_use]
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_urls = vec![url.into()];
        self
    }

    /// Also posts webhook deliveries to this URL: each event goes to every URL given (with
    /// [`webhook_url`](Self::webhook_url) and this), the same body to each, as Crisp's one
    /// delivery would reach several replicas of a receiver.
    #[must_use]
    pub fn add_webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_urls.push(url.into());
        self
    }

    /// Posts every `every`-th event once more after it was delivered, with the next
    /// `X-Delivery-Attempt-Count` (as Crisp does when it did not see the answer in time), so a
    /// receiver's handling of retried deliveries is tested. Never by default.
    #[must_use]
    pub fn webhook_repeat(mut self, every: NonZeroU32) -> Self {
        self.webhook_repeat = Some(every);
        self
    }

    /// How failed deliveries are retried.
    #[must_use]
    pub fn webhook_retry(mut self, retry: WebhookRetry) -> Self {
        self.retry = retry;
        self
    }

    /// How many deliveries may wait and be in progress (default [`WebhookLimits::default`]: 1,024
    /// waiting, 8 in progress); beyond that they are dropped.
    #[must_use]
    pub fn webhook_limits(mut self, limits: WebhookLimits) -> Self {
        self.webhook_limits = limits;
        self
    }

    /// Injects these faults from the start.
    #[must_use]
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = Some(faults);
        self
    }

    /// The admin routes (`/_sandbox/*`) need `Authorization: Bearer <token>` (compared in
    /// constant time), whatever the host.
    #[must_use]
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.admin_token = Some(SecretString::from(token.into()));
        self
    }

    /// Starts on a host other than loopback without an admin token, leaving the admin routes
    /// open to anyone who can reach the sandbox (they can mint tokens, read the whole workspace
    /// and point webhooks anywhere). A warning is logged when it does.
    #[must_use]
    pub fn insecure_admin(mut self, insecure: bool) -> Self {
        self.insecure_admin = insecure;
        self
    }

    /// What the server lets its clients hold (default [`Limits::default`]: a request head must
    /// arrive within 10 s, an idle kept-alive connection is closed after 10 s, and at most 512
    /// connections are open at once; more wait to be accepted).
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Starts the sandbox on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// When the address cannot be bound, the fixtures do not fit the spec, or the admin routes
    /// would be open to the network without a token (see [`host`](Self::host)).
    pub async fn start(self) -> Result<Sandbox, Error> {
        let admin_token = match &self.admin_token {
            Some(token) if token.expose_secret().trim().is_empty() => {
                return Err(Error::AdminRoutes(
                    "the admin token is blank: anyone could send it".to_owned(),
                ));
            }
            token => token.as_ref().map(|t| auth::digest(t.expose_secret())),
        };
        if let Some(faults) = &self.faults {
            faults.check().map_err(Error::Faults)?;
        }
        let exposure = admin::exposure(self.host, admin_token.is_some(), self.insecure_admin)
            .map_err(Error::AdminRoutes)?;
        let routes = table::routes();
        let validators = Validators::shared().map_err(Error::Spec)?;
        let fixtures = self.fixtures.unwrap_or_else(Fixtures::demo);
        let workspace = load::workspace(&fixtures, &validators).map_err(Error::Fixtures)?;
        let token = match self.token {
            Some(token) => token,
            None => Token::plugin(DEMO_IDENTIFIER, random_key().map_err(Error::Random)?),
        };
        let secret = match self.signing_secret {
            Some(secret) => secret,
            None => SecretString::from(random_key().map_err(Error::Random)?),
        };
        let mut tokens = vec![token.clone()];
        tokens.extend(self.extra_tokens);
        let listener = tokio::net::TcpListener::bind(SocketAddr::new(self.host, self.port))
            .await
            .map_err(Error::Bind)?;
        let addr = listener.local_addr().map_err(Error::Bind)?;
        let info = SandboxInfo {
            base_url: format!("http://{addr}/v1"),
            website_id: workspace.website_id.clone(),
            identifier: token.identifier.clone(),
            key: token.key().to_owned(),
            tier: token.tier.as_str().to_owned(),
            signing_secret: secret.expose_secret().to_owned(),
        };
        let app = Arc::new(App {
            routes,
            validators,
            initial: workspace.clone(),
            workspace: Mutex::new(workspace),
            tokens: Mutex::new(tokens),
            quota: Mutex::new(Quota::default()),
            faults: Mutex::new(self.faults.map(FaultState::new)),
            webhooks: Webhooks::new(
                secret,
                self.webhook_urls,
                self.retry,
                self.webhook_limits,
                self.webhook_repeat,
            ),
            api_requests: Default::default(),
            admin_token,
        });
        let router = server::router(Arc::clone(&app));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(crisp_serve::serve(listener, router, self.limits, async {
            let _ = stopped.await;
        }));
        tracing::info!(base_url = %info.base_url, "crisp sandbox listening");
        if let Some(warning) = exposure.warning(&format!("http://{addr}/_sandbox")) {
            tracing::warn!("{warning}");
        }
        Ok(Sandbox {
            info,
            addr,
            app,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

/// A running sandbox. Dropping it stops the server.
pub struct Sandbox {
    info: SandboxInfo,
    addr: SocketAddr,
    app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox").field("info", &self.info).finish()
    }
}

impl Sandbox {
    /// Starts a sandbox with the demo workspace on a free loopback port.
    ///
    /// # Errors
    ///
    /// When no loopback port can be bound.
    pub async fn start() -> Result<Self, Error> {
        Self::builder().start().await
    }

    /// Options: host, port, fixtures, tokens, webhooks, faults.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    /// What a client needs: base URL, website id, credentials, tier, signing secret.
    pub fn info(&self) -> &SandboxInfo {
        &self.info
    }

    /// The base URL of the API, ending in `/v1`.
    pub fn base_url(&self) -> &str {
        &self.info.base_url
    }

    /// The root of the server, where the `/_sandbox` admin routes are.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The workspace's website id.
    pub fn website_id(&self) -> &str {
        &self.info.website_id
    }

    /// The main token's identifier.
    pub fn identifier(&self) -> &str {
        &self.info.identifier
    }

    /// The main token's key. Don't log it.
    pub fn key(&self) -> &str {
        &self.info.key
    }

    /// The main token as `crisp-api` credentials, for a client of this sandbox.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let sandbox = crisp_sandbox::Sandbox::start().await?;
    /// let client = crisp_api::Client::builder(sandbox.credentials())
    ///     .base_url(sandbox.base_url())
    ///     .build()?;
    /// # let _ = client;
    /// # Ok(())
    /// # }
    /// ```
    pub fn credentials(&self) -> crisp_api::Credentials {
        crisp_api::Credentials::new(self.tier(), self.identifier(), self.key())
    }

    /// The main token's tier.
    pub fn tier(&self) -> Tier {
        self.info.tier.parse().unwrap_or(Tier::Plugin)
    }

    /// The webhook signing secret. Don't log it.
    pub fn signing_secret(&self) -> &str {
        &self.info.signing_secret
    }

    /// Registers the webhook endpoint (or, with `None`, stops delivering).
    pub fn set_webhook_url(&self, url: Option<&str>) {
        self.app.webhooks.set_endpoint(url.map(str::to_owned), None);
    }

    /// Registers these webhook endpoints, in place of any other: each event is posted to
    /// every one (the same body), as to several replicas of a receiver. An empty list stops
    /// delivering.
    pub fn set_webhook_urls(&self, urls: &[&str]) {
        self.app
            .webhooks
            .set_endpoints(urls.iter().map(|url| (*url).to_owned()).collect());
    }

    /// Posts every `every`-th event once more after it was delivered (see
    /// [`SandboxBuilder::webhook_repeat`]); `None` stops it.
    pub fn set_webhook_repeat(&self, every: Option<NonZeroU32>) {
        self.app.webhooks.set_repeat(every);
    }

    /// Every webhook delivery so far, oldest first.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.app.webhooks.deliveries()
    }

    /// How many webhook deliveries were dropped because the queue was full (see
    /// [`WebhookLimits`]).
    pub fn dropped_deliveries(&self) -> u64 {
        self.app.webhooks.dropped()
    }

    /// Injects faults from now on (or, with `None`, stops).
    ///
    /// # Errors
    ///
    /// When a share is outside 0 to 1 (the faults in force stay as they were).
    pub fn set_faults(&self, faults: Option<Faults>) -> Result<(), FaultsError> {
        self.app.set_faults(faults)
    }

    /// Accepts another token from now on (replacing one with the same identifier).
    pub fn add_token(&self, token: Token) {
        self.app.add_token(token);
    }

    /// How many requests the API (`/v1`) has received since the sandbox started, whatever
    /// their answer (a 401, a 404 and a fault count too; the admin routes do not). A test reads
    /// it before and after to prove that a client sent nothing. [`reset`](Sandbox::reset) does
    /// not change it.
    pub fn api_requests(&self) -> u64 {
        self.app
            .api_requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The workspace now, as fixtures.
    pub fn fixtures(&self) -> Fixtures {
        self.app.fixtures()
    }

    /// Back to the workspace as loaded, and every quota unspent.
    pub fn reset(&self) {
        self.app.reset();
    }

    /// Stops accepting connections and waits for the requests in flight.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Serves until `signal` completes (the binary passes Ctrl-C), then shuts down as
    /// [`shutdown`](Sandbox::shutdown) does.
    pub async fn run_until(self, signal: impl std::future::Future<Output = ()>) {
        signal.await;
        self.shutdown().await;
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

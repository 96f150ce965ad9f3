//! [`Client`] and [`ClientBuilder`]: the only way to call Crisp, with credentials, timeouts,
//! grants, confirmation, a daily budget, a retry policy and an audit sink.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue, USER_AGENT};

use crate::call::audit::{AuditFn, AuditRecord};
use crate::call::body::DEFAULT_MAX_RESPONSE_BYTES;
use crate::call::dynamic::DynamicCall;
use crate::call::guard::{Budget, BudgetStatus, ConfirmFn, Confirmation};
use crate::call::retry::RetryPolicy;
use crate::call::transport::{Settings, Transport};
use crate::call::{Pipeline, Policies};
use crate::grants::Grants;
use crate::operation::Operation;
use crate::{Credentials, Tier};

/// The production base URL of the Crisp REST API v1.
///
/// ```
/// use crisp_api::{Client, Credentials, DEFAULT_BASE_URL};
///
/// let client = Client::builder(Credentials::plugin("identifier", "key")).build()?;
/// assert_eq!(client.base_url(), DEFAULT_BASE_URL);
/// # Ok::<(), crisp_api::BuildError>(())
/// ```
pub const DEFAULT_BASE_URL: &str = "https://api.crisp.chat/v1";

/// The `User-Agent` this crate sends unless told otherwise.
///
/// ```
/// assert!(crisp_api::DEFAULT_USER_AGENT.starts_with("crisp-api-rust/"));
/// ```
pub const DEFAULT_USER_AGENT: &str = concat!("crisp-api-rust/", env!("CARGO_PKG_VERSION"));

/// The name of the header that carries the token's tier.
///
/// ```
/// assert_eq!(crisp_api::TIER_HEADER, "x-crisp-tier");
/// ```
pub const TIER_HEADER: &str = "x-crisp-tier";

/// A Crisp REST API client: a method per operation of the spec, each returning a builder whose
/// `send()` goes through the client's grants, confirmation, budget, retries and audit.
///
/// Cheap to clone (the clones share one connection pool, budget and settings). Build one with
/// [`Client::builder`].
///
/// ```no_run
/// use crisp_api::{Client, Credentials, Grants, Operation};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::builder(Credentials::plugin("token-identifier", "token-key"))
///     .grants(Grants::for_operations(&[&Operation::GET_CONVERSATION_STATE]))
///     .build()?;
/// let state = client
///     .get_conversation_state()
///     .website_id("8c842203-7ed8-4e29-a608-7cf78a7d2fcc")
///     .session_id("session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881")
///     .send()
///     .await?;
/// println!("{:?}", state.data.state);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    /// What calls run on: the transport and the policies.
    pipeline: Pipeline,
    tier: Tier,
    identifier: String,
}

impl Client {
    /// Starts building a client authenticated with `credentials`, against
    /// [`DEFAULT_BASE_URL`] with a 10 s timeout (as Crisp's official clients use), the default
    /// [`RetryPolicy`], no grants (nothing refused), no confirmation and no budget.
    ///
    /// ```
    /// use crisp_api::{Client, Credentials};
    ///
    /// let client = Client::builder(Credentials::plugin("identifier", "key")).build()?;
    /// # Ok::<(), crisp_api::BuildError>(())
    /// ```
    pub fn builder(credentials: Credentials) -> ClientBuilder {
        ClientBuilder {
            credentials,
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            grants: None,
            confirm: None,
            daily_budget: None,
            retry: RetryPolicy::default(),
            on_audit: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// Today's use of the daily budget, if one is set.
    ///
    /// ```
    /// use crisp_api::{Client, Credentials};
    ///
    /// let client = Client::builder(Credentials::plugin("identifier", "key")).build()?;
    /// assert!(client.budget().is_none());
    /// # Ok::<(), crisp_api::BuildError>(())
    /// ```
    pub fn budget(&self) -> Option<BudgetStatus> {
        self.inner
            .pipeline
            .policies
            .budget
            .as_ref()
            .map(Budget::status)
    }

    /// The grants the client checks every call against, if any.
    ///
    /// ```
    /// use crisp_api::{Client, Credentials, Grants};
    ///
    /// let grants: Grants = "website:visitors=read".parse().unwrap();
    /// let client = Client::builder(Credentials::plugin("identifier", "key")).grants(grants.clone()).build()?;
    /// assert_eq!(client.grants(), Some(&grants));
    /// # Ok::<(), crisp_api::BuildError>(())
    /// ```
    pub fn grants(&self) -> Option<&Grants> {
        self.inner.pipeline.policies.grants.as_ref()
    }

    /// The base URL calls go to, without a trailing `/`.
    ///
    /// ```
    /// use crisp_api::{Client, Credentials};
    ///
    /// let client = Client::builder(Credentials::plugin("identifier", "key")).build()?;
    /// assert_eq!(client.base_url(), "https://api.crisp.chat/v1");
    /// # Ok::<(), crisp_api::BuildError>(())
    /// ```
    pub fn base_url(&self) -> &str {
        self.inner.pipeline.transport.base_url()
    }

    /// Starts a call of `operation` with arguments given as text and JSON, for code that
    /// receives them at run time (a tool server, a gateway). Typed code should use the
    /// operation's own method, such as [`Client::send_message`].
    ///
    /// ```no_run
    /// # use crisp_api::{Client, Operation};
    /// # async fn run(client: Client) -> Result<(), crisp_api::Error> {
    /// let operation = Operation::find("get_conversation").expect("an operation of the spec");
    /// let envelope = client
    ///     .call(operation)
    ///     .path("website_id", "8c842203-7ed8-4e29-a608-7cf78a7d2fcc")
    ///     .path("session_id", "session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881")
    ///     .send()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn call(&self, operation: &'static Operation) -> DynamicCall<'_> {
        DynamicCall::new(&self.inner.pipeline, operation)
    }
}

/// The generated builders' `send()` hands the client to the call pipeline as this.
impl AsRef<Pipeline> for Client {
    fn as_ref(&self) -> &Pipeline {
        &self.inner.pipeline
    }
}

impl fmt::Debug for Client {
    /// The settings, never the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Client")
            .field("tier", &inner.tier)
            .field("identifier", &inner.identifier)
            .field("transport", &inner.pipeline.transport)
            .field("policies", &inner.pipeline.policies)
            .finish()
    }
}

/// Builds a [`Client`].
///
/// ```
/// use std::time::Duration;
/// use crisp_api::{Client, Credentials, Grants, Operation, RetryPolicy};
///
/// let client = Client::builder(Credentials::plugin("identifier", "key"))
///     .timeout(Duration::from_secs(20))
///     .grants(Grants::for_operations(&[&Operation::LIST_CONVERSATIONS, &Operation::SEND_MESSAGE]))
///     .confirm(|request| {
///         println!("about to call {request}");
///         true
///     })
///     .daily_budget(4_000)
///     .retry(RetryPolicy::default().max_attempts(4))
///     .on_audit(|record| println!("{record}"))
///     .build()?;
/// # Ok::<(), crisp_api::BuildError>(())
/// ```
#[must_use = "call .build() to get a client"]
pub struct ClientBuilder {
    credentials: Credentials,
    base_url: String,
    timeout: Duration,
    connect_timeout: Duration,
    user_agent: String,
    grants: Option<Grants>,
    confirm: Option<Box<ConfirmFn>>,
    daily_budget: Option<u32>,
    retry: RetryPolicy,
    on_audit: Option<Box<AuditFn>>,
    max_response_bytes: usize,
}

impl fmt::Debug for ClientBuilder {
    /// The settings, never the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("credentials", &self.credentials)
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("grants", &self.grants.as_ref().map(ToString::to_string))
            .field("confirm", &self.confirm.is_some())
            .field("daily_budget", &self.daily_budget)
            .field("retry", &self.retry)
            .field("on_audit", &self.on_audit.is_some())
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Another base URL, such as a local sandbox or a mock server in tests. A trailing `/` is
    /// ignored.
    ///
    /// ```
    /// # use crisp_api::{Client, Credentials};
    /// let client = Client::builder(Credentials::plugin("identifier", "key"))
    ///     .base_url("http://127.0.0.1:8080/v1/")
    ///     .build()?;
    /// assert_eq!(client.base_url(), "http://127.0.0.1:8080/v1");
    /// # Ok::<(), crisp_api::BuildError>(())
    /// ```
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// The limit on one request, from connecting to reading the body (10 s by default).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use crisp_api::{Client, Credentials};
    /// let builder = Client::builder(Credentials::plugin("identifier", "key")).timeout(Duration::from_secs(5));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The limit on connecting (10 s by default).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use crisp_api::{Client, Credentials};
    /// let builder = Client::builder(Credentials::plugin("identifier", "key")).connect_timeout(Duration::from_secs(2));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Another `User-Agent`, such as your integration's name and version.
    ///
    /// ```
    /// # use crisp_api::{Client, Credentials};
    /// let builder = Client::builder(Credentials::plugin("identifier", "key")).user_agent("my-agent/1.2");
    /// ```
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// The scopes the token is granted: every call outside them is refused with
    /// [`Error::NotGranted`](crate::Error::NotGranted) before a byte goes on the wire. Without
    /// grants nothing is refused (Crisp still refuses what the token cannot do).
    ///
    /// ```
    /// # use crisp_api::{Client, Credentials, Grants};
    /// let grants: Grants = "website:conversation:sessions=read, website:conversation:messages=read-write"
    ///     .parse()
    ///     .expect("the Marketplace's text form");
    /// let builder = Client::builder(Credentials::plugin("identifier", "key")).grants(grants);
    /// ```
    pub fn grants(mut self, grants: Grants) -> Self {
        self.grants = Some(grants);
        self
    }

    /// Asks `confirm` before every operation that reaches a customer (a message, a campaign) or
    /// cannot be undone (a removal): it gets the operation and the ids it acts on, and returns
    /// whether to go ahead. No means [`Error::NotConfirmed`](crate::Error::NotConfirmed) and no
    /// request. Without a callback such calls go out as any other.
    ///
    /// The callback runs on the calling task: keep it quick, or decide beforehand.
    ///
    /// ```
    /// # use crisp_api::{Client, Credentials};
    /// let builder = Client::builder(Credentials::plugin("identifier", "key"))
    ///     .confirm(|request| !request.operation().is_irreversible());
    /// ```
    pub fn confirm<F>(mut self, confirm: F) -> Self
    where
        F: Fn(&Confirmation<'_>) -> bool + Send + Sync + 'static,
    {
        self.confirm = Some(Box::new(confirm));
        self
    }

    /// Counts requests (retries included) per UTC day and refuses with
    /// [`Error::BudgetSpent`](crate::Error::BudgetSpent) once `requests` are spent, so that an
    /// agent in a loop cannot burn the token's daily quota (5,000 requests a day for a plugin
    /// token by default, 10,000 for a website token) and lock the whole integration out. Off by
    /// default. [`Client::budget`] tells what is left.
    ///
    /// ```
    /// # use crisp_api::{Client, Credentials};
    /// let builder = Client::builder(Credentials::plugin("identifier", "key")).daily_budget(1_000);
    /// ```
    pub fn daily_budget(mut self, requests: u32) -> Self {
        self.daily_budget = Some(requests);
        self
    }

    /// When to repeat a failed request; [`RetryPolicy::never`] switches retries off.
    ///
    /// ```
    /// # use crisp_api::{Client, Credentials, RetryPolicy};
    /// let builder = Client::builder(Credentials::plugin("identifier", "key")).retry(RetryPolicy::never());
    /// ```
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Also hands every call's [`AuditRecord`] to `sink` (it always goes to the
    /// [`AUDIT_TARGET`](crate::AUDIT_TARGET) `tracing` target), such as an agent platform's own
    /// log of what each agent did.
    ///
    /// ```
    /// # use crisp_api::{Client, Credentials};
    /// let builder = Client::builder(Credentials::plugin("identifier", "key"))
    ///     .on_audit(|record| eprintln!("audit: {record}"));
    /// ```
    pub fn on_audit<F>(mut self, sink: F) -> Self
    where
        F: Fn(&AuditRecord) + Send + Sync + 'static,
    {
        self.on_audit = Some(Box::new(sink));
        self
    }

    /// The cap on a response body (4 MiB by default): a larger answer ends the call with
    /// [`Error::TooLarge`](crate::Error::TooLarge) without being read whole.
    ///
    /// ```
    /// # use crisp_api::{Client, Credentials};
    /// let builder = Client::builder(Credentials::plugin("identifier", "key")).max_response_bytes(1 << 20);
    /// ```
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Builds the client. Fails on a base URL that is not http(s) with a host, or that holds a
    /// user name, password, query or fragment; credentials a header cannot carry; or an HTTP
    /// stack that cannot start.
    ///
    /// ```
    /// use crisp_api::{BuildError, Client, Credentials};
    ///
    /// let error = Client::builder(Credentials::plugin("identifier", "key\r\n")).build().unwrap_err();
    /// assert!(matches!(error, BuildError::InvalidCredentials { .. }));
    /// ```
    pub fn build(self) -> Result<Client, BuildError> {
        let base_url = self.base_url.trim_end_matches('/').to_owned();
        check_base_url(&base_url)?;
        self.credentials
            .check()
            .map_err(|problem| BuildError::InvalidCredentials { problem })?;
        let basic = self.credentials.authorization();
        let mut authorization =
            HeaderValue::from_str(&basic).map_err(|_| BuildError::InvalidCredentials {
                problem: "it cannot be carried by a header",
            })?;
        authorization.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, authorization);
        headers.insert(
            HeaderName::from_static(TIER_HEADER),
            HeaderValue::from_static(self.credentials.tier().as_str()),
        );
        headers.insert(
            USER_AGENT,
            HeaderValue::from_str(&self.user_agent).map_err(|_| BuildError::InvalidUserAgent)?,
        );
        let transport = Transport::new(Settings {
            base_url,
            headers,
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            max_response_bytes: self.max_response_bytes,
            secrets: [
                self.credentials.key().into(),
                basic.trim_start_matches("Basic ").into(),
            ],
        })
        .map_err(|e| BuildError::Http(e.to_string()))?;
        let policies = Policies {
            grants: self.grants,
            confirm: self.confirm,
            budget: self
                .daily_budget
                .map(|limit| Budget::new(limit, SystemTime::now)),
            retry: self.retry,
            on_audit: self.on_audit,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                pipeline: Pipeline {
                    transport,
                    policies,
                },
                tier: self.credentials.tier(),
                identifier: self.credentials.identifier().to_owned(),
            }),
        })
    }
}

/// Refuses a base URL that is not http(s) with a host, or that holds what would be lost or
/// leaked: a user name or password (the token goes in [`Credentials`]), a query or a fragment
/// (the operations' paths are appended to the base URL). A URL holding a user name or password
/// is not quoted back.
fn check_base_url(base_url: &str) -> Result<(), BuildError> {
    let refuse = |url: &str, reason: &str| {
        Err(BuildError::InvalidBaseUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        })
    };
    let url = match reqwest::Url::parse(base_url) {
        Ok(url) => url,
        Err(e) if base_url.contains('@') => return refuse("(not shown)", &e.to_string()),
        Err(e) => return refuse(base_url, &e.to_string()),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return refuse(
            "(not shown)",
            "it holds a user name or password; give the token through Credentials",
        );
    }
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return refuse(base_url, "the scheme must be http or https, with a host");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return refuse(
            base_url,
            "it holds a query or fragment, which the operations' paths would be appended to",
        );
    }
    Ok(())
}

/// Why a client could not be built.
///
/// ```
/// use crisp_api::{BuildError, Client, Credentials};
///
/// let error = Client::builder(Credentials::plugin("identifier", "key"))
///     .base_url("ftp://example.com")
///     .build()
///     .unwrap_err();
/// assert!(matches!(error, BuildError::InvalidBaseUrl { .. }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The base URL does not parse or is not http(s).
    #[error("invalid base URL `{url}`: {reason}; pass something like https://api.crisp.chat/v1")]
    InvalidBaseUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The identifier or key is empty or holds characters a header cannot carry.
    #[error(
        "the token identifier or key is unusable: {problem}; copy them again from the Crisp \
         Marketplace or app"
    )]
    InvalidCredentials {
        /// What is wrong (never the key itself).
        problem: &'static str,
    },
    /// The user agent holds characters a header cannot carry.
    #[error("the user agent holds characters an HTTP header cannot carry")]
    InvalidUserAgent,
    /// The HTTP client could not start, for example its TLS backend.
    #[error("the HTTP client could not be built: {0}")]
    Http(String),
}

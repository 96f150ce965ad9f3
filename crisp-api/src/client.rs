//! Building a [`Client`]: base URL, credentials, timeouts.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue, USER_AGENT};

use crate::hooks::Context;
use crate::{Client, Credentials};

/// The production base URL of the Crisp REST API v1.
pub const DEFAULT_BASE_URL: &str = "https://api.crisp.chat/v1";

/// The `User-Agent` this crate sends unless told otherwise.
pub const DEFAULT_USER_AGENT: &str = concat!("crisp-api-rust/", env!("CARGO_PKG_VERSION"));

/// The name of the header that carries the token's tier.
pub const TIER_HEADER: &str = "x-crisp-tier";

/// Builds a [`Client`].
///
/// ```
/// use std::time::Duration;
/// use crisp_api::{Client, Credentials};
///
/// let client = Client::builder(Credentials::plugin("identifier", "key"))
///     .timeout(Duration::from_secs(20))
///     .build()?;
/// # Ok::<(), crisp_api::BuildError>(())
/// ```
#[derive(Debug)]
#[must_use = "call .build() to get a client"]
pub struct ClientBuilder {
    credentials: Credentials,
    base_url: String,
    timeout: Duration,
    connect_timeout: Duration,
    user_agent: String,
}

impl Client {
    /// Starts building a client authenticated with `credentials`, against
    /// [`DEFAULT_BASE_URL`] with a 10 s timeout, as Crisp's official clients use.
    pub fn builder(credentials: Credentials) -> ClientBuilder {
        ClientBuilder {
            credentials,
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
        }
    }
}

impl ClientBuilder {
    /// Another base URL, such as a mock server in tests. A trailing `/` is ignored.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// The limit on a whole request, from connecting to reading the body.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The limit on connecting.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Another `User-Agent`, such as your integration's name and version.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client, BuildError> {
        let base_url = self.base_url.trim_end_matches('/').to_owned();
        match reqwest::Url::parse(&base_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {}
            Ok(_) => {
                return Err(BuildError::InvalidBaseUrl {
                    url: base_url,
                    reason: "the scheme must be http or https".into(),
                });
            }
            Err(e) => {
                return Err(BuildError::InvalidBaseUrl {
                    url: base_url,
                    reason: e.to_string(),
                });
            }
        }
        let mut authorization = HeaderValue::from_str(&self.credentials.authorization())
            .map_err(|_| BuildError::InvalidCredentials)?;
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
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .build()
            .map_err(|e| BuildError::Http(e.to_string()))?;
        Ok(Client::new_with_client(&base_url, http, Context::default()))
    }
}

/// Why a client could not be built.
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
    /// The identifier or key holds characters a header cannot carry.
    #[error(
        "the token identifier or key holds characters an HTTP header cannot carry \
         (such as a newline); copy them again from the Crisp Marketplace or app"
    )]
    InvalidCredentials,
    /// The user agent holds characters a header cannot carry.
    #[error("the user agent holds characters an HTTP header cannot carry")]
    InvalidUserAgent,
    /// The HTTP client could not start, for example its TLS backend.
    #[error("the HTTP client could not be built: {0}")]
    Http(String),
}

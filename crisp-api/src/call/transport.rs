//! The HTTP side of the client as one value: the connection pool with its default headers and
//! timeouts, the base URL, the response-size cap, the redirect policy, and the secrets to scrub
//! from what an error quotes. `ClientBuilder` builds it, the client owns it, and each exchange
//! is handed it; nothing else of the client reaches an exchange.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderMap;

use super::request::Request;
use crate::path;
use crate::types::SecretString;

/// What the transport is built from: the client's configuration, already checked.
pub(crate) struct Settings {
    /// The base URL, without a trailing `/`.
    pub(crate) base_url: String,
    /// Sent with every request: authorization (marked sensitive), tier, user agent.
    pub(crate) headers: HeaderMap,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) max_response_bytes: usize,
    /// The token key and the `Basic` credential that carries it.
    pub(crate) secrets: [SecretString; 2],
}

/// The connection pool and everything an exchange needs to send and read.
pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    base_url: String,
    timeout: Duration,
    max_response_bytes: usize,
    /// The token key and the `Basic` credential that carries it: only to scrub them from
    /// what an error quotes of an answer that echoes them (a proxy page, a request echo).
    secrets: [SecretString; 2],
}

impl Transport {
    /// Starts the HTTP stack (its TLS backend can fail to start).
    pub(crate) fn new(settings: Settings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .default_headers(settings.headers)
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            .redirect(redirect_policy())
            .build()?;
        Ok(Self {
            http,
            base_url: settings.base_url,
            timeout: settings.timeout,
            max_response_bytes: settings.max_response_bytes,
            secrets: settings.secrets,
        })
    }

    /// The base URL, without a trailing `/`.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The URL of `request`: the base URL and the operation's path, each id as one
    /// percent-encoded segment.
    pub(crate) fn url(&self, request: &Request) -> String {
        let template = request.operation.path;
        let mut url = String::with_capacity(self.base_url.len() + template.len() + 64);
        url.push_str(&self.base_url);
        path::write(&mut url, template, &request.ids);
        url
    }

    /// The limit on one request, from connecting to reading the body.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The cap on a response body.
    pub(crate) fn max_response_bytes(&self) -> usize {
        self.max_response_bytes
    }

    /// What must never be quoted from an answer: the key and the `Basic` credential.
    pub(crate) fn secrets(&self) -> [&str; 2] {
        let [key, basic] = &self.secrets;
        [key.expose_secret(), basic.expose_secret()]
    }
}

impl fmt::Debug for Transport {
    /// The settings, never the secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish_non_exhaustive()
    }
}

/// The redirect policy refused a redirect to another origin (`scheme://host:port`).
#[derive(Debug)]
pub(crate) struct CrossOriginRedirect(pub(crate) String);

impl fmt::Display for CrossOriginRedirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused a redirect to another origin ({})", self.0)
    }
}

impl StdError for CrossOriginRedirect {}

/// Follows redirects within the base URL's origin (at most 5); refuses any other.
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let Some(first) = attempt.previous().first() else {
            return attempt.follow();
        };
        let target = attempt.url().origin();
        if target != first.origin() {
            let origin = target.ascii_serialization();
            return attempt.error(CrossOriginRedirect(origin));
        }
        if attempt.previous().len() > 5 {
            // The last 3xx becomes the answer, which `Answer::decode` turns into a redirect
            // error: not a broken connection, and not retried.
            return attempt.stop();
        }
        attempt.follow()
    })
}

//! The HTTP side of the client as one value: the connection pool with its default headers and
//! timeouts, the base URL, the response-size cap, the redirect policy, and the secrets to scrub
//! from what an error quotes. `ClientBuilder` builds it, the client owns it, and each exchange
//! is handed it; nothing else of the client reaches an exchange.
//!
//! Redirects are followed here rather than by reqwest, whose policy cannot see the method:
//! reqwest turns a `POST` answered by 301, 302 or 303 into a `GET` without a body, so a
//! redirected message would be reported as sent with whatever the `GET` answered.
//! [`next_hop`] decides each redirect: within the base URL's origin, 5 hops at most, and never
//! one that would change a write's method.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION};
use reqwest::{Method, StatusCode, Url};

use super::failure::Failure;
use super::request::Request;
use crate::path;
use crate::types::SecretString;

/// The most redirects one request follows.
const MAX_HOPS: usize = 5;

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
    http: reqwest::Client,
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
            .redirect(reqwest::redirect::Policy::none())
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

    /// Sends `request` and follows its redirects as [`next_hop`] allows: the last answer,
    /// where the followed redirects led, and the redirect it did not follow, if any.
    ///
    /// The first request has the client's timeout; the redirects it leads to share one more.
    /// Once the first request was answered, a failed hop is never "not sent": a retry must
    /// not take it for a request that never reached Crisp.
    pub(crate) async fn send(&self, request: &Request) -> Result<Sent, Failure> {
        let method = Method::from(request.operation.method);
        let query = Some(&request.query[..]).filter(|query| !query.is_empty());
        let body = request.body.as_ref();
        let built = self.build(method.clone(), self.url(request), query, body)?;
        let mut response = self
            .http
            .execute(built)
            .await
            .map_err(|error| Failure::http(error, || self.url(request)))?;
        let mut hops = 0;
        let mut first_url = None;
        let mut deadline = None;
        while response.status().is_redirection() {
            // No `Location`, or one that is not text: not a redirect this client can follow,
            // and the answer stands as it is.
            let Some(Ok(location)) = response.headers().get(LOCATION).map(|l| l.to_str()) else {
                break;
            };
            let first = first_url.get_or_insert_with(|| response.url().clone());
            let current = response.url();
            let (url, next) =
                match next_hop(&method, response.status(), current, location, first, hops) {
                    Hop::Follow { url, method } => (url, method),
                    Hop::Refuse(location) => {
                        return Ok(Sent {
                            redirected_to: (hops > 0).then(|| current.path().to_owned()),
                            response,
                            unfollowed: Some(location),
                        });
                    }
                };
            let body = if next == method { body } else { None };
            let mut hop = self.build(next, url, None, body)?;
            let deadline = *deadline.get_or_insert_with(|| Instant::now() + self.timeout);
            *hop.timeout_mut() = Some(deadline.saturating_duration_since(Instant::now()));
            response = self
                .http
                .execute(hop)
                .await
                .map_err(|error| Failure::http(error, || self.url(request)).once_sent())?;
            hops += 1;
        }
        Ok(Sent {
            redirected_to: (hops > 0).then(|| response.url().path().to_owned()),
            response,
            unfollowed: None,
        })
    }

    /// One HTTP request: JSON accepted, the query and JSON body when given, and the client's
    /// default headers (credentials, tier, user agent).
    fn build(
        &self,
        method: Method,
        url: impl reqwest::IntoUrl,
        query: Option<&[(Cow<'static, str>, String)]>,
        body: Option<&Bytes>,
    ) -> Result<reqwest::Request, Failure> {
        let mut builder = self
            .http
            .request(method, url)
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(query) = query {
            builder = builder.query(query);
        }
        if let Some(body) = body {
            builder = builder
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body.clone());
        }
        Ok(builder.build()?)
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

/// What [`Transport::send`] got back.
pub(crate) struct Sent {
    /// The last answer: the request's own, or the last redirect's.
    pub(crate) response: reqwest::Response,
    /// The path the followed redirects led to, when any were followed.
    pub(crate) redirected_to: Option<String>,
    /// Where the redirect that was not followed led (see [`Hop::Refuse`]), if `response` is
    /// one.
    pub(crate) unfollowed: Option<String>,
}

/// What to do with a redirect.
#[derive(Debug, PartialEq)]
enum Hop {
    /// Send `method` to `url` (with the request's body when the method is kept).
    Follow { url: Url, method: Method },
    /// Do not follow: the call ends with a redirect error naming this, the origin of a
    /// redirect to another origin and the `Location` of any other.
    Refuse(String),
}

/// Decides a redirect: a `status` answer with `Location: location`, to a `method` request for
/// `current`, after `hops` redirects followed from the request for `first`.
///
/// Followed: 301, 302 and 303 to a `GET` (as a `GET`), 307 and 308 to any method (the same
/// method and body), within the origin of `first`, 5 at most. Refused: another origin, a sixth hop, a 3xx
/// that is no redirect (300, 304...), and 301, 302 or 303 to any other method, which HTTP
/// clients turn into a `GET` without the body: the write would not be sent, and the `GET`'s
/// answer would be taken for its result.
fn next_hop(
    method: &Method,
    status: StatusCode,
    current: &Url,
    location: &str,
    first: &Url,
    hops: usize,
) -> Hop {
    let refuse = || Hop::Refuse(location.to_owned());
    let keeps_method = match status {
        StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND | StatusCode::SEE_OTHER => false,
        StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT => true,
        _ => return refuse(),
    };
    let Ok(url) = current.join(location) else {
        return refuse();
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Hop::Refuse(format!("{}:", url.scheme()));
    }
    let target = url.origin();
    if target != first.origin() {
        return Hop::Refuse(target.ascii_serialization());
    }
    if hops >= MAX_HOPS {
        return refuse();
    }
    if keeps_method {
        return Hop::Follow {
            url,
            method: method.clone(),
        };
    }
    if *method != Method::GET && *method != Method::HEAD {
        return refuse();
    }
    Hop::Follow {
        url,
        method: Method::GET,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(method: Method, status: u16, location: &str, hops: usize) -> Hop {
        let current = Url::parse("https://api.crisp.chat/v1/website/w/conversation/s").unwrap();
        let status = StatusCode::from_u16(status).unwrap();
        next_hop(&method, status, &current, location, &current, hops)
    }

    fn follow(url: &str, method: Method) -> Hop {
        Hop::Follow {
            url: Url::parse(url).unwrap(),
            method,
        }
    }

    #[test]
    fn reads_follow_every_redirect_within_the_origin_as_a_get() {
        for status in [301, 302, 303, 307, 308] {
            assert_eq!(
                hop(Method::GET, status, "/v2/state", 0),
                follow("https://api.crisp.chat/v2/state", Method::GET),
                "{status}"
            );
        }
        assert_eq!(
            hop(Method::GET, 302, "state?x=1", 4),
            follow(
                "https://api.crisp.chat/v1/website/w/conversation/state?x=1",
                Method::GET
            )
        );
    }

    #[test]
    fn a_write_is_never_turned_into_a_get() {
        for method in [Method::POST, Method::PATCH, Method::PUT, Method::DELETE] {
            for status in [301, 302, 303] {
                assert_eq!(
                    hop(method.clone(), status, "/v1/website/w/conversations/1", 0),
                    Hop::Refuse("/v1/website/w/conversations/1".to_owned()),
                    "{method} {status}"
                );
            }
            for status in [307, 308] {
                assert_eq!(
                    hop(method.clone(), status, "/v2/x", 0),
                    follow("https://api.crisp.chat/v2/x", method.clone()),
                    "{method} {status}"
                );
            }
        }
    }

    #[test]
    fn other_origins_a_sixth_hop_and_non_redirects_are_refused() {
        let elsewhere = "https://evil.example:8443/steal?key=secret";
        for method in [Method::GET, Method::POST] {
            assert_eq!(
                hop(method, 307, elsewhere, 0),
                Hop::Refuse("https://evil.example:8443".to_owned())
            );
        }
        assert_eq!(
            hop(Method::GET, 301, "http://api.crisp.chat/v1", 0),
            Hop::Refuse("http://api.crisp.chat".to_owned()),
            "another scheme is another origin"
        );
        assert_eq!(
            hop(Method::GET, 302, "ftp://api.crisp.chat/x", 0),
            Hop::Refuse("ftp:".to_owned())
        );
        assert_eq!(
            hop(Method::GET, 302, "/again", MAX_HOPS),
            Hop::Refuse("/again".to_owned())
        );
        for status in [300, 304, 305] {
            assert_eq!(
                hop(Method::GET, status, "/x", 0),
                Hop::Refuse("/x".to_owned())
            );
        }
    }
}

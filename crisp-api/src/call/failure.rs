//! How one attempt failed, and the [`Error`] it becomes once the retry policy stops.

use std::error::Error as StdError;
use std::time::Duration;

use reqwest::{StatusCode, Url};

use super::retry::Class;
use crate::error::Error;
use crate::operation::Operation;
use crate::types::ErrorReason;

/// How one attempt ended, before the retry decision.
pub(crate) enum Failure {
    /// Crisp's error envelope (or `error: true` on a 2xx).
    Api {
        status: StatusCode,
        reason: ErrorReason,
        message: Option<String>,
        retry_after: Option<Duration>,
    },
    /// A body that is not the expected JSON.
    Body {
        status: StatusCode,
        content_type: Option<String>,
        detail: String,
        excerpt: String,
        length: usize,
        retry_after: Option<Duration>,
    },
    TooLarge {
        status: StatusCode,
        limit: usize,
        length: Option<u64>,
    },
    Transport {
        sent: bool,
        timeout: bool,
        message: String,
        /// The URL it was for, as [`shown_url`] shows it.
        url: String,
    },
    Redirect {
        location: String,
    },
    /// A 404 for the route rather than for an id (see [`Failure::on_404`]).
    UnknownRoute {
        url: String,
        base_url: String,
        reason: Option<ErrorReason>,
        detail: String,
    },
    Invalid {
        problem: String,
    },
}

fn is_rate_limited(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 420)
}

impl Failure {
    pub(crate) fn class(&self) -> Class {
        match self {
            Self::Api {
                status,
                retry_after,
                ..
            }
            | Self::Body {
                status,
                retry_after,
                ..
            } => {
                if is_rate_limited(*status) {
                    Class::RateLimited {
                        retry_after: *retry_after,
                    }
                } else if crate::error::is_transient_status(*status) {
                    Class::Transient {
                        retry_after: *retry_after,
                    }
                } else {
                    Class::Final
                }
            }
            Self::Transport { sent: false, .. } => Class::NotSent,
            Self::Transport { .. } => Class::MaybeSent,
            Self::TooLarge { .. }
            | Self::Redirect { .. }
            | Self::UnknownRoute { .. }
            | Self::Invalid { .. } => Class::Final,
        }
    }

    /// The same failure of a request that followed one already answered (a redirect's): the
    /// connection failing does not prove that nothing reached Crisp.
    pub(crate) fn once_sent(self) -> Self {
        match self {
            Self::Transport {
                timeout,
                message,
                url,
                ..
            } => Self::Transport {
                sent: true,
                timeout,
                message,
                url,
            },
            other => other,
        }
    }

    pub(crate) fn reason(&self) -> Option<String> {
        match self {
            Self::Api { reason, .. } => Some(reason.to_string()),
            Self::UnknownRoute { reason, .. } => reason.as_ref().map(ToString::to_string),
            _ => None,
        }
    }

    /// The failure of a 404 answer for `url`, sent under `base_url`: an unknown route when the
    /// body is not Crisp's envelope, or the base URL's path does not end in `/v1` (the rule of
    /// [`Error::UnknownRoute`]); else as it is. `url` and `base_url` are shown without
    /// credentials or query.
    pub(crate) fn on_404(self, url: &Url, base_url: &str) -> Self {
        let detail = match self {
            Self::Body { length: 0, .. } => "the body is empty".to_owned(),
            Self::Body {
                content_type,
                excerpt,
                length,
                ..
            } => format!(
                "not Crisp's envelope but {}, {length} bytes: {excerpt}",
                content_type.as_deref().unwrap_or("no content type")
            ),
            Self::Api {
                reason, message, ..
            } if is_route_message(message.as_deref())
                || !crate::error::hint::is_under_v1(base_url) =>
            {
                let detail = match &message {
                    Some(message) if !message.is_empty() => {
                        format!("Crisp's envelope, `{reason}`: {message}")
                    }
                    _ => format!("Crisp's envelope, `{reason}`"),
                };
                return Self::UnknownRoute {
                    url: shown_url(url),
                    base_url: shown_base_url(base_url),
                    reason: Some(reason),
                    detail,
                };
            }
            other => return other,
        };
        Self::UnknownRoute {
            url: shown_url(url),
            base_url: shown_base_url(base_url),
            reason: None,
            detail,
        }
    }

    pub(crate) fn into_error(
        self,
        operation: &'static Operation,
        attempts: u32,
        timeout: Duration,
    ) -> Error {
        match self {
            Self::Api {
                status,
                retry_after,
                ..
            }
            | Self::Body {
                status,
                retry_after,
                ..
            } if is_rate_limited(status) => Error::RateLimited {
                operation,
                status,
                retry_after,
                attempts,
            },
            Self::Api {
                status,
                reason,
                message,
                ..
            } => Error::Api {
                operation,
                status,
                reason,
                message,
            },
            Self::Body {
                status,
                content_type,
                detail,
                excerpt,
                length,
                ..
            } => Error::UnexpectedBody {
                operation,
                status,
                content_type,
                detail,
                excerpt,
                length,
            },
            Self::TooLarge {
                status,
                limit,
                length,
            } => Error::TooLarge {
                operation,
                status,
                limit,
                length,
            },
            Self::Transport {
                timeout: true, url, ..
            } => Error::Timeout {
                operation,
                after: timeout,
                attempts,
                url,
            },
            Self::Transport {
                sent, message, url, ..
            } => Error::Transport {
                operation,
                sent,
                attempts,
                message,
                url,
            },
            Self::Redirect { location } => Error::Redirect {
                operation,
                location,
            },
            Self::UnknownRoute {
                url,
                base_url,
                reason,
                detail,
            } => Error::UnknownRoute {
                operation,
                url,
                base_url,
                reason,
                detail,
            },
            Self::Invalid { problem } => Error::InvalidRequest {
                operation,
                parameter: None,
                problem,
            },
        }
    }
}

impl From<reqwest::Error> for Failure {
    /// A request that could not be built (a connection error is made by [`Failure::http`],
    /// which knows the URL).
    fn from(error: reqwest::Error) -> Self {
        Self::http(error, String::new)
    }
}

impl Failure {
    /// A request that could not be built, or a connection that failed (`sent: false`: the
    /// request provably never left), timed out or broke, for the URL the error names (else
    /// `url()`), shown without credentials or query.
    pub(crate) fn http(error: reqwest::Error, url: impl FnOnce() -> String) -> Self {
        if error.is_builder() {
            return Self::Invalid {
                problem: sources(&error.without_url()),
            };
        }
        let url = match error.url() {
            Some(url) => shown_url(url),
            None => Url::parse(&url()).map_or_else(|_| String::new(), |url| shown_url(&url)),
        };
        Self::Transport {
            sent: !error.is_connect(),
            timeout: error.is_timeout(),
            message: sources(&error.without_url()),
            url,
        }
    }
}

/// `url` as errors show it: scheme, host, port and path; never a user name, password, query
/// or fragment (a query could carry what an id should not).
pub(crate) fn shown_url(url: &Url) -> String {
    let mut shown = url.clone();
    // Each can fail only for URLs that cannot have them, which then have none.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.into()
}

/// Crisp's message on a 404 for a route it does not know (`crisp-sandbox` says the same).
const ROUTE_MESSAGE: &str = "the route does not exist";

/// Whether a 404's message is [`ROUTE_MESSAGE`] (and maybe more after it).
fn is_route_message(message: Option<&str>) -> bool {
    message.is_some_and(|message| {
        message
            .trim_start()
            .get(..ROUTE_MESSAGE.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(ROUTE_MESSAGE))
    })
}

/// The base URL as errors show it ([`shown_url`], without a trailing `/`); as given if it
/// does not parse (the client's always does: it is checked when the client is built).
fn shown_base_url(base_url: &str) -> String {
    match Url::parse(base_url) {
        Ok(url) => shown_url(&url).trim_end_matches('/').to_owned(),
        Err(_) => base_url.to_owned(),
    }
}

/// Links of reqwest's and hyper's error chains that say nothing the rest does not.
const WRAPPERS: [&str; 3] = [
    "error sending request",
    "client error (Connect)",
    "client error (SendRequest)",
];

/// The error and its sources, `: `-joined, without any URL and without the links that only
/// wrap the others; a refused connection is said in two words.
fn sources(error: &(dyn StdError + 'static)) -> String {
    let mut links: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return "connection refused".to_owned();
        }
        let text = e.to_string();
        if !WRAPPERS.contains(&text.as_str()) && !links.iter().any(|l| l.contains(&text)) {
            links.push(text);
        }
        next = e.source();
    }
    if links.is_empty() {
        error.to_string()
    } else {
        links.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_shown_without_credentials_query_or_fragment() {
        let url = Url::parse("https://admin:pa55@api.example:8443/v1/website/w?key=1#top").unwrap();
        assert_eq!(shown_url(&url), "https://api.example:8443/v1/website/w");
        assert_eq!(
            shown_base_url("http://u:p@127.0.0.1:9/"),
            "http://127.0.0.1:9",
            "and a base URL without its trailing `/`"
        );
    }

    #[test]
    fn only_a_404_for_the_route_becomes_an_unknown_route() {
        let url = Url::parse("http://127.0.0.1:9/website/w").unwrap();
        let api = || Failure::Api {
            status: StatusCode::NOT_FOUND,
            reason: ErrorReason::NotFound,
            message: None,
            retry_after: None,
        };
        let route = |failure: Failure, base: &str| {
            matches!(failure.on_404(&url, base), Failure::UnknownRoute { .. })
        };
        assert!(route(api(), "http://127.0.0.1:9"));
        let crisp_route = Failure::Api {
            status: StatusCode::NOT_FOUND,
            reason: ErrorReason::NotFound,
            message: Some("the route does not exist".into()),
            retry_after: None,
        };
        assert!(route(crisp_route, "https://api.crisp.chat/v1"));
        let conversation = Failure::Api {
            status: StatusCode::NOT_FOUND,
            reason: ErrorReason::NotFound,
            message: Some("conversation does not exist".into()),
            retry_after: None,
        };
        assert!(!route(conversation, "https://api.crisp.chat/v1"));
        assert!(route(api(), "http://127.0.0.1:9/v2"));
        assert!(!route(api(), "http://127.0.0.1:9/v1"));
        assert!(!route(api(), "https://gateway.example/crisp/v1/"));
        let page = || Failure::Body {
            status: StatusCode::NOT_FOUND,
            content_type: Some("text/html".into()),
            detail: String::new(),
            excerpt: "<html>".into(),
            length: 6,
            retry_after: None,
        };
        assert!(route(page(), "http://127.0.0.1:9/v1"));
        assert!(route(page(), "http://127.0.0.1:9"));
        let broken = Failure::Transport {
            sent: false,
            timeout: false,
            message: String::new(),
            url: String::new(),
        };
        assert!(!route(broken, "http://127.0.0.1:9"));
    }
}

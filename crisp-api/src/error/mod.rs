//! [`Error`]: the one error every call returns; what to do about each is in [`hint`].

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;

use crate::grants::Level;
use crate::operation::{Access, Operation};
use crate::types::ErrorReason;

pub(crate) mod hint;

/// What went wrong with a call, and what to do about it.
///
/// Every call returns `Result<_, crisp_api::Error>`, whether it was refused before any I/O
/// (grants, confirmation, budget, an invalid id), failed on the way (timeout, connection), or
/// was answered with an error by Crisp. Match on the cases; [`hint`](Error::hint) says what to
/// do in words an agent's log can carry; [`is_retryable`](Error::is_retryable) says whether the
/// same call may succeed later.
///
/// `Display` and `Debug` never contain the token key, a request header or a whole body.
///
/// ```no_run
/// use crisp_api::{Client, Credentials, Error};
/// use crisp_api::types::ErrorReason;
///
/// # async fn run(client: Client) -> Result<(), Error> {
/// match client
///     .get_conversation()
///     .website_id("8c842203-7ed8-4e29-a608-7cf78a7d2fcc")
///     .session_id("session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881")
///     .send()
///     .await
/// {
///     Ok(conversation) => println!("{:?}", conversation.data.state),
///     Err(Error::Api { reason: ErrorReason::NotFound, .. }) => println!("no such conversation"),
///     Err(Error::NotGranted { scope, needed, .. }) => println!("ask for {scope}={needed}"),
///     Err(error) if error.is_retryable() => println!("later: {error}"),
///     Err(error) => return Err(error),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Crisp answered with an error envelope (`error: true`), on a 4xx or 5xx status, or on a
    /// 2xx that still said `error: true`.
    #[error("{}: Crisp answered {status} `{reason}`{}. {}", operation.id, Message(message), self.hint())]
    Api {
        /// The operation called.
        operation: &'static Operation,
        /// The HTTP status.
        status: StatusCode,
        /// Crisp's reason, such as `not_found`; a reason this crate does not know is kept as
        /// [`ErrorReason::Unknown`].
        reason: ErrorReason,
        /// `data.message`, when Crisp sent one.
        message: Option<String>,
    },
    /// Crisp's rate limiter answered 429 (or 420 from its calm limiter), and retrying did not
    /// help within the [`RetryPolicy`](crate::RetryPolicy).
    #[error("{}: rate limited by Crisp (HTTP {status}) after {attempts} attempt(s){}. {}", operation.id, RetryAfter(*retry_after), self.hint())]
    RateLimited {
        /// The operation called.
        operation: &'static Operation,
        /// 429 or 420.
        status: StatusCode,
        /// How long Crisp asked to wait (`Retry-After`), if it said.
        retry_after: Option<Duration>,
        /// How many requests were sent for this call.
        attempts: u32,
    },
    /// Refused before any I/O: the client's [`Grants`](crate::Grants) do not allow the
    /// operation.
    #[error("{}: not granted: it needs `{scope}` at {needed} level, and the grants have {}. {}", operation.id, Granted(*granted), self.hint())]
    NotGranted {
        /// The operation refused.
        operation: &'static Operation,
        /// The scope it needs.
        scope: &'static str,
        /// The access level it needs on that scope.
        needed: Access,
        /// The level the grants give that scope, if any.
        granted: Option<Level>,
    },
    /// Refused before any I/O: the confirmation callback said no to a customer-visible or
    /// irreversible operation.
    #[error("{}: not confirmed: the confirmation callback declined this {} call, so nothing was sent", operation.id, operation.effect.map_or("guarded", |e| e.as_str()))]
    NotConfirmed {
        /// The operation refused.
        operation: &'static Operation,
    },
    /// Refused before any I/O: the client's daily request budget is spent.
    #[error("{}: the daily budget of {limit} requests is spent; it resets in {}. {}", operation.id, Hms(*resets_in), self.hint())]
    BudgetSpent {
        /// The operation refused.
        operation: &'static Operation,
        /// The budget, in requests per UTC day.
        limit: u32,
        /// Time until the budget resets (midnight UTC).
        resets_in: Duration,
    },
    /// Refused before any I/O: parameters are missing or unsafe (an empty id, `.` or `..`,
    /// characters that would change the route), or the body was not set or could not be
    /// built. A typed builder reports every problem at once: `problem` names them all (the
    /// missing ones together: `` `website_id` and `session_id` are required and were not
    /// set``), and `parameter` is the first it names.
    #[error("{}: invalid request: {problem}. {}", operation.id, self.hint())]
    InvalidRequest {
        /// The operation refused.
        operation: &'static Operation,
        /// The parameter at fault (the first one `problem` names), if one is; `body` for the
        /// body.
        parameter: Option<&'static str>,
        /// What is wrong, naming every parameter at fault.
        problem: String,
    },
    /// No response: the connection failed (a refused connection, a name that does not
    /// resolve, a TLS failure) or broke. It names the URL it was for.
    #[error("{}: {} after {attempts} attempt(s): {message}. {}", operation.id, Connection { sent: *sent, url }, self.hint())]
    Transport {
        /// The operation called.
        operation: &'static Operation,
        /// Whether the request may have reached Crisp (`false`: provably never sent).
        sent: bool,
        /// How many attempts were made.
        attempts: u32,
        /// What the HTTP stack said (never a header).
        message: String,
        /// The URL of the request: scheme, host, port and path (the base URL and the
        /// operation's path with its ids); never a user name, password or query.
        url: String,
    },
    /// No response within the client's timeout. It names the URL it was for.
    #[error("{}: no answer from {url} within {} after {attempts} attempt(s). {}", operation.id, Hms(*after), self.hint())]
    Timeout {
        /// The operation called.
        operation: &'static Operation,
        /// The timeout.
        after: Duration,
        /// How many attempts were made.
        attempts: u32,
        /// The URL of the request, as [`Transport`](Error::Transport)'s `url`.
        url: String,
    },
    /// The answer's body is not what the operation returns: an HTML page from an edge proxy,
    /// malformed JSON, an empty body, or JSON of another shape.
    #[error("{}: Crisp answered {status} with a body that is not the expected JSON ({}, {length} bytes): {detail}; it starts with: {excerpt}. {}", operation.id, content_type.as_deref().unwrap_or("no content type"), self.hint())]
    UnexpectedBody {
        /// The operation called.
        operation: &'static Operation,
        /// The HTTP status.
        status: StatusCode,
        /// The `Content-Type` of the answer, if any.
        content_type: Option<String>,
        /// Why it does not decode: the field path and position, when known.
        detail: String,
        /// The start of the body, with values of secret-looking fields masked.
        excerpt: String,
        /// The body's length in bytes.
        length: usize,
    },
    /// A 404 for the route itself, not for an id: the base URL does not lead to Crisp's API
    /// (it lacks `/v1`, or it points at a web site or a proxy that does not forward to Crisp).
    ///
    /// The rule. Crisp answers an id it does not know (a conversation, a profile...) with its
    /// envelope, `{"error": true, "reason": "not_found", ...}`, a route it does not know with
    /// the same envelope and the message `the route does not exist`, and its API lives under
    /// `/v1`. So a 404 is taken for an unknown route when
    /// - its body is not Crisp's error envelope (an HTML or plain-text page, other JSON, an
    ///   empty body), whatever the base URL; or
    /// - it is Crisp's envelope with the message `the route does not exist` (Crisp's and
    ///   `crisp-sandbox`'s answer to a route they do not know); or
    /// - the base URL's path does not end in `/v1`, whatever the body says: a local server (a
    ///   mock, a proxy) may answer a path outside `/v1` with Crisp's envelope too.
    ///
    /// Every other 404, Crisp's envelope under a base URL ending in `/v1`, is
    /// [`Api`](Error::Api) (`not_found`: verify the ids; `not_subscribed`...).
    #[error("{}: {} {url} answered 404 for a route it does not know, not for an id ({detail}). {}", operation.id, operation.method, self.hint())]
    UnknownRoute {
        /// The operation called.
        operation: &'static Operation,
        /// The URL of the request: scheme, host, port and path; never a user name, password
        /// or query.
        url: String,
        /// The client's base URL, shown the same way.
        base_url: String,
        /// Crisp's reason, when the answer was Crisp's envelope.
        reason: Option<ErrorReason>,
        /// What answered: Crisp's envelope with its reason and message, or the content type,
        /// length and start (masked) of a body that is not Crisp's.
        detail: String,
    },
    /// The answer is larger than the client's response-size cap, and was not read.
    #[error("{}: Crisp's answer ({status}) is larger than the {limit}-byte cap{}. {}", operation.id, Length(*length), self.hint())]
    TooLarge {
        /// The operation called.
        operation: &'static Operation,
        /// The HTTP status.
        status: StatusCode,
        /// The cap, in bytes.
        limit: usize,
        /// The announced length, when the answer said.
        length: Option<u64>,
    },
    /// Crisp's answer redirected and the redirect was not followed: it led to another origin,
    /// or past 5 hops within the base URL's origin, or it was a 301, 302 or 303 answering a
    /// write (`POST`, `PATCH`, `PUT`, `DELETE`), which would have been resent as a `GET`
    /// without its body.
    #[error("{}: the answer redirects to {location}, which was not followed (redirects are followed only within the base URL's origin, 5 at most, and a write's only by 307 or 308, which keep its method and body). {}", operation.id, self.hint())]
    Redirect {
        /// Where it redirected: the origin (scheme, host, port) of a redirect to another
        /// origin, else the `Location` of the last redirect.
        location: String,
        /// The operation called.
        operation: &'static Operation,
    },
}

impl Error {
    /// The operation the call was for.
    ///
    /// ```
    /// use crisp_api::{Error, Operation};
    ///
    /// let error = Error::NotConfirmed { operation: &Operation::SEND_MESSAGE };
    /// assert_eq!(error.operation().id, "send_message");
    /// ```
    pub fn operation(&self) -> &'static Operation {
        match self {
            Self::Api { operation, .. }
            | Self::RateLimited { operation, .. }
            | Self::NotGranted { operation, .. }
            | Self::NotConfirmed { operation }
            | Self::BudgetSpent { operation, .. }
            | Self::InvalidRequest { operation, .. }
            | Self::Transport { operation, .. }
            | Self::Timeout { operation, .. }
            | Self::UnexpectedBody { operation, .. }
            | Self::TooLarge { operation, .. }
            | Self::Redirect { operation, .. }
            | Self::UnknownRoute { operation, .. } => operation,
        }
    }

    /// The HTTP status Crisp answered with, if it answered.
    ///
    /// ```
    /// use crisp_api::{Error, Operation};
    ///
    /// assert_eq!(Error::NotConfirmed { operation: &Operation::SEND_MESSAGE }.status(), None);
    /// ```
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api { status, .. }
            | Self::RateLimited { status, .. }
            | Self::UnexpectedBody { status, .. }
            | Self::TooLarge { status, .. } => Some(*status),
            Self::UnknownRoute { .. } => Some(StatusCode::NOT_FOUND),
            _ => None,
        }
    }

    /// Whether the same call may succeed if made again later: rate limiting, a timeout, a
    /// broken connection, or a 502/503/504 from Crisp or its proxy. Refusals, invalid requests
    /// and other API errors are not.
    ///
    /// Whether repeating a *write* is safe is another question: a message sent twice reaches the
    /// customer twice. The client's [`RetryPolicy`](crate::RetryPolicy) already repeats what is
    /// safe to repeat.
    ///
    /// ```
    /// use std::time::Duration;
    /// use crisp_api::{Error, Operation};
    ///
    /// let error = Error::Timeout {
    ///     operation: &Operation::GET_CONVERSATION,
    ///     after: Duration::from_secs(10),
    ///     attempts: 3,
    ///     url: "https://api.crisp.chat/v1/website/8c84/conversation/session_1".into(),
    /// };
    /// assert!(error.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Timeout { .. } | Self::Transport { .. } => true,
            Self::Api { status, .. } | Self::UnexpectedBody { status, .. } => {
                is_transient_status(*status)
            }
            _ => false,
        }
    }

    /// Whether the call was refused locally, before anything was sent: not granted, not
    /// confirmed, budget spent, or an invalid request.
    ///
    /// ```
    /// use crisp_api::{Error, Operation};
    ///
    /// assert!(Error::NotConfirmed { operation: &Operation::SEND_MESSAGE }.is_refused());
    /// ```
    pub fn is_refused(&self) -> bool {
        matches!(
            self,
            Self::NotGranted { .. }
                | Self::NotConfirmed { .. }
                | Self::BudgetSpent { .. }
                | Self::InvalidRequest { .. }
        )
    }

    /// A short, stable name of the case: `api`, `rate_limited`, `not_granted`,
    /// `not_confirmed`, `budget_spent`, `invalid_request`, `transport`, `timeout`,
    /// `unexpected_body`, `too_large`, `redirect` or `unknown_route`. Audit records carry it.
    ///
    /// ```
    /// use crisp_api::{Error, Operation};
    ///
    /// assert_eq!(Error::NotConfirmed { operation: &Operation::SEND_MESSAGE }.kind(), "not_confirmed");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Api { .. } => "api",
            Self::RateLimited { .. } => "rate_limited",
            Self::NotGranted { .. } => "not_granted",
            Self::NotConfirmed { .. } => "not_confirmed",
            Self::BudgetSpent { .. } => "budget_spent",
            Self::InvalidRequest { .. } => "invalid_request",
            Self::Transport { .. } => "transport",
            Self::Timeout { .. } => "timeout",
            Self::UnexpectedBody { .. } => "unexpected_body",
            Self::TooLarge { .. } => "too_large",
            Self::Redirect { .. } => "redirect",
            Self::UnknownRoute { .. } => "unknown_route",
        }
    }

    /// Crisp's reason, for an API error, rate limiting, or an unknown route answered with
    /// Crisp's envelope.
    ///
    /// ```
    /// use crisp_api::{Error, Operation};
    /// use crisp_api::types::ErrorReason;
    /// use reqwest::StatusCode;
    ///
    /// let error = Error::Api {
    ///     operation: &Operation::GET_CONVERSATION,
    ///     status: StatusCode::NOT_FOUND,
    ///     reason: ErrorReason::NotFound,
    ///     message: None,
    /// };
    /// assert_eq!(error.reason(), Some(&ErrorReason::NotFound));
    /// ```
    pub fn reason(&self) -> Option<&ErrorReason> {
        match self {
            Self::Api { reason, .. } => Some(reason),
            Self::RateLimited { .. } => Some(&ErrorReason::RateLimited),
            Self::UnknownRoute { reason, .. } => reason.as_ref(),
            _ => None,
        }
    }
}

/// 502, 503 and 504: the answer of a proxy or of an overloaded Crisp.
pub(crate) fn is_transient_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 502..=504)
}

impl fmt::Debug for Error {
    /// The case and its message: readable where `main` returns an error, and as free of
    /// secrets as `Display`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "crisp_api::Error::{}(\"{self}\")", self.kind())
    }
}

struct Message<'a>(&'a Option<String>);

impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(message) if !message.is_empty() => write!(f, ": {message}"),
            _ => Ok(()),
        }
    }
}

struct RetryAfter(Option<Duration>);

impl fmt::Display for RetryAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(wait) => write!(f, "; Crisp asks to wait {}", Hms(wait)),
            None => Ok(()),
        }
    }
}

struct Granted(Option<Level>);

impl fmt::Display for Granted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(level) => write!(f, "it at {level} level only"),
            None => f.write_str("no grant for it"),
        }
    }
}

/// `could not connect to URL`, or `the connection to URL broke` once it may have been sent.
struct Connection<'a> {
    sent: bool,
    url: &'a str,
}

impl fmt::Display for Connection<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.sent {
            write!(f, "the connection to {} broke", self.url)
        } else {
            write!(f, "could not connect to {}", self.url)
        }
    }
}

struct Length(Option<u64>);

impl fmt::Display for Length {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(length) => write!(f, " (it announced {length} bytes)"),
            None => Ok(()),
        }
    }
}

/// A duration as a person reads it: `1.5 s`, `3 min 20 s`, `5 h 2 min`.
pub(crate) struct Hms(pub(crate) Duration);

impl fmt::Display for Hms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        if secs < 60 {
            let ms = self.0.as_millis();
            if ms.is_multiple_of(1000) {
                write!(f, "{secs} s")
            } else {
                write!(f, "{:.1} s", self.0.as_secs_f64())
            }
        } else if secs < 3600 {
            write!(f, "{} min {} s", secs / 60, secs % 60)
        } else {
            write!(f, "{} h {} min", secs / 3600, (secs % 3600) / 60)
        }
    }
}

#[cfg(test)]
mod tests;

//! What to do about each [`Error`]: [`Error::hint`], from the guide's table of errors for API
//! errors, from the client's settings for refusals, and from the base URL for connection
//! errors and unknown routes.

use reqwest::StatusCode;

use super::{Error, is_transient_status};
use crate::grants::Level;
use crate::operation::Operation;
use crate::types::ErrorReason;

impl Error {
    /// What to do about it: for API errors, the guide's table of errors; for refusals, the
    /// client's setting at stake; for connection errors and unknown routes, the base URL to
    /// check (`CRISP_BASE_URL` or `ClientBuilder::base_url`).
    ///
    /// ```
    /// use crisp_api::{Error, Operation};
    /// use crisp_api::types::ErrorReason;
    /// use reqwest::StatusCode;
    ///
    /// let error = Error::Api {
    ///     operation: &Operation::LIST_CONVERSATIONS,
    ///     status: StatusCode::NOT_FOUND,
    ///     reason: ErrorReason::NotSubscribed,
    ///     message: None,
    /// };
    /// assert!(error.hint().contains("has not installed the plugin"));
    /// ```
    pub fn hint(&self) -> String {
        match self {
            Self::Api {
                operation,
                status,
                reason,
                ..
            } => api_hint(operation, *status, reason),
            Self::RateLimited { .. } => RATE_LIMITED_HINT.to_owned(),
            Self::NotGranted {
                operation,
                scope,
                needed,
                ..
            } => format!(
                "Add `{scope}={}` to the client's grants (and grant it to the plugin token in the \
                 Crisp Marketplace) if this agent should call {}; \
                 `Grants::for_operations` prints the least set for a list of operations.",
                Level::of(*needed),
                operation.id
            ),
            Self::NotConfirmed { .. } => {
                "Nothing was sent. Ask the confirmation callback's owner, or call again once \
                 confirmed."
                    .to_owned()
            }
            Self::BudgetSpent { .. } => {
                "Wait for the next UTC day, or raise `ClientBuilder::daily_budget` if the plugin \
                 quota allows it (5,000 requests a day by default, 10,000 for website tokens)."
                    .to_owned()
            }
            Self::InvalidRequest { .. } => {
                "Set every required parameter (and `.body(...)` on a write) before `.send()`, \
                 with ids from earlier answers (a website_id is a UUID, a session_id looks like \
                 `session_<uuid>`), never from free text."
                    .to_owned()
            }
            Self::Transport { sent: false, .. } => format!(
                "Nothing reached Crisp: check the base URL ({BASE_URL_SETTINGS}; Crisp's is \
                 {CRISP_BASE_URL}) and the network."
            ),
            Self::Transport { .. } | Self::Timeout { .. } => format!(
                "Retry later, and if it keeps happening check the base URL ({BASE_URL_SETTINGS}) \
                 and the network. A write may or may not have reached Crisp: read the state \
                 back before repeating it."
            ),
            Self::UnexpectedBody { status, .. } if is_transient_status(*status) => {
                "An edge proxy answered instead of Crisp: retry later.".to_owned()
            }
            Self::UnexpectedBody { .. } => {
                "Crisp's answer changed shape or is broken; if it persists, report it with the \
                 detail above."
                    .to_owned()
            }
            Self::TooLarge { .. } => {
                "Ask for less (a smaller page), or raise `ClientBuilder::max_response_bytes`."
                    .to_owned()
            }
            Self::Redirect { .. } => {
                "Check the base URL: it should be https://api.crisp.chat/v1 or your sandbox."
                    .to_owned()
            }
            Self::UnknownRoute { base_url, .. } => unknown_route_hint(base_url),
        }
    }
}

/// Where a program sets its base URL, for hints that say to check it.
const BASE_URL_SETTINGS: &str = "CRISP_BASE_URL or ClientBuilder::base_url";

/// Crisp's base URL, as hints name it: `crate::DEFAULT_BASE_URL`, written out so that this
/// module needs nothing of the client (the client's doc test pins the same text).
const CRISP_BASE_URL: &str = "https://api.crisp.chat/v1";

const RATE_LIMITED_HINT: &str = "Back off and retry later (after Retry-After when given), lean \
    on the GET cache layer, and request a quota increase in the Crisp Marketplace if needed.";

/// What to do about a 404 for an unknown route, by whether the base URL ends in `/v1`.
fn unknown_route_hint(base_url: &str) -> String {
    let Some(path) = base_path(base_url) else {
        return format!("Check the base URL ({BASE_URL_SETTINGS}): it should be {CRISP_BASE_URL}.");
    };
    if ends_in_v1(&path) {
        return format!(
            "The server at the base URL in use, {base_url}, does not know this route: check \
             that {BASE_URL_SETTINGS} points at Crisp's API ({CRISP_BASE_URL}) or a sandbox's \
             (http://127.0.0.1:<port>/v1), not at a web site or a proxy that does not forward \
             to it."
        );
    }
    let fix = if path.is_empty() || path == "/" {
        format!("{base_url}/v1")
    } else {
        "a URL ending in /v1".to_owned()
    };
    format!(
        "The base URL in use, {base_url}, does not end in /v1, where Crisp's API lives: set \
         {BASE_URL_SETTINGS} to {fix} (Crisp's is {CRISP_BASE_URL})."
    )
}

/// The path of `base_url`, if it parses.
fn base_path(base_url: &str) -> Option<String> {
    reqwest::Url::parse(base_url)
        .ok()
        .map(|url| url.path().to_owned())
}

fn ends_in_v1(path: &str) -> bool {
    path.trim_end_matches('/').ends_with("/v1")
}

/// Whether `base_url`'s path ends in `/v1`, where Crisp's API lives (see
/// [`Error::UnknownRoute`]).
pub(crate) fn is_under_v1(base_url: &str) -> bool {
    base_path(base_url).is_some_and(|path| ends_in_v1(&path))
}

/// The guide's "what to do" for an API error.
fn api_hint(operation: &Operation, status: StatusCode, reason: &ErrorReason) -> String {
    let text = match reason {
        ErrorReason::InvalidData => {
            "The data was rejected by the route's validators: read the message, fix the request \
             fields, and resend."
        }
        ErrorReason::InvalidSession | ErrorReason::Unauthorized => {
            "The request was not authenticated: check the token identifier and key, and the \
             tier (`Credentials::plugin` for a Marketplace token)."
        }
        ErrorReason::NotAllowed => {
            return format!(
                "The token lacks the scope this route needs: grant `{}` at {} level to the \
                 plugin token in the Crisp Marketplace, and retry.",
                operation.scope,
                Level::of(operation.access)
            );
        }
        ErrorReason::NotFound => {
            "Verify the website_id, session_id or people_id, and that the resource lives in \
             this workspace."
        }
        ErrorReason::NotSubscribed => {
            "The website has not installed the plugin this token belongs to: install it on the \
             website from the Crisp Marketplace, then retry."
        }
        ErrorReason::RestrictedRouteTier => {
            "This route is not open to the token's tier: use a token of a tier the route \
             allows (a Marketplace plugin token for plugin routes)."
        }
        ErrorReason::Conflict => {
            "The request conflicts with the resource's current state: read it again and adjust \
             the request before retrying."
        }
        ErrorReason::RateLimited => RATE_LIMITED_HINT,
        _ => match status.as_u16() {
            400 => "Read the message, fix the request fields, and resend.",
            401 => "Check the token identifier, key and tier.",
            403 => "Check the token's scopes in the Crisp Marketplace.",
            404 => "Verify the ids and that the resource lives in this workspace.",
            409 => "Read the resource again and adjust the request.",
            429 | 420 => RATE_LIMITED_HINT,
            500..=599 => "Crisp failed to answer: retry later; reads are retried automatically.",
            _ => "See Crisp's message; the reason is not one this crate knows.",
        },
    };
    text.to_owned()
}

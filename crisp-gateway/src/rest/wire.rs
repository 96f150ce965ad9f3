//! The REST front's wire format, shared by its routes: who is calling, the query string read as
//! Crisp reads it, and an [`Outcome`] rendered as Crisp's envelope. A leaf of `rest/`.

use std::time::Instant;

use axum::response::{IntoResponse, Response};
use http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::gateway::{Caller, Front, Gateway, Outcome, Unhandled};
use crate::identity;
use crate::refusal::Refusal;

/// Who sent a REST request that arrived at `received`: the caller its `Authorization` key
/// names, and the client its `User-Agent` names.
///
/// # Errors
///
/// The answer to send back (boxed: it is large) when the key names no agent (the refusal is an audit row).
pub(super) fn authenticate(
    gateway: &Gateway,
    headers: &HeaderMap,
    received: Instant,
) -> Result<(Caller, Option<String>), Box<Response>> {
    let client = headers
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let header = headers.get(AUTHORIZATION).map(HeaderValue::as_bytes);
    match gateway.authenticate(header) {
        Ok(caller) => Ok((caller, client)),
        Err(refusal) => {
            let unhandled = Unhandled {
                client,
                key_id: identity::presented_key_id(header),
                ..Unhandled::new(Front::Rest, received)
            };
            Err(Box::new(render(gateway.refuse(&unhandled, refusal))))
        }
    }
}

/// What the audit row of a refused request from an authenticated `caller` says so far.
pub(super) fn unhandled<'a>(
    caller: &'a Caller,
    client: Option<&String>,
    received: Instant,
) -> Unhandled<'a> {
    Unhandled {
        client: client.cloned(),
        agent: Some(caller.agent()),
        ..Unhandled::new(Front::Rest, received)
    }
}

/// The query string's pairs, percent-decoded (`+` is a space, as form encoding has it).
///
/// # Errors
///
/// A 400 [`Refusal`] naming a parameter given more than once.
pub fn query_pairs(query: Option<&str>) -> Result<Vec<(String, String)>, Refusal> {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Ok(Vec::new());
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if pairs.iter().any(|(seen, _)| *seen == name) {
            return Err(Refusal::request(format!(
                "the query parameter `{}` is given more than once: Crisp's parameters take one \
                 value; send it once",
                name.escape_debug()
            )));
        }
        pairs.push((name.into_owned(), value.into_owned()));
    }
    Ok(pairs)
}

/// The HTTP answer of an outcome: its status, Crisp's envelope as JSON, and `Retry-After` on
/// a 429.
pub fn render(outcome: Outcome) -> Response {
    let (status, envelope, retry_after) = outcome.into_parts();
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    // A JSON value always serializes.
    let body = serde_json::to_vec(&envelope).unwrap_or_default();
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    if let Some(seconds) = retry_after {
        headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_are_decoded_and_repeats_refused() {
        assert_eq!(query_pairs(None).unwrap(), []);
        assert_eq!(query_pairs(Some("")).unwrap(), []);
        assert_eq!(
            query_pairs(Some("search_query=a+b%26c&per_page=20")).unwrap(),
            [
                ("search_query".to_owned(), "a b&c".to_owned()),
                ("per_page".to_owned(), "20".to_owned())
            ]
        );
        let refused = query_pairs(Some("per_page=20&per_page=50")).unwrap_err();
        assert_eq!(refused.status, 400);
        assert!(
            refused.message.contains("`per_page`"),
            "{}",
            refused.message
        );
    }
}

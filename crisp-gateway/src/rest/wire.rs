//! The REST front's wire format, shared by its routes: the query string read as Crisp reads it,
//! and an [`Outcome`] rendered as Crisp's envelope. A leaf of `rest/`.

use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, StatusCode};

use crate::gateway::Outcome;
use crate::refusal::Refusal;

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

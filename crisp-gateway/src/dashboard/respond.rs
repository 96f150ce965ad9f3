//! What every dashboard answer shares: the security headers, HTML and redirect answers, and
//! reading a form or a query string (percent-decoded pairs).

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use http::{HeaderValue, StatusCode};
use http_body_util::{BodyExt as _, Limited};
use maud::Markup;

/// The Content-Security-Policy of every answer: nothing but this origin's own files (no
/// inline script or style, no other site's), never framed, forms posted only here.
pub(super) const CSP: &str = "default-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'; object-src 'none'";

/// The largest form the dashboard reads (a note of a few thousand characters fits).
const FORM_LIMIT: usize = 64 * 1024;

/// Adds the security headers to every dashboard answer (a middleware).
pub(super) async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// An HTML page with `status`.
pub(super) fn html(status: StatusCode, page: Markup) -> Response {
    (
        status,
        [(CONTENT_TYPE, "text/html; charset=utf-8")],
        page.into_string(),
    )
        .into_response()
}

/// A 303 to `location` (a path of the dashboard).
pub(super) fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// Name-value pairs of a form or a query string, percent-decoded.
#[derive(Debug, Default, Clone)]
pub(super) struct Pairs(Vec<(String, String)>);

impl Pairs {
    /// The pairs of a query string (`None`: none).
    pub fn query(query: Option<&str>) -> Self {
        Self::parse(query.unwrap_or_default().as_bytes())
    }

    fn parse(bytes: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(bytes)
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, trimmed, if it is there and not blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    }

    /// The first value of `name` as sent (not trimmed), or "".
    pub fn raw(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, value)| value.as_str())
    }
}

/// Reads a form body (`application/x-www-form-urlencoded`) of at most [`FORM_LIMIT`] bytes.
///
/// # Errors
/// The body is too large or could not be read: a 413 or 400 answer to send as it is.
pub(super) async fn read_form(body: Body) -> Result<Pairs, Response> {
    match Limited::new(body, FORM_LIMIT).collect().await {
        Ok(collected) => Ok(Pairs::parse(&collected.to_bytes())),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("The form is larger than {FORM_LIMIT} bytes: shorten the note."),
        )
            .into_response()),
        Err(_) => Err((
            StatusCode::BAD_REQUEST,
            "The form could not be read: send it again.",
        )
            .into_response()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_decoded_and_blank_values_are_absent() {
        let pairs = Pairs::query(Some("agent=reply&operation=&note=a%20b+c&x=%3Cb%3E"));
        assert_eq!(pairs.get("agent"), Some("reply"));
        assert_eq!(pairs.get("operation"), None);
        assert_eq!(pairs.get("note"), Some("a b c"));
        assert_eq!(pairs.raw("x"), "<b>");
        assert_eq!(pairs.get("missing"), None);
        assert_eq!(Pairs::query(None).get("agent"), None);
    }
}

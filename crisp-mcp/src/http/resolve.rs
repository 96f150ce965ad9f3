//! Which server answers a request, by its bearer token: the seam of an HTTP endpoint that
//! serves many principals (a gateway's agents), each with its own [`CrispMcp`] (its tools, its
//! dispatch, its audit). [`router`](super::router) is the one-token case of it.

use std::fmt;
use std::future::Future;

use futures::future::BoxFuture;
use http::{HeaderMap, header};

use crate::server::CrispMcp;

/// The bearer token a request carries (`Authorization: Bearer <token>`, the scheme in any
/// case, the token trimmed). A secret: its `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Bearer(String);

impl Bearer {
    /// The token of `headers`' `Authorization: Bearer` header, if it has one that is not blank.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        // The scheme is case-insensitive (RFC 9110).
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let token = token.trim();
        (!token.is_empty()).then(|| Self(token.to_owned()))
    }

    /// The token itself: hash it, compare it (in constant time); never log it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Bearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bearer(<redacted>)")
    }
}

/// Why a request is refused with 401: no token, or one that names nobody. The message is
/// the answer's body: say what to send, never the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unauthorized {
    message: String,
}

impl Unauthorized {
    /// A refusal that answers `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// What the answer says.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl Default for Unauthorized {
    /// "a valid bearer token is required".
    fn default() -> Self {
        Self::new("a valid bearer token is required: send `Authorization: Bearer <token>`")
    }
}

/// The server for a request, from its bearer token (`None`: the request has none).
///
/// Called on every request, before rmcp reads its body, so that a revoked token stops working
/// at once: keep it cheap (a hash and a lookup of a server built per principal; a
/// [`CrispMcp`] is cheap to clone). The server it gives a request that opens a session serves
/// that session for its life; later requests in the session must carry the same token (else
/// 404, as for an unknown session) and must still resolve. An error answers 401 with
/// `WWW-Authenticate: Bearer resource_metadata="..."`.
///
/// Any `Fn(Option<Bearer>) -> impl Future<Output = Result<CrispMcp, Unauthorized>>` is one;
/// a synchronous lookup returns [`std::future::ready`].
pub trait Resolve: Send + Sync + 'static {
    /// The server for a request with `bearer`, or why it is refused.
    fn resolve(&self, bearer: Option<Bearer>)
    -> BoxFuture<'static, Result<CrispMcp, Unauthorized>>;
}

impl<F, Fut> Resolve for F
where
    F: Fn(Option<Bearer>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<CrispMcp, Unauthorized>> + Send + 'static,
{
    fn resolve(
        &self,
        bearer: Option<Bearer>,
    ) -> BoxFuture<'static, Result<CrispMcp, Unauthorized>> {
        Box::pin(self(bearer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn the_bearer_token_is_read_and_never_shown() {
        let bearer = Bearer::from_headers(&headers("bearer  s3cret ")).unwrap();
        assert_eq!(bearer.expose_secret(), "s3cret");
        assert!(!format!("{bearer:?}").contains("s3cret"));
        assert!(Bearer::from_headers(&headers("Basic s3cret")).is_none());
        assert!(Bearer::from_headers(&headers("Bearer   ")).is_none());
        assert!(Bearer::from_headers(&HeaderMap::new()).is_none());
    }
}

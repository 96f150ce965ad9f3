//! OAuth 2.0 Protected Resource Metadata (RFC 9728) for the MCP endpoint, as the MCP
//! authorization spec asks of a server that takes bearer tokens: a 401 names the metadata
//! document in `WWW-Authenticate: Bearer resource_metadata="<url>"`, and the document says
//! which resource this is and how to send a token (`bearer_methods_supported: ["header"]`).
//!
//! No authorization server is run, so the document lists none (`authorization_servers` is
//! left out): tokens are issued by the server's operator (`CRISP_MCP_TOKEN`, a gateway's agent
//! keys) and configured in the client as a header. A client that would start an OAuth flow
//! finds nothing to start it with, rather than a flow that cannot issue these tokens.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};

/// Where the metadata document is served (and, with the MCP endpoint's path after it,
/// `/.well-known/oauth-protected-resource/mcp`, the location RFC 9728 derives from the
/// resource's URL).
pub const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// How the server names itself in URLs: a configured public origin (`https://mcp.example.com`,
/// behind a reverse proxy), else `http://` and the request's `Host`.
#[derive(Clone, Debug)]
pub(crate) struct Origin {
    public: Option<String>,
    /// The path of the MCP endpoint (`/mcp`).
    path: &'static str,
}

impl Origin {
    /// `public` checked: an `http` or `https` URL with a host and no path, query or fragment
    /// (a trailing `/` is dropped).
    ///
    /// # Errors
    ///
    /// What is wrong with `public`.
    pub fn new(public: Option<&str>, path: &'static str) -> Result<Self, String> {
        let public = match public {
            None => None,
            Some(url) => {
                let url = url.trim().trim_end_matches('/');
                let parsed: http::Uri = url
                    .parse()
                    .map_err(|e| format!("the public URL `{url}` is not a URL: {e}"))?;
                let scheme_ok = matches!(parsed.scheme_str(), Some("http" | "https"));
                let bare = parsed.path_and_query().is_none_or(|p| p.as_str() == "/");
                if !scheme_ok || parsed.authority().is_none() || !bare {
                    return Err(format!(
                        "the public URL `{url}` must be a scheme and a host only, such as \
                         https://mcp.example.com (the server adds the paths)"
                    ));
                }
                Some(url.to_owned())
            }
        };
        Ok(Self { public, path })
    }

    /// `scheme://host` for a request with `headers`: the public origin, else `http://` and a
    /// `Host` made of host-name characters only (anything else names no URL).
    fn of(&self, headers: &HeaderMap) -> Option<String> {
        if let Some(public) = &self.public {
            return Some(public.clone());
        }
        let host = headers.get(header::HOST)?.to_str().ok()?;
        let plain = |c: char| c.is_ascii_alphanumeric() || ".-_:[]".contains(c);
        (!host.is_empty() && host.len() <= 255 && host.chars().all(plain))
            .then(|| format!("http://{host}"))
    }

    /// The URL of the MCP endpoint: the resource the metadata describes.
    fn resource(&self, headers: &HeaderMap) -> Option<String> {
        Some(format!("{}{}", self.of(headers)?, self.path))
    }

    /// The `WWW-Authenticate` value of a 401: `Bearer resource_metadata="<url>"`, or `Bearer`
    /// alone when the request names no URL the server can give.
    pub fn challenge(&self, headers: &HeaderMap) -> HeaderValue {
        self.of(headers)
            .and_then(|origin| {
                let url = format!("{origin}{WELL_KNOWN}{}", self.path);
                HeaderValue::from_str(&format!("Bearer resource_metadata=\"{url}\"")).ok()
            })
            .unwrap_or_else(|| HeaderValue::from_static("Bearer"))
    }
}

/// The metadata document of the MCP endpoint at `resource` (its URL).
///
/// ```
/// let document = crisp_mcp::http::protected_resource("https://mcp.example.com/mcp");
/// assert_eq!(document["resource"], "https://mcp.example.com/mcp");
/// assert_eq!(document["bearer_methods_supported"], serde_json::json!(["header"]));
/// ```
pub fn protected_resource(resource: &str) -> Value {
    json!({
        "resource": resource,
        "bearer_methods_supported": ["header"],
    })
}

/// The routes of the metadata document: [`WELL_KNOWN`], and [`WELL_KNOWN`] followed by the
/// endpoint's path. Not behind the bearer check: a client reads it to learn how to send one.
pub(crate) fn routes(origin: Origin) -> Router {
    let suffixed = format!("{WELL_KNOWN}{}", origin.path);
    Router::new()
        .route(WELL_KNOWN, get(document))
        .route(&suffixed, get(document))
        .with_state(origin)
}

async fn document(State(origin): State<Origin>, headers: HeaderMap) -> Response {
    match origin.resource(&headers) {
        Some(resource) => (
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(protected_resource(&resource)),
        )
            .into_response(),
        None => (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "send a Host header made of a host name and a port, or configure the server's \
             public URL",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, value.parse().unwrap());
        headers
    }

    #[test]
    fn the_challenge_names_the_metadata_of_the_url_the_client_used() {
        let origin = Origin::new(None, "/mcp").unwrap();
        assert_eq!(
            origin.challenge(&host("127.0.0.1:8808")),
            "Bearer resource_metadata=\"http://127.0.0.1:8808/.well-known/oauth-protected-resource/mcp\""
        );
        assert_eq!(origin.challenge(&host("a\"b")), "Bearer");
        assert_eq!(origin.challenge(&HeaderMap::new()), "Bearer");
        let public = Origin::new(Some("https://mcp.example.com/"), "/mcp").unwrap();
        assert_eq!(
            public.resource(&host("127.0.0.1")).unwrap(),
            "https://mcp.example.com/mcp"
        );
    }

    #[test]
    fn a_public_url_is_a_scheme_and_a_host() {
        for bad in [
            "mcp.example.com",
            "ftp://x",
            "https://x/mcp",
            "https://x?a=1",
            "",
        ] {
            assert!(Origin::new(Some(bad), "/mcp").is_err(), "{bad}");
        }
        assert!(Origin::new(Some("http://[::1]:8808"), "/mcp").is_ok());
    }
}

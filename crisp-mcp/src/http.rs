//! The streamable HTTP transport: rmcp's service under `/mcp`, behind a guard that checks the
//! bearer token (when one is set; always off loopback) and Hugo's request signature (when a
//! Hugo secret is set) on every request, before rmcp reads a byte of it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use crisp_api::types::SecretString;
use http::{HeaderValue, StatusCode, header};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};

use crate::hugo::HugoSecret;
use crate::server::CrispMcp;

/// The path the MCP endpoint is served at.
pub const MCP_PATH: &str = "/mcp";
/// The largest request body read, in bytes; a larger one is answered 413.
pub const BODY_LIMIT: usize = 4 * 1024 * 1024;
/// The environment variable that holds the bearer token.
pub const TOKEN_VAR: &str = "CRISP_MCP_TOKEN";

/// How the HTTP transport is reached and guarded.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HttpSettings {
    /// The address to listen on.
    pub bind: SocketAddr,
    /// The token every request must carry as `Authorization: Bearer <token>`; required when
    /// `bind` is not a loopback address.
    pub bearer: Option<SecretString>,
    /// Hugo's signing secret: every request must be signed with it.
    pub hugo: Option<HugoSecret>,
    /// More `Host` values to accept than the loopback names (behind a reverse proxy, say).
    pub allowed_hosts: Vec<String>,
}

impl HttpSettings {
    /// Listen on `bind`, with no token, no Hugo secret and the loopback host names.
    pub fn new(bind: SocketAddr) -> Self {
        Self {
            bind,
            bearer: None,
            hugo: None,
            allowed_hosts: Vec::new(),
        }
    }

    /// Every request must carry `Authorization: Bearer <token>`.
    #[must_use]
    pub fn bearer(mut self, token: Option<SecretString>) -> Self {
        self.bearer = token;
        self
    }

    /// Every request must be signed by Hugo with `secret`.
    #[must_use]
    pub fn hugo(mut self, secret: Option<HugoSecret>) -> Self {
        self.hugo = secret;
        self
    }

    /// Accept these `Host` values too.
    #[must_use]
    pub fn allowed_hosts(mut self, hosts: Vec<String>) -> Self {
        self.allowed_hosts = hosts;
        self
    }
}

struct Guard {
    bearer: Option<[u8; 32]>,
    hugo: Option<HugoSecret>,
}

/// The router: the MCP endpoint at [`MCP_PATH`] behind the guard.
///
/// # Errors
///
/// When `bind` is not a loopback address and no bearer token is set, or the token is blank.
pub fn router(server: CrispMcp, settings: &HttpSettings) -> Result<Router, String> {
    let loopback = settings.bind.ip().is_loopback();
    let bearer = match &settings.bearer {
        Some(token) if token.expose_secret().trim().is_empty() => {
            return Err(format!("{TOKEN_VAR} is blank"));
        }
        Some(token) => Some(crate::confirm::digest(
            token.expose_secret().trim().as_bytes(),
        )),
        None if !loopback => {
            return Err(format!(
                "listening on {} (not a loopback address) needs a bearer token: set {TOKEN_VAR}",
                settings.bind
            ));
        }
        None => None,
    };
    let mut config = StreamableHttpServerConfig::default().with_max_request_body_bytes(BODY_LIMIT);
    config = if loopback || !settings.allowed_hosts.is_empty() {
        let mut hosts = config.allowed_hosts.clone();
        hosts.extend(settings.allowed_hosts.iter().cloned());
        config.with_allowed_hosts(hosts)
    } else {
        // Off loopback every request carries the bearer token, which a page that rebinds a
        // name to this address cannot; the Host check would only refuse the server's own names.
        config.disable_allowed_hosts()
    };
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let guard = Arc::new(Guard {
        bearer,
        hugo: settings.hugo.clone(),
    });
    Ok(Router::new()
        .nest_service(MCP_PATH, service)
        .layer(axum::middleware::from_fn_with_state(guard, check)))
}

/// Serves `router` on `listener` until `shutdown` completes.
///
/// # Errors
///
/// When the server fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn check(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let delete = request.method() == http::Method::DELETE;
    let mut response = guarded(&guard, request, next).await;
    // rmcp ends a session with 202; MCP's Python SDK expects 200 or 204 and logs a warning on
    // anything else. The session is gone either way: say so with 204.
    if delete && response.status() == StatusCode::ACCEPTED {
        *response.status_mut() = StatusCode::NO_CONTENT;
        *response.body_mut() = Body::empty();
    }
    response
}

async fn guarded(guard: &Guard, request: Request, next: Next) -> Response {
    if let Some(expected) = &guard.bearer {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            // The scheme is case-insensitive (RFC 9110).
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token);
        let ok = given.is_some_and(|token| {
            crate::confirm::constant_time_eq(
                &crate::confirm::digest(token.trim().as_bytes()),
                expected,
            )
        });
        if !ok {
            tracing::warn!(target: "crisp_mcp::http", "refused a request: no valid bearer token");
            let mut response =
                refusal(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
    }
    let Some(secret) = &guard.hugo else {
        return next.run(request).await;
    };
    let (mut parts, body) = request.into_parts();
    let announced = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > BODY_LIMIT as u64) {
        return refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is too large",
        );
    }
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is too large or could not be read",
            );
        }
    };
    match secret.verify(&parts.headers, &bytes, SystemTime::now()) {
        Ok(hugo) => {
            parts.extensions.insert(hugo);
        }
        Err(reason) => {
            tracing::warn!(target: "crisp_mcp::http", %reason, "refused a request: Hugo signature");
            return refusal(StatusCode::UNAUTHORIZED, &format!("refused: {reason}"));
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn refusal(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message.to_owned(),
    )
        .into_response()
}

//! The streamable HTTP transport: rmcp's service under `/mcp`, behind a guard that checks, on
//! every request and before rmcp reads a byte of it, the bearer token (when one is set; always
//! off loopback) and Hugo's request signature (when a Hugo secret is set), and that keeps the
//! sessions within their caps (in total and per client); and the OAuth protected-resource
//! metadata (RFC 9728) that a 401 points to.
//!
//! [`router`] serves one server behind one token. [`router_with`] serves many principals: a
//! [`Resolve`] maps each request's bearer token to its own [`CrispMcp`] (a gateway's agent and
//! its tools), and a session sticks to the server, and the token, that opened it.
//!
//! A client, for the session caps, is the website a Hugo-signed request was signed for, else
//! the peer's IP address (behind a reverse proxy, the proxy's: raise the per-client cap there).

mod metadata;
mod resolve;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use crisp_api::types::SecretString;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use rmcp::transport::common::http_header::HEADER_SESSION_ID;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::Value;

use crate::answer::Refusal;
use crate::audit::Audit;
use crate::caller::{Caller, Stateless};
use crate::hash::{self, Digest};
use crate::hugo::HugoSecret;
use crate::server::CrispMcp;
use crate::sessions::{self, Capped, Full, Sessions};
use metadata::Origin;

pub use crate::sessions::{DEFAULT_MAX_SESSIONS, DEFAULT_MAX_SESSIONS_PER_CLIENT};
pub use metadata::{WELL_KNOWN, protected_resource};
pub use resolve::{Bearer, Resolve, Unauthorized};

/// The path the MCP endpoint is served at.
pub const MCP_PATH: &str = "/mcp";
/// The largest request body read, in bytes; a larger one is answered 413.
pub const BODY_LIMIT: usize = 4 * 1024 * 1024;
/// The largest request that may open a session (an `initialize`, the only request sent
/// without `Mcp-Session-Id`), in bytes; a larger one is answered 413. rmcp keeps its
/// parameters (the client's name among them) for the session's life.
pub const OPEN_LIMIT: usize = 32 * 1024;
/// The environment variable that holds the bearer token.
pub const TOKEN_VAR: &str = "CRISP_MCP_TOKEN";

/// How the HTTP transport is reached and guarded.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HttpSettings {
    /// The address to listen on.
    pub bind: SocketAddr,
    /// The token every request must carry as `Authorization: Bearer <token>`; required when
    /// `bind` is not a loopback address. [`router`] only: with [`router_with`], the
    /// [`Resolve`] decides.
    pub bearer: Option<SecretString>,
    /// Hugo's signing secret: every request must be signed with it.
    pub hugo: Option<HugoSecret>,
    /// More `Host` values to accept than the loopback names (behind a reverse proxy, say).
    pub allowed_hosts: Vec<String>,
    /// The most sessions open at once, all clients together ([`DEFAULT_MAX_SESSIONS`]).
    pub max_sessions: usize,
    /// The most sessions one client holds at once ([`DEFAULT_MAX_SESSIONS_PER_CLIENT`]).
    pub max_sessions_per_client: usize,
    /// The URL clients reach the server at, a scheme and a host only
    /// (`https://mcp.example.com`, behind a TLS reverse proxy), for the protected-resource
    /// metadata and the 401's `WWW-Authenticate`; default: `http://` and the request's `Host`.
    pub public_url: Option<String>,
    /// Where the audit lines of `tools/call`s refused before any server was chosen (no valid
    /// bearer token) go. Default: [`router`]'s server's audit; none with [`router_with`].
    pub door_audit: Option<Audit>,
    /// Serve without sessions ([`stateless`](Self::stateless)). Default: sessions.
    pub stateless: bool,
}

impl HttpSettings {
    /// Listen on `bind`, with no token, no Hugo secret, the loopback host names and the
    /// default session caps.
    pub fn new(bind: SocketAddr) -> Self {
        Self {
            bind,
            bearer: None,
            hugo: None,
            allowed_hosts: Vec::new(),
            max_sessions: DEFAULT_MAX_SESSIONS,
            max_sessions_per_client: DEFAULT_MAX_SESSIONS_PER_CLIENT,
            public_url: None,
            door_audit: None,
            stateless: false,
        }
    }

    /// Serve without sessions (`true`): every request stands alone and is answered in JSON,
    /// no `Mcp-Session-Id` is issued, and nothing is kept between requests, so any replica of
    /// a server behind a load balancer that does not pin clients answers any request (each
    /// request carries its bearer token, which picks its server). What a session gave is then
    /// per request: the session caps do not apply (no state is kept), a request is at most
    /// [`BODY_LIMIT`], the client's name is its `User-Agent` (no `initialize` is remembered),
    /// confirmation tokens count against the transport rather than a session (and must live in
    /// a store the replicas share: [`Settings::token_store`](crate::Settings::token_store)),
    /// and a `GET` stream or a `DELETE` is answered 405. Default `false`: sessions, as MCP
    /// clients expect from a single process.
    #[must_use]
    pub fn stateless(mut self, stateless: bool) -> Self {
        self.stateless = stateless;
        self
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

    /// At most `total` sessions open at once, and `per_client` for one client.
    #[must_use]
    pub fn max_sessions(mut self, total: usize, per_client: usize) -> Self {
        self.max_sessions = total;
        self.max_sessions_per_client = per_client;
        self
    }

    /// The URL clients reach the server at (`https://mcp.example.com`), for the
    /// protected-resource metadata; `None`: `http://` and the request's `Host`.
    #[must_use]
    pub fn public_url(mut self, url: Option<String>) -> Self {
        self.public_url = url;
        self
    }

    /// Where the audit lines of `tools/call`s refused for want of a valid bearer token go.
    #[must_use]
    pub fn door_audit(mut self, audit: Audit) -> Self {
        self.door_audit = Some(audit);
        self
    }
}

struct Guard {
    resolve: Box<dyn Resolve>,
    hugo: Option<HugoSecret>,
    /// For the audit lines of `tools/call`s refused before a server was chosen.
    door_audit: Option<Audit>,
    sessions: Arc<Sessions>,
    origin: Origin,
    stateless: bool,
}

tokio::task_local! {
    /// The server the guard chose for the request being served: rmcp's service factory gives
    /// it to a session that the request opens (and to rmcp's per-request lookups).
    static SERVER: CrispMcp;
}

/// The router: the MCP endpoint at [`MCP_PATH`] behind the guard, with `server` for every
/// request that carries the bearer token (any request, on loopback without one), and the
/// protected-resource metadata at [`WELL_KNOWN`].
///
/// # Errors
///
/// When `bind` is not a loopback address and no bearer token is set, the token is blank, a
/// session cap is zero, or the public URL is not a scheme and a host.
pub fn router(server: CrispMcp, settings: &HttpSettings) -> Result<Router, String> {
    let loopback = settings.bind.ip().is_loopback();
    let expected: Option<Digest> = match &settings.bearer {
        Some(token) if token.expose_secret().trim().is_empty() => {
            return Err(format!("{TOKEN_VAR} is blank"));
        }
        Some(token) => Some(hash::sha256(token.expose_secret().trim().as_bytes())),
        None if !loopback => {
            return Err(format!(
                "listening on {} (not a loopback address) needs a bearer token: set {TOKEN_VAR}",
                settings.bind
            ));
        }
        None => None,
    };
    let door_audit = settings
        .door_audit
        .clone()
        .unwrap_or_else(|| server.audit().clone());
    let resolve = move |bearer: Option<Bearer>| {
        let admitted = match (&expected, bearer) {
            (None, _) => true,
            (Some(expected), Some(bearer)) => {
                hash::same(&hash::sha256(bearer.expose_secret().as_bytes()), expected)
            }
            (Some(_), None) => false,
        };
        std::future::ready(if admitted {
            Ok(server.clone())
        } else {
            Err(Unauthorized::default())
        })
    };
    build(Box::new(resolve), settings, Some(door_audit))
}

/// The router for many principals: the MCP endpoint at [`MCP_PATH`], where `resolve` maps
/// each request's bearer token to its server ([`Resolve`] says when it is called), with the
/// session caps, body limits, Hugo signatures and `Host` check of [`router`]; and the
/// protected-resource metadata at [`WELL_KNOWN`]. A request `resolve` refuses gets 401 with
/// `WWW-Authenticate: Bearer resource_metadata="<url of the metadata>"`. `settings.bearer` is
/// not used. Off loopback with no `allowed_hosts`, the `Host` check is off (as for
/// [`router`] with a token): `resolve` must then refuse requests without a token.
///
/// ```
/// use std::collections::HashMap;
/// use crisp_mcp::CrispMcp;
/// use crisp_mcp::http::{Bearer, HttpSettings, Unauthorized, router_with};
///
/// /// One server per agent key, built once (a real gateway keys them by the key's SHA-256).
/// fn endpoint(servers: HashMap<String, CrispMcp>) -> Result<axum::Router, String> {
///     let settings = HttpSettings::new("127.0.0.1:0".parse().unwrap());
///     router_with(
///         move |bearer: Option<Bearer>| {
///             let server = bearer.and_then(|b| servers.get(b.expose_secret()).cloned());
///             std::future::ready(server.ok_or_else(Unauthorized::default))
///         },
///         &settings,
///     )
/// }
/// # let _ = endpoint;
/// ```
///
/// # Errors
///
/// When a session cap is zero, or the public URL is not a scheme and a host.
pub fn router_with(resolve: impl Resolve, settings: &HttpSettings) -> Result<Router, String> {
    build(Box::new(resolve), settings, settings.door_audit.clone())
}

fn build(
    resolve: Box<dyn Resolve>,
    settings: &HttpSettings,
    door_audit: Option<Audit>,
) -> Result<Router, String> {
    let loopback = settings.bind.ip().is_loopback();
    if settings.max_sessions == 0 || settings.max_sessions_per_client == 0 {
        return Err("the session caps must be at least 1: no client could connect".to_owned());
    }
    let origin = Origin::new(settings.public_url.as_deref(), MCP_PATH)?;
    let mut config = StreamableHttpServerConfig::default().with_max_request_body_bytes(BODY_LIMIT);
    if settings.stateless {
        config.legacy_session_mode = false;
        config.json_response = true;
    }
    config = if loopback || !settings.allowed_hosts.is_empty() {
        let mut hosts = config.allowed_hosts.clone();
        hosts.extend(settings.allowed_hosts.iter().cloned());
        config.with_allowed_hosts(hosts)
    } else {
        // Off loopback every request carries the bearer token, which a page that rebinds a
        // name to this address cannot; the Host check would only refuse the server's own names.
        config.disable_allowed_hosts()
    };
    let sessions = Sessions::new(settings.max_sessions, settings.max_sessions_per_client);
    let service = StreamableHttpService::new(
        || {
            SERVER.try_with(CrispMcp::clone).map_err(|_| {
                std::io::Error::other("no MCP server was chosen for this request (a broken build)")
            })
        },
        Arc::new(Capped::new(Arc::clone(&sessions))),
        config,
    );
    let guard = Arc::new(Guard {
        resolve,
        hugo: settings.hugo.clone(),
        door_audit,
        sessions,
        origin: origin.clone(),
        stateless: settings.stateless,
    });
    Ok(Router::new()
        .nest_service(MCP_PATH, service)
        .layer(axum::middleware::from_fn_with_state(guard, check))
        .merge(metadata::routes(origin)))
}

/// Serves `router` on `listener` until `shutdown` completes, through crisp-serve's accept loop
/// within `limits` (`crisp_serve::Limits::default()`: a connection that does not send its
/// request head within 10 s is closed before any check, and at most 512 are open at once); each
/// connection's peer address reaches the handlers (the client, for the session caps).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: crisp_serve::Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    crisp_serve::serve(listener, router, limits, shutdown).await;
}

async fn check(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let delete = request.method() == Method::DELETE;
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
    // Only a request without a session id can open one (rmcp answers any other such request
    // with an error).
    let session = request
        .headers()
        .get(HEADER_SESSION_ID)
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let opens = !guard.stateless && request.method() == Method::POST && session.is_none();
    let bearer = Bearer::from_headers(request.headers());
    let identity = bearer
        .as_ref()
        .map(|b| hash::sha256(b.expose_secret().as_bytes()));
    let server = match guard.resolve.resolve(bearer).await {
        Ok(server) => server,
        Err(unauthorized) => {
            tracing::warn!(target: "crisp_mcp::http", "refused a request: no valid bearer token");
            let challenge = guard.origin.challenge(request.headers());
            let (parts, body) = request.into_parts();
            if let Some(audit) = &guard.door_audit
                && let Ok(bytes) = read_body(&parts.headers, body, BODY_LIMIT).await
            {
                audit_refused_calls(&bytes, "unauthorized", |name, caller, refusal| {
                    crate::call::refused_at_the_door(audit, name, caller, refusal);
                });
            }
            let mut response = refusal(StatusCode::UNAUTHORIZED, unauthorized.message());
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge);
            return response;
        }
    };
    // A session is used with the token that opened it; to anyone else it does not exist.
    if let Some(id) = &session
        && !guard.sessions.may_use(id, identity.as_ref())
    {
        tracing::warn!(target: "crisp_mcp::http", "refused a request: a session opened with another token");
        return refusal(StatusCode::NOT_FOUND, "Not Found: Session not found");
    }
    let request = if guard.hugo.is_some() || opens {
        let limit = if opens { OPEN_LIMIT } else { BODY_LIMIT };
        let (mut parts, body) = request.into_parts();
        let Ok(bytes) = read_body(&parts.headers, body, limit).await else {
            return refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                &if opens {
                    format!(
                        "a request that opens a session (initialize) is at most {} KiB, and \
                         this one is larger or could not be read",
                        OPEN_LIMIT / 1024
                    )
                } else {
                    "the request body is too large or could not be read".to_owned()
                },
            );
        };
        if let Some(secret) = &guard.hugo {
            match secret.verify(&parts.headers, &bytes, SystemTime::now()) {
                Ok(hugo) => {
                    parts.extensions.insert(hugo);
                }
                Err(reason) => {
                    tracing::warn!(target: "crisp_mcp::http", %reason, "refused a request: Hugo signature");
                    audit_refused_calls(&bytes, "bad_signature", |name, caller, refusal| {
                        server.refused_at_the_door(name, caller, refusal);
                    });
                    return refusal(StatusCode::UNAUTHORIZED, &format!("refused: {reason}"));
                }
            }
        }
        Request::from_parts(parts, Body::from(bytes))
    } else {
        request
    };
    if !opens {
        let mut request = request;
        if guard.stateless {
            request.extensions_mut().insert(Stateless);
        }
        return SERVER.scope(server, next.run(request)).await;
    }
    let client = client_of(&request);
    match guard.sessions.reserve(&client, identity) {
        Ok(ticket) => sessions::with_ticket(ticket, SERVER.scope(server, next.run(request))).await,
        Err(full) => {
            tracing::warn!(target: "crisp_mcp::http", %client, ?full, "refused a new session: at the cap");
            session_refusal(full, &client)
        }
    }
}

/// The body, at most `limit` bytes (`Err` when it is larger, announced larger, or cannot be
/// read).
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ()> {
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return Err(());
    }
    axum::body::to_bytes(body, limit).await.map_err(|_| ())
}

/// Calls `record` with a refusal, with `code`, for each `tools/call` in a JSON-RPC body the
/// guard refused (to write its audit line). Other requests (and bodies that are not JSON)
/// leave no line.
fn audit_refused_calls(body: &[u8], code: &'static str, record: impl Fn(&str, &Caller, Refusal)) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let messages = match &value {
        Value::Array(batch) => batch.iter().collect(),
        single => vec![single],
    };
    let caller = Caller::new("http", None);
    for message in messages {
        if message.get("method").and_then(Value::as_str) != Some("tools/call") {
            continue;
        }
        let name = match message.pointer("/params/name") {
            Some(Value::String(name)) => name.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        };
        let message = format!("Refused ({code}). Nothing was sent to Crisp.");
        record(&name, &caller, Refusal::new(code, message));
    }
}

/// The client a new session counts against: the website a Hugo-signed request was signed
/// for, else the peer's IP address.
fn client_of(request: &Request) -> String {
    if let Some(hugo) = request.extensions().get::<crate::hugo::HugoRequest>() {
        return format!("website {}", hugo.website_id);
    }
    match request.extensions().get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(peer)) => peer.ip().to_string(),
        None => "an unknown peer".to_owned(),
    }
}

fn session_refusal(full: Full, client: &str) -> Response {
    let (status, message) = match full {
        Full::Client(max) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "refused: this client ({client}) already holds {max} MCP sessions, the most one \
                 client may: end one (DELETE {MCP_PATH} with its Mcp-Session-Id) or wait for \
                 idle ones to close (after 300 s without a request)"
            ),
        ),
        Full::Server(max) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "refused: the server already holds {max} MCP sessions, its limit: try again \
                 when idle ones have closed (after 300 s without a request)"
            ),
        ),
    };
    let mut response = refusal(status, &message);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    response
}

fn refusal(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message.to_owned(),
    )
        .into_response()
}

//! The gateway's HTTP server: the router of both fronts and the dashboard, served by
//! [`crisp_serve::serve`] (a header-read timeout, a cap on open connections, graceful
//! shutdown).
//!
//! | path | front |
//! | --- | --- |
//! | `/mcp` | MCP (streamable HTTP), each agent with its Bearer key ([`mcp`](mod@crate::mcp)) |
//! | `/.well-known/oauth-protected-resource` (and `.../mcp`) | the MCP front's protected-resource metadata (RFC 9728) |
//! | `/webhooks/crisp` | Crisp's webhook deliveries ([`crate::webhooks`]), with [`router_with_webhooks`] |
//! | `/`, `/approvals`, `/audit`, `/sign-in`, ... | the [`dashboard`](mod@crate::dashboard), for a person |
//! | everything else | Crisp's REST API under `/v1` ([`rest`](mod@crate::rest)); Crisp's 404 envelope elsewhere |

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

use crate::dashboard::{self, Dashboard};
use crate::gateway::Gateway;
use crate::webhooks::{self, Webhooks};
use crate::{mcp, rest};

/// Where the MCP front is served.
pub const MCP_PATH: &str = mcp::MCP_PATH;

/// The router of both fronts and the dashboard over one gateway listening on `local`.
///
/// # Errors
///
/// When the MCP front cannot be built ([`mcp::router`]).
pub fn router(
    gateway: Arc<Gateway>,
    dashboard: Dashboard,
    local: SocketAddr,
) -> Result<Router, String> {
    Ok(Router::new()
        // A route merged here takes precedence over the REST front's catch-all below.
        .merge(mcp::router(Arc::clone(&gateway), local)?)
        .merge(dashboard::router(Arc::clone(&gateway), dashboard))
        // The REST front answers every request no other front's route claims.
        .merge(rest::router(gateway)))
}

/// The router of both fronts, the dashboard and Crisp's webhook deliveries
/// ([`webhooks::PATH`]), which takes precedence over the REST front's catch-all.
///
/// # Errors
///
/// When the MCP front cannot be built ([`mcp::router`]).
pub fn router_with_webhooks(
    gateway: Arc<Gateway>,
    webhooks: Arc<Webhooks>,
    dashboard: Dashboard,
    local: SocketAddr,
) -> Result<Router, String> {
    Ok(webhooks::router(webhooks).merge(router(gateway, dashboard, local)?))
}

/// Serves both fronts of `gateway` and its `dashboard` on `listener` until `shutdown`
/// completes, then lets the requests in flight finish. The audit log is not flushed here: the
/// caller shuts it down after this returns
/// ([`AuditLog::shutdown`](crate::audit::AuditLog::shutdown)). Should the MCP front fail to
/// build (it does not), the REST front and the dashboard are served alone and the error logged.
pub async fn serve(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    dashboard: Dashboard,
    limits: crisp_serve::Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let all = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))
        .and_then(|local| router(Arc::clone(&gateway), dashboard.clone(), local));
    let router = all.unwrap_or_else(|error| {
        tracing::error!(%error, "the MCP front is not served");
        Router::new()
            .merge(dashboard::router(Arc::clone(&gateway), dashboard))
            .merge(rest::router(gateway))
    });
    crisp_serve::serve(listener, router, limits, shutdown).await;
}

//! The gateway's HTTP server: the router of both fronts, served by [`crisp_serve::serve`]
//! (a header-read timeout, a cap on open connections, graceful shutdown).
//!
//! | path | front |
//! | --- | --- |
//! | `/mcp` | MCP (streamable HTTP), each agent with its Bearer key: mounted by the MCP front |
//! | `/`, `/approvals`, `/audit`, `/sign-in`, ... | the [`dashboard`](mod@crate::dashboard), for a person |
//! | everything else | Crisp's REST API under `/v1` ([`rest`](mod@crate::rest)); Crisp's 404 envelope elsewhere |

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

use crate::dashboard::{self, Dashboard};
use crate::gateway::Gateway;
use crate::rest;

/// Where the MCP front is served.
pub const MCP_PATH: &str = "/mcp";

/// The router of both fronts and the dashboard over one gateway.
pub fn router(gateway: Arc<Gateway>, dashboard: Dashboard) -> Router {
    Router::new()
        .merge(dashboard::router(Arc::clone(&gateway), dashboard))
        // The MCP front is merged here, on top of `Gateway::handle`:
        // `.merge(crate::mcp::router(Arc::clone(&gateway)))`, serving MCP_PATH (and the OAuth
        // protected-resource metadata). A route merged here takes precedence over the REST
        // front's catch-all below.
        //
        // The REST front answers every request no other front's route claims.
        .merge(rest::router(gateway))
}

/// Serves both fronts of `gateway` and its `dashboard` on `listener` until `shutdown` completes, then lets the
/// requests in flight finish. The audit log is not flushed here: the caller shuts it down
/// after this returns ([`AuditLog::shutdown`](crate::audit::AuditLog::shutdown)).
pub async fn serve(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    dashboard: Dashboard,
    limits: crisp_serve::Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    crisp_serve::serve(listener, router(gateway, dashboard), limits, shutdown).await;
}

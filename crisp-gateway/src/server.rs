//! The gateway's HTTP server: the router of both fronts, served by [`crisp_serve::serve`]
//! (a header-read timeout, a cap on open connections, graceful shutdown).
//!
//! | path | front |
//! | --- | --- |
//! | `/mcp` | MCP (streamable HTTP), each agent with its Bearer key: mounted by the MCP front |
//! | `/webhooks/crisp` | Crisp's webhook deliveries ([`crate::webhooks`]), with [`router_with_webhooks`] |
//! | everything else | Crisp's REST API under `/v1` ([`rest`](mod@crate::rest)); Crisp's 404 envelope elsewhere |

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

use crate::gateway::Gateway;
use crate::rest;
use crate::webhooks::{self, Webhooks};

/// Where the MCP front is served.
pub const MCP_PATH: &str = "/mcp";

/// The router of both fronts over one gateway.
pub fn router(gateway: Arc<Gateway>) -> Router {
    Router::new()
        // The MCP front is merged here, on top of `Gateway::handle`:
        // `.merge(crate::mcp::router(Arc::clone(&gateway)))`, serving MCP_PATH (and the OAuth
        // protected-resource metadata). A route merged here takes precedence over the REST
        // front's catch-all below.
        //
        // The REST front answers every request no other front's route claims.
        .merge(rest::router(gateway))
}

/// The router of both fronts and of Crisp's webhook deliveries
/// ([`webhooks::PATH`]), which takes precedence over the REST front's
/// catch-all.
pub fn router_with_webhooks(gateway: Arc<Gateway>, webhooks: Arc<Webhooks>) -> Router {
    webhooks::router(webhooks).merge(router(gateway))
}

/// Serves both fronts of `gateway` on `listener` until `shutdown` completes, then lets the
/// requests in flight finish. The audit log is not flushed here: the caller shuts it down
/// after this returns ([`AuditLog::shutdown`](crate::audit::AuditLog::shutdown)).
pub async fn serve(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    limits: crisp_serve::Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    crisp_serve::serve(listener, router(gateway), limits, shutdown).await;
}

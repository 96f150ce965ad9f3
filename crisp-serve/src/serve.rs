//! The accept loop: HTTP/1.1 on hyper, with a header-read timeout, a cap on open connections and
//! graceful shutdown.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

/// How much a server lets its clients hold.
///
/// ```
/// use std::time::Duration;
///
/// let limits = crisp_serve::Limits::default().header_read_timeout(Duration::from_secs(5));
/// assert_eq!(limits.max_connections, 512);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// How long a connection may take to send a whole request head (request line and headers),
    /// counted from when the server starts waiting for it: from the accept for the first request
    /// and from the end of the previous answer on a kept-alive connection. Past it the
    /// connection is closed without an answer, before the router sees anything. This is also the
    /// bound on an idle keep-alive connection, since hyper starts the same timer while it waits
    /// for the next request. Default: 10 s.
    pub header_read_timeout: Duration,
    /// How many connections may be open at once (at least 1). When that many are open, the
    /// server stops accepting until one closes: new connections wait in the operating system's
    /// listen backlog (they are not refused, and cost no descriptor of the process), and once
    /// that backlog is full the operating system refuses further ones. Default: 512, below the
    /// usual soft limit of 1,024 descriptors, so that the process keeps some for its own files
    /// and outgoing sockets.
    pub max_connections: usize,
}

impl Default for Limits {
    /// A 10 s header-read timeout and 512 connections.
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 512,
        }
    }
}

impl Limits {
    /// The same limits with this header-read timeout.
    #[must_use]
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// The same limits with this connection cap (0 is read as 1).
    #[must_use]
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }
}

/// Serves `router` on `listener` over HTTP/1.1 until `shutdown` completes, within `limits`.
/// Each request carries its connection's peer address, for the
/// [`ConnectInfo<SocketAddr>`](axum::extract::ConnectInfo) extractor.
///
/// When `shutdown` completes the server stops accepting, closes idle connections, lets every
/// request in flight finish (its answer is sent, then its connection closed), and returns once
/// the last connection has closed. A request that never ends (a stream that is never closed)
/// keeps it waiting, as it would with `axum::serve`.
///
/// Failures to accept are logged and do not end the loop: a reset before the accept is skipped,
/// any other error (such as running out of descriptors) is logged at `error` and retried after
/// a second, as `axum::serve` does. HTTP/2 and protocol upgrades are not offered.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                // The semaphore is never closed.
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
        };
        tracing::trace!(%peer, "connection accepted");
        let service = router
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let connection = graceful
            .watch(http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    tracing::debug!(
        connections = graceful.count(),
        "shutting down: waiting for the requests in flight"
    );
    graceful.shutdown().await;
}

/// What to do after `accept` failed: nothing for a connection reset before it was accepted,
/// otherwise log and wait a second (the likely cause is the descriptor limit, and waiting lets
/// some connections close).
async fn accept_failed(error: io::Error) {
    if matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "cannot accept a connection; trying again in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

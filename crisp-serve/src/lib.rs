//! What the project's servers share: the sandbox, `crisp-mcp --http` and the gateway each serve
//! an axum [`Router`](axum::Router) on a TCP listener, and each binary starts and ends the same
//! way.
//!
//! - [`serve`] is the accept loop, on hyper directly because `axum::serve` has no header-read
//!   timeout: a connection that does not finish its request head in time is closed before any
//!   handler (and so any authentication) sees it, at most [`Limits::max_connections`] are open
//!   at once, and shutdown lets the requests in flight finish. See [`Limits`] for the numbers.
//! - [`tracing_to_stderr`] and [`exit`] are the two ends of a binary's `main`.
//!
//! ```no_run
//! use std::process::ExitCode;
//!
//! #[tokio::main]
//! async fn main() -> ExitCode {
//!     crisp_serve::tracing_to_stderr("my_server=info");
//!     crisp_serve::exit("my-server", run().await)
//! }
//!
//! async fn run() -> Result<(), String> {
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
//!         .await
//!         .map_err(|e| format!("cannot listen: {e}"))?;
//!     let router = axum::Router::new();
//!     crisp_serve::serve(listener, router, crisp_serve::Limits::default(), async {
//!         let _ = tokio::signal::ctrl_c().await;
//!     })
//!     .await;
//!     Ok(())
//! }
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod serve;
mod startup;

pub use serve::{Limits, serve};
pub use startup::{exit, failure_line, tracing_to_stderr, tracing_to_stderr_capped};

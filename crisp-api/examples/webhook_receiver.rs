//! A Crisp plugin webhook receiver: checks each delivery's signature and replay window, answers
//! at once, and leaves the work to a background task.
//!
//! ```text
//! CRISP_WEBHOOK_SECRET=<plugin signature secret> PORT=3000 cargo run --example webhook_receiver
//! ```
//!
//! It listens on `127.0.0.1` only (put a TLS-terminating proxy in front of it that passes the
//! body and the `X-Crisp-*` headers through unchanged) and accepts `POST /crisp/webhook`:
//!
//! - `200`: correctly signed, sent within five minutes of this server's clock (the
//!   [`Verifier`]'s default replay window), and a delivery; the event is queued for the worker,
//!   which logs it.
//! - `401`: a signature or timestamp header is missing or malformed, the signature does not
//!   match, or the timestamp is outside the window. Nothing from the request is used.
//! - `400`: correctly signed, but the body is not a delivery this crate can parse (or the body
//!   could not be read).
//! - `413`: the body is larger than [`BODY_LIMIT`]; it is not read further, nor checked.
//! - `503`: the worker's queue is full (or the worker is gone); Crisp retries later.
//!
//! Every answer other than `200` is logged with its reason, at `warn` (`error` for a stopped
//! worker). Logs never contain the secret or a signature.
//!
//! Crisp retries deliveries it could not hand over, so the same event can arrive more than
//! once: every log line carries the `X-Delivery-Attempt-Count` header to spot retries, and real
//! handlers should be idempotent.
//!
//! The router is built by [`app`], so tests can serve it on a port of their own.

use std::env::{self, VarError};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use crisp_api::webhook::{ATTEMPT_COUNT_HEADER, Delivery, Event, Verifier, WebhookError};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

/// Where Crisp posts deliveries.
pub const WEBHOOK_PATH: &str = "/crisp/webhook";

/// The largest request body read, in bytes (2 MiB, axum's own default, set explicitly so it is
/// visible and logged). Crisp's deliveries are a few kilobytes: message contents, not files.
/// A larger body is answered `413` without being read further.
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// How many accepted deliveries may wait for the worker before requests get `503`.
pub const QUEUE_CAPACITY: usize = 1024;

const SECRET_VAR: &str = "CRISP_WEBHOOK_SECRET";
const PORT_VAR: &str = "PORT";
const DEFAULT_PORT: u16 = 3000;

struct AppState {
    verifier: Verifier,
    events: mpsc::Sender<Delivery>,
}

/// The receiver's router: `POST /crisp/webhook` reads a body of up to [`BODY_LIMIT`] bytes,
/// checks the request with `verifier` and sends each accepted delivery to `events`.
///
/// `verifier` is used as given: [`Verifier::new`] has a five-minute replay window by default.
pub fn app(verifier: Verifier, events: mpsc::Sender<Delivery>) -> Router {
    Router::new()
        .route(WEBHOOK_PATH, post(receive))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(Arc::new(AppState { verifier, events }))
}

/// Checks one request and queues its delivery. Never waits for the worker.
///
/// The body arrives as a `Result`, so that a body refused by the size limit is logged here
/// rather than answered by axum in silence.
async fn receive(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> StatusCode {
    // Not signed, and only used for logging: a retry has a count above 1.
    let attempt = headers
        .get(ATTEMPT_COUNT_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("-");
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return refuse_body(&headers, attempt, &rejection),
    };
    let delivery = match state.verifier.verify_and_parse(&headers, &body) {
        Ok(delivery) => delivery,
        // Correctly signed, so this came from Crisp: log it to find out what changed.
        Err(error @ WebhookError::InvalidDelivery { .. }) => {
            tracing::warn!(attempt, %error, "rejected a signed webhook: not a delivery (400)");
            return StatusCode::BAD_REQUEST;
        }
        // `WebhookError` never contains the secret or a signature, so it is safe to log.
        Err(error) => {
            tracing::warn!(attempt, %error, "rejected a webhook (401)");
            return StatusCode::UNAUTHORIZED;
        }
    };
    tracing::info!(
        event = delivery.event.name(),
        attempt,
        website_id = delivery.website_id.as_deref().unwrap_or("-"),
        timestamp = delivery.timestamp,
        "accepted a webhook"
    );
    match state.events.try_send(delivery) {
        Ok(()) => StatusCode::OK,
        Err(TrySendError::Full(delivery)) => {
            tracing::warn!(
                event = delivery.event.name(),
                attempt,
                "worker queue full, asking Crisp to retry (503)"
            );
            StatusCode::SERVICE_UNAVAILABLE
        }
        Err(TrySendError::Closed(delivery)) => {
            tracing::error!(
                event = delivery.event.name(),
                attempt,
                "worker has stopped, asking Crisp to retry (503)"
            );
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

/// Logs why a body was not read, and answers with axum's status for it: `413` over the size
/// limit, `400` if the body could not be read at all (such as a connection that broke off).
fn refuse_body(headers: &HeaderMap, attempt: &str, rejection: &BytesRejection) -> StatusCode {
    let status = rejection.status();
    // As the client declared it; not trusted, only logged.
    let content_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("-");
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        tracing::warn!(
            attempt,
            content_length,
            limit = BODY_LIMIT,
            "rejected a webhook: body over the size limit (413)"
        );
    } else {
        // axum's text names the failure, never the body's bytes.
        let error = rejection.body_text();
        tracing::warn!(
            attempt,
            content_length,
            %error,
            "rejected a webhook: body not read ({})",
            status.as_u16()
        );
    }
    status
}

/// The "work": takes deliveries off the queue until every sender is gone.
pub async fn work(mut events: mpsc::Receiver<Delivery>) {
    while let Some(delivery) = events.recv().await {
        match &delivery.event {
            Event::MessageSend(message) => tracing::info!(
                session_id = %message.session_id,
                fingerprint = message.fingerprint,
                "processing message:send"
            ),
            Event::Unknown { name, .. } => {
                tracing::info!(event = %name, "skipping an event this crate does not know");
            }
            event => tracing::info!(event = event.name(), "processing"),
        }
    }
}

/// Reads the signing secret and keys a verifier with it (which refuses a blank one); `Err` is
/// the message to print.
fn verifier_from_env() -> Result<Verifier, String> {
    match env::var(SECRET_VAR) {
        Ok(secret) => Verifier::new(secret).map_err(|error| format!("{SECRET_VAR}: {error}")),
        Err(VarError::NotPresent) => Err(format!(
            "{SECRET_VAR} is not set: set it to the plugin's signature secret from the Crisp \
             Marketplace"
        )),
        Err(VarError::NotUnicode(_)) => Err(format!("{SECRET_VAR} is not valid UTF-8")),
    }
}

/// Reads the port, `3000` if unset; `Err` is the message to print.
fn port_from_env() -> Result<u16, String> {
    match env::var(PORT_VAR) {
        Err(VarError::NotPresent) => Ok(DEFAULT_PORT),
        Ok(port) => port
            .trim()
            .parse()
            .map_err(|_| format!("{PORT_VAR}={port:?} is not a port number (0 to 65535)")),
        Err(VarError::NotUnicode(_)) => Err(format!("{PORT_VAR} is not valid UTF-8")),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt().init();

    // The default replay window: five minutes either side of this server's clock.
    let (verifier, port) = match (verifier_from_env(), port_from_env()) {
        (Ok(verifier), Ok(port)) => (verifier, port),
        (Err(message), _) | (_, Err(message)) => {
            eprintln!("webhook_receiver: not starting: {message}");
            return ExitCode::FAILURE;
        }
    };

    let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
    tokio::spawn(work(receiver));

    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = match tokio::net::TcpListener::bind(address).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("webhook_receiver: cannot listen on {address}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let address = listener.local_addr().unwrap_or(address);
    tracing::info!("listening on http://{address}{WEBHOOK_PATH}");
    if let Err(error) = axum::serve(listener, app(verifier, sender)).await {
        eprintln!("webhook_receiver: server error: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

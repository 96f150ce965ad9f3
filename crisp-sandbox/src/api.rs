//! The API under `/v1`: each request goes through faults, auth, quota, grants, validation and
//! then the behaviour, and its events to the webhooks.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{RawPathParams, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::app::App;
use crate::behaviour::{self, Success};
use crate::config::{Fault, FaultState};
use crate::envelope::{ApiError, success};
use crate::route::Route;
use crate::util::now_ms;

/// The largest request body read, in bytes; a larger one is answered 413.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Answers a request of route number `index` of `app.routes`.
pub(crate) async fn handle(
    app: Arc<App>,
    index: usize,
    params: Result<RawPathParams, RawPathParamsRejection>,
    request: Request,
) -> Response {
    let started = Instant::now();
    let route = app.routes[index];
    let (delay, fault) = app
        .faults
        .lock()
        .as_mut()
        .map_or((None, None), FaultState::draw);
    if let Some(ms) = delay {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let response = match fault {
        Some(fault) => fault_response(fault),
        None => match call(&app, route, params, request).await {
            Ok(outcome) => success(
                StatusCode::from_u16(route.facts.status).unwrap_or(StatusCode::OK),
                &outcome.reason,
                outcome.data,
            ),
            Err(error) => error.into_response(),
        },
    };
    tracing::info!(
        operation = route.op.id,
        status = response.status().as_u16(),
        fault = ?fault,
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}

/// Counts a request under `/v1`, routed or not.
pub(crate) fn count(app: &App, path: &str) {
    if path == "/v1" || path.starts_with("/v1/") {
        app.api_requests.fetch_add(1, Ordering::Relaxed);
    }
}

async fn call(
    app: &App,
    route: Route,
    params: Result<RawPathParams, RawPathParamsRejection>,
    request: Request,
) -> Result<Success, ApiError> {
    let (parts, body) = request.into_parts();
    let token = app.authenticate(&parts.headers)?;
    app.quota.lock().spend(&token, now_ms())?;
    if let Some(grants) = &token.grants
        && !grants.allows(route.op)
    {
        return Err(ApiError::not_allowed(format!(
            "the token is not granted `{}` at {} level, which `{}` needs",
            route.op.scope, route.op.access, route.op.id
        )));
    }
    let params = params.map_err(|e| ApiError::invalid(format!("path: {e}")))?;
    let path: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let query: Vec<(String, String)> = match parts.uri.query() {
        Some(q) => serde_urlencoded::from_str(q)
            .map_err(|e| ApiError::invalid(format!("query string: {e}")))?,
        None => Vec::new(),
    };
    let bytes = read_body(body).await?;
    let input = app.validators.check(route.op.id, &path, &query, &bytes)?;
    let (outcome, website_id) = {
        let mut ws = app.workspace.lock();
        let outcome = behaviour::run(&mut ws, &route, &input, &app.validators, now_ms())?;
        (outcome, ws.website_id.clone())
    };
    for (event, data) in &outcome.events {
        app.webhooks.deliver(&website_id, event, data.clone());
    }
    Ok(outcome)
}

async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_data",
            format!("the request body is larger than {BODY_LIMIT} bytes, or could not be read"),
        )
    })
}

fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::RateLimited { retry_after } => ApiError::rate_limited(
            "injected fault: rate limited",
            retry_after,
        )
        .into_response(),
        Fault::BadGateway => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>",
        )
            .into_response(),
        Fault::Drop => {
            // A body that fails before its first byte: hyper closes the connection without
            // an answer.
            let stream = futures_util::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::other("injected fault: dropped"))
            });
            Response::new(Body::from_stream(stream))
        }
    }
}

//! The HTTP side: one axum route per operation of the spec under `/v1`, each going through
//! faults, auth, quota, grants, validation and then the behaviour; the admin routes under
//! `/_sandbox`; Crisp's envelope on every answer, unknown routes included.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{RawPathParams, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, delete, get, post, put};
use base64::Engine;
use crisp_api::types::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::behaviour::{self, Outcome};
use crate::config::{Fault, FaultState, Faults, Token};
use crate::error::{ApiError, json_body, success};
use crate::route::Route;
use crate::state::{Fixtures, Workspace, now_ms};
use crate::validate::Validators;
use crate::webhook::Webhooks;

/// The largest request body read, in bytes; a larger one is answered 413.
pub const BODY_LIMIT: usize = 1024 * 1024;

const DAY_MS: i64 = 86_400_000;

/// Everything a running sandbox holds.
pub(crate) struct App {
    pub routes: Vec<Route>,
    pub validators: Arc<Validators>,
    pub workspace: Mutex<Workspace>,
    /// The workspace as loaded, for `reset`.
    pub initial: Workspace,
    pub tokens: Mutex<Vec<Token>>,
    /// Requests made today per token identifier: (day, count).
    pub usage: Mutex<HashMap<String, (i64, u64)>>,
    pub faults: Mutex<Option<FaultState>>,
    pub webhooks: Webhooks,
    /// Requests received under `/v1` since the start, whatever their answer.
    pub api_requests: AtomicU64,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn method_filter(method: crisp_api::Method) -> MethodFilter {
    match method {
        crisp_api::Method::Get => MethodFilter::GET,
        crisp_api::Method::Post => MethodFilter::POST,
        crisp_api::Method::Put => MethodFilter::PUT,
        crisp_api::Method::Patch => MethodFilter::PATCH,
        crisp_api::Method::Delete => MethodFilter::DELETE,
    }
}

/// The router: every operation of the spec under `/v1`, and the admin routes.
pub(crate) fn router(app: Arc<App>) -> Router {
    let mut by_path: BTreeMap<String, MethodRouter<Arc<App>>> = BTreeMap::new();
    for (index, route) in app.routes.iter().enumerate() {
        let handler =
            move |State(app): State<Arc<App>>,
                  params: Result<RawPathParams, RawPathParamsRejection>,
                  request: Request| async move { app.handle(index, params, request).await };
        let path = format!("/v1{}", route.op.path);
        let methods = by_path.remove(&path).unwrap_or_default();
        by_path.insert(path, methods.on(method_filter(route.op.method), handler));
    }
    let mut router = Router::new();
    for (path, methods) in by_path {
        router = router.route(&path, methods);
    }
    router
        .route("/_sandbox/health", get(health))
        .route("/_sandbox/webhook", put(set_webhook).delete(remove_webhook))
        .route("/_sandbox/webhook/deliveries", get(deliveries))
        .route("/_sandbox/faults", put(set_faults).delete(remove_faults))
        .route("/_sandbox/tokens", post(add_token))
        .route("/_sandbox/reset", post(reset))
        .route("/_sandbox/fixtures", get(export_fixtures))
        .route("/_sandbox/quota", delete(reset_quota))
        .route("/_sandbox/requests", get(requests))
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&app),
            count_api_requests,
        ))
        .with_state(app)
}

/// Counts every request under `/v1`, routed or not, before anything else looks at it.
async fn count_api_requests(
    State(app): State<Arc<App>>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path();
    if path == "/v1" || path.starts_with("/v1/") {
        app.api_requests.fetch_add(1, Ordering::Relaxed);
    }
    next.run(request).await
}

async fn requests(State(app): State<Arc<App>>) -> Response {
    success(
        StatusCode::OK,
        "resolved",
        json!({ "api_requests": app.api_requests.load(Ordering::Relaxed) }),
    )
}

async fn unknown_route(method: Method, uri: axum::http::Uri) -> Response {
    ApiError::not_found(format!("no route {method} {}", uri.path())).into_response()
}

async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "not_allowed",
        format!("{method} is not a method of {}", uri.path()),
    )
    .into_response()
}

impl App {
    /// Injects `faults` from now on (`None`: no more).
    pub(crate) fn set_faults(&self, faults: Option<Faults>) {
        *lock(&self.faults) = faults.map(FaultState::new);
    }

    /// Accepts `token` from now on, replacing one with the same identifier.
    pub(crate) fn add_token(&self, token: Token) {
        let mut tokens = lock(&self.tokens);
        tokens.retain(|t| t.identifier != token.identifier);
        tokens.push(token);
    }

    /// Back to the workspace as loaded, and every quota unspent.
    pub(crate) fn reset(&self) {
        *lock(&self.workspace) = self.initial.clone();
        lock(&self.usage).clear();
    }

    async fn handle(
        self: Arc<Self>,
        index: usize,
        params: Result<RawPathParams, RawPathParamsRejection>,
        request: Request,
    ) -> Response {
        let started = Instant::now();
        let route = self.routes[index];
        let (delay, fault) = lock(&self.faults)
            .as_mut()
            .map_or((None, None), FaultState::draw);
        if let Some(ms) = delay {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        let response = match fault {
            Some(fault) => fault_response(fault),
            None => match self.call(route, params, request).await {
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

    async fn call(
        &self,
        route: Route,
        params: Result<RawPathParams, RawPathParamsRejection>,
        request: Request,
    ) -> Result<Outcome, ApiError> {
        let (parts, body) = request.into_parts();
        let token = self.authenticate(&parts.headers)?;
        self.spend_quota(&token)?;
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
        let input = self.validators.check(route.op.id, &path, &query, &bytes)?;
        let (outcome, website_id) = {
            let mut ws = lock(&self.workspace);
            let outcome = behaviour::run(&mut ws, &route, &input, &self.validators, now_ms())?;
            (outcome, ws.website_id.clone())
        };
        for (event, data) in &outcome.events {
            self.webhooks.deliver(&website_id, event, data.clone());
        }
        Ok(outcome)
    }

    /// The token of a request, from its Basic auth and `X-Crisp-Tier` headers.
    fn authenticate(&self, headers: &HeaderMap) -> Result<Token, ApiError> {
        let auth = headers.get(header::AUTHORIZATION).ok_or_else(|| {
            ApiError::invalid_session(
                "no Authorization header: send HTTP Basic auth from the token identifier and key",
            )
        })?;
        let encoded = auth
            .to_str()
            .ok()
            .and_then(|v| {
                let (scheme, rest) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("basic").then_some(rest.trim())
            })
            .ok_or_else(|| {
                ApiError::invalid_session("the Authorization header is not HTTP Basic auth")
            })?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| {
                ApiError::invalid_session(
                    "the Basic auth credentials are not base64 of `identifier:key`",
                )
            })?;
        let (identifier, key) = decoded.split_once(':').ok_or_else(|| {
            ApiError::invalid_session("the Basic auth credentials are not `identifier:key`")
        })?;
        let token = lock(&self.tokens)
            .iter()
            .find(|t| t.identifier == identifier && same(t.key(), key))
            .cloned()
            .ok_or_else(|| ApiError::invalid_session("the token identifier or key is wrong"))?;
        let tier = headers
            .get(crisp_api::TIER_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::invalid_session(format!(
                    "no X-Crisp-Tier header: this token needs `X-Crisp-Tier: {}`",
                    token.tier
                ))
            })?;
        if !tier.trim().eq_ignore_ascii_case(token.tier.as_str()) {
            return Err(ApiError::invalid_session(format!(
                "X-Crisp-Tier is `{}`, but this token's tier is `{}`",
                tier.trim(),
                token.tier
            )));
        }
        Ok(token)
    }

    /// Counts one request against the token's daily quota.
    fn spend_quota(&self, token: &Token) -> Result<(), ApiError> {
        let now = now_ms();
        let day = now.div_euclid(DAY_MS);
        let mut usage = lock(&self.usage);
        let entry = usage.entry(token.identifier.clone()).or_insert((day, 0));
        if entry.0 != day {
            *entry = (day, 0);
        }
        if let Some(quota) = token.daily_quota
            && entry.1 >= quota
        {
            let next_day_ms = (day + 1) * DAY_MS - now;
            let retry_after = u64::try_from(next_day_ms.div_euclid(1000) + 1).unwrap_or(1);
            return Err(ApiError::rate_limited(
                format!(
                    "the token's daily quota of {quota} requests is spent; it resets at midnight UTC"
                ),
                retry_after,
            ));
        }
        entry.1 += 1;
        Ok(())
    }
}

/// Compares two secrets in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut diff = u8::from(a.len() != b.len());
    for (i, x) in a.iter().enumerate() {
        diff |= x ^ b.get(i).copied().unwrap_or(0);
    }
    diff == 0
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

// ----- admin routes ------------------------------------------------------------------------

fn admin_ok(data: Value) -> Response {
    success(StatusCode::OK, "updated", data)
}

fn admin_body<T: for<'de> Deserialize<'de>>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::invalid(format!("request body: {e}")))
}

async fn health(State(app): State<Arc<App>>) -> Response {
    success(
        StatusCode::OK,
        "resolved",
        json!({ "ok": true, "operations": app.routes.len() }),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookBody {
    url: String,
    #[serde(default)]
    secret: Option<String>,
}

async fn set_webhook(State(app): State<Arc<App>>, body: Bytes) -> Response {
    match admin_body::<WebhookBody>(&body) {
        Ok(b) => {
            app.webhooks
                .set_endpoint(Some(b.url.clone()), b.secret.map(SecretString::from));
            admin_ok(json!({ "url": b.url }))
        }
        Err(e) => e.into_response(),
    }
}

async fn remove_webhook(State(app): State<Arc<App>>) -> Response {
    app.webhooks.set_endpoint(None, None);
    admin_ok(json!({}))
}

async fn deliveries(State(app): State<Arc<App>>) -> Response {
    let list = serde_json::to_value(app.webhooks.deliveries()).unwrap_or_else(|_| json!([]));
    success(StatusCode::OK, "resolved", list)
}

async fn set_faults(State(app): State<Arc<App>>, body: Bytes) -> Response {
    match admin_body::<Faults>(&body) {
        Ok(faults) => {
            let echo = serde_json::to_value(&faults).unwrap_or_default();
            app.set_faults(Some(faults));
            admin_ok(echo)
        }
        Err(e) => e.into_response(),
    }
}

async fn remove_faults(State(app): State<Arc<App>>) -> Response {
    app.set_faults(None);
    admin_ok(json!({}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    identifier: String,
    key: String,
    #[serde(default)]
    tier: Option<String>,
    #[serde(default)]
    grants: Option<String>,
    #[serde(default)]
    daily_quota: Option<u64>,
}

async fn add_token(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let result = admin_body::<TokenBody>(&body).and_then(|b| {
        let tier = match b.tier.as_deref() {
            None => crisp_api::Tier::Plugin,
            Some(text) => text
                .parse()
                .map_err(|e| ApiError::invalid(format!("`tier`: {e}")))?,
        };
        let mut token = Token::new(tier, b.identifier, b.key);
        if let Some(grants) = b.grants {
            let grants = grants
                .parse()
                .map_err(|e| ApiError::invalid(format!("`grants`: {e}")))?;
            token = token.with_grants(grants);
        }
        // As on the command line: 0 is no limit.
        if let Some(quota) = b.daily_quota {
            token = token.with_daily_quota((quota > 0).then_some(quota));
        }
        Ok(token)
    });
    match result {
        Ok(token) => {
            let identifier = token.identifier.clone();
            app.add_token(token);
            admin_ok(json!({ "identifier": identifier }))
        }
        Err(e) => e.into_response(),
    }
}

async fn reset(State(app): State<Arc<App>>) -> Response {
    app.reset();
    admin_ok(json!({}))
}

async fn reset_quota(State(app): State<Arc<App>>) -> Response {
    lock(&app.usage).clear();
    admin_ok(json!({}))
}

async fn export_fixtures(State(app): State<Arc<App>>) -> Response {
    let fixtures: Fixtures = lock(&app.workspace).to_fixtures();
    let value = serde_json::to_value(fixtures).unwrap_or_default();
    (StatusCode::OK, json_body(&value)).into_response()
}

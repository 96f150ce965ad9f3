//! The admin routes under `/_sandbox`: health, webhook endpoint and deliveries, faults, tokens,
//! quota, reset, the fixtures export and the request count; who may call them.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use crisp_api::types::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::App;
use crate::auth;
use crate::config::{Faults, Token};
use crate::envelope::{ApiError, json_body, success};

/// Who can reach the admin routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exposure {
    /// Only this machine (a loopback host).
    Local { token: bool },
    /// The network, with the admin token.
    Guarded,
    /// The network, without a token (`insecure_admin`).
    Open,
}

/// Who could reach the admin routes on `host`, or why the sandbox must not start that way: a
/// host other than loopback opens them to the network, which needs an admin token or an
/// explicit `insecure`.
pub(crate) fn exposure(host: IpAddr, token: bool, insecure: bool) -> Result<Exposure, String> {
    match (host.to_canonical().is_loopback(), token, insecure) {
        (true, _, _) => Ok(Exposure::Local { token }),
        (false, true, _) => Ok(Exposure::Guarded),
        (false, false, true) => Ok(Exposure::Open),
        (false, false, false) => Err(format!(
            "{host} is not a loopback address: the admin routes (/_sandbox/*: mint tokens, \
             read the whole workspace, point webhooks anywhere) would be open to the network. \
             Set an admin token (--admin-token or CRISP_SANDBOX_ADMIN_TOKEN; \
             SandboxBuilder::admin_token) so that they need `Authorization: Bearer <token>`, \
             or open them anyway with --insecure-admin (SandboxBuilder::insecure_admin)"
        )),
    }
}

impl Exposure {
    /// The warning to log when the admin routes at `url` are open to the network.
    pub fn warning(self, url: &str) -> Option<String> {
        match self {
            Self::Local { .. } => None,
            Self::Guarded => Some(format!(
                "the admin routes are reachable from the network at {url}, behind the admin \
                 token: anyone who has it can mint tokens, read the whole workspace and point \
                 webhooks anywhere"
            )),
            Self::Open => Some(format!(
                "THE ADMIN ROUTES ARE OPEN TO THE NETWORK, WITHOUT AUTHENTICATION, at {url}: \
                 anyone who can reach this address can mint tokens, read the whole workspace \
                 and point webhooks anywhere (--insecure-admin). Set an admin token instead."
            )),
        }
    }
}

/// The admin routes; with an admin token, each needs it.
pub(crate) fn routes(app: &Arc<App>) -> Router<Arc<App>> {
    Router::new()
        .route("/_sandbox/health", get(health))
        .route("/_sandbox/webhook", put(set_webhook).delete(remove_webhook))
        .route("/_sandbox/webhook/deliveries", get(deliveries))
        .route("/_sandbox/faults", put(set_faults).delete(remove_faults))
        .route("/_sandbox/tokens", post(add_token))
        .route("/_sandbox/reset", post(reset))
        .route("/_sandbox/fixtures", get(export_fixtures))
        .route("/_sandbox/quota", delete(reset_quota))
        .route("/_sandbox/requests", get(requests))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(app),
            require_admin_token,
        ))
}

/// Lets a request through if the sandbox has no admin token or the request carries it.
async fn require_admin_token(
    State(app): State<Arc<App>>,
    request: Request,
    next: Next,
) -> Response {
    match &app.admin_token {
        Some(expected) if !auth::bearer_matches(request.headers(), expected) => {
            let mut response = ApiError::invalid_session(
                "the admin routes need `Authorization: Bearer <admin token>`",
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            response
        }
        _ => next.run(request).await,
    }
}

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

async fn requests(State(app): State<Arc<App>>) -> Response {
    success(
        StatusCode::OK,
        "resolved",
        json!({ "api_requests": app.api_requests.load(Ordering::Relaxed) }),
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
            match app.set_faults(Some(faults)) {
                Ok(()) => admin_ok(echo),
                Err(e) => ApiError::invalid(e.to_string()).into_response(),
            }
        }
        Err(e) => e.into_response(),
    }
}

async fn remove_faults(State(app): State<Arc<App>>) -> Response {
    match app.set_faults(None) {
        Ok(()) => admin_ok(json!({})),
        Err(e) => ApiError::invalid(e.to_string()).into_response(),
    }
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

impl TokenBody {
    fn token(self) -> Result<Token, ApiError> {
        let tier = match self.tier.as_deref() {
            None => crisp_api::Tier::Plugin,
            Some(text) => text
                .parse()
                .map_err(|e| ApiError::invalid(format!("`tier`: {e}")))?,
        };
        let mut token = Token::new(tier, self.identifier, self.key);
        if let Some(grants) = self.grants {
            let grants = grants
                .parse()
                .map_err(|e| ApiError::invalid(format!("`grants`: {e}")))?;
            token = token.with_grants(grants);
        }
        // As on the command line: 0 is no limit.
        if let Some(quota) = self.daily_quota {
            token = token.with_daily_quota((quota > 0).then_some(quota));
        }
        Ok(token)
    }
}

async fn add_token(State(app): State<Arc<App>>, body: Bytes) -> Response {
    match admin_body::<TokenBody>(&body).and_then(TokenBody::token) {
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
    app.quota.lock().clear();
    admin_ok(json!({}))
}

async fn export_fixtures(State(app): State<Arc<App>>) -> Response {
    let value = serde_json::to_value(app.fixtures()).unwrap_or_default();
    (StatusCode::OK, json_body(&value)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_off_loopback_needs_a_token_or_insecure() {
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        let any: IpAddr = "0.0.0.0".parse().unwrap();
        let lan: IpAddr = "192.168.1.20".parse().unwrap();
        let open = Exposure::Local { token: false };
        assert_eq!(exposure(local, false, false), Ok(open));
        assert_eq!(exposure(mapped, false, false), Ok(open));
        assert_eq!(exposure("::1".parse().unwrap(), false, true), Ok(open));
        assert_eq!(
            exposure(local, true, false),
            Ok(Exposure::Local { token: true })
        );
        assert_eq!(exposure(any, true, false), Ok(Exposure::Guarded));
        assert_eq!(exposure(lan, false, true), Ok(Exposure::Open));
        for host in [any, lan, "::".parse().unwrap()] {
            let refusal = exposure(host, false, false).unwrap_err();
            assert!(refusal.contains("--admin-token"), "{refusal}");
            assert!(refusal.contains(&host.to_string()), "{refusal}");
        }
        assert_eq!(open.warning("u"), None);
        assert!(Exposure::Guarded.warning("u").is_some());
        assert!(
            Exposure::Open
                .warning("u")
                .unwrap()
                .contains("WITHOUT AUTHENTICATION")
        );
    }
}

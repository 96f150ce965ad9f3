//! The router: one axum route per operation of the spec under `/v1` (answered by `api.rs`), the
//! admin routes under `/_sandbox` (`admin.rs`), and Crisp's envelope on every other answer,
//! unknown routes included.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{RawPathParams, Request, State};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};

use crate::app::App;
use crate::envelope::ApiError;
use crate::{admin, api};

/// The axum filter of an operation's method (through crisp-api's one mapping to
/// `http::Method`; every method the API uses has a filter).
fn method_filter(method: crisp_api::Method) -> MethodFilter {
    MethodFilter::try_from(axum::http::Method::from(method)).unwrap_or(MethodFilter::GET)
}

/// The router: every operation of the spec under `/v1`, and the admin routes.
pub(crate) fn router(app: Arc<App>) -> Router {
    let mut by_path: BTreeMap<String, MethodRouter<Arc<App>>> = BTreeMap::new();
    for (index, route) in app.routes.iter().enumerate() {
        let handler =
            move |State(app): State<Arc<App>>,
                  params: Result<RawPathParams, RawPathParamsRejection>,
                  request: Request| api::handle(app, index, params, request);
        let path = format!("/v1{}", route.op.path);
        let methods = by_path.remove(&path).unwrap_or_default();
        by_path.insert(path, methods.on(method_filter(route.op.method), handler));
    }
    let mut router = Router::new();
    for (path, methods) in by_path {
        router = router.route(&path, methods);
    }
    router
        .merge(admin::routes(&app))
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&app),
            count_api_requests,
        ))
        .with_state(app)
}

/// Counts every request under `/v1`, routed or not, before anything else looks at it.
async fn count_api_requests(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    api::count(&app, request.uri().path());
    next.run(request).await
}

/// Crisp's answer to a route it does not know (404 `not_found`, "the route does not exist"),
/// which clients tell from an unknown id by that message; and the path asked for, with a word
/// on `/v1` when it is outside it.
async fn unknown_route(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    let outside = if path == "/v1" || path.starts_with("/v1/") {
        ""
    } else {
        " (the API's routes are under /v1)"
    };
    ApiError::not_found(format!(
        "the route does not exist: {method} {path}{outside}"
    ))
    .into_response()
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "not_allowed",
        format!("{method} is not a method of {}", uri.path()),
    )
    .into_response()
}

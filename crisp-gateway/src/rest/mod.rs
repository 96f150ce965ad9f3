//! The REST front: Crisp's own REST API at `/v1`, so that any Crisp client works unchanged
//! when pointed at the gateway (the official Node, Go and Python clients, `crisp-api` itself).
//!
//! - **Auth**: `Authorization: Basic base64(agent-name:key)`; the tier header is accepted and
//!   ignored. An agent's key in the query string is refused (400): a URL ends up in logs.
//! - **Route**: method and path matched to an [`Operation`](crisp_api::Operation) of the
//!   generated table ([`Routes`]); an unknown route is Crisp's 404 envelope.
//! - **Ids**: percent-decoded, then checked as crisp-api checks them (`..`, empty, control
//!   characters: 400 `invalid_data`).
//! - **Query**: the pairs as sent; a parameter given twice is refused (Crisp's parameters are
//!   single values).
//! - **Body**: JSON, at most [`BODY_LIMIT`] bytes (413 past it); JSON that does not parse is
//!   400 `invalid_data`.
//! - **Answer**: Crisp's envelope and status, as Crisp answered (errors included); the
//!   gateway's refusals as Crisp's error envelope, with `Retry-After` on a 429.
//!
//! - **Approvals**: a call the agent may only propose is answered 202 with `reason:
//!   "pending_approval"` and `data: {approval_id, status_url, ...}`; the agent reads its status at
//!   `GET /v1/_gateway/approvals/{id}` (see [`approvals`](crate::approvals)).
//!
//! Every request, refused ones included, is one audit row.

mod approvals;
mod routes;
mod wire;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use crisp_api::Operation;
use http::HeaderMap;
use http::header::CONTENT_LENGTH;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use serde_json::Value;

use crate::gateway::{Front, Gateway, Incoming, Unhandled};
use crate::identity;
use crate::refusal::Refusal;

pub use routes::{Matched, Routes};
use wire::{authenticate, unhandled};
pub use wire::{query_pairs, render};

/// The largest request body the front reads: 1 MiB (Crisp's own bodies are far smaller).
pub const BODY_LIMIT: usize = 1 << 20;

/// Where the REST API is served.
pub const BASE_PATH: &str = "/v1";

struct Rest {
    gateway: Arc<Gateway>,
    routes: Routes,
}

/// The REST front as a router: every request it is given is answered as Crisp's REST API
/// under [`BASE_PATH`] (anything else is Crisp's 404 envelope, once authenticated). Merge the
/// other fronts' routes into it: they take precedence over this catch-all.
pub fn router(gateway: Arc<Gateway>) -> Router {
    let rest = Arc::new(Rest {
        gateway,
        routes: Routes::new(),
    });
    Router::new()
        .route(
            approvals::ROUTE,
            axum::routing::any(approvals::status).with_state(Arc::clone(&rest.gateway)),
        )
        .fallback(serve)
        .with_state(rest)
}

async fn serve(State(rest): State<Arc<Rest>>, request: Request) -> Response {
    let received = Instant::now();
    let (parts, body) = request.into_parts();
    let (caller, client) = match authenticate(&rest.gateway, &parts.headers, received) {
        Ok(found) => found,
        Err(answer) => return *answer,
    };
    // The refused request's row is built only when a request is refused.
    let refuse = |operation: Option<&'static Operation>, refusal| {
        let unhandled = Unhandled {
            operation,
            ..unhandled(&caller, client.as_ref(), received)
        };
        render(rest.gateway.refuse(&unhandled, refusal))
    };

    let path = parts.uri.path();
    let found = match path.strip_prefix(BASE_PATH) {
        Some(under) if under.starts_with('/') => rest.routes.find(&parts.method, under),
        _ => Err(Refusal::route(parts.method.as_str(), path)),
    };
    let (operation, ids) = match found {
        Ok(found) => found,
        Err(refusal) => return refuse(None, refusal),
    };
    let query = match query_pairs(parts.uri.query())
        .and_then(|query| identity::refuse_key_in_query(caller.policy(), &query).map(|()| query))
    {
        Ok(query) => query,
        Err(refusal) => return refuse(Some(operation), refusal),
    };
    let body = match read_body(&parts.headers, body).await {
        Ok(body) => body,
        Err(refusal) => return refuse(Some(operation), refusal),
    };
    let incoming = Incoming {
        front: Front::Rest,
        client,
        operation,
        ids,
        query,
        body,
        received,
        confirmed: false,
    };
    render(rest.gateway.handle(&caller, incoming).await)
}

/// The request's JSON body, if it has one, read up to [`BODY_LIMIT`] bytes.
async fn read_body(headers: &HeaderMap, body: Body) -> Result<Option<Value>, Refusal> {
    let announced = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|length| length > BODY_LIMIT as u64) {
        return Err(Refusal::too_large(BODY_LIMIT));
    }
    let bytes = match Limited::new(body, BODY_LIMIT).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
            return Err(Refusal::too_large(BODY_LIMIT));
        }
        Err(_) => {
            return Err(Refusal::request(
                "the request body could not be read (the connection broke while sending it): \
                 send it again",
            ));
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(&bytes).map(Some).map_err(|error| {
        Refusal::request(format!(
            "the request body is not JSON ({error}): send a JSON object, as Crisp's API takes"
        ))
    })
}

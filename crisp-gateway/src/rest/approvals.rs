//! `GET /v1/_gateway/approvals/{id}`: an agent reads what became of one of its proposals
//! ([`Gateway::approval_status`](crate::Gateway::approval_status)), with its own key (Basic, as
//! every REST call). Another agent's approval, or none, is Crisp's 404 envelope; a method other
//! than GET is the REST front's unknown route. One audit row per request.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::response::Response;

use super::wire::{authenticate, query_pairs, render, unhandled};
use crate::gateway::{Front, Gateway, Lookup};
use crate::identity;
use crate::refusal::Refusal;

/// The route, under the REST front's `/v1`.
pub(super) const ROUTE: &str = "/v1/_gateway/approvals/{id}";

pub(super) async fn status(
    State(gateway): State<Arc<Gateway>>,
    id: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let received = Instant::now();
    let (parts, _body) = request.into_parts();
    let (caller, client) = match authenticate(&gateway, &parts.headers, received) {
        Ok(found) => found,
        Err(answer) => return *answer,
    };
    // The refused request's row is built only when a request is refused.
    let refuse =
        |refusal| render(gateway.refuse(&unhandled(&caller, client.as_ref(), received), refusal));
    if parts.method != http::Method::GET {
        return refuse(Refusal::route(parts.method.as_str(), parts.uri.path()));
    }
    if let Err(refusal) = query_pairs(parts.uri.query())
        .and_then(|query| identity::refuse_key_in_query(caller.policy(), &query))
    {
        return refuse(refusal);
    }
    let Ok(Path(id)) = id else {
        let refusal = Refusal::request(
            "the approval id in the path is not percent-encoded UTF-8: use the approval_id the \
             proposal was answered with",
        );
        return refuse(refusal);
    };
    let lookup = Lookup {
        front: Front::Rest,
        client,
        approval_id: id,
        received,
    };
    render(gateway.approval_status(&caller, lookup).await)
}

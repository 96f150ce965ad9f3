//! What every page shares: the [`Shared`] state of the dashboard's handlers, and the
//! [`Visitor`] a request was let in as. A leaf of `dashboard/`: the pages import it, never the
//! reverse.

use std::sync::Arc;

use axum::response::Response;
use http::HeaderValue;
use http::header::SET_COOKIE;

use super::desk::ApprovalDesk;
use super::sessions::{Session, Sessions};
use super::token::AdminToken;
use crate::gateway::Gateway;

/// The audit rows' `front` of what a person did on the dashboard (signing in, a refused form,
/// a review).
pub const FRONT: &str = "dashboard";

/// What every handler shares.
pub(super) struct Shared {
    pub gateway: Arc<Gateway>,
    pub admin: Option<AdminToken>,
    pub approvals: Option<Arc<dyn ApprovalDesk>>,
    pub sessions: Sessions,
}

/// A person let in: their session, its cookie, and the cookie to set when the session is new.
pub(super) struct Visitor {
    pub cookie: String,
    pub session: Session,
    pub set_cookie: Option<HeaderValue>,
}

impl Visitor {
    /// Sets the session's cookie on `response` when the session is new.
    pub fn finish(self, mut response: Response) -> Response {
        if let Some(cookie) = self.set_cookie {
            response.headers_mut().append(SET_COOKIE, cookie);
        }
        response
    }
}

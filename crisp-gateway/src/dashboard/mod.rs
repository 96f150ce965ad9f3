//! The dashboard: the gateway's pages for a person, served at `/` beside the fronts.
//!
//! | path | what |
//! | --- | --- |
//! | `GET /` | the agents: rules, today's requests against budget and quota, requests per hour |
//! | `GET /approvals`, `POST /approvals/review` | the pending proposals, approved or denied with a note |
//! | `GET /audit` | the audit log, newest first, filtered and paged; `GET /audit/export`: the same rows as JSON lines |
//! | `GET /sign-in`, `POST /sign-in`, `POST /sign-out` | the admin's session |
//! | `GET /assets/dashboard.css` | the one style sheet |
//!
//! **Who may see it.** With an admin token ([`AdminToken`], from
//! `CRISP_GATEWAY_ADMIN_TOKEN`), whoever signs in with it, wherever the gateway listens; the
//! token is compared in constant time and never written to a page, a log line or an audit row.
//! Without one, only loopback peers (a request that came through a proxy, with a `Forwarded`
//! or `X-Forwarded-For` header, is not taken for loopback) that name a loopback host
//! (`localhost`, `127.0.0.1`, `[::1]`: no DNS rebinding): others are refused with 403 and a
//! sentence saying to set the token.
//!
//! **Sessions** are kept server-side (a bounded map; see `sessions.rs`): the cookie holds a
//! random 256-bit id (`HttpOnly`, `SameSite=Strict`, `Secure` when the request came over
//! HTTPS through a proxy that says so, a lifetime of [`SESSION_HOURS`]). Every form that
//! changes anything carries the session's CSRF token, checked in constant time; a POST without
//! it, or with another session's, is refused (403) and recorded in the audit log. A GET never
//! changes anything.
//!
//! **Pages** are server-rendered HTML without a line of JavaScript: `<details>` expands an
//! audit row, the chart is inline SVG drawn here, the export is a plain download. The answers
//! carry a Content-Security-Policy (`default-src 'self'`, `frame-ancestors 'none'`),
//! `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` and `Cache-Control:
//! no-store`.
//!
//! **Templates: maud.** Pages are written with [`maud::html!`]: compiled into the binary
//! (checked by rustc, no template files to ship or find at run time, no build step), and every
//! value spliced in is HTML-escaped unless wrapped in `PreEscaped` (used here only for the
//! style sheet's link and nothing that comes from Crisp or an agent). askama would do as well;
//! maud keeps a page and the code that fills it in one Rust file, and escaping is the default
//! rather than a filter to remember.

mod access;
mod agents;
mod approvals;
mod audit;
mod chart;
mod desk;
mod gateway_desk;
mod layout;
mod respond;
mod sessions;
mod shared;
mod token;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::gateway::Gateway;

pub use desk::{ApprovalDesk, PendingApproval, Review, Verdict};
pub use sessions::{MAX_SESSIONS, SESSION_HOURS};
pub use shared::FRONT;
pub use token::{ADMIN_TOKEN_VAR, AdminToken};

use shared::Shared;

/// How the dashboard is served: who may sign in, and (for tests) where its approvals come from.
#[derive(Clone, Default)]
pub struct Dashboard {
    admin: Option<AdminToken>,
    approvals: Option<Arc<dyn ApprovalDesk>>,
}

impl std::fmt::Debug for Dashboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dashboard")
            .field("admin", &self.admin)
            .field("approvals", &self.approvals.is_some())
            .finish()
    }
}

impl Dashboard {
    /// A dashboard for whoever signs in with `admin`; without it, for loopback peers only.
    pub fn new(admin: Option<AdminToken>) -> Self {
        Self {
            admin,
            approvals: None,
        }
    }

    /// The dashboard with `CRISP_GATEWAY_ADMIN_TOKEN` from the environment, if set.
    ///
    /// # Errors
    /// The variable is set but is not a usable token (see [`AdminToken::new`]).
    pub fn from_env() -> Result<Self, String> {
        Ok(Self::new(AdminToken::from_env()?))
    }

    /// The same dashboard, its approvals page showing and deciding through `desk` instead of
    /// the gateway's own approvals (the default).
    #[must_use]
    pub fn with_approvals(mut self, desk: Arc<dyn ApprovalDesk>) -> Self {
        self.approvals = Some(desk);
        self
    }

    /// Whether an admin token is set (then anyone who signs in sees it, on any address).
    pub fn has_admin_token(&self) -> bool {
        self.admin.is_some()
    }
}

/// The dashboard's routes over `gateway`, with the security headers on every answer. Merge
/// it before the REST front's catch-all.
pub fn router(gateway: Arc<Gateway>, dashboard: Dashboard) -> Router {
    let approvals = dashboard.approvals.or_else(|| {
        let desk: Arc<dyn ApprovalDesk> = Arc::new(gateway_desk::GatewayDesk(Arc::clone(&gateway)));
        gateway.store().approvals().is_some().then_some(desk)
    });
    let shared = Arc::new(Shared {
        gateway,
        admin: dashboard.admin,
        approvals,
        sessions: sessions::Sessions::new(),
    });
    Router::new()
        .route("/", get(agents::page))
        .route("/approvals", get(approvals::page))
        .route("/approvals/review", post(approvals::review))
        .route("/audit", get(audit::page))
        .route("/audit/export", get(audit::export))
        .route("/sign-in", get(access::sign_in_form).post(access::sign_in))
        .route("/sign-out", post(access::sign_out))
        .route(layout::CSS_PATH, get(layout::css))
        .layer(axum::middleware::map_response(respond::security_headers))
        .with_state(shared)
}

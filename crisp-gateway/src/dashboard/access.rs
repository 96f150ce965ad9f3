//! Who may use the dashboard: the admin token, the loopback rule, sessions and their cookie,
//! and the CSRF check of every form. See the [module docs](super).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use http::header::{COOKIE, HOST, ORIGIN, SET_COOKIE, USER_AGENT};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, StatusCode};
use maud::html;

use super::layout;
use super::respond::{Pairs, html, read_form, see_other};
use super::sessions::COOKIE as SESSION_COOKIE;
use super::shared::{FRONT, Shared, Visitor};
use super::token::ADMIN_TOKEN_VAR;
use crate::store::AuditRow;
use crate::store::now_ms;

/// The longest reviewer name kept from the sign-in form.
const NAME_MAX: usize = 64;

impl Shared {
    /// Lets the request in (a page, or a form before its CSRF check): the loopback rule when no
    /// admin token is set (then a new session is opened on the first visit), a signed-in
    /// session otherwise (a GET without one is sent to the sign-in page).
    ///
    /// # Errors
    /// The answer to send instead: 403 off loopback, a redirect to `/sign-in`, or 403 for a
    /// POST without a session.
    pub(super) fn admit(&self, parts: &Parts) -> Result<Visitor, Box<Response>> {
        self.loopback_rule(parts)?;
        if let Some(cookie) = session_cookie(&parts.headers)
            && let Some(session) = self.sessions.take(&cookie)
        {
            return Ok(Visitor {
                cookie,
                session,
                set_cookie: None,
            });
        }
        if self.admin.is_some() {
            return Err(Box::new(if parts.method == http::Method::GET {
                see_other("/sign-in")
            } else {
                refused_page(
                    StatusCode::FORBIDDEN,
                    "Your session has ended: sign in again, then send the form again.",
                )
            }));
        }
        self.open_session("this machine (loopback)".to_owned(), &parts.headers)
    }

    /// A posted form, read ([`read_form`]) then admitted ([`admit_form`](Self::admit_form)):
    /// the visitor, the request's parts and the form.
    ///
    /// # Errors
    /// The answer to send instead: the body could not be read, or the form is refused.
    pub(super) async fn admit_posted(
        &self,
        request: Request,
    ) -> Result<(Visitor, Parts, Pairs), Box<Response>> {
        let (parts, body) = request.into_parts();
        let form = read_form(body).await.map_err(Box::new)?;
        let visitor = self.admit_form(&parts, &form)?;
        Ok((visitor, parts, form))
    }

    /// [`admit`](Self::admit) for a form that changes something: the same, then the form's
    /// origin and its CSRF token (the `csrf` field, the session's own, compared in constant
    /// time). A refused form is recorded in the audit log.
    ///
    /// # Errors
    /// The answer to send instead; 403 for a form without the session's CSRF token.
    pub(super) fn admit_form(&self, parts: &Parts, form: &Pairs) -> Result<Visitor, Box<Response>> {
        self.cross_site_rule(parts)?;
        let visitor = self.admit(parts)?;
        if visitor.session.csrf_matches(form.raw("csrf")) {
            return Ok(visitor);
        }
        self.record(
            parts,
            "csrf",
            403,
            "a dashboard form without its session's CSRF token",
        );
        Err(Box::new(visitor.finish(refused_page(
            StatusCode::FORBIDDEN,
            "This form is not from your session of the dashboard (its CSRF token is missing or \
             another session's): nothing was changed. Reload the page and send it again.",
        ))))
    }

    /// Refuses a POST that another site's page sent (its `Origin` is not this host, or the
    /// browser says it is cross-site), recorded like a missing CSRF token.
    fn cross_site_rule(&self, parts: &Parts) -> Result<(), Box<Response>> {
        let headers = &parts.headers;
        // `same-site` is another port or subdomain of this host: another site to the dashboard.
        let cross_site = headers
            .get("sec-fetch-site")
            .is_some_and(|site| matches!(site.as_bytes(), b"cross-site" | b"same-site"));
        // Under `Referrer-Policy: no-referrer` a browser sends `Origin: null` for the
        // dashboard's own forms: that says nothing, and Sec-Fetch-Site speaks instead.
        let foreign_origin = match (headers.get(ORIGIN), headers.get(HOST)) {
            (Some(origin), _) if origin.as_bytes() == b"null" => false,
            (Some(origin), Some(host)) => {
                let origin = origin.to_str().unwrap_or_default();
                let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
                origin_host.as_bytes() != host.as_bytes()
            }
            _ => false,
        };
        if cross_site || foreign_origin {
            self.record(
                parts,
                "csrf",
                403,
                "a dashboard form sent from another site",
            );
            return Err(Box::new(refused_page(
                StatusCode::FORBIDDEN,
                "This form was sent from another site: nothing was changed.",
            )));
        }
        Ok(())
    }

    /// Without an admin token, only loopback peers that did not come through a proxy.
    fn loopback_rule(&self, parts: &Parts) -> Result<(), Box<Response>> {
        if self.admin.is_some() {
            return Ok(());
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip().to_canonical());
        let proxied = parts.headers.contains_key("forwarded")
            || parts.headers.contains_key("x-forwarded-for");
        if peer.is_some_and(|ip| ip.is_loopback()) && !proxied {
            // A page of another site whose name was made to resolve to 127.0.0.1 (DNS
            // rebinding) reaches this from the person's own browser, as that site's origin:
            // only a loopback name in `Host` is this machine's dashboard.
            if parts
                .headers
                .get(HOST)
                .and_then(|host| host.to_str().ok())
                .is_some_and(loopback_host)
            {
                return Ok(());
            }
            return Err(Box::new(refused_page(
                StatusCode::FORBIDDEN,
                &format!(
                    "Without an admin token the dashboard answers only to a loopback address in                      the browser's address bar (localhost, 127.0.0.1 or [::1]), so that no other                      site can reach it through this browser. Open it at one of those, or set                      {ADMIN_TOKEN_VAR} and sign in."
                ),
            )));
        }
        Err(Box::new(refused_page(
            StatusCode::FORBIDDEN,
            &format!(
                "The dashboard is served only to this machine (loopback) while no admin token \
                 is set. To open it from elsewhere, set {ADMIN_TOKEN_VAR} to a long random \
                 token, restart the gateway, and sign in with it."
            ),
        )))
    }

    /// Opens a session for `reviewer`, its cookie set on the answer.
    fn open_session(
        &self,
        reviewer: String,
        headers: &HeaderMap,
    ) -> Result<Visitor, Box<Response>> {
        let (cookie, session) = self.sessions.create(reviewer).map_err(|_| {
            Box::new(refused_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The system's random source failed, so no session could be opened: try again.",
            ))
        })?;
        let set_cookie = self.cookie_header(&cookie, headers, self.sessions.max_age());
        Ok(Visitor {
            cookie,
            session,
            set_cookie,
        })
    }

    /// The `Set-Cookie` of a session (`max_age` 0 ends it).
    fn cookie_header(&self, value: &str, headers: &HeaderMap, max_age: u64) -> Option<HeaderValue> {
        let secure = if over_https(headers) { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
        ))
        .ok()
    }

    /// Records a refused dashboard request in the audit log (never a token or a form's
    /// values).
    pub(super) fn record(&self, parts: &Parts, why: &str, status: u16, error: &str) {
        let row = AuditRow {
            at_ms: now_ms(),
            agent: None,
            key_id: None,
            front: FRONT.to_owned(),
            client: parts
                .headers
                .get(USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            operation: None,
            method: Some(parts.method.as_str().to_owned()),
            path_ids: Vec::new(),
            decision: "refused".to_owned(),
            why: Some(why.to_owned()),
            outcome: Some("not_sent".to_owned()),
            status: Some(status),
            reason: Some(
                if status == 401 {
                    "invalid_session"
                } else {
                    "not_allowed"
                }
                .to_owned(),
            ),
            error: Some(error.to_owned()),
            attempts: 0,
            upstream_requests: 0,
            latency_us: 0,
        };
        if let Err(error) = self.gateway.audit().record(row) {
            tracing::warn!(%error, "a refused dashboard request could not be put in the audit log");
        }
    }
}

/// `GET /sign-in`: the form (or the agents page when no admin token is set).
pub(super) async fn sign_in_form(State(shared): State<Arc<Shared>>) -> Response {
    if shared.admin.is_none() {
        return see_other("/");
    }
    html(StatusCode::OK, sign_in_page(None))
}

/// `POST /sign-in`: the token checked in constant time; a session on success, 401 and an
/// audit row otherwise.
pub(super) async fn sign_in(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Some(admin) = &shared.admin else {
        return see_other("/");
    };
    let form = match read_form(body).await {
        Ok(form) => form,
        Err(answer) => return answer,
    };
    if let Err(answer) = shared.cross_site_rule(&parts) {
        return *answer;
    }
    if !admin.matches(form.raw("token")) {
        shared.record(
            &parts,
            "sign_in",
            401,
            "a dashboard sign-in with a token that is not the admin token",
        );
        return html(
            StatusCode::UNAUTHORIZED,
            sign_in_page(Some(
                "That is not the gateway's admin token: nothing was opened. Paste the value of \
                 CRISP_GATEWAY_ADMIN_TOKEN.",
            )),
        );
    }
    let reviewer = reviewer_name(form.get("name"));
    match shared.open_session(reviewer, &parts.headers) {
        Ok(visitor) => visitor.finish(see_other("/")),
        Err(answer) => *answer,
    }
}

/// `POST /sign-out`: ends the session (a form with the CSRF token).
pub(super) async fn sign_out(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (visitor, parts, _form) = match shared.admit_posted(request).await {
        Ok(admitted) => admitted,
        Err(answer) => return *answer,
    };
    shared.sessions.remove(&visitor.cookie);
    let mut response = see_other(if shared.admin.is_some() {
        "/sign-in"
    } else {
        "/"
    });
    if let Some(cookie) = shared.cookie_header("", &parts.headers, 0) {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}

/// The name a reviewer gave at sign-in (printable, at most 64 characters), or `admin`.
fn reviewer_name(given: Option<&str>) -> String {
    let name: String = given
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(NAME_MAX)
        .collect();
    if name.trim().is_empty() {
        "admin".to_owned()
    } else {
        name.trim().to_owned()
    }
}

fn sign_in_page(problem: Option<&str>) -> maud::Markup {
    layout::bare(
        "Sign in",
        html! {
            h1 { "Sign in to the gateway" }
            @if let Some(problem) = problem {
                p.problem role="alert" { (problem) }
            }
            form.sign-in method="post" action="/sign-in" {
                label { "Admin token " input type="password" name="token" autocomplete="current-password" required; }
                label { "Your name (for approvals and the audit log) " input type="text" name="name" maxlength="64"; }
                button type="submit" { "Sign in" }
            }
        },
    )
}

/// A refusal as a small page of its own.
pub(super) fn refused_page(status: StatusCode, message: &str) -> Response {
    html(
        status,
        layout::bare(
            "Refused",
            html! {
                h1 { "Refused" }
                p.problem { (message) }
            },
        ),
    )
}

/// The session cookie's value, if the request carries one.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// Whether a `Host` header names this machine's loopback: `localhost` (or a name under it) or
/// a loopback address, with or without a port.
fn loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    let name = name.to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// Whether the request came over HTTPS, by a proxy's word (`X-Forwarded-Proto: https` or
/// `Forwarded: proto=https`); the gateway itself serves plain HTTP.
fn over_https(headers: &HeaderMap) -> bool {
    let says = |name: &str, needle: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains(needle))
    };
    says("x-forwarded-proto", "https") || says("forwarded", "proto=https")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_names_are_loopback_hosts() {
        for host in [
            "localhost",
            "localhost:8484",
            "LocalHost:1",
            "app.localhost:8484",
            "127.0.0.1:8484",
            "127.1.2.3",
            "[::1]:8484",
            "[::ffff:127.0.0.1]:80",
        ] {
            assert!(loopback_host(host), "{host}");
        }
        for host in [
            "evil.example:8484",
            "localhost.evil.example",
            "192.0.2.2:8484",
            "[2001:db8::1]:80",
            "",
        ] {
            assert!(!loopback_host(host), "{host}");
        }
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=1; crisp_gateway_session=abc; b=2"),
        );
        assert_eq!(session_cookie(&headers).as_deref(), Some("abc"));
        assert_eq!(session_cookie(&HeaderMap::new()), None);
    }

    #[test]
    fn reviewer_names_are_printable_and_bounded() {
        assert_eq!(reviewer_name(None), "admin");
        assert_eq!(reviewer_name(Some(" \u{7}")), "admin");
        assert_eq!(reviewer_name(Some("Ana\u{1b}[31m")), "Ana[31m");
        assert_eq!(reviewer_name(Some(&"x".repeat(100))).len(), 64);
    }
}

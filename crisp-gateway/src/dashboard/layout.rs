//! The frame of every page (head, navigation, sign-out form, a one-time message) and the
//! style sheet, embedded in the binary.

use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use maud::{DOCTYPE, Markup, html};

use super::shared::Visitor;

/// Where the style sheet is served.
pub(super) const CSS_PATH: &str = "/assets/dashboard.css";

/// The style sheet.
const CSS: &str = include_str!("dashboard.css");

/// The pages of the navigation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Tab {
    Agents,
    Approvals,
    Audit,
}

/// `GET /assets/dashboard.css`.
pub(super) async fn css() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

/// A page of the dashboard: the navigation (with `tab` marked), the sign-out form (with the
/// session's CSRF token), the session's one-time message, then `body`.
pub(super) fn page(visitor: &Visitor, tab: Tab, title: &str, body: Markup) -> Markup {
    let link = |to: Tab, href: &str, label: &str| {
        html! {
            @if to == tab {
                a href=(href) aria-current="page" { (label) }
            } @else {
                a href=(href) { (label) }
            }
        }
    };
    frame(
        title,
        html! {
            header {
                nav {
                    span.brand { "crisp-gateway" }
                    (link(Tab::Agents, "/", "Agents"))
                    (link(Tab::Approvals, "/approvals", "Approvals"))
                    (link(Tab::Audit, "/audit", "Audit log"))
                }
                form.sign-out method="post" action="/sign-out" {
                    span.who { (visitor.session.reviewer) }
                    input type="hidden" name="csrf" value=(visitor.session.csrf);
                    button type="submit" { "Sign out" }
                }
            }
            main {
                @if let Some(flash) = &visitor.session.flash {
                    p.flash role="status" { (flash) }
                }
                (body)
            }
        },
    )
}

/// A page without navigation (sign-in, refusals).
pub(super) fn bare(title: &str, body: Markup) -> Markup {
    frame(title, html! { main.bare { (body) } })
}

fn frame(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · crisp-gateway" }
                link rel="stylesheet" href=(CSS_PATH);
            }
            body { (body) }
        }
    }
}

/// A Unix time in milliseconds as UTC, to the second (`2026-12-05 07:53:26Z`).
pub(super) fn time(at_ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(at_ms).map_or_else(
        || at_ms.to_string(),
        |at| at.format("%Y-%m-%d %H:%M:%SZ").to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_to_the_second() {
        assert_eq!(time(1_767_225_600_000), "2026-01-01 00:00:00Z");
        assert_eq!(time(1_767_225_601_999), "2026-01-01 00:00:01Z");
    }
}

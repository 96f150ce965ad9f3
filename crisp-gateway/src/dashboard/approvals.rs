//! `GET /approvals` and `POST /approvals/review`: the proposals agents made that wait for a
//! person, shown with exactly what would be sent, approved or denied with a note.
//!
//! The page reads and decides through [`ApprovalDesk`](super::ApprovalDesk): the gateway's own
//! approvals by default (`gateway_desk.rs`, the same code as `crisp-gateway approvals approve|deny`), so the page knows
//! nothing of how a proposal is stored or sent.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;
use http::StatusCode;
use maud::{Markup, html};

use super::desk::{PendingApproval, Review, Verdict};
use super::layout::{self, Tab, time};
use super::respond::{html, see_other};
use super::shared::Shared;
use crate::store::now_ms;

/// The longest note a reviewer may leave (the agent reads it).
pub(super) const NOTE_MAX: usize = 2_000;

/// `GET /approvals`.
pub(super) async fn page(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let visitor = match shared.admit(&parts) {
        Ok(visitor) => visitor,
        Err(answer) => return *answer,
    };
    let (status, list) = match &shared.approvals {
        None => (
            StatusCode::OK,
            html! { p.muted { "Approvals are not kept by this gateway." } },
        ),
        Some(desk) => match desk.pending(now_ms()).await {
            Ok(pending) if pending.is_empty() => (
                StatusCode::OK,
                html! { p.muted { "Nothing waits for approval." } },
            ),
            Ok(pending) => (
                StatusCode::OK,
                html! {
                    @for approval in &pending {
                        (card(approval, &visitor.session.csrf))
                    }
                },
            ),
            Err(error) => (
                StatusCode::SERVICE_UNAVAILABLE,
                html! { p.problem { "The approvals could not be read: " (error) } },
            ),
        },
    };
    let body = html! {
        h1 { "Approvals" }
        (list)
    };
    let page = layout::page(&visitor, Tab::Approvals, "Approvals", body);
    visitor.finish(html(status, page))
}

/// `POST /approvals/review`: `id`, `verdict` (`approve` or `deny`), `note`, `csrf`.
pub(super) async fn review(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (visitor, _parts, form) = match shared.admit_posted(request).await {
        Ok(admitted) => admitted,
        Err(answer) => return *answer,
    };
    let verdict = match form.get("verdict") {
        Some("approve") => Some(Verdict::Approve),
        Some("deny") => Some(Verdict::Deny),
        _ => None,
    };
    let note = form.get("note").map(str::to_owned);
    let message = match (&shared.approvals, form.get("id"), verdict) {
        (None, _, _) => "Approvals are not kept by this gateway: nothing was done.".to_owned(),
        (_, None, _) | (_, _, None) => {
            "The form named no approval or no decision: nothing was done.".to_owned()
        }
        _ if note.as_ref().is_some_and(|n| n.chars().count() > NOTE_MAX) => {
            format!("The note is longer than {NOTE_MAX} characters: nothing was done.")
        }
        (Some(desk), Some(id), Some(verdict)) => {
            let review = Review {
                id: id.to_owned(),
                verdict,
                note,
                reviewer: visitor.session.reviewer.clone(),
                at_ms: now_ms(),
            };
            desk.review(&review).await.unwrap_or_else(|error| error)
        }
    };
    shared.sessions.flash(&visitor.cookie, message);
    visitor.finish(see_other("/approvals"))
}

fn card(approval: &PendingApproval, csrf: &str) -> Markup {
    let query = if approval.query.is_empty() {
        String::new()
    } else {
        let mut query = form_urlencoded::Serializer::new(String::from("?"));
        query.extend_pairs(&approval.query);
        query.finish()
    };
    let body = approval
        .body
        .as_ref()
        .map(|body| serde_json::to_string_pretty(body).unwrap_or_else(|_| body.to_string()));
    html! {
        article.card.approval data-approval=(approval.id) {
            h2 { (approval.agent) " proposes " code { (approval.operation) } }
            p.muted {
                "Proposed " (time(approval.created_ms)) ", expires " (time(approval.expires_ms))
                " · id " code { (approval.id) }
            }
            pre.request { (approval.method) " " (approval.path) (query) }
            @if let Some(text) = approval.message_text() {
                p { "What the customer will see:" }
                pre.customer-text { (text) }
            }
            @if let Some(body) = body {
                details open {
                    summary { "The body, as it will be sent" }
                    pre.body { (body) }
                }
            }
            form.review method="post" action="/approvals/review" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="id" value=(approval.id);
                textarea name="note" maxlength=(NOTE_MAX) placeholder="A note for the agent (optional)" {}
                button type="submit" name="verdict" value="approve" { "Approve and send" }
                button.deny type="submit" name="verdict" value="deny" { "Deny" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::desk::sample;

    #[test]
    fn the_card_escapes_the_text_and_the_body() {
        let card = card(
            &sample(Some(serde_json::json!({
                "type": "text", "content": "<script>alert(1)</script>"
            }))),
            "csrf-token",
        )
        .into_string();
        assert!(!card.contains("<script>"), "{card}");
        assert!(
            card.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{card}"
        );
        assert!(card.contains("value=\"csrf-token\""), "{card}");
    }
}

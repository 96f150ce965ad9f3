//! `GET /audit`: the audit log, newest first, filtered by agent, operation, decision and time,
//! [`PAGE`] rows a page, each row a `<details>` that expands to every field; `GET
//! /audit/export` downloads the filtered rows as JSON lines (the objects of `crisp-gateway
//! audit --json`).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDateTime};
use http::StatusCode;
use http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use maud::{Markup, html};

use super::layout::{self, Tab, time};
use super::respond::{Pairs, html};
use super::shared::Shared;
use crate::cli::audit::json_line;
use crate::store::{AuditFilter, AuditRow, DECISIONS};

/// Rows on one page.
pub(super) const PAGE: u32 = 50;

/// The most rows one export holds (narrow the filter, by time, for more).
pub(super) const EXPORT_MAX: u32 = 100_000;

/// The filters of the page and the export, as read from the query string.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Filters {
    agent: Option<String>,
    operation: Option<String>,
    decision: Option<String>,
    /// As typed, and in Unix milliseconds.
    since: Option<(String, i64)>,
    until: Option<(String, i64)>,
    page: u32,
}

impl Filters {
    /// The filters of a query string, and what in it was not understood (then left out).
    fn read(query: &Pairs) -> (Self, Vec<String>) {
        let mut problems = Vec::new();
        let decision = query.get("decision").and_then(|decision| {
            if DECISIONS.contains(&decision) {
                Some(decision.to_owned())
            } else {
                problems.push(format!(
                    "There is no decision \"{decision}\": pick one of {}.",
                    DECISIONS.join(", ")
                ));
                None
            }
        });
        let mut when = |name: &str| {
            let text = query.get(name)?;
            match parse_time(text) {
                Some(ms) => Some((text.to_owned(), ms)),
                None => {
                    problems.push(format!(
                        "\"{text}\" is not a time: give it as 2026-12-05T08:30 (UTC)."
                    ));
                    None
                }
            }
        };
        let since = when("since");
        let until = when("until");
        let filters = Self {
            agent: query.get("agent").map(str::to_owned),
            operation: query.get("operation").map(str::to_owned),
            decision,
            since,
            until,
            page: query.get("page").and_then(|p| p.parse().ok()).unwrap_or(0),
        };
        (filters, problems)
    }

    /// The store's filter for this page (one row more than a page, to know if another
    /// follows), or for the export.
    fn store_filter(&self, export: bool) -> AuditFilter {
        AuditFilter {
            agent: self.agent.clone(),
            operation: self.operation.clone(),
            decision: self.decision.clone(),
            since_ms: self.since.as_ref().map(|(_, ms)| *ms),
            until_ms: self.until.as_ref().map(|(_, ms)| *ms),
            limit: Some(if export { EXPORT_MAX } else { PAGE + 1 }),
            offset: (!export).then(|| self.page.saturating_mul(PAGE)),
        }
    }

    /// The query string of these filters on page `page` (`None`: no page, for the export).
    fn query(&self, page: Option<u32>) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        let mut pair = |name: &str, value: Option<&str>| {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        };
        pair("agent", self.agent.as_deref());
        pair("operation", self.operation.as_deref());
        pair("decision", self.decision.as_deref());
        pair("since", self.since.as_ref().map(|(text, _)| text.as_str()));
        pair("until", self.until.as_ref().map(|(text, _)| text.as_str()));
        if let Some(page) = page.filter(|p| *p > 0) {
            query.append_pair("page", &page.to_string());
        }
        query.finish()
    }
}

/// A time typed in the form: `2026-12-05T08:30` (a `datetime-local` field, read as UTC),
/// with seconds or not, or RFC 3339.
fn parse_time(text: &str) -> Option<i64> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.timestamp_millis());
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|at| at.and_utc().timestamp_millis())
}

/// `GET /audit`.
pub(super) async fn page(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let visitor = match shared.admit(&parts) {
        Ok(visitor) => visitor,
        Err(answer) => return *answer,
    };
    let (filters, problems) = Filters::read(&Pairs::query(parts.uri.query()));
    let found = shared
        .gateway
        .store()
        .query_audit(&filters.store_filter(false))
        .await;
    let agents: Vec<String> = shared
        .gateway
        .policy()
        .agents()
        .iter()
        .map(|a| a.name.clone())
        .collect();
    let (status, rows) = match found {
        Ok(mut rows) => {
            let more = rows.len() > PAGE as usize;
            rows.truncate(PAGE as usize);
            (StatusCode::OK, list(&filters, &rows, more))
        }
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            html! { p.problem { "The audit log could not be read: " (error) } },
        ),
    };
    let body = html! {
        h1 { "Audit log" }
        (form(&filters, &agents))
        @for problem in &problems {
            p.problem { (problem) }
        }
        (rows)
    };
    let page = layout::page(&visitor, Tab::Audit, "Audit log", body);
    visitor.finish(html(status, page))
}

/// `GET /audit/export`: the filtered rows (every page, at most [`EXPORT_MAX`]) as JSON lines.
pub(super) async fn export(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let visitor = match shared.admit(&parts) {
        Ok(visitor) => visitor,
        Err(answer) => return *answer,
    };
    let (filters, problems) = Filters::read(&Pairs::query(parts.uri.query()));
    if !problems.is_empty() {
        return visitor.finish((StatusCode::BAD_REQUEST, problems.join(" ")).into_response());
    }
    let rows = match shared
        .gateway
        .store()
        .query_audit(&filters.store_filter(true))
        .await
    {
        Ok(rows) => rows,
        Err(error) => {
            return visitor.finish(
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("The audit log could not be read: {error}"),
                )
                    .into_response(),
            );
        }
    };
    let mut body = String::new();
    for row in &rows {
        body.push_str(&json_line(row).to_string());
        body.push('\n');
    }
    visitor.finish(
        (
            [
                (CONTENT_TYPE, "application/x-ndjson; charset=utf-8"),
                (
                    CONTENT_DISPOSITION,
                    "attachment; filename=\"crisp-gateway-audit.jsonl\"",
                ),
            ],
            body,
        )
            .into_response(),
    )
}

fn form(filters: &Filters, agents: &[String]) -> Markup {
    let text = |value: &Option<(String, i64)>| value.as_ref().map(|(t, _)| t.clone());
    html! {
        form.filters method="get" action="/audit" {
            label { "Agent"
                select name="agent" {
                    option value="" { "any" }
                    @for agent in agents {
                        option value=(agent) selected[filters.agent.as_deref() == Some(agent.as_str())] { (agent) }
                    }
                }
            }
            label { "Operation"
                input type="text" name="operation" list="operations" placeholder="any"
                    value=[filters.operation.as_deref()];
            }
            datalist #operations {
                @for operation in crisp_api::Operation::ALL {
                    option value=(operation.id) {}
                }
            }
            label { "Decision"
                select name="decision" {
                    option value="" { "any" }
                    @for decision in DECISIONS {
                        option value=(decision) selected[filters.decision.as_deref() == Some(*decision)] { (decision) }
                    }
                }
            }
            label { "Since (UTC)" input type="datetime-local" name="since" value=[text(&filters.since)]; }
            label { "Until (UTC)" input type="datetime-local" name="until" value=[text(&filters.until)]; }
            button type="submit" { "Filter" }
            a href="/audit" { "Clear" }
            a.export href=(format!("/audit/export?{}", filters.query(None))) download { "Export as JSON lines" }
        }
    }
}

fn list(filters: &Filters, rows: &[AuditRow], more: bool) -> Markup {
    html! {
        section.rows {
            @if rows.is_empty() {
                p.muted { "No request matches." }
            }
            @for row in rows {
                (entry(row))
            }
            div.pager {
                @if filters.page > 0 {
                    a rel="prev" href=(format!("/audit?{}", filters.query(Some(filters.page - 1)))) { "Newer" }
                }
                span.muted { "Page " (filters.page + 1) }
                @if more {
                    a rel="next" href=(format!("/audit?{}", filters.query(Some(filters.page + 1)))) { "Older" }
                }
            }
        }
    }
}

fn entry(row: &AuditRow) -> Markup {
    let or_dash = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_owned());
    let ids: Vec<String> = row
        .path_ids
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    html! {
        details.row data-agent=[row.agent.as_deref()] {
            summary {
                span { (time(row.at_ms)) }
                span.agent { (or_dash(&row.agent)) }
                span.operation { (or_dash(&row.operation)) }
                span class=(format!("decision decision-{}", row.decision)) { (row.decision) }
                span { (row.status.map_or_else(|| "-".to_owned(), |s| s.to_string())) }
                span.muted { (row.why.clone().or_else(|| row.reason.clone()).unwrap_or_default()) }
            }
            dl {
                dt { "Front" } dd { (row.front) }
                dt { "Client" } dd { (or_dash(&row.client)) }
                dt { "Key id" } dd.mono { (or_dash(&row.key_id)) }
                dt { "Method" } dd { (or_dash(&row.method)) }
                dt { "Ids" } dd.mono { (if ids.is_empty() { "-".to_owned() } else { ids.join(", ") }) }
                dt { "Why" } dd { (or_dash(&row.why)) }
                dt { "Outcome" } dd { (or_dash(&row.outcome)) }
                dt { "Reason" } dd { (or_dash(&row.reason)) }
                dt { "Error" } dd { (or_dash(&row.error)) }
                dt { "Attempts" } dd { (row.attempts) " (" (row.upstream_requests) " upstream request(s))" }
                dt { "Latency" } dd { (row.latency_us) " µs" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_as_utc() {
        assert_eq!(parse_time("2026-01-01T00:00"), Some(1_767_225_600_000));
        assert_eq!(parse_time("2026-01-01T00:00:01"), Some(1_767_225_601_000));
        assert_eq!(
            parse_time("2026-01-01T01:00:00+01:00"),
            Some(1_767_225_600_000)
        );
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn filters_round_trip_through_the_query_and_bad_ones_are_said() {
        let query = Pairs::query(Some(
            "agent=reply&decision=refused&since=2026-01-01T00:00&page=2&operation=",
        ));
        let (filters, problems) = Filters::read(&query);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(filters.page, 2);
        let store = filters.store_filter(false);
        assert_eq!(store.agent.as_deref(), Some("reply"));
        assert_eq!(store.operation, None);
        assert_eq!(store.since_ms, Some(1_767_225_600_000));
        assert_eq!(
            (store.limit, store.offset),
            (Some(PAGE + 1), Some(2 * PAGE))
        );
        let export = filters.store_filter(true);
        assert_eq!((export.limit, export.offset), (Some(EXPORT_MAX), None));
        assert_eq!(
            filters.query(Some(3)),
            "agent=reply&decision=refused&since=2026-01-01T00%3A00&page=3"
        );
        assert_eq!(
            Filters::read(&Pairs::query(Some(&filters.query(Some(2))))).0,
            filters
        );

        let (filters, problems) = Filters::read(&Pairs::query(Some("decision=maybe&until=soon")));
        assert_eq!((filters.decision, filters.until), (None, None));
        assert_eq!(problems.len(), 2, "{problems:?}");
    }
}

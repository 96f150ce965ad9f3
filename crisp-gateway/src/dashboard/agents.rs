//! `GET /`: the agents page. Each agent's rules as the policy in force has them, today's
//! requests against its budget, the upstream token's quota used today, and the chart of
//! requests per hour over the last 24 hours.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;
use http::StatusCode;
use maud::{Markup, html};

use super::chart;
use super::layout::{self, Tab};
use super::respond::html;
use super::shared::Shared;
use crate::policy::{Agent, Policy};
use crate::store::now_ms;
use crate::store::{Usage, utc_day};

/// `GET /`.
pub(super) async fn page(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let visitor = match shared.admit(&parts) {
        Ok(visitor) => visitor,
        Err(answer) => return *answer,
    };
    let now = now_ms();
    let policy = shared.gateway.policy();
    let store = shared.gateway.store();
    let usage = shared.gateway.usage(utc_day(now)).await;
    let hours = store.requests_per_hour(chart::since(now)).await;
    let (status, body) = match (usage, hours) {
        (Ok(usage), Ok(hours)) => {
            let names: Vec<&str> = policy.agents().iter().map(|a| a.name.as_str()).collect();
            let chart = chart::requests_per_hour(&names, &hours, now);
            (StatusCode::OK, agents(&policy, &usage, &chart))
        }
        (Err(error), _) | (_, Err(error)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            html! {
                h1 { "Agents" }
                p.problem { "The store could not be read: " (error) }
            },
        ),
    };
    let page = layout::page(&visitor, Tab::Agents, "Agents", body);
    visitor.finish(html(status, page))
}

fn agents(policy: &Policy, usage: &Usage, chart: &Markup) -> Markup {
    let quota = policy.daily_quota();
    html! {
        h1 { "Agents" }
        section {
            h2 { "Today (UTC)" }
            p {
                "The upstream token: " strong.quota { (usage.quota_used) " of " (quota) }
                " requests of its daily quota "
                meter min="0" max=(quota) value=(usage.quota_used.min(quota)) {}
            }
            (chart)
        }
        div.cards {
            @for agent in policy.agents() {
                (card(agent, usage.agent(&agent.name)))
            }
        }
    }
}

fn card(agent: &Agent, used: u64) -> Markup {
    html! {
        article.card.agent data-agent=(agent.name) {
            h2 { (agent.name) }
            dl {
                dt { "Today" }
                dd.today {
                    @if let Some(budget) = agent.daily_budget {
                        (used) " of " (budget) " requests "
                        meter min="0" max=(budget) value=(used.min(budget)) {}
                    } @else {
                        (used) (if used == 1 { " request" } else { " requests" }) " (no daily budget)"
                    }
                }
                dt { "Grants" }
                dd { code { (agent.grants.to_string()) } }
                dt { "Websites" }
                dd { code { (agent.websites.to_string()) } }
                @if let Some(inboxes) = &agent.inboxes {
                    dt { "Inboxes" }
                    dd { code { (inboxes.join(", ")) } }
                }
                @if let Some(operators) = &agent.assigned_to {
                    dt { "Assigned to" }
                    dd { code { (operators.join(", ")) } }
                }
                @if agent.has_approvals() {
                    dt { "Approved first" }
                    dd { code { (agent.approve.patterns().join(", ")) } }
                }
                dt { "Rate" }
                dd { @if let Some(rate) = agent.rate { (rate.to_string()) } @else { span.muted { "no limit" } } }
                dt { "MCP confirm" }
                dd { (agent.confirm.as_str()) }
            }
        }
    }
}

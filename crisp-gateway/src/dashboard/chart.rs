//! The requests-per-hour chart: inline SVG drawn on the server (no script, no inline style:
//! colours come from the style sheet's `s0`..`s7` classes), one stacked bar per hour of the
//! last 24, one colour per agent.

use std::collections::BTreeMap;

use maud::{Markup, html};

use crate::store::HourCount;

/// Hours shown: the current one and the 23 before it.
pub(super) const HOURS: i64 = 24;

const HOUR_MS: i64 = 3_600_000;
const WIDTH: i64 = 720;
const HEIGHT: i64 = 190;
const LEFT: i64 = 34;
const BOTTOM: i64 = 22;
const TOP: i64 = 8;
const SERIES: usize = 8;

/// When the chart starts: the start of the hour 23 hours before the one holding `now_ms`.
pub(super) fn since(now_ms: i64) -> i64 {
    (now_ms.div_euclid(HOUR_MS) - (HOURS - 1)) * HOUR_MS
}

/// The chart of `counts` (from [`Store::requests_per_hour`](crate::store::Store) since
/// [`since`]), agents in the order of `agents` first, then any other that made requests (an
/// agent no longer in the policy).
pub(super) fn requests_per_hour(agents: &[&str], counts: &[HourCount], now_ms: i64) -> Markup {
    let first_hour = since(now_ms) / HOUR_MS;
    let mut names: Vec<String> = agents.iter().map(|a| (*a).to_owned()).collect();
    for count in counts {
        if !names.contains(&count.agent) {
            names.push(count.agent.clone());
        }
    }
    // hour -> [(series, requests)]
    let mut by_hour: BTreeMap<i64, Vec<(usize, u64)>> = BTreeMap::new();
    for count in counts {
        let slot = count.hour - first_hour;
        if !(0..HOURS).contains(&slot) {
            continue;
        }
        let series = names.iter().position(|n| *n == count.agent).unwrap_or(0);
        by_hour
            .entry(slot)
            .or_default()
            .push((series, count.requests));
    }
    let peak = by_hour
        .values()
        .map(|bars| bars.iter().map(|(_, n)| n).sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let total: u64 = by_hour.values().flatten().map(|(_, n)| n).sum();
    let plot_height = HEIGHT - TOP - BOTTOM;
    let slot_width = (WIDTH - LEFT) / HOURS;
    let y_of = |requests: u64| -> i64 {
        let requests = i64::try_from(requests).unwrap_or(i64::MAX);
        let peak = i64::try_from(peak).unwrap_or(i64::MAX);
        requests.saturating_mul(plot_height) / peak
    };
    let label = |slot: i64| (first_hour + slot).rem_euclid(24);
    let mut bars = Vec::new();
    for (slot, stack) in &by_hour {
        let mut base = 0;
        for (series, requests) in stack {
            let (bottom, top) = (y_of(base), y_of(base + requests));
            bars.push(Bar {
                class: format!("s{}", series % SERIES),
                x: LEFT + slot * slot_width + 2,
                y: HEIGHT - BOTTOM - top,
                height: (top - bottom).max(1),
                title: format!(
                    "{}: {requests} request(s), {:02}:00-{:02}:59 UTC",
                    names[*series],
                    label(*slot),
                    label(*slot)
                ),
            });
            base += requests;
        }
    }
    html! {
        figure {
            svg.chart viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img"
                aria-label=(format!("Requests per hour over the last 24 hours, by agent: {total} in all")) {
                line.axis x1=(LEFT) y1=(HEIGHT - BOTTOM) x2=(WIDTH) y2=(HEIGHT - BOTTOM) {}
                line.axis x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(HEIGHT - BOTTOM) {}
                text x="2" y=(TOP + 8) { (peak) }
                text x="2" y=(HEIGHT - BOTTOM) { "0" }
                @for slot in (0..HOURS).step_by(3) {
                    text x=(LEFT + slot * slot_width + 2) y=(HEIGHT - 6) { (format!("{:02}:00", label(slot))) }
                }
                @for bar in &bars {
                    rect class=(bar.class) x=(bar.x) width=(slot_width - 4) y=(bar.y) height=(bar.height) {
                        title { (bar.title) }
                    }
                }
            }
            figcaption.legend {
                @for (series, name) in names.iter().enumerate() {
                    span {
                        svg width="12" height="12" aria-hidden="true" {
                            rect class=(format!("s{}", series % SERIES)) width="12" height="12" {}
                        }
                        " " (name)
                    }
                }
                span.muted { "Requests per hour (UTC), last 24 hours: " (total) " in all" }
            }
        }
    }
}

/// One agent's part of one hour's bar.
struct Bar {
    class: String,
    x: i64,
    y: i64,
    height: i64,
    title: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(agent: &str, hour: i64, requests: u64) -> HourCount {
        HourCount {
            agent: agent.to_owned(),
            hour,
            requests,
        }
    }

    #[test]
    fn the_window_starts_23_hours_before_the_current_hour() {
        let now = 100 * HOUR_MS + 5;
        assert_eq!(since(now), 77 * HOUR_MS);
    }

    #[test]
    fn each_agents_hour_is_a_bar_with_its_count_and_names_are_escaped() {
        let now = 100 * HOUR_MS + 5;
        let counts = [
            count("triage", 77, 2),
            count("reply", 100, 1),
            count("<gone>", 99, 4),
            count("triage", 10, 50), // outside the window
        ];
        let svg = requests_per_hour(&["triage", "reply"], &counts, now).into_string();
        assert_eq!(svg.matches("<rect class=\"s").count(), 3 + 3, "{svg}"); // bars + legend
        assert!(
            svg.contains("triage: 2 request(s), 05:00-05:59 UTC"),
            "{svg}"
        );
        assert!(
            svg.contains("reply: 1 request(s), 04:00-04:59 UTC"),
            "{svg}"
        );
        assert!(svg.contains("&lt;gone&gt;: 4 request(s)"), "{svg}");
        assert!(!svg.contains("<gone>"));
        assert!(svg.contains("7 in all"), "{svg}");
        assert!(!svg.contains("57 in all"), "{svg}");
    }
}

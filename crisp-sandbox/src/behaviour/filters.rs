//! The list filters: which conversations, profiles and campaigns a list's query parameters
//! keep. Each is read from the query once, then asked about every record.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde_json::{Map, Value};

use super::call::{i64_of, str_of};
use crate::state::{Conversation, Person};
use crate::validate::Input;

/// The filters of `list_conversations`.
pub(super) struct Conversations<'a> {
    q: &'a Input,
    start: Option<i64>,
    end: Option<i64>,
    search: Option<&'a str>,
    search_type: &'a str,
    any_filter: bool,
    /// The search filters, when `search_type=filter` and the query is a JSON list of them.
    filters: Option<Vec<Value>>,
}

impl<'a> Conversations<'a> {
    pub fn new(q: &'a Input) -> Self {
        let search = q.query_str("search_query").filter(|s| !s.is_empty());
        let search_type = q.query_str("search_type").unwrap_or("text");
        let filters = match (search, search_type) {
            (Some(text), "filter") => serde_json::from_str::<Vec<Value>>(text).ok(),
            _ => None,
        };
        Self {
            q,
            start: q.query_str("filter_date_start").and_then(parse_date),
            end: q.query_str("filter_date_end").and_then(parse_date),
            search,
            search_type,
            any_filter: q.query_str("search_operator") == Some("or"),
            filters,
        }
    }

    pub fn keeps(&self, c: &Conversation) -> bool {
        let q = self.q;
        let r = &c.record;
        let state = str_of(r, "state").unwrap_or("pending");
        let updated = i64_of(r, "updated_at").unwrap_or(0);
        (q.flag("include_empty") || !c.messages.is_empty())
            && (!q.flag("filter_not_resolved") || state != "resolved")
            && (!q.flag("filter_resolved") || state == "resolved")
            && (!q.flag("filter_unread")
                || r.get("unread")
                    .and_then(|u| u.get("operator"))
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
                    > 0)
            && (!q.flag("filter_unassigned") || !r.contains_key("assigned"))
            && q.query_str("filter_assigned").is_none_or(|who| {
                r.get("assigned")
                    .and_then(|a| a.get("user_id"))
                    .and_then(Value::as_str)
                    == Some(who)
            })
            && q.query_str("filter_inbox_id")
                .is_none_or(|inbox| str_of(r, "inbox_id") == Some(inbox))
            && (!q.flag("filter_mention")
                || r.get("mentions")
                    .and_then(Value::as_array)
                    .is_some_and(|m| !m.is_empty()))
            && self.start.is_none_or(|t| updated >= t)
            && self.end.is_none_or(|t| updated <= t)
            && (!q.flag("order_date_waiting") || r.contains_key("waiting_since"))
            && self.search_keeps(r)
    }

    fn search_keeps(&self, r: &Map<String, Value>) -> bool {
        let meta = r.get("meta").and_then(Value::as_object);
        match (self.search, self.search_type, &self.filters) {
            (None, _, _) => true,
            (Some(_), "filter", Some(filters)) => {
                combine(self.any_filter, filters.iter().map(|f| matches(f, meta, r)))
            }
            // A filter that is not a JSON list of filters matches everything.
            (Some(_), "filter", None) => true,
            (Some(text), "segment", _) => meta
                .and_then(|m| m.get("segments"))
                .and_then(Value::as_array)
                .is_some_and(|s| s.iter().any(|v| v.as_str() == Some(text))),
            (Some(text), _, _) => {
                let needle = text.to_lowercase();
                let field = |v: Option<&Value>| {
                    v.and_then(Value::as_str)
                        .is_some_and(|s| s.to_lowercase().contains(&needle))
                };
                field(meta.and_then(|m| m.get("nickname")))
                    || field(meta.and_then(|m| m.get("email")))
                    || field(r.get("last_message"))
                    || field(r.get("session_id"))
            }
        }
    }
}

/// The filters of `list_people_profiles`.
pub(super) struct People {
    text: Option<String>,
    start: Option<i64>,
    end: Option<i64>,
    filters: Option<Vec<Value>>,
    any_filter: bool,
}

impl People {
    pub fn new(q: &Input) -> Self {
        Self {
            text: q
                .query_str("search_text")
                .filter(|s| !s.is_empty())
                .map(str::to_lowercase),
            start: q.query_str("filter_date_start").and_then(parse_date),
            end: q.query_str("filter_date_end").and_then(parse_date),
            filters: q
                .query_str("search_filter")
                .and_then(|f| serde_json::from_str::<Vec<Value>>(f).ok()),
            any_filter: q.query_str("search_operator") == Some("or"),
        }
    }

    pub fn keeps(&self, p: &Person) -> bool {
        let profile = &p.profile;
        let created = i64_of(profile, "created_at").unwrap_or(0);
        let nickname = profile
            .get("person")
            .and_then(|c| c.get("nickname"))
            .and_then(Value::as_str)
            .unwrap_or("");
        self.text.as_ref().is_none_or(|t| {
            nickname.to_lowercase().contains(t)
                || str_of(profile, "email").is_some_and(|e| e.to_lowercase().contains(t))
        }) && self.start.is_none_or(|t| created >= t)
            && self.end.is_none_or(|t| created <= t)
            && self.filters.as_ref().is_none_or(|filters| {
                combine(
                    self.any_filter,
                    filters.iter().map(|f| matches(f, Some(profile), profile)),
                )
            })
    }
}

/// The filters of `list_campaigns`.
pub(super) struct Campaigns<'a> {
    q: &'a Input,
    name: Option<String>,
    tag: Option<&'a str>,
}

impl<'a> Campaigns<'a> {
    pub fn new(q: &'a Input) -> Self {
        Self {
            q,
            name: q
                .query_str("search_name")
                .filter(|s| !s.is_empty())
                .map(str::to_lowercase),
            tag: q.query_str("filter_tag"),
        }
    }

    pub fn keeps(&self, c: &Map<String, Value>) -> bool {
        let q = self.q;
        let flag = |k: &str| c.get(k).and_then(Value::as_bool) == Some(true);
        let ty = str_of(c, "type").unwrap_or("");
        let (ready, dispatched, running) = (flag("ready"), flag("dispatched"), flag("running"));
        self.name
            .as_ref()
            .is_none_or(|n| str_of(c, "name").is_some_and(|s| s.to_lowercase().contains(n)))
            && self.tag.is_none_or(|t| str_of(c, "tag") == Some(t))
            && (!q.flag("filter_type_one_shot") || ty == "one-shot")
            && (!q.flag("filter_type_automated") || ty == "automated")
            && (!q.flag("filter_status_not_configured") || !ready)
            && (!q.flag("filter_status_ready") || (ready && !dispatched && !running))
            // The excerpt has no paused flag: a paused campaign is not represented.
            && !q.flag("filter_status_paused")
            && (!q.flag("filter_status_sending") || running)
            && (!q.flag("filter_status_done") || (dispatched && !running))
    }
}

/// Every hit (`search_operator=and`, the default) or any hit (`or`).
fn combine(any: bool, mut hits: impl Iterator<Item = bool>) -> bool {
    if any {
        hits.any(|h| h)
    } else {
        hits.all(|h| h)
    }
}

/// Whether one search filter `{model, criterion, operator, query}` matches a record: the
/// criterion is read from `meta` (or the record), and matches when it equals or contains one of
/// the query values.
fn matches(filter: &Value, meta: Option<&Map<String, Value>>, record: &Map<String, Value>) -> bool {
    let Some(criterion) = filter.get("criterion").and_then(Value::as_str) else {
        return true;
    };
    let wanted: Vec<String> = match filter.get("query") {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_lowercase)
            .collect(),
        Some(Value::String(s)) => vec![s.to_lowercase()],
        _ => return true,
    };
    let value = meta
        .and_then(|m| m.get(criterion))
        .or_else(|| record.get(criterion));
    let negate = matches!(
        filter.get("operator").and_then(Value::as_str),
        Some("neq" | "has_not" | "not_eq")
    );
    let hit = match value {
        Some(Value::String(s)) => {
            let s = s.to_lowercase();
            wanted.iter().any(|w| s.contains(w.as_str()))
        }
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|s| wanted.iter().any(|w| s.eq_ignore_ascii_case(w))),
        Some(other) => {
            let text = other.to_string();
            wanted.contains(&text)
        }
        None => false,
    };
    hit != negate
}

/// Unix milliseconds of a date filter: an RFC 3339 date-time (`2023-11-14T10:00:00Z`,
/// `...+01:00`, fractions allowed), a date-time without a zone (read as UTC, seconds optional),
/// or a date (`2023-11-14`, its midnight UTC). `None` when it is none of these: the filter is
/// then not applied.
pub(super) fn parse_date(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.timestamp_millis());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(time) = NaiveDateTime::parse_from_str(text, format) {
            return Some(time.and_utc().timestamp_millis());
        }
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2023-11-14T22:13:20Z"), Some(1_700_000_000_000));
        assert_eq!(
            parse_date("2023-11-14T23:13:20.5+01:00"),
            Some(1_700_000_000_500)
        );
        assert_eq!(parse_date("2023-11-14T22:13"), Some(1_699_999_980_000));
        assert_eq!(parse_date("2023-11-14T22:13:20"), Some(1_700_000_000_000));
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(parse_date("2023-13-01"), None);
        assert_eq!(parse_date("2023-02-30"), None);
        assert_eq!(parse_date(""), None);
        assert_eq!(parse_date("2023-11-14T"), None);
        assert_eq!(parse_date("2023-11-14T10:00:00+99999999999999999"), None);
        assert_eq!(
            parse_date("2023-11-14T10:00:00.99999999999999999999Z"),
            Some(1_699_956_000_999)
        );
        assert_eq!(parse_date("2023-11-1\u{e9}T10:00"), None);
    }
}

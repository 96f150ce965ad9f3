//! The policy's approvals: which operations an agent may only propose (`approve`, per agent),
//! and how long a proposal stays approvable (`approval_ttl`, top level).
//!
//! ```toml
//! approval_ttl = "24h"                  # optional: 90s, 30m, 24h, 7d; default 24h
//!
//! [[agents]]
//! approve = ["send_message", "dispatch_campaign", "remove_*"]
//! ```
//!
//! An entry is an operation id, or a prefix ending in `*` (the only place a `*` may be); each
//! must name at least one operation of the spec ([`Operation::ALL`]), checked at load.

use std::fmt;
use std::time::Duration;

use crisp_api::Operation;
use toml::Spanned;

use super::error::{PolicyError, Source};
use super::raw::SpannedList;

/// How long a proposal stays approvable when the policy sets no `approval_ttl`: 24 hours.
pub const DEFAULT_APPROVAL_TTL: Duration = Duration::from_secs(24 * 3600);

/// The longest `approval_ttl`: 30 days (a request older than that is stale; propose it again).
pub const MAX_APPROVAL_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// An agent's `approve` list: the operations it may only propose, as written in the policy
/// (operation ids, or prefixes ending in `*`). Empty: the agent needs no approval.
///
/// ```
/// use crisp_api::Operation;
/// use crisp_gateway::policy::Approve;
///
/// let approve = Approve::new(["send_message", "remove_*"])?;
/// assert!(approve.covers(&Operation::SEND_MESSAGE));
/// assert!(approve.covers(&Operation::REMOVE_CONVERSATION));
/// assert!(!approve.covers(&Operation::LIST_CONVERSATIONS));
/// assert!(Approve::new(["send_mesage"]).unwrap_err().contains("send_message"));
/// # Ok::<(), String>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Approve {
    patterns: Vec<String>,
}

impl Approve {
    /// The list of `patterns`, each checked as the policy checks it.
    ///
    /// # Errors
    ///
    /// The first pattern that is not an operation id or a prefix ending in `*` matching at
    /// least one operation, with what to do.
    pub fn new<I, S>(patterns: I) -> Result<Self, String>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut out = Vec::new();
        for pattern in patterns {
            let pattern = pattern.into();
            check_pattern(&pattern)?;
            if !out.contains(&pattern) {
                out.push(pattern);
            }
        }
        Ok(Self { patterns: out })
    }

    /// The patterns, as written (duplicates dropped).
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether the list is empty (the agent needs no approval).
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether `operation` needs a person's approval.
    pub fn covers(&self, operation: &Operation) -> bool {
        self.patterns.iter().any(|p| matches(p, operation.id))
    }

    /// The operations of the spec the list covers, in the spec's order.
    pub fn operations(&self) -> impl Iterator<Item = &'static Operation> + '_ {
        Operation::ALL.iter().filter(|op| self.covers(op))
    }
}

impl fmt::Display for Approve {
    /// The patterns, comma-separated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.patterns.join(", "))
    }
}

/// Whether `pattern` (an operation id, or a prefix ending in `*`) matches the operation `id`.
fn matches(pattern: &str, id: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => id.starts_with(prefix),
        None => pattern == id,
    }
}

/// Why `pattern` is refused, if it is.
fn check_pattern(pattern: &str) -> Result<(), String> {
    let shown = pattern.escape_debug();
    if pattern.is_empty() {
        return Err(
            "an empty entry names no operation: give an operation id such as \"send_message\""
                .to_owned(),
        );
    }
    if pattern.trim_end_matches('*').contains('*') || pattern.ends_with("**") {
        return Err(format!(
            "`{shown}` has a `*` before its end: `*` is a suffix wildcard only, such as \
             \"remove_*\""
        ));
    }
    if Operation::ALL.iter().any(|op| matches(pattern, op.id)) {
        return Ok(());
    }
    let nearest = Operation::ALL
        .iter()
        .map(|op| {
            (
                strsim::levenshtein(pattern.trim_end_matches('*'), op.id),
                op.id,
            )
        })
        .min()
        .filter(|(distance, _)| *distance <= 3)
        .map(|(_, id)| format!(" (did you mean \"{id}\"?)"))
        .unwrap_or_default();
    Err(format!(
        "`{shown}` matches no operation{nearest}: use operation ids as `crisp-gateway check` \
         prints them, or a prefix ending in `*`"
    ))
}

/// Parses a duration of the form `N` followed by `s`, `m`, `h` or `d` (`90s`, `30m`, `24h`,
/// `7d`).
///
/// ```
/// use std::time::Duration;
/// use crisp_gateway::policy::parse_duration;
///
/// assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
/// assert!(parse_duration("1.5h").unwrap_err().contains("24h"));
/// ```
///
/// # Errors
///
/// A message naming the text and the forms accepted.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let unit = match text.chars().last() {
        Some('s') => 1,
        Some('m') => 60,
        Some('h') => 3600,
        Some('d') => 86_400,
        _ => 0,
    };
    let digits = text.get(..text.len().saturating_sub(1)).unwrap_or_default();
    let seconds = (unit > 0 && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse::<u64>().ok())
        .flatten()
        .and_then(|n| n.checked_mul(unit));
    seconds.map(Duration::from_secs).ok_or_else(|| {
        format!(
            "`{}` is not a duration: give a whole number and a unit, such as \"90s\", \"30m\", \
             \"24h\" or \"7d\"",
            text.escape_debug()
        )
    })
}

/// The `approve` list of an agent's table (`field` is its path, such as `agents[1].approve`).
pub(super) fn approve(
    source: &Source<'_>,
    field: &str,
    list: SpannedList,
) -> Result<Approve, PolicyError> {
    let span = list.span();
    let items = list.into_inner();
    if items.is_empty() {
        return Err(source.error(
            &span,
            field,
            "the list is empty: list the operations this agent may only propose (such as \
             [\"send_message\"]), or remove the line",
        ));
    }
    let mut patterns = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let item_span = item.span();
        let pattern = item.into_inner();
        check_pattern(&pattern)
            .map_err(|message| source.error(&item_span, format!("{field}[{index}]"), message))?;
        patterns.push(pattern);
    }
    Approve::new(patterns).map_err(|message| source.error(&span, field, message))
}

/// The top-level `approval_ttl`: a duration from 1 second to [`MAX_APPROVAL_TTL`]; the default
/// [`DEFAULT_APPROVAL_TTL`] when absent.
pub(super) fn ttl(
    source: &Source<'_>,
    raw: Option<Spanned<String>>,
) -> Result<Duration, PolicyError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_APPROVAL_TTL);
    };
    let error = |message: String| source.error(&raw.span(), "approval_ttl", message);
    let ttl = parse_duration(raw.get_ref()).map_err(error)?;
    if ttl.is_zero() {
        return Err(error(
            "an approval time of 0 would expire every proposal at once: give how long a person \
             has to approve, such as \"24h\", or remove the line for 24h"
                .to_owned(),
        ));
    }
    if ttl > MAX_APPROVAL_TTL {
        return Err(error(format!(
            "`{}` is longer than 30 days: a request that old is stale; give at most \"30d\"",
            raw.get_ref().escape_debug()
        )));
    }
    Ok(ttl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_ids_or_prefixes_that_match_an_operation() {
        let approve = Approve::new(["remove_*", "send_message", "send_message"]).unwrap();
        assert_eq!(approve.patterns(), ["remove_*", "send_message"]);
        let ids: Vec<_> = approve.operations().map(|op| op.id).collect();
        assert!(ids.contains(&"remove_conversation"), "{ids:?}");
        assert!(ids.contains(&"remove_people_profile"), "{ids:?}");
        assert!(ids.contains(&"send_message"), "{ids:?}");
        assert!(!ids.contains(&"list_conversations"), "{ids:?}");
        assert_eq!(
            Approve::new(["*"]).unwrap().operations().count(),
            Operation::ALL.len()
        );
        for bad in [
            "",
            "*_message",
            "remove_*_profile",
            "remove_**",
            "nothing_*",
            "SEND_MESSAGE",
        ] {
            assert!(Approve::new([bad]).is_err(), "{bad:?}");
        }
        let typo = Approve::new(["dispatch_campain"]).unwrap_err();
        assert!(
            typo.contains("did you mean \"dispatch_campaign\""),
            "{typo}"
        );
    }

    #[test]
    fn durations_take_a_whole_number_and_a_unit() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        for bad in [
            "",
            "h",
            "24",
            "1.5h",
            "-1h",
            "24 h",
            "1w",
            "99999999999999999999d",
            "é",
        ] {
            let error = parse_duration(bad).unwrap_err();
            assert!(error.contains("\"30m\""), "{error}");
        }
    }
}

//! The policy file as serde reads it: every field that is checked after parsing keeps its
//! span, so that a later error still names its line and column.

use serde::Deserialize;
use toml::Spanned;

/// A list of strings, the list and each item with its span.
pub(super) type SpannedList = Spanned<Vec<Spanned<String>>>;

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    pub daily_quota: Option<Spanned<u64>>,
    pub approval_ttl: Option<Spanned<String>>,
    #[serde(default)]
    pub agents: Vec<Spanned<RawAgent>>,
}

/// One `[[agents]]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAgent {
    pub name: Spanned<String>,
    pub key_sha256: Spanned<String>,
    pub grants: Spanned<String>,
    pub websites: SpannedList,
    pub inboxes: Option<SpannedList>,
    pub assigned_to: Option<SpannedList>,
    pub daily_budget: Option<Spanned<u64>>,
    pub rate: Option<Spanned<String>>,
    pub confirm: Option<Spanned<String>>,
    pub events: Option<SpannedList>,
    pub webhook_url: Option<Spanned<String>>,
    pub approve: Option<SpannedList>,
}

//! From the text to a [`Policy`] ([`Policy::parse`], [`Policy::load`]): TOML and serde first (syntax, types, unknown and missing
//! fields), then the rules serde cannot say, each error placed on its field.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use crisp_api::Grants;
use serde_path_to_error::Segment;
use toml::Spanned;

use super::approve;
use super::error::PolicyError;
use super::error::Source;
use super::key::KeyHash;
use super::model::{Agent, ConfirmMode, DEFAULT_DAILY_QUOTA, Policy, Websites};
use super::rate::Rate;
use super::raw::{RawAgent, RawPolicy, SpannedList};
use super::subscription::subscription;

/// Parses and validates `text` (see [`Policy::parse`]).
pub(super) fn parse(text: &str, file: &str) -> Result<Policy, PolicyError> {
    let source = Source { text, file };
    let deserializer = toml::Deserializer::parse(text).map_err(|e| {
        let mut error = toml_error(&source, &e, String::new());
        error.message = format!(
            "not valid TOML: {} (strings are quoted, lists are [\"a\", \"b\"], each agent \
             is an [[agents]] table)",
            error.message
        );
        error
    })?;
    let raw: RawPolicy = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let field = field_path(e.path());
        toml_error(&source, e.inner(), field)
    })?;
    validate(&source, raw)
}

/// A TOML or serde error, placed by its span, with advice added where serde gives none.
fn toml_error(source: &Source<'_>, error: &toml::de::Error, field: String) -> PolicyError {
    let mut message = error.message().trim().replace('\n', "; ");
    if let Some(missing) = missing_field(&message) {
        message = format!("{message}: {}", advice_for_missing(missing));
    }
    if message.starts_with("unknown field") {
        message.push_str(" (see gateway.example.toml for every field)");
    }
    if message.starts_with("invalid type") || message.starts_with("invalid value") {
        let mut last = field.as_str();
        while let Some(indexed) = last.strip_suffix(']') {
            last = indexed
                .rsplit_once('[')
                .map_or(indexed, |(before, _)| before);
        }
        let last = last.rsplit('.').next().unwrap_or_default();
        message = format!("{message}: {}", expected_form(last));
    }
    match error.span() {
        Some(span) => source.error(&span, field, message),
        None => PolicyError {
            file: source.file.to_owned(),
            line: 0,
            column: 0,
            field,
            message,
        },
    }
}

/// The field serde says is missing, from its message ``missing field `name` ``.
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

fn advice_for_missing(field: &str) -> &'static str {
    match field {
        "name" => "every agent needs a `name` ([a-z0-9_-], up to 64 characters)",
        "key_sha256" => {
            "every agent needs `key_sha256`, the hex SHA-256 of its key \
             (`crisp-gateway agents add NAME` makes a key and prints it)"
        }
        "grants" => {
            "every agent needs `grants`, such as \"website:conversation:sessions=read\" \
             (`crisp-gateway check` prints what they allow)"
        }
        "websites" => {
            "every agent needs `websites`, the website ids it may act on ([\"*\"] for every \
             website the token reaches)"
        }
        _ => "add it",
    }
}

/// What a field holds, for a value of the wrong type.
fn expected_form(field: &str) -> &'static str {
    match field {
        "daily_quota" | "daily_budget" => "give a whole number of requests a day, at least 1",
        "rate" => "give a string such as \"60/minute\"",
        "confirm" => "give \"always\" or \"never\"",
        "approve" => "give a list of operation ids, such as [\"send_message\", \"remove_*\"]",
        "approval_ttl" => "give a string such as \"24h\"",
        "websites" | "inboxes" | "assigned_to" => "give a list of ids, such as [\"8c842203-...\"]",
        "events" => "give a list of event names, such as [\"message:send\"]",
        "agents" => "write each agent as an [[agents]] table",
        _ => "give a string (see gateway.example.toml)",
    }
}

/// `agents[1].key_sha256` from serde_path_to_error's path, without toml's private names for
/// [`Spanned`] fields.
fn field_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if key.starts_with("$__") {
                    continue;
                }
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => {}
        }
    }
    out
}

fn validate(source: &Source<'_>, raw: RawPolicy) -> Result<Policy, PolicyError> {
    let daily_quota = match raw.daily_quota {
        None => DEFAULT_DAILY_QUOTA,
        Some(quota) if *quota.get_ref() == 0 => {
            return Err(source.error(
                &quota.span(),
                "daily_quota",
                "a daily quota of 0 would refuse every call: give the upstream token's quota \
                 (5000 for a plugin token), or remove the line for 5000",
            ));
        }
        Some(quota) => quota.into_inner(),
    };
    let approval_ttl = approve::ttl(source, raw.approval_ttl)?;
    if raw.agents.is_empty() {
        return Err(source.error_at(
            source.text.len(),
            "agents",
            "the policy has no agent: add an [[agents]] table (`crisp-gateway agents add NAME` \
             prints one)",
        ));
    }
    let mut agents: Vec<Agent> = Vec::with_capacity(raw.agents.len());
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut keys: HashMap<[u8; 32], usize> = HashMap::new();
    for (index, spanned) in raw.agents.into_iter().enumerate() {
        let at = format!("agents[{index}]");
        let raw = spanned.into_inner();
        let name_span = raw.name.span();
        let key_span = raw.key_sha256.span();
        let agent = validate_agent(source, &at, raw)?;
        if let Some(first) = names.insert(agent.name.clone(), index) {
            return Err(source.error(
                &name_span,
                format!("{at}.name"),
                format!(
                    "agents[{first}] is already named `{}`: give each agent its own name",
                    agent.name
                ),
            ));
        }
        if let Some(first) = keys.insert(*agent.key_sha256.as_bytes(), index) {
            return Err(source.error(
                &key_span,
                format!("{at}.key_sha256"),
                format!(
                    "agents[{first}] has the same key hash: give each agent its own key \
                     (`crisp-gateway agents add NAME` makes one)"
                ),
            ));
        }
        agents.push(agent);
    }
    Ok(Policy {
        daily_quota,
        agents,
        approval_ttl,
    })
}

fn validate_agent(source: &Source<'_>, at: &str, raw: RawAgent) -> Result<Agent, PolicyError> {
    let field = |name: &str| format!("{at}.{name}");

    let name_span = raw.name.span();
    let name = raw.name.into_inner();
    let valid_name = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !valid_name {
        return Err(source.error(
            &name_span,
            field("name"),
            format!(
                "`{}` is not an agent name: use 1 to 64 of a-z, 0-9, `_` and `-` (it is the \
                 Basic identifier on /v1)",
                name.escape_debug()
            ),
        ));
    }

    let key_sha256 = KeyHash::from_hex(raw.key_sha256.get_ref())
        .map_err(|message| source.error(&raw.key_sha256.span(), field("key_sha256"), message))?;

    let grants = grants(source, &field("grants"), &raw.grants)?;

    let websites_span = raw.websites.span();
    let websites = ids(source, &field("websites"), raw.websites, "website")?;
    let websites = if websites.iter().any(|id| id == "*") {
        if websites.len() > 1 {
            return Err(source.error(
                &websites_span,
                field("websites"),
                "`*` means every website: write [\"*\"] alone, or list website ids without it",
            ));
        }
        Websites::Any
    } else {
        Websites::Only(websites)
    };

    let inboxes = optional_ids(source, &field("inboxes"), raw.inboxes, "inbox")?;
    let assigned_to = optional_ids(source, &field("assigned_to"), raw.assigned_to, "operator")?;

    let daily_budget = match raw.daily_budget {
        Some(budget) if *budget.get_ref() == 0 => {
            return Err(source.error(
                &budget.span(),
                field("daily_budget"),
                "a daily budget of 0 would refuse every call: give the requests a day this \
                 agent may make, or remove the line for no budget",
            ));
        }
        budget => budget.map(Spanned::into_inner),
    };

    let rate = match raw.rate {
        None => None,
        Some(rate) => Some(
            rate.get_ref()
                .parse::<Rate>()
                .map_err(|message| source.error(&rate.span(), field("rate"), message))?,
        ),
    };

    let confirm = match raw.confirm {
        None => ConfirmMode::Always,
        Some(confirm) => match confirm.get_ref().as_str() {
            "always" => ConfirmMode::Always,
            "never" => ConfirmMode::Never,
            other => {
                return Err(source.error(
                    &confirm.span(),
                    field("confirm"),
                    format!(
                        "`{}` is not a confirm mode: use \"always\" (the default: calls that \
                         reach a customer or delete need a confirmation on MCP) or \"never\"",
                        other.escape_debug()
                    ),
                ));
            }
        },
    };

    let webhook = subscription(source, at, raw.events, raw.webhook_url)?;
    let approve = match raw.approve {
        None => approve::Approve::default(),
        Some(list) => approve::approve(source, &field("approve"), list)?,
    };

    Ok(Agent {
        name,
        key_sha256,
        grants,
        websites,
        inboxes,
        assigned_to,
        daily_budget,
        rate,
        confirm,
        webhook,
        approve,
    })
}

/// The grants text, parsed (crisp-api refuses unknown scopes, with the nearest known one, and
/// empty text) and not `(none)`.
fn grants(source: &Source<'_>, field: &str, raw: &Spanned<String>) -> Result<Grants, PolicyError> {
    let span = raw.span();
    let grants: Grants = raw.get_ref().parse().map_err(|e: crisp_api::GrantsError| {
        source.error_within(&span, e.entry(), field, e.to_string())
    })?;
    if grants.is_empty() {
        return Err(source.error(
            &span,
            field,
            "the grants are empty, so this agent could call nothing: grant the scopes it \
             needs, such as \"website:conversation:sessions=read\"",
        ));
    }
    Ok(grants)
}

/// A list of ids: not empty, each id not empty and free of spaces and control characters.
fn ids(
    source: &Source<'_>,
    field: &str,
    list: SpannedList,
    what: &str,
) -> Result<Vec<String>, PolicyError> {
    let span: Range<usize> = list.span();
    let items = list.into_inner();
    if items.is_empty() {
        let advice = match what {
            "website" => "list the website ids this agent may act on, or [\"*\"] for every website",
            "inbox" => "list the inbox ids, or remove the line to allow every inbox",
            _ => "list the operators' user ids, or remove the line to allow any assignee",
        };
        return Err(source.error(&span, field, format!("the list is empty: {advice}")));
    }
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let item_span = item.span();
        let id = item.into_inner();
        let bad = id.is_empty() || id.chars().any(|c| c.is_whitespace() || c.is_control());
        let star_outside_websites = id == "*" && what != "website";
        if bad || star_outside_websites {
            let advice = if star_outside_websites {
                format!("`*` is not an {what} id: remove the line to allow every {what}")
            } else {
                format!(
                    "`{}` is not a {what} id: ids are not empty and hold no spaces",
                    id.escape_debug()
                )
            };
            return Err(source.error(&item_span, format!("{field}[{index}]"), advice));
        }
        out.push(id);
    }
    Ok(out)
}

fn optional_ids(
    source: &Source<'_>,
    field: &str,
    list: Option<SpannedList>,
    what: &str,
) -> Result<Option<Vec<String>>, PolicyError> {
    list.map(|list| ids(source, field, list, what)).transpose()
}

impl Policy {
    /// Reads and validates a policy. `file` names the text in errors (a path, or a name such
    /// as `demo policy`).
    ///
    /// ```
    /// use crisp_gateway::policy::Policy;
    ///
    /// let text = r#"
    /// [[agents]]
    /// name = "triage"
    /// key_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    /// grants = "website:conversation:sessions=read"
    /// websites = ["*"]
    /// rate = "60/hour"
    /// "#;
    /// let policy = Policy::parse(text, "gateway.toml")?;
    /// assert_eq!(policy.agent("triage").map(|a| a.daily_budget), Some(None));
    ///
    /// let bad = text.replace("60/hour", "60/week");
    /// let error = Policy::parse(&bad, "gateway.toml").unwrap_err();
    /// assert_eq!((error.line, error.field.as_str()), (7, "agents[0].rate"));
    /// assert!(error.to_string().starts_with("gateway.toml:7:8: agents[0].rate: "));
    /// # Ok::<(), crisp_gateway::policy::PolicyError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The first mistake in the text, in file order, with its place (see [`PolicyError`]).
    pub fn parse(text: &str, file: &str) -> Result<Policy, PolicyError> {
        parse(text, file)
    }

    /// Reads the file at `path` and [parses](Self::parse) it.
    ///
    /// # Errors
    ///
    /// The file cannot be read (or is not UTF-8), or it is not a valid policy.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError {
            file: file.clone(),
            line: 0,
            column: 0,
            field: String::new(),
            message: format!("cannot read the policy file ({e}): check the path given"),
        })?;
        Self::parse(&text, &file)
    }
}

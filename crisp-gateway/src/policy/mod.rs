//! The policy: who the agents are and what each may do, read from a TOML file once and
//! validated into plain data.
//!
//! ```toml
//! # The upstream token's daily quota (requests a day, all agents together). Default: 5000,
//! # a plugin token's.
//! daily_quota = 5000
//!
//! [[agents]]
//! name = "triage"                       # [a-z0-9_-]{1,64}: the Basic identifier on /v1
//! key_sha256 = "9f86d081...(64 hex)"    # the hex SHA-256 of the agent's key
//! grants = "website:conversation:sessions=read, website:conversation:messages=read"
//! websites = ["8c842203-7ed8-4e29-a608-7cf78a7d2fcc"]   # required; ["*"]: every website
//! inboxes = ["2c2d4a61-..."]            # optional: conversations in these inboxes only
//! assigned_to = ["aa0b0c3b-..."]        # optional: conversations assigned to these operators
//! daily_budget = 500                    # optional: requests a day for this agent
//! rate = "60/minute"                    # optional: N/second | N/minute | N/hour
//! confirm = "always"                    # MCP only: always (default) | never
//! ```
//!
//! Every mistake is refused with its line, column and field path and what to do
//! ([`PolicyError`]): an unknown field, TOML that does not parse, grants that do not parse or
//! name a scope no operation has, a key hash that is not 64 hex digits, two agents with one
//! name or one key, an empty list, a rate that does not parse, a budget or quota of 0. Key
//! hashes are read in either case (hex names the same bytes), and written lower-case.
//!
//! A [`Policy`] is immutable: share it as `Arc<Policy>`, and reload by swapping the `Arc`.

mod demo;
mod error;
mod key;
mod rate;
mod raw;
mod validate;

use std::fmt;
use std::path::Path;

use crisp_api::Grants;

pub use demo::{DemoAgent, demo};
pub use error::PolicyError;
pub use key::{AgentKey, KeyFormat, KeyHash};
pub use rate::{Per, Rate};

/// The daily quota of the upstream token when the policy sets none: a Crisp plugin token's
/// 5000 requests a day.
pub const DEFAULT_DAILY_QUOTA: u64 = 5000;

/// A validated policy: the upstream token's daily quota and the agents.
///
/// Made only by [`Policy::parse`] (or [`Policy::load`], [`demo`]), so its agents' names and
/// key hashes are unique and every field is valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    daily_quota: u64,
    agents: Vec<Agent>,
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
        validate::parse(text, file)
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

    /// The upstream token's daily quota: requests a day, all agents together.
    pub fn daily_quota(&self) -> u64 {
        self.daily_quota
    }

    /// The agents, in file order.
    pub fn agents(&self) -> &[Agent] {
        &self.agents
    }

    /// The agent with this name.
    pub fn agent(&self, name: &str) -> Option<&Agent> {
        self.agents.iter().find(|agent| agent.name == name)
    }
}

/// One agent: who it is (name and key hash) and what it may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agent {
    /// Its name (`[a-z0-9_-]{1,64}`): the Basic identifier on `/v1`, and its name in the audit.
    pub name: String,
    /// The SHA-256 of its key.
    pub key_sha256: KeyHash,
    /// The scopes and levels it may use.
    pub grants: Grants,
    /// The websites it may act on.
    pub websites: Websites,
    /// When set, conversation operations only on conversations in these inboxes.
    pub inboxes: Option<Vec<String>>,
    /// When set, conversation operations only on conversations assigned to these operators
    /// (`user_id`s).
    pub assigned_to: Option<Vec<String>>,
    /// Requests a day (UTC) this agent may make, when set.
    pub daily_budget: Option<u64>,
    /// Its rate limit, when set.
    pub rate: Option<Rate>,
    /// Whether its MCP calls that reach a customer or delete need a confirmation.
    pub confirm: ConfirmMode,
}

impl Agent {
    /// An agent with these grants on these websites and no other rule: no inbox or assignee
    /// rule, no budget, no rate, [`ConfirmMode::Always`].
    pub fn new(
        name: impl Into<String>,
        key_sha256: KeyHash,
        grants: Grants,
        websites: Websites,
    ) -> Self {
        Self {
            name: name.into(),
            key_sha256,
            grants,
            websites,
            inboxes: None,
            assigned_to: None,
            daily_budget: None,
            rate: None,
            confirm: ConfirmMode::Always,
        }
    }

    /// Whether it has inbox or assignee rules (then conversation operations are checked
    /// against the conversation).
    pub fn has_conversation_rules(&self) -> bool {
        self.inboxes.is_some() || self.assigned_to.is_some()
    }

    /// The `[[agents]]` table that [`Policy::parse`] reads back as this agent.
    ///
    /// ```
    /// use crisp_gateway::policy::{Agent, KeyHash, Policy, Websites};
    ///
    /// let agent = Agent::new("triage", KeyHash::of(b"k"), "website:visitors=read".parse()?, Websites::Any);
    /// let policy = Policy::parse(&agent.to_toml(), "t.toml").unwrap();
    /// assert_eq!(policy.agents(), [agent]);
    /// # Ok::<(), crisp_api::GrantsError>(())
    /// ```
    pub fn to_toml(&self) -> String {
        use std::fmt::Write as _;

        let list = |items: &[String]| {
            let quoted: Vec<String> = items.iter().map(|item| quote(item)).collect();
            format!("[{}]", quoted.join(", "))
        };
        let mut out = String::from("[[agents]]\n");
        let _ = writeln!(out, "name = {}", quote(&self.name));
        let _ = writeln!(out, "key_sha256 = \"{}\"", self.key_sha256);
        let _ = writeln!(out, "grants = {}", quote(&self.grants.to_string()));
        let websites = match &self.websites {
            Websites::Any => vec!["*".to_owned()],
            Websites::Only(ids) => ids.clone(),
        };
        let _ = writeln!(out, "websites = {}", list(&websites));
        if let Some(inboxes) = &self.inboxes {
            let _ = writeln!(out, "inboxes = {}", list(inboxes));
        }
        if let Some(assigned_to) = &self.assigned_to {
            let _ = writeln!(out, "assigned_to = {}", list(assigned_to));
        }
        if let Some(budget) = self.daily_budget {
            let _ = writeln!(out, "daily_budget = {budget}");
        }
        if let Some(rate) = self.rate {
            let _ = writeln!(out, "rate = \"{rate}\"");
        }
        if self.confirm != ConfirmMode::Always {
            let _ = writeln!(out, "confirm = \"{}\"", self.confirm);
        }
        out
    }
}

/// A TOML basic string holding `text`.
fn quote(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// The websites an agent may act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Websites {
    /// Every website the upstream token reaches (`websites = ["*"]`).
    Any,
    /// Only these website ids (never empty).
    Only(Vec<String>),
}

impl Websites {
    /// Whether `website_id` is one of them.
    ///
    /// ```
    /// use crisp_gateway::policy::Websites;
    ///
    /// assert!(Websites::Any.allows("w1"));
    /// assert!(!Websites::Only(vec!["w1".into()]).allows("w2"));
    /// ```
    pub fn allows(&self, website_id: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Only(ids) => ids.iter().any(|id| id == website_id),
        }
    }
}

impl fmt::Display for Websites {
    /// `*` or the ids, comma-separated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("* (every website)"),
            Self::Only(ids) => f.write_str(&ids.join(", ")),
        }
    }
}

/// Whether an agent's MCP calls that reach a customer or cannot be undone need a
/// confirmation first (as `crisp-mcp --confirm`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConfirmMode {
    /// They do (the default).
    #[default]
    Always,
    /// They do not.
    Never,
}

impl ConfirmMode {
    /// `always` or `never`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::Never => "never",
        }
    }
}

impl fmt::Display for ConfirmMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

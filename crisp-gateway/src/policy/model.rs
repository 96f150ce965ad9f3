//! The policy's data: [`Policy`], [`Agent`], [`Websites`], [`ConfirmMode`]. A leaf of
//! `policy/`: `validate.rs` builds these values from the file, and nothing here reads a file.

use std::fmt;
use std::time::Duration;

use crisp_api::{Grants, Operation};

use super::approve::Approve;
use super::key::KeyHash;
use super::rate::Rate;
use super::subscription::Subscription;

/// The daily quota of the upstream token when the policy sets none: a Crisp plugin token's
/// 5000 requests a day.
pub const DEFAULT_DAILY_QUOTA: u64 = 5000;

/// A validated policy: the upstream token's daily quota and the agents.
///
/// Made only by [`Policy::parse`] (or [`Policy::load`], [`demo`](super::demo())), so its agents' names and
/// key hashes are unique and every field is valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub(super) daily_quota: u64,
    pub(super) agents: Vec<Agent>,
    pub(super) approval_ttl: Duration,
}

impl Policy {
    /// The upstream token's daily quota: requests a day, all agents together.
    pub fn daily_quota(&self) -> u64 {
        self.daily_quota
    }

    /// How long a proposal stays approvable (`approval_ttl`; default 24 h).
    pub fn approval_ttl(&self) -> Duration {
        self.approval_ttl
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
    /// The Crisp webhook events it receives, and where, when it subscribes to some.
    pub webhook: Option<Subscription>,
    /// The operations it may only propose: a person approves each call before it is sent.
    pub approve: Approve,
}

impl Agent {
    /// An agent with these grants on these websites and no other rule: no inbox or assignee
    /// rule, no budget, no rate, [`ConfirmMode::Always`], no approval.
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
            webhook: None,
            approve: Approve::default(),
        }
    }

    /// Whether a call of `operation` by this agent waits for a person's approval (its
    /// `approve` list covers it).
    pub fn must_approve(&self, operation: &Operation) -> bool {
        self.approve.covers(operation)
    }

    /// Whether any of its operations waits for approval (then its MCP tools include
    /// `approval_status`).
    pub fn has_approvals(&self) -> bool {
        !self.approve.is_empty()
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
        if let Some(webhook) = &self.webhook {
            let _ = writeln!(out, "events = {}", list(&webhook.events));
            let _ = writeln!(out, "webhook_url = {}", quote(&webhook.url));
        }
        if !self.approve.is_empty() {
            let _ = writeln!(out, "approve = {}", list(self.approve.patterns()));
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

//! `crisp-gateway agents add NAME`: a new agent's key, and its table to paste.

use crisp_api::Grants;

use crate::policy::{Agent, AgentKey, KeyFormat, Policy, Rate, Websites};

/// The grants `agents add` gives when none are asked for: read conversations, their messages
/// and states (a triage agent), nothing that changes anything.
pub const DEFAULT_GRANTS: &str = "website:conversation:sessions=read, \
                                  website:conversation:messages=read, \
                                  website:conversation:states=read";

/// What `agents add` is asked for.
#[derive(Clone, Debug)]
pub struct NewAgent {
    /// The agent's name.
    pub name: String,
    /// Its grants, in the text form.
    pub grants: String,
    /// Its website ids (`*` for every website); at least one.
    pub websites: Vec<String>,
    /// Its inboxes, if limited to some.
    pub inboxes: Vec<String>,
    /// The operators whose conversations it may act on, if limited to some.
    pub assigned_to: Vec<String>,
    /// Its daily budget.
    pub daily_budget: Option<u64>,
    /// Its rate, such as `60/minute`.
    pub rate: Option<String>,
    /// How its key is written.
    pub format: KeyFormat,
}

/// What `agents add` prints: the key (once, to hand to the agent) and the `[[agents]]` table
/// with the key's hash, to paste into the policy.
#[derive(Debug)]
pub struct Added {
    /// The key.
    pub key: AgentKey,
    /// The table, checked: it parses as a policy.
    pub table: String,
}

/// Makes a 256-bit key for a new agent and its `[[agents]]` table, validated by the policy's
/// own parser.
///
/// # Errors
///
/// A name, grants, id or rate the policy would refuse (said as the option that gave it), or no
/// random bytes for the key.
pub fn add(new: &NewAgent) -> Result<Added, String> {
    let key = AgentKey::generate(new.format)
        .map_err(|e| format!("cannot make a key: the system gave no random bytes ({e})"))?;
    // Parse and check through the policy itself, so `agents add` can never print a table the
    // gateway refuses. Fields are first set loosely, then the table is read back.
    let grants: Grants = new.grants.parse().map_err(|e| format!("--grants: {e}"))?;
    let websites = if new.websites.iter().any(|w| w == "*") && new.websites.len() == 1 {
        Websites::Any
    } else {
        Websites::Only(new.websites.clone())
    };
    let mut agent = Agent::new(&new.name, key.hash(), grants, websites);
    agent.inboxes = (!new.inboxes.is_empty()).then(|| new.inboxes.clone());
    agent.assigned_to = (!new.assigned_to.is_empty()).then(|| new.assigned_to.clone());
    agent.daily_budget = new.daily_budget;
    agent.rate = new
        .rate
        .as_deref()
        .map(str::parse::<Rate>)
        .transpose()
        .map_err(|e| format!("--rate: {e}"))?;
    let table = agent.to_toml();
    Policy::parse(&table, "the new agent's table").map_err(|e| {
        let option = match e.field.rsplit('.').next().unwrap_or_default() {
            "name" => "NAME".to_owned(),
            f if f.starts_with("websites") => "--website".to_owned(),
            f if f.starts_with("inboxes") => "--inbox".to_owned(),
            f if f.starts_with("assigned_to") => "--assigned-to".to_owned(),
            f => format!("--{}", f.replace('_', "-")),
        };
        format!("{option}: {}", e.message)
    })?;
    Ok(Added { key, table })
}

//! The demo policy: what the gateway runs with when no policy file is given.

use super::key::{AgentKey, KeyFormat};
use super::model::{Agent, Policy, Websites};

/// An agent of the [demo] policy and its key, to print once.
#[derive(Clone, Debug)]
pub struct DemoAgent {
    /// The agent's name (its Basic identifier).
    pub name: String,
    /// Its key (redacted in `Debug`).
    pub key: AgentKey,
}

/// The demo policy for one website: a read-only `triage` agent (conversations, their messages
/// and states) and a `reply` agent that may also send messages, each with a fresh 256-bit
/// key. Returns the policy and the keys (the only time they exist outside the agents).
///
/// ```
/// let (policy, keys) = crisp_gateway::policy::demo("8c842203-7ed8-4e29-a608-7cf78a7d2fcc")?;
/// let names: Vec<_> = policy.agents().iter().map(|a| a.name.as_str()).collect();
/// assert_eq!(names, ["triage", "reply"]);
/// assert_eq!(policy.agents()[0].key_sha256, keys[0].key.hash());
/// # Ok::<(), String>(())
/// ```
///
/// # Errors
///
/// When the operating system gives no random bytes for the keys.
pub fn demo(website_id: &str) -> Result<(Policy, Vec<DemoAgent>), String> {
    const READ: &str = "website:conversation:sessions=read, website:conversation:messages=read, \
                        website:conversation:states=read";
    const REPLY: &str = "website:conversation:sessions=read, \
                         website:conversation:messages=read-write, \
                         website:conversation:states=read";
    let mut text = String::new();
    let mut keys = Vec::new();
    for (name, grants) in [("triage", READ), ("reply", REPLY)] {
        let key = AgentKey::generate(KeyFormat::Hex)
            .map_err(|e| format!("cannot make the demo agents' keys: no random bytes ({e})"))?;
        let grants = grants
            .parse()
            .map_err(|e| format!("the demo policy's grants: {e}"))?;
        let agent = Agent::new(
            name,
            key.hash(),
            grants,
            Websites::Only(vec![website_id.to_owned()]),
        );
        text.push_str(&agent.to_toml());
        text.push('\n');
        keys.push(DemoAgent {
            name: name.to_owned(),
            key,
        });
    }
    let policy = Policy::parse(&text, "demo policy").map_err(|e| e.to_string())?;
    Ok((policy, keys))
}

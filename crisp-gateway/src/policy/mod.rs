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
//! approve = ["send_message", "remove_*"] # optional: only proposed; a person approves them
//! events = ["message:send"]             # optional, with webhook_url: Crisp's events it gets
//! webhook_url = "https://..."           # where the gateway posts them (http on loopback only)
//! ```
//!
//! A top-level `approval_ttl = "24h"` says how long a proposal stays approvable (see
//! [`Approve`] and [`crate::approvals`]).
//!
//! Every mistake is refused with its line, column and field path and what to do
//! ([`PolicyError`]): an unknown field, TOML that does not parse, grants that do not parse or
//! name a scope no operation has, a key hash that is not 64 hex digits, two agents with one
//! name or one key, an empty list, a rate that does not parse, a budget or quota of 0. Key
//! hashes are read in either case (hex names the same bytes), and written lower-case.
//!
//! A [`Policy`] is immutable: share it as `Arc<Policy>`, and reload by swapping the `Arc`.

mod approve;
mod demo;
mod error;
mod key;
mod model;
mod rate;
mod raw;
mod subscription;
mod validate;

pub use approve::{Approve, DEFAULT_APPROVAL_TTL, MAX_APPROVAL_TTL, parse_duration};
pub use demo::{DemoAgent, demo};
pub use error::PolicyError;
pub use key::{AgentKey, KeyFormat, KeyHash};
pub use model::{Agent, ConfirmMode, DEFAULT_DAILY_QUOTA, Policy, Websites};
pub use rate::{Per, Rate};
pub use subscription::Subscription;

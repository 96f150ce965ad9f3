//! `crisp-gateway`: one server between a team's AI agents and Crisp.
//!
//! It holds the one Crisp token; each agent has its own key, grants, websites, conversations
//! and budget, on Crisp's own REST API (any Crisp client works unchanged) and on MCP. Every
//! call is checked and stored in an audit log. See `docs/gateway.md`.
//!
//! One decision path, two fronts, one store; data flows one way:
//!
//! ```text
//! front (rest: Crisp's /v1 | mcp: /mcp)   a request becomes a call; a decision its answer
//!   -> identity   the agent, from Basic name:key or Bearer key (sha256, constant-time)
//!   -> decide     pure: policy + agent + operation + ids + facts -> plan or refusal
//!   -> gateway    rate; a proposal when a person must approve (see `approvals`); budget and
//!                 quota; the upstream; one audit row per request
//!   -> upstream   crisp_api::Client::call with the one Crisp key
//!   -> store      audit rows, counters, approvals (SQLite by default)
//! ```
//!
//! Beside them, [`webhooks`]: Crisp's webhook deliveries at `/webhooks/crisp`, verified, fanned
//! out once to each agent whose grants allow it, from an outbox in the store.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod approvals;
pub mod audit;
pub mod cli;
pub mod dashboard;
pub mod decide;
pub mod gateway;
pub mod identity;
pub mod mcp;
pub mod policy;
pub mod policy_sync;
pub mod rate;
pub mod refusal;
pub mod rest;
pub mod server;
pub mod store;
pub mod upstream;
pub mod webhooks;

pub use gateway::{Caller, Front, Gateway, Incoming, Lookup, Outcome, ReviewError, Reviewer, Sent};

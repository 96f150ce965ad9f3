//! A Rust client for the [Crisp](https://crisp.chat) REST API v1 and Crisp's webhooks, made to
//! be handed to an AI agent: every call is checked before any I/O (the ids, the token's
//! [`Grants`], a [confirmation](ClientBuilder::confirm) for what reaches a customer or cannot be
//! undone, a [daily budget](ClientBuilder::daily_budget)), retried only where a repeat is
//! harmless ([`RetryPolicy`]), and leaves an [`AuditRecord`]; every failure is one [`Error`]
//! with a [`hint`](Error::hint).
//!
//! Everything the API is made of is generated from one hand-maintained OpenAPI document,
//! `spec/crisp.yaml`: a method per operation on [`Client`] with its [`builder`], the [`types`],
//! the webhook [`Event`](webhook::Event)s, and the table of [`Operation`]s that says which
//! plugin scope and access level each method needs, which webhook event it fires, whether it
//! deletes data or reaches a customer, and how it pages.
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use crisp_api::{Client, Credentials, Grants, Operation};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder(Credentials::plugin("identifier", "key"))
//!     .grants(Grants::for_operations(&[&Operation::LIST_CONVERSATIONS]))
//!     .daily_budget(500)
//!     .build()?;
//! let mut unresolved = client
//!     .list_conversations()
//!     .website_id("8c842203-7ed8-4e29-a608-7cf78a7d2fcc")
//!     .filter_not_resolved(1)
//!     .stream();
//! while let Some(conversation) = unresolved.try_next().await? {
//!     println!("{} {:?}", conversation.session_id, conversation.state);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Where to go next
//!
//! - **Errors**: every call returns [`Error`], one enum to match on; [`Error::hint`] says what
//!   to do, [`Error::is_retryable`] and [`Error::is_refused`] route it without parsing text.
//! - **Paging**: the page-numbered lists and the messages list have `stream()`, a
//!   `futures::Stream` that fetches one page at a time (see [`builder::ListConversations::stream`]
//!   and [`Paging`]).
//! - **Webhooks**: [`webhook::Verifier`] checks a delivery's signature over the raw body and
//!   [`webhook::Event`] is the parsed event.
//! - **The environment**: [`env`](mod@env) reads the token, tier, base URL, website and grants as every
//!   tool of the project does.
//! - **Calls chosen at run time**: [`Client::call`] runs any [`Operation`] with arguments as
//!   text and JSON, through the same checks (for tool servers and gateways).
//! - **A local Crisp**: the repository's `crisp-sandbox` crate (not published; a path or git
//!   dependency) is a stateful Crisp on loopback, derived from the same spec, for tests and
//!   demos with no account: `Client::builder(sandbox.credentials()).base_url(sandbox.base_url())`.
//!   The repository's `docs/` pages have the guides.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

#[rustfmt::skip]
mod generated;

pub mod auth;
mod call;
mod client;
pub mod env;
mod error;
mod grants;
mod message;
mod open_enum;
pub mod operation;
mod paging;
mod path;
mod secret;
pub mod types;
pub mod webhook;

pub use auth::{Credentials, Tier};
pub use call::audit::{AUDIT_TARGET, AuditRecord, Outcome, Refusal};
pub use call::dynamic::DynamicCall;
pub use call::guard::{BudgetStatus, Confirmation};
pub use call::retry::RetryPolicy;
pub use client::Client;
pub use client::{BuildError, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_USER_AGENT, TIER_HEADER};
pub use error::Error;
pub use generated::api::builder;
pub use grants::{Grants, GrantsError, Level};
pub use operation::{Access, Effect, Method, Operation, Paging};
pub use path::{PathError, PathParams};

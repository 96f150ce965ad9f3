//! Typed Rust bindings for the [Crisp](https://crisp.chat) REST API v1 and Crisp's webhooks.
//!
//! Everything here is generated from one hand-maintained OpenAPI document, `spec/crisp.yaml`:
//! the [`Client`] with a method per API method, the [`types`], the webhook
//! [`Event`](webhook::Event)s, and the table of [`Operation`]s that says which plugin scope
//! and access level each method needs, which webhook event it fires, and whether it deletes
//! data or reaches a customer.
//!
//! ```no_run
//! use crisp_api::{Client, Credentials};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder(Credentials::plugin("identifier", "key")).build()?;
//! let page = client
//!     .list_conversations()
//!     .website_id("8c842203-7ed8-4e29-a608-7cf78a7d2fcc")
//!     .page_number(1)
//!     .filter_not_resolved(1)
//!     .send()
//!     .await?;
//! for conversation in &page.data {
//!     println!("{:?} {:?}", conversation.session_id, conversation.state);
//! }
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]

#[rustfmt::skip]
mod generated;

pub mod auth;
mod client;
mod grants;
mod hooks;
mod open_enum;
pub mod operation;
mod secret;
pub mod types;
pub mod webhook;

pub use auth::{Credentials, Tier};
pub use client::{BuildError, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_USER_AGENT, TIER_HEADER};
pub use generated::client::{Client, ClientInfo, Error, ResponseValue, builder};
pub use grants::{Grants, GrantsError, Level};
pub use hooks::{AUDIT_TARGET, Context};
pub use operation::{Access, Effect, Method, Operation, Paging};

/// The README's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

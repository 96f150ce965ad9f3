//! A local Crisp: a stateful server of the Crisp REST API v1, derived from the same spec as
//! `crisp-api`, that any Crisp client can use offline, with no account, token or quota to burn.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let sandbox = crisp_sandbox::Sandbox::start().await?;
//! println!("Crisp at {}, website {}", sandbox.base_url(), sandbox.website_id());
//! // Point any client at `base_url` with Basic auth `identifier:key` and
//! // `X-Crisp-Tier: plugin`.
//! let (identifier, key) = (sandbox.identifier(), sandbox.key());
//! # let _ = (identifier, key);
//! sandbox.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! What it does:
//!
//! - Every operation of the spec under `/v1`, answering with Crisp's envelope
//!   `{error, reason, data}`, over an in-memory workspace (seeded with a demo, or loaded from
//!   [`Fixtures`]). An operation the sandbox has no behaviour for answers the spec's example.
//! - Auth as Crisp does it: HTTP Basic auth plus `X-Crisp-Tier` (401 `invalid_session`),
//!   grants per [`Token`] (403 `not_allowed`), a daily quota (429 `rate_limited`), unknown ids
//!   (404 `not_found`), unknown routes (404 `not_found` with Crisp's message, `the route does
//!   not exist`), and requests validated against the spec's schemas (400 `invalid_data`
//!   naming the field; unknown fields are ignored).
//! - Webhooks: every state change the spec maps to an event is posted, signed as Crisp signs
//!   plugin hooks, to the registered endpoint (or to several: [`Sandbox::set_webhook_urls`]),
//!   and retried with backoff while it fails; some can be posted once more after they were
//!   delivered, as Crisp does when it misses an answer ([`Sandbox::set_webhook_repeat`]).
//! - [`Faults`]: a seeded share of requests answered 429, 502 with an HTML page, delayed, or
//!   dropped.
//!
//! Admin routes, outside `/v1`: without auth on loopback (the default host); with an admin
//! token ([`SandboxBuilder::admin_token`]) each needs `Authorization: Bearer <token>`. A host
//! other than loopback is refused unless an admin token is set or
//! [`SandboxBuilder::insecure_admin`] opens them anyway.
//!
//! | route | what |
//! |---|---|
//! | `GET /_sandbox/health` | `{ok, operations}` |
//! | `PUT /_sandbox/webhook` | register the endpoint: `{"url": "...", "secret": "..."}` (secret optional) |
//! | `DELETE /_sandbox/webhook` | stop delivering |
//! | `GET /_sandbox/webhook/deliveries` | every delivery with its attempts and last status |
//! | `PUT /_sandbox/faults` / `DELETE` | inject [`Faults`] (JSON) / stop |
//! | `POST /_sandbox/tokens` | add a token: `{"identifier", "key", "tier", "grants", "daily_quota"}` |
//! | `DELETE /_sandbox/quota` | forget today's usage of every token |
//! | `POST /_sandbox/reset` | back to the workspace as loaded |
//! | `GET /_sandbox/fixtures` | the workspace now, as [`Fixtures`] JSON |
//! | `GET /_sandbox/requests` | `{"api_requests": n}`: requests received under `/v1` since the start |

#![warn(missing_docs)]
#![forbid(unsafe_code)]

// The modules, from the bottom up; each uses only modules of the lines above it (checked by
// `cargo xtask layers`):
//   util, envelope, route, config, fixtures      leaves: the clock and ids, Crisp's envelope,
//                                                the route facts' types, tokens and faults
//   generated, demo, state, webhook, auth        the generated facts, the demo fixtures, the
//                                                workspace, deliveries, credentials and quota
//   table, validate, load                        the route table, request and fixture checks
//   behaviour/                                   what each operation does (one file per tag)
//   app, api, admin, server, sandbox             the running sandbox and its HTTP side
mod admin;
mod api;
mod app;
mod auth;
mod behaviour;
mod config;
pub mod demo;
mod envelope;
mod fixtures;
#[rustfmt::skip]
#[allow(missing_docs)]
mod generated;
mod load;
mod route;
mod sandbox;
mod server;
mod state;
mod table;
mod util;
mod validate;
mod webhook;

pub use api::BODY_LIMIT;
pub use behaviour::MESSAGE_BATCH;
pub use config::{Faults, FaultsError, PLUGIN_DAILY_QUOTA, Token, WEBSITE_DAILY_QUOTA};
pub use crisp_serve::Limits;
pub use demo::DEMO_IDENTIFIER;
pub use fixtures::Fixtures;
pub use sandbox::{Error, Sandbox, SandboxBuilder, SandboxInfo};
pub use util::random_key;
pub use webhook::{DeliveryRecord, WebhookLimits, WebhookRetry};

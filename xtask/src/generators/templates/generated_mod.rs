//! Code generated from `spec/crisp.yaml` by `cargo xtask codegen`.

/// The request and response types, by progenitor.
#[rustfmt::skip]
#[allow(missing_docs, unused_imports, clippy::all, clippy::pedantic)]
pub mod types;

/// A message's content as Crisp sent it (JSON whose shape depends on the message type).
#[rustfmt::skip]
#[allow(clippy::all)]
pub mod message_content;

/// Message content, decoded by message type.
#[rustfmt::skip]
#[allow(clippy::all)]
pub mod content;

/// Open string enums: every known value, plus one that keeps values Crisp adds later.
#[rustfmt::skip]
#[allow(clippy::all)]
pub mod enums;

/// Webhook events, dispatched on their name.
#[rustfmt::skip]
#[allow(clippy::all)]
pub mod events;

/// The table of operations: id, method, path, scope, access, webhook event, effect.
#[rustfmt::skip]
#[allow(clippy::all)]
pub mod operations;

/// The client: a method per operation on `Client`, and their builders, whose `send()` runs
/// the hand-written call pipeline.
#[rustfmt::skip]
#[allow(clippy::all)]
pub mod api;

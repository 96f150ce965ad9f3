//! `crisp-api` end to end (unpublished): what runs the client against real servers.
//!
//! - [`cases`]: one case per operation of the spec, generated from its examples by
//!   `cargo xtask codegen` (the ids, query, body and answer of each call). `tests/operations.rs`
//!   checks each on the wire against a local HTTP mock, and `tests/sandbox.rs` runs each against
//!   the sandbox, so an operation added to the spec is tested with no new test code.
//! - `tests/sandbox.rs`: the client against `crisp-sandbox`, end to end.
//! - `examples/quickstart.rs` (the README's main command) and `examples/agent.rs`, with
//!   `tests/quickstart.rs` running the quickstart's whole story.
//!
//! The README's and the docs pages' code blocks are compiled and run here too, as doc tests
//! (they use the sandbox), and `tests/docs.rs` checks that every link in them leads somewhere.
//!
//! It is a crate of its own so that `crisp-api` never depends on the sandbox, which depends on
//! `crisp-api`.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

/// Written only by `cargo xtask codegen`.
mod generated {
    #[rustfmt::skip]
    pub mod cases;
}

pub use generated::cases;

/// The README's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// The docs pages' examples, compiled as doc tests.
#[cfg(doctest)]
mod docs {
    #[doc = include_str!("../../docs/client.md")]
    struct Client;
    #[doc = include_str!("../../docs/webhooks.md")]
    struct Webhooks;
    #[doc = include_str!("../../docs/sandbox.md")]
    struct Sandbox;
    #[doc = include_str!("../../docs/mcp.md")]
    struct Mcp;
    #[doc = include_str!("../../docs/architecture.md")]
    struct Architecture;
    #[doc = include_str!("../../docs/contributing.md")]
    struct Contributing;
    #[doc = include_str!("../../docs/performance.md")]
    struct Performance;
}

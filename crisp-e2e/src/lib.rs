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
//! The README's code blocks are compiled and run here too, as doc tests (they use the sandbox).
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

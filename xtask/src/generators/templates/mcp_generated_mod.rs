//! Code generated from `spec/crisp.yaml` by `cargo xtask codegen`.

/// One MCP tool per operation of the spec.
#[rustfmt::skip]
#[allow(clippy::all)]
pub mod tools;

//! Code generated from `spec/crisp.yaml` by `cargo xtask codegen`.

/// Parameters, request body schemas and success examples of every operation.
#[rustfmt::skip]
#[allow(clippy::all)]
pub mod routes;

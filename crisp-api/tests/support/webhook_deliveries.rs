//! The `example` delivery of every event under `x-crisp-webhooks` in `spec/crisp.yaml`, shared
//! by the webhook receiver and parsing tests. They are generated from the spec by `cargo xtask codegen` into
//! `tests/generated/webhook_deliveries.rs`, so they cannot drift, and a new event needs no
//! edit here.

#![allow(dead_code)]

#[rustfmt::skip]
#[path = "../generated/webhook_deliveries.rs"]
mod generated;

pub use generated::{DELIVERIES, delivery};

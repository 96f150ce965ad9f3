//! Every example of the spec decodes into its generated type, and so does a copy with unknown
//! fields and unknown enum values, which re-encoding keeps. Webhook examples dispatch to their
//! own event variant.
//!
//! The cases are generated from `spec/crisp.yaml` into `tests/generated/spec_examples.rs` by
//! `cargo xtask codegen`; the checks they call are in `tests/support/examples.rs`.

#[path = "support/examples.rs"]
mod support;

#[rustfmt::skip]
#[path = "generated/spec_examples.rs"]
mod generated;

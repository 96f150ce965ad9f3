//! The project's build tasks behind `cargo xtask`: the code generator (`codegen`) and the
//! import-direction check (`layers`).
//!
//! One pure function, [`generate`], turns the text of `spec/crisp.yaml` into the full set of
//! generated files; [`codegen`] compares them with the tree and either writes them or reports
//! what is stale. Everything is deterministic: the same spec gives the same bytes.
//!
//! The modules run one way, bottom to top: `error`, `layout` and `yaml` (raw YAML helpers);
//! `spec` (the model); `lint` (the rules, by area; it builds the model's parts); `load` (read,
//! lint, build the model); `generators` (one per output) and `output` (comparing with the
//! tree); `codegen` (the entry points). `layers` stands apart. This file only re-exports;
//! `cargo xtask layers xtask` checks that no module imports one that imports it back.

mod codegen;
pub mod diff;
mod error;
mod generators;
pub mod layers;
mod layout;
mod lint;
mod load;
mod output;
pub mod spec;
pub mod yaml;

pub use codegen::{Freshness, Mode, codegen, generate};
pub use error::Error;
pub use layout::{
    DOCS_PATH, E2E_GENERATED_DIR, GENERATED_DIR, MCP_GENERATED_DIR, SANDBOX_GENERATED_DIR,
    SPEC_PATH, TESTS_GENERATED_DIR,
};
pub use lint::Problem;
pub use load::load;
pub use output::{GeneratedFile, Staleness, compare};
pub use spec::{Spec, spec_hash};

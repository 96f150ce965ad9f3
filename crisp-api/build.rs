//! Checks that the generated code matches `spec/crisp.yaml`. Standard library only, so that
//! depending on crisp-api never compiles the generator.
//!
//! Every generated file starts with the hash of the spec it came from. When the spec on disk
//! hashes differently, the generated code is stale: this warns, and with
//! `CRISP_CODEGEN_STRICT=1` (as CI sets) it fails the build. The fix is `cargo xtask codegen`.

use std::path::Path;

// Relative to this crate's folder, where cargo runs build scripts.
const SPEC: &str = "../spec/crisp.yaml";
const GENERATED: &str = "src/generated/types.rs";

fn main() {
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rerun-if-changed={GENERATED}");
    println!("cargo:rerun-if-env-changed=CRISP_CODEGEN_STRICT");

    // A packaged crate may ship without the spec: then there is nothing to compare.
    let Ok(spec) = std::fs::read(Path::new(SPEC)) else {
        return;
    };
    let expected = spec_hash(&spec);
    let found = std::fs::read_to_string(GENERATED)
        .ok()
        .and_then(|text| {
            let first = text.lines().next()?.to_owned();
            let start = first.find("spec-hash ")? + "spec-hash ".len();
            let rest = &first[start..];
            let end = rest.find(')')?;
            Some(rest[..end].to_owned())
        })
        .unwrap_or_else(|| "none".to_owned());
    if found == expected {
        return;
    }
    let message = format!(
        "generated code is stale: {SPEC} hashes to {expected}, {GENERATED} was generated from \
         {found}. Run `cargo xtask codegen` and commit the result."
    );
    if std::env::var("CRISP_CODEGEN_STRICT").as_deref() == Ok("1") {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
    println!("cargo:warning={message}");
}

// The one implementation of the hash, shared with the xtask.
#[path = "spec_hash.rs"]
mod hash;
use hash::spec_hash;

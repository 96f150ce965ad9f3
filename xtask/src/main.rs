//! `cargo xtask`: the project's own build tasks.
//!
//! `cargo xtask codegen` reads `spec/crisp.yaml`, lints it, and writes every generated file:
//! the progenitor client, the open enums, message content, webhook events, the operations
//! table, the reference docs and the spec-example tests. `cargo xtask codegen --check` writes
//! nothing: it prints a diff of whatever is stale and exits non-zero. `cargo xtask spec-diff`
//! classifies a spec change as an API change, and `cargo xtask release` records a release's
//! spec (see `xtask::diff`).

use std::path::PathBuf;
use std::process::ExitCode;

use xtask::{Mode, Outcome, codegen};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["spec-diff", rest @ ..] => return xtask::diff::cli::spec_diff(&workspace_root(), rest),
        ["release"] => return xtask::diff::cli::release(&workspace_root()),
        _ => {}
    }
    let mode = match args.as_slice() {
        ["codegen"] => Mode::Write,
        ["codegen", "--check"] => Mode::Check,
        _ => {
            eprintln!(
                "usage: cargo xtask codegen [--check]\n\n\
                 codegen          regenerate the client, event types, operations table and docs from spec/crisp.yaml\n\
                 codegen --check  change nothing; print a diff of stale generated files and exit 1\n\
                 {}",
                xtask::diff::cli::USAGE
            );
            return ExitCode::from(2);
        }
    };
    let root = workspace_root();
    match codegen(&root, mode) {
        Ok(Outcome::UpToDate) => {
            println!("generated files are up to date with spec/crisp.yaml");
            ExitCode::SUCCESS
        }
        Ok(Outcome::Written(report)) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Ok(Outcome::Stale(report)) => {
            print!("{report}");
            eprintln!("generated files are stale: run `cargo xtask codegen` and commit the result");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("{err}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

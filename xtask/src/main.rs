//! `cargo xtask`: the project's own build tasks.
//!
//! `cargo xtask codegen` reads `spec/crisp.yaml`, lints it, and writes every generated file:
//! the progenitor client, the open enums, message content, webhook events, the operations
//! table, the reference docs and the spec-example tests. `cargo xtask codegen --check` writes
//! nothing: it prints a diff of whatever is stale and exits non-zero.
//!
//! `cargo xtask layers` checks that imports run one way in every crate of the workspace and
//! prints every cycle between module files; it exits non-zero if there is one.
//!
//! `cargo xtask spec-diff` classifies a spec change as an API change, and `cargo xtask release`
//! records a release's spec (see `xtask::diff`).

use std::path::PathBuf;
use std::process::ExitCode;

use xtask::{Freshness, Mode, codegen, layers};

const USAGE: &str = "\
usage: cargo xtask codegen [--check]
       cargo xtask layers [--summary] [--all-targets] [--root DIR] [PACKAGE...]

codegen          regenerate the client, event types, operations table and docs from spec/crisp.yaml
codegen --check  change nothing; print a diff of stale generated files and exit 1
layers           print every import cycle between the module files of each crate (libraries and
                 binaries) of the workspace, with the imports that make it; exit 1 if there is one
  --summary      one line per crate and per cycle, without the imports
  --all-targets  tests, examples and benches too
  --root DIR     the workspace to check (default: this one)
  PACKAGE...     only these packages";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["codegen"] => run_codegen(Mode::Write),
        ["codegen", "--check"] => run_codegen(Mode::Check),
        ["layers", rest @ ..] => run_layers(rest),
        ["spec-diff", rest @ ..] => xtask::diff::cli::spec_diff(&workspace_root(), rest),
        ["release"] => xtask::diff::cli::release(&workspace_root()),
        _ => usage(),
    }
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}\n{}", xtask::diff::cli::USAGE);
    ExitCode::from(2)
}

fn run_codegen(mode: Mode) -> ExitCode {
    let root = workspace_root();
    match codegen(&root, mode) {
        Ok(Freshness::UpToDate) => {
            println!("generated files are up to date with spec/crisp.yaml");
            ExitCode::SUCCESS
        }
        Ok(Freshness::Written(report)) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Ok(Freshness::Stale(report)) => {
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

fn run_layers(args: &[&str]) -> ExitCode {
    let mut options = layers::Options::default();
    let mut summary = false;
    let mut root = workspace_root();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match *arg {
            "--summary" => summary = true,
            "--all-targets" => options.all_targets = true,
            "--root" => match args.next() {
                Some(dir) => root = PathBuf::from(dir),
                None => return usage(),
            },
            flag if flag.starts_with('-') => return usage(),
            package => options.packages.push(package.to_owned()),
        }
    }
    match layers::check_workspace(&root, &options) {
        Ok(report) => {
            if summary {
                print!("{}", report.summary());
            } else {
                print!("{report}");
            }
            if report.has_cycles() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(err) => {
            eprintln!("{err}");
            ExitCode::from(2)
        }
    }
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

//! The code generator behind `cargo xtask codegen`.
//!
//! One pure function, [`generate`], turns the text of `spec/crisp.yaml` into the full set of
//! generated files; [`codegen`] compares them with the tree and either writes them or reports
//! what is stale. Everything is deterministic: the same spec gives the same bytes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

mod api;
mod calls;
mod client;
mod content;
pub mod diff;
mod docs;
mod enums;
mod events;
mod examples;
mod json_schema;
mod lint;
mod mcp;
mod operations;
mod output;
mod sandbox;
pub mod spec;

pub use lint::Problem;
pub use output::{GeneratedFile, Staleness, compare};
pub use spec::{Spec, spec_hash};

/// Where the spec lives, relative to the workspace root.
pub const SPEC_PATH: &str = "spec/crisp.yaml";
/// The folder of generated Rust modules, relative to the workspace root. Every file in it is
/// written by the generator; a file it no longer produces is deleted.
pub const GENERATED_DIR: &str = "crisp-api/src/generated";
pub use mcp::MCP_GENERATED_DIR;
pub use sandbox::SANDBOX_GENERATED_DIR;

/// What `codegen` should do with the result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Write changed files and delete files that are no longer produced.
    Write,
    /// Change nothing; report what is stale.
    Check,
}

/// The result of a successful run.
#[derive(Debug)]
pub enum Outcome {
    /// Nothing to do: every generated file matches the spec.
    UpToDate,
    /// `Mode::Write` changed files; the string lists them.
    Written(String),
    /// `Mode::Check` found stale files; the string holds the diff.
    Stale(String),
}

/// A failure: the spec could not be read, failed lint, or generation failed.
#[derive(Debug)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Runs the generator over the tree at `root`.
pub fn codegen(root: &Path, mode: Mode) -> Result<Outcome, Error> {
    let spec_path = root.join(SPEC_PATH);
    let text = std::fs::read_to_string(&spec_path)
        .map_err(|e| Error(format!("cannot read {}: {e}", spec_path.display())))?;
    let files = generate(&text)?;
    let stale = compare(root, &files)?;
    if stale.is_empty() {
        return Ok(Outcome::UpToDate);
    }
    match mode {
        Mode::Check => Ok(Outcome::Stale(stale.render())),
        Mode::Write => {
            let mut report = String::new();
            for (file, _) in &stale.changed {
                let path = root.join(&file.path);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| Error(format!("cannot create {}: {e}", dir.display())))?;
                }
                std::fs::write(&path, &file.contents)
                    .map_err(|e| Error(format!("cannot write {}: {e}", path.display())))?;
                let _ = writeln!(report, "wrote   {}", file.path.display());
            }
            for path in &stale.removed {
                std::fs::remove_file(root.join(path))
                    .map_err(|e| Error(format!("cannot delete {}: {e}", path.display())))?;
                let _ = writeln!(report, "deleted {}", path.display());
            }
            Ok(Outcome::Written(report))
        }
    }
}

/// Generates every output file from the text of the spec. Pure: reads and writes nothing.
pub fn generate(spec_text: &str) -> Result<Vec<GeneratedFile>, Error> {
    let spec = Spec::load(spec_text).map_err(|problems| {
        let mut msg = format!(
            "{SPEC_PATH} has {} problem(s); nothing was generated:\n",
            problems.len()
        );
        for p in &problems {
            let _ = writeln!(msg, "  - {p}");
        }
        Error(msg)
    })?;
    let header = Header::new(&spec.hash);
    let progenitor = client::generate(&spec)?;
    let rust_files = [
        (
            format!("{GENERATED_DIR}/mod.rs"),
            include_str!("templates/generated_mod.rs").to_owned(),
        ),
        (
            format!("{GENERATED_DIR}/types.rs"),
            prettyplease::unparse(&client::types_only(&progenitor)?),
        ),
        (
            format!("{GENERATED_DIR}/api.rs"),
            api::generate(&spec, &progenitor)?,
        ),
        (format!("{GENERATED_DIR}/enums.rs"), enums::generate(&spec)?),
        (
            format!("{GENERATED_DIR}/content.rs"),
            content::generate(&spec)?,
        ),
        (
            format!("{GENERATED_DIR}/events.rs"),
            events::generate(&spec)?,
        ),
        (
            format!("{GENERATED_DIR}/operations.rs"),
            operations::generate(&spec)?,
        ),
        (
            format!("{SANDBOX_GENERATED_DIR}/mod.rs"),
            include_str!("templates/sandbox_generated_mod.rs").to_owned(),
        ),
        (
            format!("{SANDBOX_GENERATED_DIR}/routes.rs"),
            sandbox::generate(&spec)?,
        ),
        (
            format!("{MCP_GENERATED_DIR}/mod.rs"),
            include_str!("templates/mcp_generated_mod.rs").to_owned(),
        ),
        (
            format!("{MCP_GENERATED_DIR}/tools.rs"),
            mcp::generate(&spec)?,
        ),
        (
            "crisp-api/tests/generated/spec_examples.rs".to_owned(),
            examples::generate(&spec)?,
        ),
        (
            "crisp-e2e/src/generated/cases.rs".to_owned(),
            calls::generate(&spec)?,
        ),
        (
            "crisp-api/tests/generated/webhook_deliveries.rs".to_owned(),
            examples::deliveries(&spec)?,
        ),
    ];
    let mut files: Vec<GeneratedFile> = rust_files
        .into_iter()
        .map(|(path, body)| GeneratedFile {
            path: PathBuf::from(path),
            contents: format!("{}\n{body}", header.rust()),
        })
        .collect();
    files.push(GeneratedFile {
        path: PathBuf::from("docs/api.md"),
        contents: format!("{}\n{}", header.markdown(), docs::generate(&spec)),
    });
    Ok(files)
}

/// The `@generated` line every output starts with. It names the command and the spec's hash,
/// which `crisp-api/build.rs` compares with the spec on disk.
struct Header {
    line: String,
}

impl Header {
    fn new(hash: &str) -> Self {
        Self {
            line: format!(
                "@generated by `cargo xtask codegen` from {SPEC_PATH} (spec-hash {hash}). \
                 Do not edit by hand: change the spec and regenerate."
            ),
        }
    }

    fn rust(&self) -> String {
        format!("// {}", self.line)
    }

    fn markdown(&self) -> String {
        format!("<!-- {} -->", self.line)
    }
}

/// Marks generated non-Rust files and top-level test files so stale ones can be found.
pub(crate) const GENERATED_MARKER: &str = "@generated by `cargo xtask codegen`";

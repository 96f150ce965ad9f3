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
mod docs;
mod enums;
mod error;
mod events;
mod examples;
mod json_schema;
pub mod layers;
mod layout;
mod lint;
mod load;
mod mcp;
mod operations;
mod output;
mod sandbox;
pub mod spec;
pub mod yaml;

pub use error::Error;
pub use layout::{
    DOCS_PATH, GENERATED_DIR, MCP_GENERATED_DIR, SANDBOX_GENERATED_DIR, SPEC_PATH,
    TESTS_GENERATED_DIR,
};
pub use lint::Problem;
pub use load::load;
pub use output::{GeneratedFile, Staleness, compare};
pub use spec::{Spec, spec_hash};

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
    let spec = load(spec_text).map_err(|problems| {
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
            format!("{TESTS_GENERATED_DIR}/spec_examples.rs"),
            examples::generate(&spec)?,
        ),
        (
            format!("{TESTS_GENERATED_DIR}/operations.rs"),
            calls::generate(&spec)?,
        ),
        (
            format!("{TESTS_GENERATED_DIR}/webhook_deliveries.rs"),
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
        path: PathBuf::from(DOCS_PATH),
        contents: format!("{}\n{}", header.markdown(), docs::generate(&spec)),
    });
    Ok(files)
}

/// The `@generated` line every output starts with. It names the command and the spec's hash,
/// which `build.rs` compares with the spec on disk.
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

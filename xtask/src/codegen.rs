//! The two entry points of `cargo xtask codegen`: [`generate`] turns the text of the spec into
//! every generated file (load, then the generators), and [`codegen`] compares them with a tree
//! and either writes them or reports what is stale.

use std::fmt::Write as _;
use std::path::Path;

use crate::Error;
use crate::generators;
use crate::layout::SPEC_PATH;
use crate::load::load;
use crate::output::{GeneratedFile, compare};

/// What `codegen` should do with the result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Write changed files and delete files that are no longer produced.
    Write,
    /// Change nothing; report what is stale.
    Check,
}

/// Whether the generated files were fresh, after a successful run.
#[derive(Debug)]
pub enum Freshness {
    /// Nothing to do: every generated file matches the spec.
    UpToDate,
    /// `Mode::Write` changed files; the string lists them.
    Written(String),
    /// `Mode::Check` found stale files; the string holds the diff.
    Stale(String),
}

/// Runs the generator over the tree at `root`.
pub fn codegen(root: &Path, mode: Mode) -> Result<Freshness, Error> {
    let spec_path = root.join(SPEC_PATH);
    let text = std::fs::read_to_string(&spec_path)
        .map_err(|e| Error(format!("cannot read {}: {e}", spec_path.display())))?;
    let files = generate(&text)?;
    let stale = compare(root, &files)?;
    if stale.is_empty() {
        return Ok(Freshness::UpToDate);
    }
    match mode {
        Mode::Check => Ok(Freshness::Stale(stale.render())),
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
            Ok(Freshness::Written(report))
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
    generators::files(&spec)
}

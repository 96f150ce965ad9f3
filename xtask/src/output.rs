//! Generated files, and how they compare with the tree: what is stale, what is missing, and
//! what is no longer generated.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::layout::{GENERATED_FOLDERS, GENERATED_MARKER};

/// One generated file: its path relative to the workspace root and its full contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    pub path: PathBuf,
    pub contents: String,
}

/// What differs between a generation and the tree.
#[derive(Debug, Default)]
pub struct Staleness {
    /// Files whose contents differ from the tree, or that are missing, each with the contents
    /// the tree has (`None` for a missing file).
    pub changed: Vec<(GeneratedFile, Option<String>)>,
    /// Generated files in the tree that the generator no longer produces.
    pub removed: Vec<PathBuf>,
}

impl Staleness {
    /// Nothing is stale.
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.removed.is_empty()
    }

    /// A unified diff of every stale file, and the list of files to delete.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (file, old) in &self.changed {
            let path = file.path.display().to_string();
            let old_text = old.as_deref().unwrap_or("");
            let diff = similar::TextDiff::from_lines(old_text, &file.contents);
            let (a, b) = match old {
                Some(_) => (format!("a/{path}"), format!("b/{path}")),
                None => ("/dev/null".to_owned(), format!("b/{path}")),
            };
            let _ = write!(
                out,
                "{}",
                diff.unified_diff().context_radius(2).header(&a, &b)
            );
        }
        for path in &self.removed {
            let _ = writeln!(
                out,
                "{} is no longer generated and would be deleted",
                path.display()
            );
        }
        out
    }
}

/// Compares generated files with the tree at `root`.
pub fn compare(root: &Path, files: &[GeneratedFile]) -> Result<Staleness, Error> {
    let mut stale = Staleness::default();
    for file in files {
        let old = std::fs::read_to_string(root.join(&file.path)).ok();
        if old.as_deref() != Some(file.contents.as_str()) {
            stale.changed.push((file.clone(), old));
        }
    }
    let produced: BTreeSet<&Path> = files.iter().map(|f| f.path.as_path()).collect();
    for existing in existing_generated(root)? {
        if !produced.contains(existing.as_path()) {
            stale.removed.push(existing);
        }
    }
    Ok(stale)
}

/// Every generated file in the tree: all of `crisp-api/src/generated/`,
/// `crisp-sandbox/src/generated/`, `crisp-mcp/src/generated/`, `crisp-api/tests/generated/` and
/// `crisp-e2e/src/generated/`, plus files in `docs/` that carry the `@generated` marker on their
/// first line.
fn existing_generated(root: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    for (dir, all) in GENERATED_FOLDERS {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| Path::new(dir).join(e.file_name()))
            .collect();
        paths.sort();
        for path in paths {
            let keep = all
                || std::fs::read_to_string(root.join(&path))
                    .ok()
                    .and_then(|text| text.lines().next().map(|l| l.contains(GENERATED_MARKER)))
                    .unwrap_or(false);
            if keep {
                out.push(path);
            }
        }
    }
    Ok(out)
}

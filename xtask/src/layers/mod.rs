//! `cargo xtask layers`: checks that imports run one way in every crate of the workspace.
//!
//! For each crate target (libraries and binaries; tests, examples and benches too with
//! `--all-targets`), every module file is parsed with `syn`, every path it names (in `use`
//! declarations and in code, such as `crate::a::f()`) is resolved to the module file that
//! defines the item, through `pub use` re-exports and glob imports, and the cycles of the
//! resulting graph (its strongly connected components) are reported with the imports that make
//! them. A parent's `mod child;` is not an import; a `pub use` is not an import of the module
//! that re-exports (unless its own code uses the name).
//!
//! Limits, each on the side of reporting fewer edges: paths inside macros are read only when
//! the macro's input is a comma-separated list of expressions (`format!`, `assert_eq!`, ...),
//! and never inside `quote!` (generated code, not code of the crate); `#[cfg]` is ignored
//! (every module is read); macro-generated `mod` items are not seen.

mod cycles;
mod graph;
mod modules;
mod report;
mod workspace;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::Error;
use modules::Tree;
pub use report::{CrateReport, Cycle, Edge, Report};

/// What `check_workspace` checks.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Check tests, examples and benches as well as libraries and binaries.
    pub all_targets: bool,
    /// Only these packages (all of the workspace's if empty).
    pub packages: Vec<String>,
}

/// Checks every crate target of the workspace whose root `Cargo.toml` is in `root`.
pub fn check_workspace(root: &Path, options: &Options) -> Result<Report, Error> {
    let root = &root
        .canonicalize()
        .map_err(|e| Error(format!("cannot find the workspace {}: {e}", root.display())))?;
    let targets = workspace::crate_targets(root, options.all_targets)?;
    for wanted in &options.packages {
        if !targets.iter().any(|t| &t.package == wanted) {
            let known: BTreeSet<&str> = targets.iter().map(|t| t.package.as_str()).collect();
            return Err(Error(format!(
                "no package named `{wanted}` in the workspace at {}; its packages are: {}",
                root.display(),
                known.into_iter().collect::<Vec<_>>().join(", ")
            )));
        }
    }
    let mut crates = Vec::new();
    for target in targets {
        if !options.packages.is_empty() && !options.packages.contains(&target.package) {
            continue;
        }
        let mut report = check_crate(&target.root, root)?;
        report.package = target.package;
        report.kind = target.kind;
        report.target = target.name;
        crates.push(report);
    }
    Ok(Report { crates })
}

/// Checks the crate whose root file is `root_file`; paths in the report are relative to
/// `workspace` where they are inside it. The package, kind and target name are left empty.
pub fn check_crate(root_file: &Path, workspace: &Path) -> Result<CrateReport, Error> {
    let tree = Tree::read(root_file)?;
    let edges = graph::edges(&tree);
    let pairs: BTreeSet<(usize, usize)> = edges.keys().copied().collect();
    let crate_dir = root_file.parent().unwrap_or(Path::new(""));
    let short = |file: usize| relative(&tree.files[file], crate_dir);
    let mut cycles = Vec::new();
    for members in cycles::components(tree.files.len(), &pairs) {
        let example = cycles::shortest_cycle(members[0], &members, &pairs)
            .unwrap_or_default()
            .into_iter()
            .map(short)
            .collect();
        let mut files: Vec<PathBuf> = members.iter().map(|&m| short(m)).collect();
        files.sort();
        let mut cycle_edges: Vec<Edge> = edges
            .iter()
            .filter(|((from, to), _)| members.contains(from) && members.contains(to))
            .map(|(&(from, to), via)| Edge {
                from: short(from),
                to: short(to),
                via: via.iter().map(|e| (e.line, e.path.clone())).collect(),
            })
            .collect();
        cycle_edges.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
        cycles.push(Cycle {
            files,
            example,
            edges: cycle_edges,
        });
    }
    let missing = tree
        .missing
        .iter()
        .map(|m| {
            format!(
                "{}:{}: `mod {};` has no file",
                relative(&tree.files[m.file], workspace).display(),
                m.line,
                m.name
            )
        })
        .collect();
    Ok(CrateReport {
        package: String::new(),
        kind: String::new(),
        target: String::new(),
        root: relative(root_file, workspace),
        files: tree.files.len(),
        cycles,
        missing,
    })
}

/// `path` relative to `base` if it is inside it, else as it is.
fn relative(path: &Path, base: &Path) -> PathBuf {
    path.strip_prefix(base).unwrap_or(path).to_path_buf()
}

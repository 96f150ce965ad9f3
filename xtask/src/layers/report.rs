//! What the import-direction check found, as data a test can read and as the lines
//! `cargo xtask layers` prints.

use std::fmt;
use std::path::PathBuf;

/// The check of every crate target of a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// One entry per crate target checked, in the workspace's order.
    pub crates: Vec<CrateReport>,
}

/// The check of one crate target (a library, a binary, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrateReport {
    /// The package's name.
    pub package: String,
    /// The kind of target: `lib`, `bin`, `test`, `example`, `bench`, `proc-macro`.
    pub kind: String,
    /// The target's name.
    pub target: String,
    /// The crate root file, relative to the workspace root.
    pub root: PathBuf,
    /// How many module files the crate has.
    pub files: usize,
    /// Every cycle between its module files.
    pub cycles: Vec<Cycle>,
    /// `mod` declarations whose file was not found (their modules are not checked).
    pub missing: Vec<String>,
}

/// Module files that import each other, directly or through others: a strongly connected
/// component of the import graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    /// The files in it, relative to the crate root's folder, sorted.
    pub files: Vec<PathBuf>,
    /// One shortest loop through its first file, to read as `a -> b -> a`.
    pub example: Vec<PathBuf>,
    /// Every import between two of its files.
    pub edges: Vec<Edge>,
}

/// One file's imports from another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// The importing file, relative to the crate root's folder.
    pub from: PathBuf,
    /// The file that defines what it imports.
    pub to: PathBuf,
    /// Where: the line in `from` and the path it names there.
    pub via: Vec<(usize, String)>,
}

/// How many of an edge's places are printed before "and N more".
const PLACES_SHOWN: usize = 3;

impl Report {
    /// Whether any crate target has a cycle.
    pub fn has_cycles(&self) -> bool {
        self.crates.iter().any(|c| !c.cycles.is_empty())
    }

    /// One line per crate target, one per cycle, and a total: the report without the edges.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for krate in &self.crates {
            out.push_str(&krate.summary_lines());
        }
        out.push_str(&self.total());
        out
    }

    fn total(&self) -> String {
        let with = self.crates.iter().filter(|c| !c.cycles.is_empty()).count();
        let cycles: usize = self.crates.iter().map(|c| c.cycles.len()).sum();
        if with == 0 {
            format!(
                "no import cycles in {} crate target(s): imports run one way\n",
                self.crates.len()
            )
        } else {
            format!(
                "{cycles} import cycle(s) in {with} of {} crate target(s)\n",
                self.crates.len()
            )
        }
    }
}

impl CrateReport {
    fn summary_lines(&self) -> String {
        let mut out = format!(
            "{} {} `{}` ({}): {} module file(s), ",
            self.package,
            self.kind,
            self.target,
            self.root.display(),
            self.files
        );
        match self.cycles.len() {
            0 => out.push_str("no cycles\n"),
            n => out.push_str(&format!("{n} cycle(s)\n")),
        }
        for cycle in &self.cycles {
            out.push_str(&format!(
                "  cycle of {} files: {}\n",
                cycle.files.len(),
                join(&cycle.files, ", ")
            ));
        }
        for missing in &self.missing {
            out.push_str(&format!("  not checked: {missing}\n"));
        }
        out
    }
}

impl fmt::Display for Report {
    /// The full report: each crate's summary, and for each cycle one loop through it and every
    /// import that makes it, with the line and the path named.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for krate in &self.crates {
            write!(f, "{}", krate.summary_lines())?;
            for cycle in &krate.cycles {
                let mut example = cycle.example.clone();
                example.extend(cycle.example.first().cloned());
                writeln!(
                    f,
                    "  {} (files relative to {}):",
                    join(&example, " -> "),
                    krate
                        .root
                        .parent()
                        .map_or_else(String::new, |p| p.display().to_string())
                )?;
                for edge in &cycle.edges {
                    let mut places: Vec<String> = edge
                        .via
                        .iter()
                        .take(PLACES_SHOWN)
                        .map(|(line, path)| format!("{line}: {path}"))
                        .collect();
                    if edge.via.len() > PLACES_SHOWN {
                        places.push(format!("and {} more", edge.via.len() - PLACES_SHOWN));
                    }
                    writeln!(
                        f,
                        "    {} -> {}  ({})",
                        edge.from.display(),
                        edge.to.display(),
                        places.join("; ")
                    )?;
                }
            }
        }
        f.write_str(&self.total())
    }
}

fn join(paths: &[PathBuf], separator: &str) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(separator)
}

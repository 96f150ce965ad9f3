//! The crate targets of a workspace, as Cargo sees them: `cargo metadata --no-deps` reads the
//! root `Cargo.toml`'s members and each member's targets (with their root files), so nothing
//! about the layout is assumed here.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::Error;

/// Target kinds that are a crate's own code, checked by default.
const CODE_KINDS: [&str; 6] = ["lib", "rlib", "dylib", "cdylib", "proc-macro", "bin"];
/// Target kinds added by `--all-targets`.
const OTHER_KINDS: [&str; 3] = ["test", "example", "bench"];

/// One crate target of a workspace member.
#[derive(Debug, Clone)]
pub(crate) struct CrateTarget {
    pub package: String,
    pub kind: String,
    pub name: String,
    /// Its root file, absolute.
    pub root: PathBuf,
}

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    targets: Vec<Target>,
}

#[derive(Deserialize)]
struct Target {
    name: String,
    kind: Vec<String>,
    src_path: PathBuf,
}

/// The targets of every member of the workspace at `root` (the folder of its `Cargo.toml`):
/// libraries, binaries and proc-macros, plus tests, examples and benches if `all_targets`.
pub(crate) fn crate_targets(root: &Path, all_targets: bool) -> Result<Vec<CrateTarget>, Error> {
    let manifest = root.join("Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(&cargo)
        .args([
            "metadata",
            "--no-deps",
            "--offline",
            "--format-version",
            "1",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .output()
        .map_err(|e| {
            Error(format!(
                "cannot run `{} metadata`: {e}; is cargo on the PATH?",
                cargo.to_string_lossy()
            ))
        })?;
    if !output.status.success() {
        return Err(Error(format!(
            "`cargo metadata` failed for {}:\n{}",
            manifest.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let metadata: Metadata = serde_json::from_slice(&output.stdout)
        .map_err(|e| Error(format!("cannot read `cargo metadata`'s output: {e}")))?;
    let mut out = Vec::new();
    for package in metadata.packages {
        for target in package.targets {
            let wanted = target.kind.iter().find(|k| {
                CODE_KINDS.contains(&k.as_str())
                    || (all_targets && OTHER_KINDS.contains(&k.as_str()))
            });
            if let Some(kind) = wanted {
                out.push(CrateTarget {
                    package: package.name.clone(),
                    kind: kind.clone(),
                    name: target.name,
                    root: target.src_path,
                });
            }
        }
    }
    Ok(out)
}

//! Semver from the spec: the spec of each release is kept in `spec/released/`, and the crate's
//! version must move as far as the changes since the newest one require.
//!
//! Below 1.0, a change breaking for code needs the next minor (0.1.3 -> 0.2.0); from 1.0 on,
//! the next major. Any other change to the API (it changes the generated crate: its types,
//! its docs, its operations table) needs at least the next patch. No change needs no bump.

use std::path::{Path, PathBuf};

use semver::Version;

use super::report::Report;
use super::rules::Class;

/// Where released specs live, relative to the workspace root.
pub const RELEASED_DIR: &str = "spec/released";
/// The manifest whose version the check holds to the spec.
pub const CRATE_MANIFEST: &str = "crisp-api/Cargo.toml";

/// The released spec of one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    /// The crate version it was released as.
    pub version: Version,
    /// Its path, relative to the workspace root.
    pub path: PathBuf,
}

/// The file name of the released spec of `version`.
pub fn released_file(version: &Version) -> PathBuf {
    Path::new(RELEASED_DIR).join(format!("crisp-api-{version}.yaml"))
}

/// The released specs, oldest first. Files that do not look like `crisp-api-<semver>.yaml`
/// are an error: a typo there would silently compare with an older release.
pub fn released(root: &Path) -> Result<Vec<Released>, String> {
    let dir = root.join(RELEASED_DIR);
    let entries = std::fs::read_dir(&dir).map_err(|e| {
        format!(
            "cannot read {}: {e}. It holds the spec of each release; `cargo xtask release` \
             writes it.",
            dir.display()
        )
    })?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let version = name
            .strip_prefix("crisp-api-")
            .and_then(|rest| rest.strip_suffix(".yaml"))
            .and_then(|v| Version::parse(v).ok())
            .ok_or_else(|| {
                format!(
                    "{RELEASED_DIR}/{name} is not named crisp-api-<version>.yaml: rename or \
                     remove it"
                )
            })?;
        out.push(Released {
            path: released_file(&version),
            version,
        });
    }
    out.sort_by(|a, b| a.version.cmp(&b.version));
    Ok(out)
}

/// The newest released spec.
pub fn newest(root: &Path) -> Result<Released, String> {
    released(root)?.pop().ok_or_else(|| {
        format!(
            "{RELEASED_DIR}/ holds no released spec: run `cargo xtask release` for the version \
             in {CRATE_MANIFEST}"
        )
    })
}

/// The crate's version, from `crisp-api/Cargo.toml`.
pub fn crate_version(root: &Path) -> Result<Version, String> {
    let path = root.join(CRATE_MANIFEST);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let manifest: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| format!("{CRATE_MANIFEST} is not valid TOML: {e}"))?;
    let version = manifest
        .get("package")
        .and_then(|p| p.get("version"))
        .and_then(|v| v.as_str())
        .ok_or_else(|| format!("{CRATE_MANIFEST} has no `package.version` string"))?;
    Version::parse(version)
        .map_err(|e| format!("{CRATE_MANIFEST}: version `{version}` is not semver: {e}"))
}

/// How far the version must move for a set of changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bump {
    /// No change to the API.
    None,
    /// A change that breaks nothing, but changes the generated crate.
    Patch,
    /// A change breaking for code: the next minor below 1.0, the next major from 1.0.
    Breaking,
}

impl Bump {
    /// The bump the changes of `report` need.
    pub fn of(report: &Report) -> Bump {
        match report.worst() {
            None => Bump::None,
            Some(Class::BreakingForCode) => Bump::Breaking,
            Some(_) => Bump::Patch,
        }
    }

    /// The least version after `released` that this bump allows.
    pub fn least_after(self, released: &Version) -> Version {
        let v = released;
        match self {
            Bump::None => Version::new(v.major, v.minor, v.patch),
            Bump::Patch => Version::new(v.major, v.minor, v.patch + 1),
            Bump::Breaking if v.major == 0 => Version::new(0, v.minor + 1, 0),
            Bump::Breaking => Version::new(v.major + 1, 0, 0),
        }
    }

    /// What the changes do, and the bump that follows, in words.
    pub fn reason(self) -> &'static str {
        match self {
            Bump::None => "leave the API as it was (no bump needed)",
            Bump::Patch => "change the API without breaking code (at least the next patch)",
            Bump::Breaking => "break code (the next minor below 1.0, the next major from 1.0)",
        }
    }
}

/// The verdict of `--check-version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The newest released version.
    pub released: Version,
    /// The crate's version now.
    pub current: Version,
    /// What the changes need.
    pub bump: Bump,
    /// The least version that satisfies it.
    pub required: Version,
}

impl Verdict {
    /// Holds `current` to the changes since `released`.
    pub fn new(released: Version, current: Version, report: &Report) -> Verdict {
        let bump = Bump::of(report);
        let required = bump.least_after(&released);
        Verdict {
            released,
            current,
            bump,
            required,
        }
    }

    /// Whether the version is right.
    pub fn ok(&self) -> bool {
        self.current >= self.released && self.current >= self.required
    }

    /// One paragraph saying so, and what to do when it is not.
    pub fn explain(&self) -> String {
        let Verdict {
            released,
            current,
            bump,
            required,
        } = self;
        if current < released {
            return format!(
                "crisp-api {current} ({CRATE_MANIFEST}) is older than the newest release, \
                 {released} ({}): set the version to {required} or later.",
                released_file(released).display()
            );
        }
        if self.ok() {
            return format!(
                "ok: crisp-api {current} is enough: the changes since {released} {}.",
                bump.reason()
            );
        }
        format!(
            "crisp-api {current} is not enough: the changes since {released} {}, so {required} \
             or later. Set `version = \"{required}\"` in {CRATE_MANIFEST}, add a CHANGELOG.md \
             entry (`cargo xtask spec-diff --changelog` drafts it), and run `cargo xtask \
             release` when it ships.",
            bump.reason()
        )
    }
}

//! The commands: `cargo xtask spec-diff [BASE] [--json | --changelog | --check-version]` and
//! `cargo xtask release`.

use std::path::Path;
use std::process::{Command, ExitCode};

use super::release::{self, Released, Verdict};
use super::report::{self, Report};
use crate::SPEC_PATH;

/// The usage text of both commands.
pub const USAGE: &str = "\
spec-diff [BASE]          compare spec/crisp.yaml at BASE (a git revision, default HEAD, or a
                          file) with the working tree's, and classify every change
spec-diff BASE --json     the same, one JSON object per change (for bots)
spec-diff --changelog     draft a CHANGELOG.md entry from the changes since the last release
                          (or since BASE), grouped by class
spec-diff --check-version fail unless crisp-api's version moved as far as the changes since the
                          last release (spec/released/) require
release                   record spec/crisp.yaml as the spec of crisp-api's current version
                          (spec/released/crisp-api-<version>.yaml), after the version check";

#[derive(Default)]
struct Args<'a> {
    base: Option<&'a str>,
    json: bool,
    changelog: bool,
    check_version: bool,
}

fn parse<'a>(args: &[&'a str]) -> Result<Args<'a>, String> {
    let mut parsed = Args::default();
    for arg in args {
        match *arg {
            "--json" => parsed.json = true,
            "--changelog" => parsed.changelog = true,
            "--check-version" => parsed.check_version = true,
            flag if flag.starts_with("--") => return Err(format!("unknown option `{flag}`")),
            base if parsed.base.is_none() => parsed.base = Some(base),
            extra => return Err(format!("one BASE at most; `{extra}` is one too many")),
        }
    }
    let modes = [parsed.json, parsed.changelog, parsed.check_version];
    if modes.iter().filter(|m| **m).count() > 1 {
        return Err("--json, --changelog and --check-version go one at a time".to_owned());
    }
    if parsed.check_version && parsed.base.is_some() {
        return Err(
            "--check-version compares with the newest spec in spec/released/; it takes no BASE"
                .to_owned(),
        );
    }
    Ok(parsed)
}

/// `cargo xtask spec-diff ...`. Exit 0 with a report; 1 when `--check-version` finds the
/// version too low or something cannot be read; 2 on a usage error.
pub fn spec_diff(root: &Path, args: &[&str]) -> ExitCode {
    let args = match parse(args) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("error: {message}\n\nusage: cargo xtask <command>\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(root, &args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(root: &Path, args: &Args<'_>) -> Result<ExitCode, String> {
    let live = read_live(root)?;
    let live_name = format!("{SPEC_PATH} (working tree)");
    if args.check_version {
        let newest = release::newest(root)?;
        let (report, verdict) = check_version(root)?;
        let base_name = newest.path.display().to_string();
        print!("{}", report.render_text(&title(&base_name, &live_name)));
        println!("\n{}", report::fill_text(&verdict.explain()));
        return Ok(if verdict.ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    if args.changelog {
        let current = release::crate_version(root)?;
        let (base_name, base_text, since, released) = match args.base {
            Some(base) => {
                let (name, text) = read_base(root, base)?;
                (name.clone(), text, format!("`{name}`"), None)
            }
            None => {
                let newest = release::newest(root)?;
                let (name, text) = read_released(root, &newest)?;
                let since = format!("crisp-api {}", newest.version);
                (name, text, since, Some(newest.version))
            }
        };
        let report = diff(&base_text, &live, &base_name, &live_name)?;
        // The entry is for the version the changes need, if the manifest is not there yet.
        let version = match released {
            Some(released) => Verdict::new(released, current.clone(), &report)
                .required
                .max(current),
            None => current,
        };
        print!(
            "{}",
            report.changelog(&format!("crisp-api {version} (unreleased)"), &since)
        );
        return Ok(ExitCode::SUCCESS);
    }
    let (base_name, base_text) = read_base(root, args.base.unwrap_or("HEAD"))?;
    let report = diff(&base_text, &live, &base_name, &live_name)?;
    if args.json {
        let text = serde_json::to_string_pretty(&report.to_json())
            .map_err(|e| format!("cannot write JSON: {e}"))?;
        println!("{text}");
    } else {
        print!("{}", report.render_text(&title(&base_name, &live_name)));
    }
    Ok(ExitCode::SUCCESS)
}

/// `cargo xtask release`.
pub fn release(root: &Path) -> ExitCode {
    match record_release(root) {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `--check-version`: the changes since the newest released spec, and the verdict on the
/// crate's version.
pub fn check_version(root: &Path) -> Result<(Report, Verdict), String> {
    let live = read_live(root)?;
    let newest = release::newest(root)?;
    let (base_name, base_text) = read_released(root, &newest)?;
    let report = diff(&base_text, &live, &base_name, SPEC_PATH)?;
    let verdict = Verdict::new(newest.version, release::crate_version(root)?, &report);
    Ok((report, verdict))
}

/// `cargo xtask release`: writes `spec/released/crisp-api-<version>.yaml`, a copy of the live
/// spec, once the version check passes. Returns what it did.
pub fn record_release(root: &Path) -> Result<String, String> {
    let live = read_live(root)?;
    let version = release::crate_version(root)?;
    let target = release::released_file(&version);
    let path = root.join(&target);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return if existing == live {
            Ok(format!(
                "{} already holds {SPEC_PATH}: nothing to do.",
                target.display()
            ))
        } else {
            Err(format!(
                "crisp-api {version} was released with a different spec ({}). Bump the \
                 version in {} (`cargo xtask spec-diff --check-version` says to what) and run \
                 this again.",
                target.display(),
                release::CRATE_MANIFEST
            ))
        };
    }
    let released = release::released(root)?;
    if let Some(newest) = released.last() {
        let (base_name, base_text) = read_released(root, newest)?;
        let report = diff(&base_text, &live, &base_name, SPEC_PATH)?;
        let verdict = Verdict::new(newest.version.clone(), version.clone(), &report);
        if !verdict.ok() {
            return Err(verdict.explain());
        }
    }
    std::fs::write(&path, &live).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(format!(
        "wrote {}: the spec of crisp-api {version}. Commit it with the release.",
        target.display()
    ))
}

fn title(base: &str, live: &str) -> String {
    format!("spec-diff: {base} -> {live}")
}

fn diff(old: &str, new: &str, old_name: &str, new_name: &str) -> Result<Report, String> {
    super::diff(old, new, old_name, new_name).map_err(|e| e.to_string())
}

fn read_live(root: &Path) -> Result<String, String> {
    let path = root.join(SPEC_PATH);
    std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn read_released(root: &Path, released: &Released) -> Result<(String, String), String> {
    let path = root.join(&released.path);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok((released.path.display().to_string(), text))
}

/// BASE: a file, if one exists at that path; otherwise a git revision, read with
/// `git show REV:spec/crisp.yaml`. Returns its name for the report, and its text.
pub fn read_base(root: &Path, base: &str) -> Result<(String, String), String> {
    let as_file = Path::new(base);
    if as_file.is_file() {
        let text = std::fs::read_to_string(as_file)
            .map_err(|e| format!("cannot read BASE {base}: {e}"))?;
        return Ok((base.to_owned(), text));
    }
    let object = format!("{base}:{SPEC_PATH}");
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["show", &object])
        .output()
        .map_err(|e| format!("cannot run git to read {object}: {e}. Is git installed?"))?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "BASE `{base}` is not a file, and git cannot read {object}: {}. Pass a revision \
             that has {SPEC_PATH} (HEAD, HEAD~1, a branch, a commit) or the path of a spec \
             file.",
            said.trim().trim_end_matches('.')
        ));
    }
    let text =
        String::from_utf8(output.stdout).map_err(|_| format!("{object} is not UTF-8 text"))?;
    Ok((object, text))
}

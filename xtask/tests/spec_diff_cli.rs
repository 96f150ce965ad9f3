//! `cargo xtask spec-diff`: the reports (text, JSON, changelog), the version check and the
//! release step, BASE as a git revision and as a file, and the command itself.

#[path = "support/spec_edit.rs"]
mod spec_edit;

use serde_json::{Value, json};
use spec_edit::*;
use xtask::diff::release::{Bump, Verdict};
use xtask::diff::{self, Doc, Report};

// ---- reports --------------------------------------------------------------------------------

fn sample() -> Report {
    let mut new = spec();
    required(&mut new, "Conversation").retain(|f| f != "session_id");
    op(&mut new, "update_message")["x-crisp-effect"] = json!("customer-visible");
    param(&mut new, "list_conversations", "per_page")["schema"]["maximum"] = json!(40);
    schema(&mut new, "ConversationState")["enum"]
        .as_array_mut()
        .unwrap()
        .push(json!("snoozed"));
    op(&mut new, "list_conversations")["summary"] = json!("List conversations.");
    op(&mut new, "list_conversations")["description"] = json!("Pages of conversations.");
    compare(&spec_text(), &text(&new))
}

#[test]
fn the_text_report_has_a_summary_then_changes_grouped_by_operation() {
    let text = sample().render_text("spec-diff: HEAD -> working tree");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "spec-diff: HEAD -> working tree");
    assert_eq!(
        lines[1],
        "6 changes: 1 breaking for code, 1 breaking on the wire, 1 permissions (1 flagged !!), \
         3 compatible"
    );
    // Groups in spec order: operations, then schemas.
    let groups: Vec<&str> = lines
        .iter()
        .filter(|l| !l.is_empty() && !l.starts_with(' '))
        .skip(2)
        .copied()
        .collect();
    assert_eq!(groups.len(), 4, "{text}");
    assert!(
        groups[0].starts_with("list_conversations  GET /website/{website_id}/conversations/"),
        "{text}"
    );
    assert!(groups[1].starts_with("update_message  PATCH "), "{text}");
    assert!(
        groups[2].starts_with("schema Conversation  (used by "),
        "{text}"
    );
    assert!(
        groups[3].starts_with("schema ConversationState  (used by "),
        "{text}"
    );
    // Within a group, the worst class first; two documentation changes fold into one line.
    let list: Vec<&str> = text
        .split("\n\n")
        .find(|g| g.starts_with("list_conversations"))
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with("    "))
        .collect();
    assert_eq!(list.len(), 2, "{text}");
    assert!(
        list[0].starts_with(
            "  breaking on the wire    the `per_page` query parameter: `maximum` changes from 50 to 40"
        ),
        "{}",
        list[0]
    );
    assert!(
        list[1].starts_with(
            "  compatible              Documentation changes: the description of the operation; \
             the summary of"
        ),
        "{}",
        list[1]
    );
    assert!(text.lines().all(|l| l.len() <= 100), "{text}");
}

#[test]
fn json_has_one_object_per_change() {
    let report = sample();
    let json = report.to_json();
    let changes = json.as_array().expect("an array");
    assert_eq!(changes.len(), report.changes.len());
    let optional = changes
        .iter()
        .find(|c| c["rule"] == "field-made-optional")
        .expect("the field made optional");
    assert_eq!(optional["class"], "breaking-for-code");
    assert_eq!(optional["operation"], Value::Null);
    assert_eq!(optional["schema"], "Conversation");
    assert_eq!(
        optional["location"],
        "/components/schemas/Conversation/properties/session_id"
    );
    assert!(
        optional["used_by_operations"]
            .as_array()
            .unwrap()
            .contains(&json!("get_conversation"))
    );
    let visible = changes
        .iter()
        .find(|c| c["rule"] == "customer-visible-added")
        .unwrap();
    assert_eq!(visible["operation"], "update_message");
    assert_eq!(visible["class"], "permissions");
    assert_eq!(visible["loud"], true);
    for change in changes {
        for key in ["class", "rule", "operation", "location", "message"] {
            assert!(change.get(key).is_some(), "{key} missing in {change}");
        }
    }
}

#[test]
fn the_changelog_groups_changes_by_class() {
    let entry = sample().changelog("crisp-api 0.2.0 (unreleased)", "crisp-api 0.1.0");
    assert!(
        entry.starts_with("## crisp-api 0.2.0 (unreleased)\n"),
        "{entry}"
    );
    let sections: Vec<&str> = entry.lines().filter(|l| l.starts_with("### ")).collect();
    assert_eq!(
        sections,
        [
            "### Breaking for code",
            "### Breaking on the wire",
            "### Permissions",
            "### Compatible"
        ]
    );
    assert!(
        entry.contains("- `Conversation`: `Conversation::session_id` becomes optional"),
        "{entry}"
    );
    assert!(
        entry.contains("- `update_message`: !! NOW CUSTOMER-VISIBLE"),
        "{entry}"
    );
}

// ---- the version check --------------------------------------------------------------------

fn v(text: &str) -> semver::Version {
    semver::Version::parse(text).unwrap()
}

#[test]
fn the_version_must_move_as_far_as_the_changes_require() {
    let breaking = sample();
    let compatible = run(
        "field-added",
        &[],
        edit(|s| prop(s, "Conversation", "priority").clone_from(&json!({ "type": "string" }))),
    );
    let none = compare(&spec_text(), &spec_text());
    assert_eq!(Bump::of(&breaking), Bump::Breaking);
    assert_eq!(Bump::of(&compatible), Bump::Patch);
    assert_eq!(Bump::of(&none), Bump::None);

    let check = |released: &str, current: &str, report: &Report| {
        Verdict::new(v(released), v(current), report)
    };
    // Below 1.0, breaking for code needs the next minor.
    assert!(!check("0.1.0", "0.1.0", &breaking).ok());
    assert!(!check("0.1.0", "0.1.5", &breaking).ok());
    assert!(check("0.1.0", "0.2.0", &breaking).ok());
    assert_eq!(check("0.1.0", "0.1.1", &breaking).required, v("0.2.0"));
    // From 1.0 on, the next major.
    assert_eq!(check("1.4.2", "1.5.0", &breaking).required, v("2.0.0"));
    assert!(!check("1.4.2", "1.5.0", &breaking).ok());
    // Anything else that changes the API: at least a patch.
    assert!(!check("0.1.0", "0.1.0", &compatible).ok());
    assert!(check("0.1.0", "0.1.1", &compatible).ok());
    assert!(check("0.1.0", "0.2.0", &compatible).ok());
    // No change: no bump needed; a version below the release is wrong anyway.
    assert!(check("0.1.0", "0.1.0", &none).ok());
    assert!(!check("0.2.0", "0.1.9", &none).ok());

    let explained = check("0.1.0", "0.1.1", &breaking).explain();
    assert!(
        explained.contains("0.2.0 or later") && explained.contains("crisp-api/Cargo.toml"),
        "{explained}"
    );
}

/// A workspace root with a spec, a released spec and a crate manifest, in a temp dir.
fn temp_root(live: &str, released: &[(&str, &str)], version: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temp dir");
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("spec/crisp.yaml", live);
    std::fs::create_dir_all(dir.path().join("spec/released")).unwrap();
    for (v, text) in released {
        write(&format!("spec/released/crisp-api-{v}.yaml"), text);
    }
    write(
        "crisp-api/Cargo.toml",
        &format!("[package]\nname = \"crisp-api\"\nversion = \"{version}\"\n"),
    );
    dir
}

#[test]
fn check_version_compares_with_the_newest_release() {
    let real = spec_text();
    let mut changed = spec();
    required(&mut changed, "Conversation").retain(|f| f != "session_id");
    let changed = text(&changed);
    // 0.0.9 is older and differs: it is not the one compared with.
    let dir = temp_root(
        &changed,
        &[("0.0.9", "paths: {}\n"), ("0.1.0", &real)],
        "0.1.0",
    );
    let (report, verdict) = diff::cli::check_version(dir.path()).expect("the check runs");
    assert_eq!(verdict.released, v("0.1.0"));
    assert_eq!(report.changes.len(), 1);
    assert!(!verdict.ok());
    assert_eq!(verdict.required, v("0.2.0"));
}

#[test]
fn release_records_the_spec_once_the_version_allows_it() {
    let real = spec_text();
    let mut changed = spec();
    schema(&mut changed, "ConversationState")["enum"]
        .as_array_mut()
        .unwrap()
        .retain(|v| v != "pending");
    let changed = text(&changed);

    // The version was not bumped: nothing is written.
    let dir = temp_root(&changed, &[("0.1.0", &real)], "0.1.0");
    let err = diff::cli::record_release(dir.path()).unwrap_err();
    assert!(err.contains("was released with a different spec"), "{err}");
    let dir = temp_root(&changed, &[("0.1.0", &real)], "0.1.1");
    let err = diff::cli::record_release(dir.path()).unwrap_err();
    assert!(err.contains("0.2.0 or later"), "{err}");
    assert!(
        !dir.path()
            .join("spec/released/crisp-api-0.1.1.yaml")
            .exists()
    );

    // Bumped: the live spec is copied byte for byte, and a second run has nothing to do.
    let dir = temp_root(&changed, &[("0.1.0", &real)], "0.2.0");
    let said = diff::cli::record_release(dir.path()).expect("released");
    assert!(
        said.contains("spec/released/crisp-api-0.2.0.yaml"),
        "{said}"
    );
    let written = std::fs::read_to_string(dir.path().join("spec/released/crisp-api-0.2.0.yaml"));
    assert_eq!(written.unwrap(), changed);
    let said = diff::cli::record_release(dir.path()).expect("idempotent");
    assert!(said.contains("nothing to do"), "{said}");
}

#[test]
fn the_released_spec_of_0_1_0_is_kept() {
    let released = diff::release::released(&root()).expect("spec/released/ is readable");
    assert_eq!(
        released.first().map(|r| r.version.clone()),
        Some(v("0.1.0"))
    );
    let text = std::fs::read_to_string(root().join(&released[0].path)).unwrap();
    Doc::load(&text, "0.1.0").expect("the released spec loads");
}

// ---- BASE -----------------------------------------------------------------------------------

#[test]
fn base_is_a_git_revision_or_a_file() {
    let (name, text) = diff::cli::read_base(&root(), "HEAD").expect("HEAD has the spec");
    assert_eq!(name, "HEAD:spec/crisp.yaml");
    Doc::load(&text, &name).expect("the spec at HEAD loads");

    let file = root().join("spec/released/crisp-api-0.1.0.yaml");
    let (name, text) =
        diff::cli::read_base(&root(), file.to_str().unwrap()).expect("a file is read");
    assert_eq!(name, file.display().to_string());
    assert!(text.contains("openapi: 3.0.3"));

    let err = diff::cli::read_base(&root(), "no-such-revision").unwrap_err();
    assert!(
        err.starts_with("BASE `no-such-revision` is not a file, and git cannot read")
            && err.contains("Pass a revision that has spec/crisp.yaml"),
        "{err}"
    );
}

#[test]
fn unreadable_specs_say_what_is_wrong() {
    let err = diff::diff("paths: [", &spec_text(), "BASE", "new").unwrap_err();
    assert!(err.0.starts_with("BASE is not valid YAML"), "{err}");
    let err = diff::diff("openapi: 3.0.3\n", &spec_text(), "BASE", "new").unwrap_err();
    assert!(err.0.contains("has no `paths` mapping"), "{err}");
}

#[test]
fn the_command_prints_the_report_and_json() {
    let base = root().join("spec/released/crisp-api-0.1.0.yaml");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args)
            .output()
            .expect("xtask runs")
    };
    let out = run(&["spec-diff", base.to_str().unwrap()]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("spec-diff: "), "{stdout}");
    let out = run(&["spec-diff", base.to_str().unwrap(), "--json"]);
    assert!(out.status.success());
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(json.is_array());
    let out = run(&["spec-diff", "--check-version", "HEAD"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "BASE with --check-version is a usage error"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("it takes no BASE"), "{err}");
}

//! spec-diff's verdicts, proved by compiling: a copy of crisp-api is regenerated from an edited
//! spec by the real generator and built with a small user program.
//!
//! - A compatible edit (an optional response field, an optional query parameter, an enum value,
//!   a description): crisp-api, its examples and the user program still build.
//! - An edit breaking for code (a response field made optional): crisp-api still builds, and
//!   the user program no longer does, for the reason spec-diff gives.
//!
//! Both compile a workspace, so they are `#[ignore]`d here and run by `.ci/run`:
//! `cargo test -p xtask --test spec_diff_builds -- --ignored --test-threads=1`. They share one
//! target dir under this workspace's `target/tmp/`, so dependencies are built once.

#[path = "support/spec_edit.rs"]
mod spec_edit;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use serde_json::{Value, json};
use spec_edit::*;
use xtask::diff::{self, Class, Doc};

/// The user program: code written against the crate as it is today.
const USER_MAIN: &str = r##"
use crisp_api::types::{Conversation, ConversationState};
use crisp_api::webhook::Event;
use crisp_api::{Client, Credentials};

/// The id of a conversation, as a `&str`: needs `session_id: String`.
fn session_of(conversation: &Conversation) -> &str {
    conversation.session_id.as_str()
}

fn state_label(state: &ConversationState) -> &str {
    match state {
        ConversationState::Pending => "waiting",
        ConversationState::Unresolved => "open",
        ConversationState::Resolved => "done",
        other => other.as_str(),
    }
}

fn describe(event: &Event) -> String {
    match event {
        Event::SessionRemoved(data) => format!("removed {:?}", data),
        _ => "another event".to_owned(),
    }
}

fn main() {
    let client = Client::builder(Credentials::plugin("identifier", "key"))
        .build()
        .expect("a client");
    let _list = client
        .list_conversations()
        .website_id("8c842203-7ed8-4e29-a608-7cf78a7d2fcc")
        .filter_unread(1);
    let conversation: Conversation = serde_json::from_str(
        r#"{"session_id": "session_1", "website_id": "w", "state": "resolved"}"#,
    )
    .expect("a conversation");
    println!(
        "{} {}",
        session_of(&conversation),
        conversation.state.as_ref().map_or("?", state_label)
    );
    let _ = describe;
}
"##;

const USER_MANIFEST: &str = r#"[package]
name = "spec-diff-user"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
crisp-api = { path = "../crisp-api" }
serde_json = "1"
"#;

/// The folder of both proofs, inside this workspace's target dir.
fn proof_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("spec-diff-proof")
}

/// Copies `from` into `to`, leaving out build output and the fuzz workspace.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a folder");
    for entry in std::fs::read_dir(from).expect("a readable folder") {
        let entry = entry.expect("an entry");
        let name = entry.file_name();
        if name == "target" || name == "fuzz" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).expect("a copy");
        }
    }
}

/// A workspace of crisp-api (regenerated from `spec_text` by the real generator) and the
/// user program.
fn workspace(name: &str, spec_text: &str) -> PathBuf {
    let dir = proof_dir().join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("the old copy is removed");
    }
    let root = root();
    copy_dir(&root.join("crisp-api"), &dir.join("crisp-api"));
    for file in ["Cargo.lock", "README.md"] {
        std::fs::copy(root.join(file), dir.join(file)).expect("a copy");
    }
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("the manifest");
    // The members list, on one line or several: from `members = [` to its `]`.
    let start = manifest
        .find("members = [")
        .expect("the workspace lists its members");
    let end = start
        + manifest[start..]
            .find(']')
            .expect("the members list is closed")
        + 1;
    let manifest: String = [
        &manifest[..start],
        r#"members = ["crisp-api", "user"]"#,
        &manifest[end..],
    ]
    .concat()
    .lines()
    .filter(|l| !l.starts_with("exclude = "))
    .map(|l| format!("{l}\n"))
    .collect();
    std::fs::write(dir.join("Cargo.toml"), manifest).expect("a manifest");
    std::fs::create_dir_all(dir.join("spec")).expect("a folder");
    std::fs::write(dir.join(xtask::SPEC_PATH), spec_text).expect("the spec");
    for file in xtask::generate(spec_text).expect("the edited spec generates") {
        if file.path.starts_with("crisp-api") {
            std::fs::write(dir.join(&file.path), &file.contents).expect("a generated file");
        }
    }
    std::fs::create_dir_all(dir.join("user/src")).expect("a folder");
    std::fs::write(dir.join("user/Cargo.toml"), USER_MANIFEST).expect("a manifest");
    std::fs::write(dir.join("user/src/main.rs"), USER_MAIN).expect("the program");
    dir
}

/// `cargo <args>` in `dir`, offline, into the proofs' shared target dir; the generated code
/// must match the copied spec (`CRISP_CODEGEN_STRICT=1`).
fn cargo(dir: &Path, args: &[&str]) -> Output {
    let started = Instant::now();
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(args)
        .args(["--offline", "--quiet"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", proof_dir().join("target"))
        .env("CARGO_INCREMENTAL", "0")
        .env("CARGO_TERM_COLOR", "never")
        .env("CRISP_CODEGEN_STRICT", "1")
        .output()
        .expect("cargo runs");
    eprintln!(
        "cargo {} in {}: {:.1} s, {}",
        args.join(" "),
        dir.display(),
        started.elapsed().as_secs_f64(),
        output.status
    );
    output
}

fn assert_builds(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} does not build:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn classify(spec: &Value) -> diff::Report {
    diff::diff_docs(
        &Doc::load(&spec_text(), "spec/crisp.yaml").expect("the spec loads"),
        &Doc::from_json(spec.clone(), "edited").expect("the edit loads"),
    )
}

#[test]
#[ignore = "builds crisp-api, its examples and a user program from an edited spec (about a \
            minute warm); .ci/run runs it"]
fn after_a_compatible_edit_the_crate_its_examples_and_a_user_program_still_build() {
    let mut spec = spec();
    prop(&mut spec, "Conversation", "priority").clone_from(&json!({
        "type": "string", "description": "How urgent the conversation is."
    }));
    op(&mut spec, "list_conversations")["parameters"]
        .as_array_mut()
        .expect("parameters")
        .push(json!({
            "name": "filter_priority", "in": "query", "example": "high",
            "description": "Only conversations of this priority.",
            "schema": { "type": "string" }
        }));
    schema(&mut spec, "ConversationState")["enum"]
        .as_array_mut()
        .expect("values")
        .push(json!("snoozed"));
    op(&mut spec, "get_conversation")["summary"] = json!("Get one conversation by its id.");

    let report = classify(&spec);
    assert_eq!(report.changes.len(), 4, "{}", report.render_text("edit"));
    assert!(
        report
            .changes
            .iter()
            .all(|c| c.class() == Class::Compatible),
        "{}",
        report.render_text("edit")
    );

    let dir = workspace("compatible", &text(&spec));
    // One build of both, so dependencies are resolved (and built) once.
    let output = cargo(&dir, &["build", "--workspace", "--bins", "--examples"]);
    assert_builds(&output, "crisp-api, its examples and the user program");
}

#[test]
#[ignore = "builds crisp-api and a user program from an edited spec (about a minute warm); \
            .ci/run runs it"]
fn after_an_edit_breaking_for_code_the_user_program_no_longer_builds() {
    let mut spec = spec();
    required(&mut spec, "Conversation").retain(|f| f != "session_id");

    let report = classify(&spec);
    assert_eq!(report.changes.len(), 1, "{}", report.render_text("edit"));
    let change = &report.changes[0];
    assert_eq!(change.class(), Class::BreakingForCode);
    assert!(
        change.message.contains("into `Option<String>`"),
        "{}",
        change.message
    );

    let dir = workspace("breaking", &text(&spec));
    let output = cargo(&dir, &["build", "-p", "crisp-api", "--lib", "--examples"]);
    assert_builds(&output, "crisp-api and its examples");
    let output = cargo(&dir, &["build", "--workspace", "--bins", "--examples"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the user program still builds");
    // It fails where spec-diff said: `session_id` is now an `Option<String>`.
    assert!(
        stderr.contains("error[E0")
            && stderr.contains("conversation.session_id.as_str()")
            && stderr.contains("Option<"),
        "{stderr}"
    );
}

//! `crisp-gateway approvals list|approve|deny`, run as the binary a person runs, beside a
//! running gateway (the sandbox as its upstream) on the same data directory: the list shows
//! what waits with a preview; `approve` sends it once, through the upstream the environment
//! names, under the policy file; `deny` leaves a note the agent reads.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use support::approvals::{MESSAGES, propose, status_of};
use support::{Harness, TestAgent, policy_text};

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

/// The binary with `args`, no Crisp token in its environment unless `upstream` is given.
fn cli(args: &[&str], upstream: Option<&Harness>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_crisp-gateway"));
    command.args(args).env_remove("RUST_LOG");
    for name in [
        "CRISP_IDENTIFIER",
        "CRISP_KEY",
        "CRISP_TIER",
        "CRISP_BASE_URL",
        "CRISP_WEBSITE_ID",
        "CRISP_GRANTS",
    ] {
        command.env_remove(name);
    }
    if let Some(harness) = upstream {
        let sandbox = &harness.sandbox;
        command
            .env("CRISP_IDENTIFIER", sandbox.identifier())
            .env("CRISP_KEY", sandbox.key())
            .env("CRISP_TIER", "plugin")
            .env("CRISP_BASE_URL", sandbox.base_url());
    }
    command.output().expect("the binary runs")
}

fn lines(out: &Output) -> Vec<Value> {
    text(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

fn data_arg(dir: &Path) -> String {
    dir.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_lists_approves_and_denies_from_the_command_line() {
    let reply = TestAgent::new("reply", MESSAGES, crisp_sandbox::demo::WEBSITE_ID)
        .with("approve = [\"send_message\"]");
    let policy = policy_text("", &[&reply]);
    let harness = Harness::start(&policy).await;
    let policy_file = harness.data.path().join("gateway.toml");
    std::fs::write(&policy_file, &policy).unwrap();
    let (data, policy_file) = (data_arg(harness.data.path()), data_arg(&policy_file));
    let session = support::conversations(&harness.sandbox)[0].session.clone();
    let first = propose(&harness, &reply, &session, "Hello from the CLI test").await;
    let second = propose(&harness, &reply, &session, "Not this one").await;

    let out = cli(&["approvals", "list", "--data", &data], None);
    let listed = text(&out.stdout);
    assert!(out.status.success(), "{listed}{}", text(&out.stderr));
    for expected in [
        "ID",
        "PREVIEW",
        first.as_str(),
        second.as_str(),
        "reply",
        "send_message",
        "text: \"Hello from the CLI test\"",
    ] {
        assert!(listed.contains(expected), "{expected}: {listed}");
    }
    let out = cli(&["approvals", "list", "--data", &data, "--json"], None);
    let objects = lines(&out);
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[0]["id"], second.as_str(), "newest first");
    assert_eq!(objects[1]["body"]["content"], "Hello from the CLI test");
    assert_eq!(objects[1]["ids"]["session_id"], session.as_str());

    // Approving needs the upstream: without the token, nothing is decided.
    let before = harness.sandbox.api_requests();
    let approve = [
        "approvals",
        "approve",
        &first,
        "--data",
        &data,
        "--policy",
        &policy_file,
        "--as",
        "alice",
    ];
    let out = cli(&approve, None);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("CRISP_IDENTIFIER"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        status_of(&harness, &reply, &first).await.1["data"]["status"],
        "pending"
    );

    let out = cli(&approve, Some(&harness));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("Crisp answered 200"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(harness.sandbox.api_requests(), before + 1);
    let out = cli(&approve, Some(&harness));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("already approved by alice"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(harness.sandbox.api_requests(), before + 1, "sent once");
    let (_, approved) = status_of(&harness, &reply, &first).await;
    assert_eq!(approved["data"]["status"], "approved", "{approved}");
    assert_eq!(approved["data"]["answer"]["status"], 200);

    let deny = [
        "approvals",
        "deny",
        &second,
        "--data",
        &data,
        "--note",
        "Say hello properly",
        "--as",
        "bob",
    ];
    let out = cli(&deny, None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (_, denied) = status_of(&harness, &reply, &second).await;
    assert_eq!(denied["data"]["status"], "denied", "{denied}");
    assert_eq!(denied["data"]["note"], "Say hello properly");
    assert_eq!(harness.sandbox.api_requests(), before + 1);

    let out = cli(&["approvals", "list", "--data", &data], None);
    assert!(
        text(&out.stdout).contains("no pending approvals"),
        "{}",
        text(&out.stdout)
    );
    let out = cli(
        &["approvals", "list", "--data", &data, "--all", "--json"],
        None,
    );
    let objects = lines(&out);
    let states: Vec<(&str, &str)> = objects
        .iter()
        .map(|o| {
            (
                o["state"].as_str().unwrap(),
                o["decided_by"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(states, [("denied", "bob"), ("sent", "alice")]);

    // Each step is an audit row, as `crisp-gateway audit` shows them.
    let out = cli(&["audit", "--data", &data, "--json"], None);
    let mut decisions: Vec<String> = lines(&out)
        .iter()
        .map(|row| row["decision"].as_str().unwrap().to_owned())
        .collect();
    decisions.sort();
    for step in ["approved", "denied", "proposed", "sent"] {
        assert!(
            decisions.contains(&step.to_owned()),
            "{step}: {decisions:?}"
        );
    }
    harness.stop().await;
}

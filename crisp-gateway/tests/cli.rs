//! The `check` and `agents add` subcommands, run as the binary a user runs.

use std::process::{Command, Output};

use crisp_gateway::policy::{KeyHash, Policy};

fn gateway(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crisp-gateway"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/gateway.example.toml");

#[test]
fn check_prints_each_agents_effective_operations() {
    let out = gateway(&["check", EXAMPLE]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("valid; 2 agents; daily quota 5000"),
        "{stdout}"
    );
    let (triage, reply) = stdout.split_once("agent reply").expect("both agents");
    assert!(
        triage.contains("agent triage (key id 5c7320f6)"),
        "{triage}"
    );
    assert!(triage.contains("rate:         60/minute"), "{triage}");
    assert!(triage.contains("daily budget: 500 requests"), "{triage}");
    assert!(triage.contains("list_conversations"), "{triage}");
    assert!(
        !triage.contains("send_message"),
        "a read-only agent: {triage}"
    );
    assert!(reply.contains("send_message"), "{reply}");
    assert!(reply.contains("approve:      send_message"), "{reply}");
    let marked: Vec<&str> = reply
        .lines()
        .filter(|l| l.ends_with("  approval"))
        .collect();
    assert_eq!(marked.len(), 1, "{reply}");
    assert!(
        marked[0].trim_start().starts_with("send_message "),
        "{reply}"
    );
    let (_, triage_table) = triage.split_once("agent triage").unwrap();
    assert!(!triage_table.contains("approv"), "{triage}");
    assert!(reply.contains("inboxes:      2c2d4a61-"), "{reply}");
    assert!(!reply.contains("remove_conversation"), "{reply}");
}

#[test]
fn check_lists_what_resource_rules_always_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.toml");
    std::fs::write(
        &path,
        format!(
            "[[agents]]\nname = \"boxed\"\nkey_sha256 = \"{}\"\n\
             grants = \"website:conversation:sessions=read-write\"\nwebsites = [\"*\"]\n\
             inboxes = [\"i1\"]\n",
            KeyHash::of(b"k")
        ),
    )
    .unwrap();
    let out = gateway(&["check", path.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (operations, refused) = stdout
        .split_once("refused by its inbox/assignee rules")
        .unwrap();
    assert!(!operations.contains("create_conversation"), "{stdout}");
    assert!(refused.contains("create_conversation"), "{stdout}");
    assert!(
        stdout.contains("websites:     * (every website)"),
        "{stdout}"
    );
}

#[test]
fn check_fails_with_the_line_and_field_of_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.toml");
    let example = std::fs::read_to_string(EXAMPLE).unwrap();
    std::fs::write(
        &path,
        example.replacen("rate = \"60/minute\"", "rate = \"60/fortnight\"", 1),
    )
    .unwrap();
    let line = example
        .lines()
        .position(|l| l == "rate = \"60/minute\"")
        .unwrap()
        + 1;
    let out = gateway(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    let expected = format!(
        "crisp-gateway: {}:{line}:8: agents[0].rate: ",
        path.display()
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
    assert!(stderr.contains("N/minute"), "{stderr}");

    let out = gateway(&["check", "/nonexistent/gateway.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot read the policy file"));
}

#[test]
fn agents_add_prints_a_key_once_and_a_table_that_reads_as_the_agent() {
    let out = gateway(&[
        "agents",
        "add",
        "enricher",
        "--grants",
        "website:people:profiles=read-write",
        "--website",
        "w1",
        "--website",
        "w2",
        "--daily-budget",
        "300",
        "--rate",
        "2/second",
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    let (key, table) = stdout.split_once("\n\n").expect("the key, then the table");
    assert_eq!(key.len(), 64, "{key}");
    assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));
    // The key is shown once: not in the table, nor on stderr.
    assert_eq!(stdout.matches(key).count(), 1);
    assert!(!stderr.contains(key));
    assert!(stderr.contains("shown only this once"), "{stderr}");

    let policy = Policy::parse(table, "pasted.toml").unwrap();
    let agent = policy.agent("enricher").unwrap();
    assert_eq!(agent.key_sha256, KeyHash::of(key.as_bytes()));
    assert_eq!(
        agent.grants.to_string(),
        "website:people:profiles=read-write"
    );
    assert!(agent.websites.allows("w2") && !agent.websites.allows("w3"));
    assert_eq!(agent.daily_budget, Some(300));
    assert_eq!(
        agent.rate.map(|r| r.to_string()).as_deref(),
        Some("2/second")
    );
    assert!(table.contains(&format!("key_sha256 = \"{}\"", KeyHash::of(key.as_bytes()))));

    // Another run, another key.
    let again = gateway(&["agents", "add", "enricher", "--website", "w1"]);
    let other = text(&again.stdout);
    assert_ne!(other.lines().next(), Some(key));
    // The default grants read conversations and change nothing.
    let policy = Policy::parse(other.split_once("\n\n").unwrap().1, "t").unwrap();
    let agent = &policy.agents()[0];
    assert!(agent.grants.allowed_operations().all(|op| !op.is_write()));
    assert!(
        agent
            .grants
            .allows(&crisp_api::Operation::LIST_CONVERSATIONS)
    );
}

#[test]
fn agents_add_makes_base64url_keys_on_request() {
    let out = gateway(&[
        "agents",
        "add",
        "bot",
        "--website",
        "*",
        "--format",
        "base64url",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (key, table) = stdout.split_once("\n\n").unwrap();
    assert_eq!(key.len(), 43, "{key}");
    assert!(
        key.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    let policy = Policy::parse(table, "t").unwrap();
    assert_eq!(policy.agents()[0].key_sha256, KeyHash::of(key.as_bytes()));
    assert!(table.contains("websites = [\"*\"]"), "{table}");
}

#[test]
fn agents_add_refuses_what_the_policy_would_refuse_and_prints_no_key() {
    for (args, says) in [
        (
            &["agents", "add", "Bad Name", "--website", "w1"][..],
            "NAME: `Bad Name`",
        ),
        (
            &[
                "agents",
                "add",
                "bot",
                "--website",
                "w1",
                "--grants",
                "website:nope=read",
            ],
            "--grants: unknown scope `website:nope`",
        ),
        (
            &[
                "agents",
                "add",
                "bot",
                "--website",
                "w1",
                "--grants",
                "website:settings",
            ],
            "--grants: invalid grant",
        ),
        (
            &["agents", "add", "bot", "--website", "w1", "--website", "*"],
            "--website: `*`",
        ),
        (
            &["agents", "add", "bot", "--website", "w1", "--rate", "9/day"],
            "--rate: ",
        ),
        (
            &[
                "agents",
                "add",
                "bot",
                "--website",
                "w1",
                "--daily-budget",
                "0",
            ],
            "--daily-budget: a daily budget of 0",
        ),
        (
            &["agents", "add", "bot", "--website", "w1", "--inbox", "a b"],
            "--inbox: ",
        ),
        (&["agents", "add", "bot"], "--website"),
    ] {
        let out = gateway(args);
        assert!(!out.status.success(), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out.stdout));
        let stderr = text(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: `{says}` not in: {stderr}");
    }
}

#[test]
fn run_is_the_default_command() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    let data = dir.path().join("data");
    for run in [&[][..], &["run"]] {
        let mut args: Vec<&str> = run.to_vec();
        args.extend(["--port", "0", "--data", data.to_str().unwrap()]);
        args.extend(["--policy", missing.to_str().unwrap()]);
        let out = gateway(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("missing.toml"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty());
    }
}

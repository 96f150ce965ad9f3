//! An agent's webhook subscription in the policy (`events` and `webhook_url`): read into the
//! agent, written back, and every mistake refused with its line, field and what to do.

use crisp_gateway::policy::{Policy, PolicyError, Subscription};
use crisp_gateway::webhooks::{MASTER_SECRET_VAR, agent_webhook_secret};

const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// A policy whose one agent subscribes; line 6 is `events`, line 7 `webhook_url`.
fn policy(events: &str, url: &str) -> String {
    format!(
        r#"[[agents]]
name = "triage"
key_sha256 = "{HASH}"
grants = "website:conversation:messages=read"
websites = ["w1"]
{events}
{url}
"#
    )
}

fn refused(text: &str) -> PolicyError {
    match Policy::parse(text, "gateway.toml") {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(error) => error,
    }
}

#[test]
fn a_subscription_reads_into_the_agent_and_writes_back() {
    let text = policy(
        r#"events = ["message:send", "session:set_state"]"#,
        r#"webhook_url = "https://agent.example.com/crisp?team=1""#,
    );
    let parsed = Policy::parse(&text, "gateway.toml").unwrap();
    let agent = parsed.agent("triage").unwrap();
    assert_eq!(
        agent.webhook,
        Some(Subscription {
            url: "https://agent.example.com/crisp?team=1".to_owned(),
            events: vec!["message:send".to_owned(), "session:set_state".to_owned()],
        })
    );
    let again = Policy::parse(&agent.to_toml(), "again.toml").unwrap();
    assert_eq!(again.agents(), parsed.agents());

    // http on loopback, for an agent on the same machine; no subscription at all.
    for url in [
        "http://127.0.0.1:9000/hook",
        "http://[::1]/hook",
        "http://localhost/hook",
    ] {
        let text = policy(
            r#"events = ["message:send"]"#,
            &format!("webhook_url = \"{url}\""),
        );
        assert!(Policy::parse(&text, "gateway.toml").is_ok(), "{url}");
    }
    let none = Policy::parse(&policy("", ""), "gateway.toml").unwrap();
    assert_eq!(none.agent("triage").unwrap().webhook, None);
}

#[test]
fn every_malformed_subscription_names_its_line_field_and_what_to_do() {
    let url = r#"webhook_url = "https://agent.example.com/crisp""#;
    let events = r#"events = ["message:send"]"#;
    let cases: [(&str, String, usize, &str, &[&str]); 9] = [
        (
            "a misspelt event",
            policy(r#"events = ["message:send", "mesage:received"]"#, url),
            6,
            "agents[0].events[1]",
            &[
                "`mesage:received` is not one of Crisp's webhook events",
                "did you mean `message:received`",
            ],
        ),
        (
            "an event twice",
            policy(r#"events = ["message:send", "message:send"]"#, url),
            6,
            "agents[0].events[1]",
            &["listed twice"],
        ),
        (
            "no events",
            policy("events = []", url),
            6,
            "agents[0].events",
            &["the list is empty", "message:send"],
        ),
        (
            "events without a URL",
            policy(events, ""),
            6,
            "agents[0].events",
            &["need a webhook_url"],
        ),
        (
            "a URL without events",
            policy("", url),
            7,
            "agents[0].webhook_url",
            &["needs the events", "session:set_state"],
        ),
        (
            "http off loopback",
            policy(events, r#"webhook_url = "http://agent.example.com/crisp""#),
            7,
            "agents[0].webhook_url",
            &["http is allowed only on loopback", "https://"],
        ),
        (
            "credentials in the URL",
            policy(
                events,
                r#"webhook_url = "https://me:pw@agent.example.com/""#,
            ),
            7,
            "agents[0].webhook_url",
            &["holds credentials", "signs every event"],
        ),
        (
            "not a URL",
            policy(events, r#"webhook_url = "agent.example.com""#),
            7,
            "agents[0].webhook_url",
            &["is not a URL"],
        ),
        (
            "another scheme",
            policy(events, r#"webhook_url = "ftp://agent.example.com/""#),
            7,
            "agents[0].webhook_url",
            &["the scheme `ftp`"],
        ),
    ];
    for (what, text, line, field, says) in cases {
        let error = refused(&text);
        let shown = error.to_string();
        assert_eq!(
            (error.line, error.field.as_str()),
            (line, field),
            "{what}: {shown}"
        );
        assert!(
            shown.starts_with(&format!("gateway.toml:{line}:")),
            "{what}: {shown}"
        );
        for said in says {
            assert!(shown.contains(said), "{what}: `{said}` not in: {shown}");
        }
        // The URL's password is never repeated.
        assert!(!shown.contains("me:pw"), "{what}: {shown}");
    }
}

#[test]
fn agents_webhook_secret_prints_the_secret_every_replica_derives() {
    let master = "cli-master-webhook-secret-0123456789abcdef";
    let run = |master: Option<&str>, name: &str| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_crisp-gateway"));
        command
            .args(["agents", "webhook-secret", name])
            .env_remove(MASTER_SECRET_VAR);
        if let Some(master) = master {
            command.env(MASTER_SECRET_VAR, master);
        }
        command.output().unwrap()
    };
    let printed = run(Some(master), "triage");
    assert!(printed.status.success());
    let stdout = String::from_utf8(printed.stdout).unwrap();
    let expected = agent_webhook_secret("triage", |_| Some(master.to_owned()))
        .unwrap()
        .whsec();
    assert_eq!(stdout.trim(), expected);
    assert!(expected.starts_with("whsec_"));
    let stderr = String::from_utf8(printed.stderr).unwrap();
    assert!(
        !stderr.contains(master) && !stderr.contains(&expected),
        "{stderr}"
    );
    // Another agent, another secret; another master, another secret.
    let other = String::from_utf8(run(Some(master), "reply").stdout).unwrap();
    assert_ne!(other.trim(), expected);
    let rotated = agent_webhook_secret("triage", |_| Some(format!("{master}-2")))
        .unwrap()
        .whsec();
    assert_ne!(rotated, expected);

    // Without the master secret: exit 1, saying which variable to set.
    let unset = run(None, "triage");
    assert!(!unset.status.success());
    assert!(unset.stdout.is_empty());
    let said = String::from_utf8(unset.stderr).unwrap();
    assert!(said.contains(MASTER_SECRET_VAR), "{said}");
}

#[test]
fn check_shows_each_subscription_and_the_events_its_grants_never_let_through() {
    let text = policy(
        r#"events = ["message:send", "session:set_state"]"#,
        r#"webhook_url = "https://agent.example.com/crisp""#,
    );
    let parsed = Policy::parse(&text, "gateway.toml").unwrap();
    let said = crisp_gateway::cli::check::describe(&parsed, "gateway.toml");
    assert!(
        said.contains(
            "webhooks:     message:send, session:set_state -> https://agent.example.com/crisp"
        ),
        "{said}"
    );
    // Its grants read messages, not states.
    assert!(
        said.contains("never sent (its grants do not read what they are about): session:set_state (needs website:conversation:states read)"),
        "{said}"
    );
    assert!(!said.contains("message:send (needs"), "{said}");
}

//! The examples run as processes, as `cargo run --example ...` runs them, with the environment a
//! newcomer gets wrong: each wrong setting ends with one sentence (the one `crisp_api::env`
//! gives every tool) and a non-zero exit, never with the sandbox demo or a `Debug` dump; and
//! `CRISP_BASE_URL` takes the calls where it says.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use crisp_api::env::{self, Env, Website};

const SECRET: &str = "very-secret-key";

/// The example's binary, built by cargo as `cargo run --example NAME` builds it.
fn example(name: &'static str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "crisp-e2e", "--examples"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "the examples build");
    });
    // This test is <target>/<profile>/deps/environment-<hash>; `cargo build` puts the
    // examples in <target>/debug/examples.
    let exe = std::env::current_exe().unwrap();
    let target = exe.ancestors().nth(3).expect("the target directory");
    let path = target.join("debug").join("examples").join(name);
    assert!(path.exists(), "{} was built", path.display());
    path
}

/// Runs an example with exactly `vars` of the environment's variables.
fn run(name: &'static str, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new(example(name));
    command.args(args).stdin(Stdio::null());
    for var in env::VARIABLES {
        command.env_remove(var);
    }
    command.envs(vars.iter().copied()).output().unwrap()
}

/// What `crisp_api::env` says about `vars`: every tool says the same.
fn expected(vars: &[(&str, &str)]) -> String {
    Env::from_lookup(Website::Required, |name| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    })
    .expect_err("a wrong setting")
    .to_string()
}

/// The example failed with exactly one line, `NAME: <sentence>`, and started nothing.
fn assert_refused(name: &'static str, output: &Output, sentence: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{name} exits non-zero: {stderr}");
    assert_eq!(stderr.trim_end(), format!("{name}: {sentence}"), "{stdout}");
    assert!(stdout.is_empty(), "nothing ran: {stdout}");
    assert!(!stderr.contains(SECRET), "the key stays out: {stderr}");
}

const TOKEN: [(&str, &str); 3] = [
    (env::IDENTIFIER, "d8a2e3b1-identifier"),
    (env::KEY, SECRET),
    (env::WEBSITE_ID, "8c842203-7ed8-4e29-a608-7cf78a7d2fcc"),
];

/// Today `CRISP_KEY` alone (or the token without a website) ran the whole sandbox demo and
/// exited 0, and an unknown tier printed `Error: UnknownTier("bogus")`.
#[test]
fn a_wrong_setting_ends_the_examples_with_one_sentence_and_a_non_zero_exit() {
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut vars = TOKEN.to_vec();
        vars.retain(|(name, _)| extra.iter().all(|(n, _)| n != name));
        vars.extend_from_slice(extra);
        vars
    };
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![(env::KEY, SECRET)],
        TOKEN[..2].to_vec(),
        with(&[(env::KEY, "")]),
        with(&[(env::TIER, "bogus")]),
        with(&[(env::BASE_URL, "localhost:8080")]),
        vec![(env::GRANTS, "website:conversation:session=read")],
        vec![(env::GRANTS, "")],
    ];
    for vars in &cases {
        let sentence = expected(vars);
        for name in ["quickstart", "agent"] {
            assert_refused(name, &run(name, &[], vars), &sentence);
        }
    }
    let tier = expected(&with(&[(env::TIER, "bogus")]));
    assert!(tier.starts_with("CRISP_TIER is `bogus`"), "{tier}");
    let partial = expected(&[(env::KEY, SECRET)]);
    assert!(
        partial.contains("CRISP_IDENTIFIER and CRISP_WEBSITE_ID are not set"),
        "{partial}"
    );

    // Grants that do not allow what the example calls: named before its first call.
    let narrow = [(env::GRANTS, "website:conversation:sessions=read")];
    let output = run("quickstart", &[], &narrow);
    assert_refused(
        "quickstart",
        &output,
        "CRISP_GRANTS (website:conversation:sessions=read) does not allow `list_messages`, \
         `send_message`, `change_conversation_state` and `update_people_profile`, which this \
         program calls: add `website:conversation:messages=read-write, \
         website:conversation:states=write, website:people:profiles=write` to it, or unset \
         CRISP_GRANTS",
    );
}

/// Today the quickstart ignored `CRISP_BASE_URL` and went to api.crisp.chat.
#[tokio::test(flavor = "multi_thread")]
async fn the_base_url_takes_the_examples_calls_where_it_says() {
    let sandbox = crisp_sandbox::Sandbox::start().await.unwrap();
    let vars: Vec<(&str, String)> = vec![
        (env::IDENTIFIER, sandbox.identifier().to_owned()),
        (env::KEY, sandbox.key().to_owned()),
        (env::TIER, sandbox.tier().to_string()),
        (env::WEBSITE_ID, sandbox.website_id().to_owned()),
        (env::BASE_URL, sandbox.base_url().to_owned()),
        (
            env::GRANTS,
            "website:conversation:sessions=read, website:conversation:messages=read".to_owned(),
        ),
    ];
    // The sandbox serves on this runtime while the example runs on a blocking thread.
    let run_with = |name: &'static str, args: &'static [&'static str]| {
        let vars = vars.clone();
        tokio::task::spawn_blocking(move || {
            let vars: Vec<(&str, &str)> = vars.iter().map(|(n, v)| (*n, v.as_str())).collect();
            run(name, args, &vars)
        })
    };
    let output = run_with("quickstart", &[]).await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.starts_with(&format!("Read-only calls to {}", sandbox.base_url())),
        "{stdout}"
    );
    // A read's audit line labels Crisp's success reason: `resolved` alone read like the
    // conversation's state.
    assert!(
        stdout.contains("list_conversations GET website_id=")
            && stdout.contains(" 200 crisp:resolved ("),
        "{stdout}"
    );
    assert!(!stdout.contains(" 200 resolved "), "{stdout}");
    let after_quickstart = sandbox.api_requests();
    assert!(after_quickstart >= 2, "the calls reached CRISP_BASE_URL");

    let output = run_with("agent", &["--dry-run"]).await.unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(sandbox.api_requests() > after_quickstart);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("would reply to"), "{stdout}");
}

/// The table `crisp-mcp --help` and the rustdoc show (`crisp_api::env::HELP`) is the one the
/// README, or a docs page it moved to, shows.
#[test]
fn the_readme_shows_the_environment_table_as_the_tools_do() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let mut pages = vec![root.join("README.md")];
    let mut folders = vec![root.join("docs")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                pages.push(path);
            }
        }
    }
    assert!(
        pages
            .iter()
            .any(|page| std::fs::read_to_string(page).is_ok_and(|text| text.contains(env::HELP))),
        "paste crisp-api/src/env/table.txt into the README's environment section"
    );
}

/// A base URL that leads nowhere, or not to the API: the example ends with one sentence naming
/// the URL it tried and what to check, and a non-zero exit. Today a refused connection did
/// not name the URL, and a base URL without `/v1` was answered with a hint about ids.
#[tokio::test(flavor = "multi_thread")]
async fn a_base_url_that_leads_nowhere_or_not_to_the_api_ends_with_one_sentence() {
    let sandbox = crisp_sandbox::Sandbox::start().await.unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let website = sandbox.website_id().to_owned();
    let path = format!("/website/{website}/conversations/1");
    let cases = [
        (
            format!("http://{closed}/v1"),
            format!(
                "quickstart: list_conversations: could not connect to \
                 http://{closed}/v1{path} after 3 attempt(s): connection refused. Nothing \
                 reached Crisp: check the base URL (CRISP_BASE_URL or ClientBuilder::base_url; \
                 Crisp's is https://api.crisp.chat/v1) and the network."
            ),
        ),
        (
            sandbox.url(),
            format!(
                "quickstart: list_conversations: GET {root}{path} answered 404 for a route it \
                 does not know, not for an id (Crisp's envelope, `not_found`: the route does \
                 not exist: GET {path} (the API's routes are under /v1)). The base URL in use, \
                 {root}, does not end in /v1, where Crisp's API lives: set CRISP_BASE_URL or \
                 ClientBuilder::base_url to {root}/v1 (Crisp's is https://api.crisp.chat/v1).",
                root = sandbox.url()
            ),
        ),
    ];
    for (base_url, sentence) in cases {
        let vars: Vec<(&str, String)> = vec![
            (env::IDENTIFIER, sandbox.identifier().to_owned()),
            (env::KEY, sandbox.key().to_owned()),
            (env::TIER, sandbox.tier().to_string()),
            (env::WEBSITE_ID, website.clone()),
            (env::BASE_URL, base_url),
        ];
        let output = tokio::task::spawn_blocking(move || {
            let vars: Vec<(&str, &str)> = vars.iter().map(|(n, v)| (*n, v.as_str())).collect();
            run("quickstart", &[], &vars)
        })
        .await
        .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "exits non-zero: {stderr}");
        assert_eq!(stderr.trim_end(), sentence);
        assert!(
            !stderr.contains(sandbox.key()),
            "the key stays out: {stderr}"
        );
    }
}

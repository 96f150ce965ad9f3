//! The main command as a process, as a user runs it: with nothing configured it starts on an
//! embedded sandbox with the demo policy and prints one JSON line; a call with a demo key
//! works; Ctrl-C (SIGINT) writes the audit log and exits 0, and `crisp-gateway audit` shows the
//! call. With a Crisp token in the environment and a policy file it forwards there; `reload`
//! re-reads the file (a removed agent's key stops working, a bad file is refused and the policy
//! in force kept); SIGTERM stops it cleanly.

#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crisp_gateway::policy::KeyHash;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_crisp-gateway");

/// The running gateway: its start-up line, and its stderr lines as they come.
struct Running {
    child: Child,
    line: Value,
    stderr: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(command: &mut Command) -> Self {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let (lines, stderr) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let line = serde_json::from_str(&first).unwrap_or_else(|e| {
            let said: Vec<String> = stderr.try_iter().collect();
            panic!("the first line is not JSON ({e}): {first:?}; stderr: {said:?}")
        });
        Self {
            child,
            line,
            stderr,
            seen: Vec::new(),
        }
    }

    /// Waits for a stderr line holding `words` (a guard against a hang, not a timing).
    fn wait_for(&mut self, words: &str) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.contains(words)) {
            return line.clone();
        }
        loop {
            let line = self
                .stderr
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no `{words}` on stderr; saw {:?}", self.seen));
            self.seen.push(line.clone());
            if line.contains(words) {
                return line;
            }
        }
    }

    fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), signal).unwrap();
    }

    fn base_url(&self) -> String {
        self.line["base_url"].as_str().unwrap().to_owned()
    }
}

/// The binary, with none of crisp-api's variables and no `RUST_LOG` from the environment.
fn binary() -> Command {
    let mut command = Command::new(BINARY);
    for variable in crisp_api::env::VARIABLES {
        command.env_remove(variable);
    }
    command.env_remove("RUST_LOG");
    command.env_remove(crisp_gateway::dashboard::ADMIN_TOKEN_VAR);
    command
}

impl Drop for Running {
    /// A test that fails midway leaves no gateway running.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn gateway(args: &[&str]) -> Output {
    binary().args(args).output().unwrap()
}

async fn status(url: &str, name: &str, key: &str) -> u16 {
    reqwest::Client::new()
        .get(url)
        .basic_auth(name, Some(key))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn data_arg(dir: &Path) -> String {
    dir.to_str().unwrap().to_owned()
}

#[tokio::test]
async fn with_nothing_configured_it_serves_the_sandbox_and_ctrl_c_writes_the_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_arg(&dir.path().join("data"));
    let mut running = Running::start(binary().args(["--port", "0", "--data", &data]));
    running.wait_for("embedded sandbox");
    let line = running.line.clone();
    let base_url = running.base_url();
    assert!(
        base_url.starts_with("http://127.0.0.1:") && base_url.ends_with("/v1"),
        "{line}"
    );
    assert_eq!(
        line["mcp_url"].as_str().unwrap(),
        base_url.replace("/v1", "/mcp")
    );
    let agents = line["agents"].as_array().unwrap();
    let names: Vec<_> = agents.iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["triage", "reply"]);
    let triage = &agents[0];
    assert_eq!(triage["identifier"], "triage");
    let key = triage["key"].as_str().unwrap();
    assert_eq!(key.len(), 64, "a 256-bit key");
    let website = line["website_id"].as_str().unwrap();

    let url = format!("{base_url}/website/{website}/conversations/1");
    assert_eq!(status(&url, "triage", key).await, 200);
    assert_eq!(status(&url, "triage", "not-the-key").await, 401);

    running.signal(Signal::SIGINT);
    let exit = running.child.wait().unwrap();
    assert!(exit.success(), "{exit:?}; stderr: {:?}", running.seen);
    running.wait_for("stopped; every call is in the audit log");
    assert!(!dir.path().join("data/gateway.pid").exists());

    let audit = gateway(&["audit", "--data", &data, "--json"]);
    assert!(
        audit.status.success(),
        "{}",
        String::from_utf8_lossy(&audit.stderr)
    );
    let rows: Vec<Value> = String::from_utf8(audit.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1]["agent"], "triage");
    assert_eq!(rows[1]["operation"], "list_conversations");
    assert_eq!(rows[1]["decision"], "allowed");
    assert_eq!(rows[1]["status"], 200);
    assert_eq!(rows[0]["why"], "auth");
    let text = serde_json::to_string(&rows).unwrap();
    assert!(!text.contains(key), "no key in the audit");
}

fn table(name: &str, key: &str, website: &str) -> String {
    format!(
        "[[agents]]\nname = \"{name}\"\nkey_sha256 = \"{}\"\n\
         grants = \"website:conversation:sessions=read\"\nwebsites = [\"{website}\"]\n\n",
        KeyHash::of(key.as_bytes())
    )
}

#[tokio::test]
async fn with_a_token_and_a_policy_it_forwards_there_and_reload_re_reads_the_policy() {
    let sandbox = crisp_sandbox::Sandbox::start().await.unwrap();
    let website = sandbox.website_id().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let data = data_arg(&dir.path().join("data"));
    let policy = dir.path().join("gateway.toml");
    let both = format!(
        "{}{}",
        table("kept", "kept-key", &website),
        table("gone", "gone-key", &website)
    );
    std::fs::write(&policy, &both).unwrap();
    let mut running = Running::start(
        binary()
            .args(["--port", "0", "--data", &data, "--policy"])
            .arg(&policy)
            .env("CRISP_IDENTIFIER", sandbox.identifier())
            .env("CRISP_KEY", sandbox.key())
            .env("CRISP_TIER", "plugin")
            .env("CRISP_BASE_URL", sandbox.base_url()),
    );
    running.wait_for("forwarding to Crisp at");
    let agents = running.line["agents"].as_array().unwrap().clone();
    assert_eq!(agents.len(), 2);
    assert!(
        agents.iter().all(|a| a.get("key").is_none()),
        "no keys with --policy"
    );
    assert!(running.line.get("website_id").is_none());
    let url = format!("{}/website/{website}/conversations/1", running.base_url());
    assert_eq!(status(&url, "gone", "gone-key").await, 200);
    assert_eq!(sandbox.api_requests(), 1, "forwarded to the token's Crisp");

    // A second gateway on the same data directory is refused.
    let second = gateway(&[
        "--port",
        "0",
        "--data",
        &data,
        "--policy",
        policy.to_str().unwrap(),
    ]);
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("another crisp-gateway"));

    // `gone` removed: its key stops working once the gateway has re-read the file.
    std::fs::write(&policy, table("kept", "kept-key", &website)).unwrap();
    let reload = gateway(&["reload", "--data", &data]);
    assert!(
        reload.status.success(),
        "{}",
        String::from_utf8_lossy(&reload.stderr)
    );
    running.wait_for("policy reloaded");
    assert_eq!(status(&url, "gone", "gone-key").await, 401);
    assert_eq!(status(&url, "kept", "kept-key").await, 200);

    // A bad file is refused, with its line, and the policy in force stays.
    std::fs::write(&policy, "[[agents]]\nname = \"kept\"\ncolour = \"blue\"\n").unwrap();
    running.signal(Signal::SIGHUP);
    let refused = running.wait_for("was not reloaded");
    assert!(refused.contains("gateway.toml:3"), "{refused}");
    assert_eq!(status(&url, "kept", "kept-key").await, 200);

    running.signal(Signal::SIGTERM);
    assert!(running.child.wait().unwrap().success());
    assert_eq!(sandbox.api_requests(), 3);
    let stale = gateway(&["reload", "--data", &data]);
    assert!(!stale.status.success());
    assert!(
        String::from_utf8_lossy(&stale.stderr).contains("no crisp-gateway is running"),
        "{}",
        String::from_utf8_lossy(&stale.stderr)
    );
}

#[test]
fn against_the_real_crisp_a_policy_file_is_required() {
    let dir = tempfile::tempdir().unwrap();
    let out = binary()
        .args(["--port", "0", "--data", dir.path().to_str().unwrap()])
        .env("CRISP_IDENTIFIER", "identifier")
        .env("CRISP_KEY", "a-key-never-printed")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("give the policy: --policy FILE"),
        "{stderr}"
    );
    assert!(!stderr.contains("a-key-never-printed"));
    assert!(out.stdout.is_empty());
}

#[test]
fn an_admin_token_too_short_to_guard_the_dashboard_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = binary()
        .args(["--port", "0", "--data", dir.path().to_str().unwrap()])
        .env(crisp_gateway::dashboard::ADMIN_TOKEN_VAR, "hunter2-secret")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("shorter than 16 characters"), "{stderr}");
    assert!(!stderr.contains("hunter2-secret"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[tokio::test]
async fn at_start_a_send_left_claimed_by_a_stopped_gateway_is_marked_unknown_outcome() {
    use crisp_gateway::store::{
        Approval, ApprovalState, Decision, SQLITE_FILE, SqliteStore, Step, Store as _,
    };

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // What a gateway left when it stopped between claiming a send and recording its answer
    // (eleven minutes ago), and a proposal that still waits.
    let now = chrono::Utc::now().timestamp_millis();
    let store = SqliteStore::open(data.join(SQLITE_FILE)).await.unwrap();
    let approvals = store.approvals().unwrap();
    for (id, claim) in [("a".repeat(32), true), ("b".repeat(32), false)] {
        let mut approval =
            Approval::pending(id.clone(), "reply".into(), now - 3_600_000, now + 3_600_000);
        approval.front = "rest".into();
        approval.operation = "send_message".into();
        approval.method = "POST".into();
        approvals.create_approval(&approval).await.unwrap();
        if claim {
            let decision = Decision {
                id,
                approve: true,
                by: "alice".into(),
                note: None,
                step: Step {
                    at_ms: now - 11 * 60_000,
                    front: "cli".into(),
                    ..Step::default()
                },
            };
            approvals.decide_approval(&decision).await.unwrap().unwrap();
        }
    }
    store.close().await;

    let mut running = Running::start(binary().args(["--port", "0", "--data", &data_arg(&data)]));
    let settled = running.wait_for("approval settled");
    assert!(
        settled.contains(&"a".repeat(32)) && settled.contains("unknown_outcome"),
        "{settled}"
    );
    running.signal(Signal::SIGTERM);
    assert!(running.child.wait().unwrap().success());

    let store = SqliteStore::open(data.join(SQLITE_FILE)).await.unwrap();
    let approvals = store.approvals().unwrap();
    let left = approvals.approval(&"a".repeat(32)).await.unwrap().unwrap();
    assert_eq!(left.state, ApprovalState::UnknownOutcome);
    let waiting = approvals.approval(&"b".repeat(32)).await.unwrap().unwrap();
    assert_eq!(
        waiting.state,
        ApprovalState::Pending,
        "a pending proposal is left alone"
    );
    store.close().await;
}

//! Gateway replicas for the tests: the `crisp-gateway` binary run as its own process
//! (`--port 0`), each with its own data directory, all on one PostgreSQL database, in front of
//! a sandbox of the test. Include it with `#[path]` beside `support/postgres.rs`.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crisp_sandbox::Sandbox;
use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_crisp-gateway");

/// A gateway process; killed when dropped (its stderr is kept in its data directory, as
/// `stderr.log`, for a failing test to show).
pub struct Replica {
    child: Child,
    /// Its data directory.
    pub data: PathBuf,
    /// Its REST base URL, ending in `/v1`.
    pub base_url: String,
    /// Its MCP URL.
    pub mcp_url: String,
    /// Where Crisp's webhooks reach it, when it receives them (its signing secret is set).
    pub webhook_url: Option<String>,
}

impl Replica {
    /// Starts a replica on `database` with the policy file `policy`, its data in `data`,
    /// forwarding to `sandbox`; `extra` arguments go after the usual ones.
    pub fn start(
        data: &Path,
        policy: &Path,
        database: &str,
        sandbox: &Sandbox,
        extra: &[&str],
    ) -> Self {
        Self::start_with(data, policy, database, sandbox, extra, &[])
    }

    /// [`start`](Self::start), with the environment variables `env` set too (such as the
    /// webhook secrets).
    pub fn start_with(
        data: &Path,
        policy: &Path,
        database: &str,
        sandbox: &Sandbox,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        std::fs::create_dir_all(data).unwrap();
        let stderr = std::fs::File::create(data.join("stderr.log")).unwrap();
        let mut command = Command::new(BINARY);
        for variable in crisp_api::env::VARIABLES {
            command.env_remove(variable);
        }
        let mut child = command
            .env("RUST_LOG", "info")
            .env_remove("CRISP_GATEWAY_DATABASE")
            .args(["--port", "0", "--data"])
            .arg(data)
            .arg("--policy")
            .arg(policy)
            .args(["--database", database])
            .args(extra)
            .env("CRISP_IDENTIFIER", sandbox.identifier())
            .env("CRISP_KEY", sandbox.key())
            .env("CRISP_TIER", "plugin")
            .env("CRISP_BASE_URL", sandbox.base_url())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("the binary starts");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let line: Value = serde_json::from_str(&first).unwrap_or_else(|e| {
            panic!(
                "the first line is not JSON ({e}): {first:?}; stderr: {}",
                std::fs::read_to_string(data.join("stderr.log")).unwrap_or_default()
            )
        });
        Self {
            child,
            data: data.to_owned(),
            base_url: line["base_url"].as_str().unwrap().to_owned(),
            mcp_url: line["mcp_url"].as_str().unwrap().to_owned(),
            webhook_url: line["crisp_webhook_url"].as_str().map(str::to_owned),
        }
    }

    /// Its process id.
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap()
    }

    /// Sends it `signal`.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), signal).unwrap();
    }

    /// Stops it as an operator does (SIGTERM: it finishes its requests, writes every audit
    /// row, gives back what it holds) and waits until it has exited, successfully.
    pub fn stop(mut self) {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}; stderr: {}", self.stderr());
    }

    /// Kills it (SIGKILL: nothing is finished or handed over).
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// What it wrote on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.data.join("stderr.log")).unwrap_or_default()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Polls `done` until it holds (a guard against a hang, not a timing assertion).
pub async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let polled = async {
        while !done().await {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), polled)
        .await
        .unwrap_or_else(|_| panic!("{what} never happened"));
}

//! What the gateway's HTTP tests share: a sandbox as the upstream, a gateway in front of it on
//! loopback (real HTTP, a real SQLite store in a temporary directory), agents written into a
//! policy, and clients for them.
#![allow(dead_code)]

pub mod approvals;
pub mod mcp;
pub mod person;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crisp_api::{Client, Credentials, RetryPolicy};
use crisp_gateway::audit::{AuditConfig, AuditLog};
use crisp_gateway::dashboard::Dashboard;
use crisp_gateway::policy::{KeyHash, Policy};
use crisp_gateway::store::{
    AuditFilter, AuditRow, SQLITE_FILE, SqliteStore, Store, Usage, utc_day,
};
use crisp_gateway::upstream::Upstream;
use crisp_gateway::{Gateway, server};
use crisp_sandbox::Sandbox;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The demo workspace's inbox (every sixth conversation is in it; the others in none).
pub const INBOX: &str = "2c2d4a61-3f0f-4e53-8a9a-6b8f1c2d3e4f";
/// The demo's first operator (`Alex`), assigned every third conversation.
pub const OPERATOR: &str = "aa0b0c3b-1b11-4c9f-b6e5-0e1b5d6a7c42";

/// A guard against a hang: a test that fails says so instead of waiting forever. No test
/// asserts how long anything takes.
pub async fn surely<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), future)
        .await
        .unwrap_or_else(|_| panic!("{what} never happened"))
}

/// One agent of a test policy: its table's fields and its key.
#[derive(Clone, Debug)]
pub struct TestAgent {
    pub name: String,
    pub key: String,
    pub grants: String,
    pub websites: Vec<String>,
    /// More lines of its table (`inboxes = [...]`, `daily_budget = 3`).
    pub extra: Vec<String>,
}

impl TestAgent {
    /// An agent with these grants on `website`, and a key made of its name (keys are any
    /// text to the gateway; the secrets test uses generated ones).
    pub fn new(name: &str, grants: &str, website: &str) -> Self {
        Self {
            name: name.to_owned(),
            key: format!("{name}-key-7f3a9c2e5b1d4f6a8c0e2b4d6f8a1c3e"),
            grants: grants.to_owned(),
            websites: vec![website.to_owned()],
            extra: Vec::new(),
        }
    }

    /// The same agent with one more line in its table.
    pub fn with(mut self, line: &str) -> Self {
        self.extra.push(line.to_owned());
        self
    }

    /// Its `[[agents]]` table.
    pub fn toml(&self) -> String {
        let websites: Vec<String> = self.websites.iter().map(|w| format!("{w:?}")).collect();
        let mut table = format!(
            "[[agents]]\nname = {:?}\nkey_sha256 = \"{}\"\ngrants = {:?}\nwebsites = [{}]\n",
            self.name,
            KeyHash::of(self.key.as_bytes()),
            self.grants,
            websites.join(", ")
        );
        for line in &self.extra {
            table.push_str(line);
            table.push('\n');
        }
        table
    }

    /// Its `Authorization: Basic` value.
    pub fn basic(&self) -> String {
        use base64::Engine as _;
        let pair = format!("{}:{}", self.name, self.key);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

/// A policy of `agents`, with `head` (such as `daily_quota = 20`) before them.
pub fn policy_text(head: &str, agents: &[&TestAgent]) -> String {
    let mut text = format!("{head}\n");
    for agent in agents {
        text.push_str(&agent.toml());
        text.push('\n');
    }
    text
}

/// A sandbox, and a gateway in front of it on loopback.
pub struct Harness {
    pub sandbox: Sandbox,
    pub gateway: Arc<Gateway>,
    /// The gateway's REST base URL, ending in `/v1`.
    pub base_url: String,
    pub addr: SocketAddr,
    pub data: tempfile::TempDir,
    pub sqlite: SqliteStore,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Harness {
    /// A fresh sandbox (the demo workspace) and a gateway with the policy `text`, its store in
    /// a new temporary directory.
    pub async fn start(text: &str) -> Self {
        let sandbox = Sandbox::start().await.expect("the sandbox starts");
        let data = tempfile::tempdir().unwrap();
        Self::on(sandbox, data, text).await
    }

    /// A gateway with the policy `text` in front of `sandbox`, its store in `data`.
    pub async fn on(sandbox: Sandbox, data: tempfile::TempDir, text: &str) -> Self {
        Self::with_retry(sandbox, data, text, fast_retries()).await
    }

    /// The same, the upstream client retrying by `retry`.
    pub async fn with_retry(
        sandbox: Sandbox,
        data: tempfile::TempDir,
        text: &str,
        retry: RetryPolicy,
    ) -> Self {
        Self::serving(
            sandbox,
            data,
            text,
            retry,
            Dashboard::default(),
            "127.0.0.1:0",
        )
        .await
    }

    /// A fresh sandbox and a gateway with the policy `text` and `dashboard`, listening on
    /// `bind` (an address of this machine, port 0).
    pub async fn with_dashboard(text: &str, dashboard: Dashboard, bind: &str) -> Self {
        let sandbox = Sandbox::start().await.expect("the sandbox starts");
        let data = tempfile::tempdir().unwrap();
        Self::serving(sandbox, data, text, fast_retries(), dashboard, bind).await
    }

    async fn serving(
        sandbox: Sandbox,
        data: tempfile::TempDir,
        text: &str,
        retry: RetryPolicy,
        dashboard: Dashboard,
        bind: &str,
    ) -> Self {
        let sqlite = SqliteStore::open(data.path().join(SQLITE_FILE))
            .await
            .expect("the store opens");
        let gateway = gateway(text, Arc::new(sqlite.clone()), &sandbox, retry);
        let (addr, stop, task) = serve(&gateway, dashboard, bind).await;
        Self {
            sandbox,
            gateway,
            base_url: format!("http://{addr}/v1"),
            addr,
            data,
            sqlite,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// A crisp-api client of the gateway for `agent` (no retries: each call is one request).
    pub fn client(&self, agent: &TestAgent) -> Client {
        Client::builder(Credentials::plugin(&agent.name, &agent.key))
            .base_url(&self.base_url)
            .retry(RetryPolicy::never())
            .build()
            .unwrap()
    }

    /// A crisp-api client of the sandbox itself, with its token.
    pub fn direct(&self) -> Client {
        Client::builder(self.sandbox.credentials())
            .base_url(self.sandbox.base_url())
            .retry(RetryPolicy::never())
            .build()
            .unwrap()
    }

    /// Today's usage (UTC day) in the store, once the gateway has given back the requests it
    /// leased and did not spend.
    pub async fn settled_usage(&self) -> Usage {
        self.gateway.give_back_leases().await;
        self.sqlite
            .usage(utc_day(chrono::Utc::now().timestamp_millis()))
            .await
            .expect("today's usage")
    }

    /// Every audit row so far (written first), newest first.
    pub async fn rows(&self) -> Vec<AuditRow> {
        surely("the audit flush", self.gateway.audit().flush())
            .await
            .expect("the audit log flushes");
        self.sqlite
            .query_audit(&AuditFilter::default())
            .await
            .expect("the audit rows")
    }

    /// Stops the gateway and writes its audit log; returns the sandbox and the data directory
    /// (to start another gateway on them).
    pub async fn stop(mut self) -> (Sandbox, tempfile::TempDir) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            surely("the server's shutdown", task).await.unwrap();
        }
        surely("the gateway's close", self.gateway.close())
            .await
            .expect("every row written");
        self.sqlite.close().await;
        (self.sandbox, self.data)
    }
}

/// Where a test's logs go: a buffer shared with the test (a `tracing` writer).
#[derive(Clone, Default)]
pub struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A gateway with the policy `text` on `store`, in front of `sandbox` (its client retrying by
/// `retry`), its audit log flushed quickly.
pub fn gateway(
    text: &str,
    store: Arc<dyn Store>,
    sandbox: &Sandbox,
    retry: RetryPolicy,
) -> Arc<Gateway> {
    let policy = Policy::parse(text, "test.toml").expect("a valid test policy");
    let audit = AuditLog::start(Arc::clone(&store), quick_audit());
    let client = Client::builder(sandbox.credentials())
        .base_url(sandbox.base_url())
        .retry(retry)
        .build()
        .unwrap();
    Arc::new(Gateway::new(policy, store, audit, Upstream::new(client)))
}

/// Serves `gateway` (its REST and MCP fronts, and `dashboard`) on `bind` (an address of this
/// machine, port 0): the address, what stops it, and the server's task.
pub async fn serve(
    gateway: &Arc<Gateway>,
    dashboard: Dashboard,
    bind: &str,
) -> (SocketAddr, oneshot::Sender<()>, JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind(bind).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server::serve(
        listener,
        Arc::clone(gateway),
        dashboard,
        crisp_serve::Limits::default(),
        async {
            let _ = stopped.await;
        },
    ));
    (addr, stop, task)
}

/// crisp-api's retry policy, with waits of a millisecond (tests wait on nothing).
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .initial_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(2))
}

/// The audit log's settings for tests: batches written at once.
pub fn quick_audit() -> AuditConfig {
    AuditConfig {
        batch_wait: Duration::from_millis(1),
        retry_wait: Duration::from_millis(1),
        max_retry_wait: Duration::from_millis(5),
        ..AuditConfig::default()
    }
}

/// A plain HTTP client, for what crisp-api would not send (bad headers, huge bodies).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

/// A conversation of the sandbox's workspace, as the resource rules see it.
#[derive(Clone, Debug)]
pub struct Conversation {
    pub session: String,
    pub inbox: Option<String>,
    pub assigned: Option<String>,
}

/// The conversations of the sandbox's workspace, in its order.
pub fn conversations(sandbox: &Sandbox) -> Vec<Conversation> {
    sandbox
        .fixtures()
        .conversations
        .iter()
        .map(|c| Conversation {
            session: c["session_id"].as_str().unwrap().to_owned(),
            inbox: c["inbox_id"].as_str().map(str::to_owned),
            assigned: c["assigned"]["user_id"].as_str().map(str::to_owned),
        })
        .collect()
}

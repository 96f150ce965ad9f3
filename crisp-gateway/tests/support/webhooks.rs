//! What the webhook tests share (`#[path]`-included by `tests/webhooks*.rs`): agents'
//! endpoints on loopback that record what they get, an in-process gateway replica receiving
//! Crisp's webhooks, the test secrets, and a check of a Standard Webhooks signature written
//! from the format's definition (and one by the reference library, when installed).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crisp_gateway::store::{AuditFilter, AuditRow, Store};
use crisp_gateway::webhooks::{
    self, Deliveries, DeliveryConfig, MASTER_SECRET_VAR, SIGNING_SECRET_VAR, WebhookSecrets,
    Webhooks,
};
use crisp_gateway::{Gateway, server};
use crisp_sandbox::{Sandbox, WebhookRetry};
use hmac::Mac as _;
use http::{HeaderMap, StatusCode};
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::support::{TestAgent, fast_retries, gateway, surely};

/// The gateway's master webhook secret in these tests.
pub const MASTER: &str = "test-master-webhook-secret-0123456789abcdef";

/// What an agent's endpoint received: one request.
#[derive(Clone, Debug)]
pub struct Received {
    /// What the endpoint answered: 200, or 503 while down.
    pub status: u16,
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
}

/// An agent's endpoint: records every request and answers 200 (or 503 while `down`).
#[derive(Default)]
pub struct Endpoint {
    pub received: Mutex<Vec<Received>>,
    pub down: std::sync::atomic::AtomicBool,
}

pub async fn record(
    State(endpoint): State<Arc<Endpoint>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let status = if endpoint.down.load(std::sync::atomic::Ordering::SeqCst) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    endpoint.received.lock().push(Received {
        status: status.as_u16(),
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: String::from_utf8(body.to_vec()).unwrap(),
    });
    status
}

/// Starts an endpoint on loopback: its URL and what it records.
pub async fn endpoint() -> (String, Arc<Endpoint>) {
    let endpoint = Arc::new(Endpoint::default());
    let app = Router::new()
        .route("/hook", post(record))
        .with_state(Arc::clone(&endpoint));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), endpoint)
}

/// Whether `signature` (a `webhook-signature` header: space-separated `v1,<base64>`) holds the
/// Standard Webhooks signature of the message, by `whsec`: HMAC-SHA256, keyed with the base64
/// after `whsec_`, of `{id}.{timestamp}.{body}`.
pub fn signed(whsec: &str, received: &Received) -> bool {
    let key = STANDARD
        .decode(whsec.strip_prefix("whsec_").expect("a whsec_ secret"))
        .unwrap();
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", received.id, received.timestamp, received.body).as_bytes());
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    received
        .signature
        .split(' ')
        .any(|one| one.strip_prefix("v1,") == Some(expected.as_str()))
}

/// The interpreter of a virtual environment with the `standardwebhooks` package (PyPI), set by
/// `.ci/run`; unset, only this file's own check of the signatures runs.
pub const STANDARDWEBHOOKS_PYTHON: &str = "CRISP_STANDARDWEBHOOKS_PYTHON";

/// What the Standard Webhooks reference library (Python) says of each message, in order: `ok`
/// or `refused: ...`; `None` when it is not installed here (see [`STANDARDWEBHOOKS_PYTHON`]).
pub fn reference_verdicts(messages: &[(String, Received)]) -> Option<Vec<String>> {
    use std::io::Write as _;
    let python = std::env::var(STANDARDWEBHOOKS_PYTHON).ok()?;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/standardwebhooks/verify.py"
    );
    let mut child = std::process::Command::new(python)
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the standardwebhooks checker starts");
    let mut input = String::new();
    for (secret, one) in messages {
        let line = json!({
            "secret": secret,
            "headers": {
                "webhook-id": one.id,
                "webhook-timestamp": one.timestamp,
                "webhook-signature": one.signature,
            },
            "body": one.body,
        });
        input.push_str(&format!("{line}\n"));
    }
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the standardwebhooks checker failed"
    );
    Some(
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect(),
    )
}

/// The whsec an agent is given (`crisp-gateway agents webhook-secret NAME`).
pub fn whsec(agent: &str) -> String {
    webhooks::agent_webhook_secret(agent, |_| Some(MASTER.to_owned()))
        .unwrap()
        .whsec()
}

/// Deliveries fast enough for tests: they wait on nothing but the retries' backoff.
pub fn fast_delivery() -> DeliveryConfig {
    DeliveryConfig {
        attempts: 6,
        backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        timeout: Duration::from_secs(10),
        poll: Duration::from_millis(50),
        concurrency: 4,
    }
}

/// One gateway replica on `store`, in front of `sandbox`, receiving Crisp's webhooks.
pub struct Replica {
    pub gateway: Arc<Gateway>,
    pub url: String,
    pub deliveries: Option<Deliveries>,
    pub stop: Option<oneshot::Sender<()>>,
    pub task: Option<JoinHandle<()>>,
}

impl Replica {
    pub async fn start(
        store: Arc<dyn Store>,
        sandbox: &Sandbox,
        policy: &str,
        secrets: WebhookSecrets,
    ) -> Self {
        let gateway = gateway(policy, store, sandbox, fast_retries());
        let hooks =
            Arc::new(Webhooks::new(Arc::clone(&gateway), secrets, fast_delivery()).unwrap());
        let deliveries = hooks.start();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(crisp_serve::serve(
            listener,
            server::router_with_webhooks(
                Arc::clone(&gateway),
                hooks,
                crisp_gateway::dashboard::Dashboard::default(),
                addr,
            )
            .unwrap(),
            crisp_serve::Limits::default(),
            async {
                let _ = stopped.await;
            },
        ));
        Self {
            gateway,
            url: format!("http://{addr}{}", webhooks::PATH),
            deliveries: Some(deliveries),
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Every audit row of the store (this replica's written first), newest first.
    pub async fn rows(&self) -> Vec<AuditRow> {
        surely("the audit flush", self.gateway.audit().flush())
            .await
            .unwrap();
        self.gateway
            .store()
            .query_audit(&AuditFilter::default())
            .await
            .unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            surely("the server's shutdown", task).await.unwrap();
        }
        if let Some(deliveries) = self.deliveries.take() {
            surely("the deliveries' shutdown", deliveries.shutdown()).await;
        }
        surely("the gateway's close", self.gateway.close())
            .await
            .unwrap();
    }
}

pub fn secrets(sandbox: &Sandbox) -> WebhookSecrets {
    let signing = sandbox.signing_secret().to_owned();
    WebhookSecrets::from_lookup(|name| match name {
        SIGNING_SECRET_VAR => Some(signing.clone()),
        MASTER_SECRET_VAR => Some(MASTER.to_owned()),
        _ => None,
    })
    .unwrap()
}

/// A policy of one agent, `name`, that reads `website`'s messages and wants `message:send`
/// at `url`.
pub fn subscribed_policy(name: &str, website: &str, url: &str) -> String {
    TestAgent::new(name, "website:conversation:messages=read", website)
        .with(r#"events = ["message:send"]"#)
        .with(&format!("webhook_url = \"{url}\""))
        .toml()
}

/// A sandbox that retries a webhook delivery the gateway refused up to `max_attempts` times,
/// a few milliseconds apart.
pub async fn retrying_sandbox(max_attempts: u32) -> Sandbox {
    Sandbox::builder()
        .webhook_retry(WebhookRetry {
            max_attempts,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
            ..WebhookRetry::default()
        })
        .start()
        .await
        .unwrap()
}

/// Polls `done` until it holds (a guard, not a timing assertion: it fails only on a hang).
pub async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    surely(what, async {
        while !done().await {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

/// A sandbox call, which must succeed.
pub async fn call(sandbox: &Sandbox, method: http::Method, path: &str, body: Value) {
    let url = format!(
        "{}/website/{}{path}",
        sandbox.base_url(),
        sandbox.website_id()
    );
    let response = reqwest::Client::new()
        .request(method, url)
        .basic_auth(sandbox.identifier(), Some(sandbox.key()))
        .header("X-Crisp-Tier", "plugin")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
}

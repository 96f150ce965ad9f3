//! A small HTTP client for the tests: any client speaking Crisp's wire format would do.

#![allow(dead_code)]

use crisp_sandbox::Sandbox;
use reqwest::Method;
use serde_json::Value;

/// Calls a sandbox with one token over real HTTP on loopback.
#[derive(Clone)]
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
    pub website: String,
    pub identifier: String,
    pub key: String,
    pub tier: String,
}

impl Api {
    pub fn new(sandbox: &Sandbox) -> Self {
        Self {
            client: reqwest::Client::new(),
            base: sandbox.base_url().to_owned(),
            website: sandbox.website_id().to_owned(),
            identifier: sandbox.identifier().to_owned(),
            key: sandbox.key().to_owned(),
            tier: sandbox.tier().as_str().to_owned(),
        }
    }

    pub fn with_token(&self, identifier: &str, key: &str, tier: &str) -> Self {
        Self {
            identifier: identifier.to_owned(),
            key: key.to_owned(),
            tier: tier.to_owned(),
            ..self.clone()
        }
    }

    /// `path` is under `/website/{website_id}`; returns the status and the JSON body.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}/website/{}{path}", self.base, self.website);
        let mut request = self
            .client
            .request(method, url)
            .basic_auth(&self.identifier, Some(&self.key))
            .header("X-Crisp-Tier", &self.tier);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the sandbox answers");
        let status = response.status().as_u16();
        let body = response.json().await.expect("a JSON body");
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None).await
    }

    /// `data` of a 200 GET, or a panic naming the route.
    pub async fn data(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        assert_eq!(body["error"], false);
        body["data"].clone()
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::PATCH, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.call(Method::DELETE, path, None).await
    }
}

/// Asserts an error envelope.
pub fn assert_error(answer: &(u16, Value), status: u16, reason: &str) {
    let (got, body) = answer;
    assert_eq!(*got, status, "{body}");
    assert_eq!(body["error"], true, "{body}");
    assert_eq!(body["reason"], reason, "{body}");
    assert!(body["data"]["message"].is_string(), "{body}");
}

/// What is logged on this thread while the guard of [`Logs::capture`] lives: with a
/// current-thread runtime, the sandbox's tasks included.
#[derive(Clone, Default)]
pub struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Logs {
    pub fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Self::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The path of a conversation under the website (`/conversation/{session}`).
pub fn conv(session: &str) -> String {
    format!("/conversation/{session}")
}

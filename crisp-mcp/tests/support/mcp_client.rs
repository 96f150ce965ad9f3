//! A small MCP-over-HTTP client for the tests: JSON-RPC posts with a session, a bearer token
//! and Hugo's signature, answers read from JSON or SSE.

use std::time::{SystemTime, UNIX_EPOCH};

use crisp_mcp::hugo;
use serde_json::{Value, json};

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A small MCP-over-HTTP client: JSON-RPC posts, answers read from JSON or SSE.
pub struct Client {
    pub http: reqwest::Client,
    pub url: String,
    pub session: Option<String>,
    pub bearer: Option<String>,
    /// Sign each request as Hugo does: (secret, website, timestamp offset in seconds).
    pub hugo: Option<(String, String, i64)>,
    pub crisp_session: Option<String>,
}

pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Answer {
    /// The JSON-RPC message of the answer, from a JSON body or an SSE `data:` line.
    pub fn message(&self) -> Value {
        if let Ok(value) = serde_json::from_str::<Value>(&self.text) {
            return value;
        }
        self.text
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .find(|v| v.get("jsonrpc").is_some())
            .unwrap_or_else(|| panic!("no JSON-RPC message in {:?}", self.text))
    }
}

impl Client {
    pub fn new(url: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            url: url.to_owned(),
            session: None,
            bearer: None,
            hugo: None,
            crisp_session: None,
        }
    }

    /// A request with `method` and `body`, with the session, bearer token and Hugo signature
    /// this client has.
    pub async fn post_with(&self, method: reqwest::Method, body: Vec<u8>) -> Answer {
        let mut request = self
            .http
            .request(method, &self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        if let Some(session) = &self.session {
            request = request.header("mcp-session-id", session);
        }
        if let Some(token) = &self.bearer {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some((secret, website, offset)) = &self.hugo {
            let timestamp = (now() as i64 + offset).to_string();
            request = request
                .header(hugo::TIMESTAMP_HEADER, &timestamp)
                .header(hugo::WEBSITE_HEADER, website)
                .header(
                    hugo::SIGNATURE_HEADER,
                    hugo::sign(secret, &timestamp, website, &body),
                );
        }
        if let Some(session) = &self.crisp_session {
            request = request.header(hugo::SESSION_HEADER, session);
        }
        let response = request.body(body).send().await.expect("the server answers");
        Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await.unwrap_or_default(),
        }
    }

    pub async fn post(&self, message: Value) -> Answer {
        self.post_bytes(serde_json::to_vec(&message).unwrap()).await
    }

    pub async fn post_bytes(&self, body: Vec<u8>) -> Answer {
        self.post_with(reqwest::Method::POST, body).await
    }

    /// `initialize` then `notifications/initialized`; keeps the session id.
    pub async fn initialize(&mut self) -> Answer {
        let answer = self
            .post(json!({
                "jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "http-test", "version": "0"}
                }
            }))
            .await;
        if answer.status == 200 {
            self.session = answer
                .headers
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let notified = self
                .post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
                .await;
            assert!(notified.status < 300, "{}", notified.text);
        }
        answer
    }

    pub async fn call(&self, id: u64, tool: &str, arguments: Value) -> Answer {
        self.post(json!({
            "jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments}
        }))
        .await
    }
}

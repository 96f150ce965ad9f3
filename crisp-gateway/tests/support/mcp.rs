//! A small MCP client for the gateway's tests: JSON-RPC over streamable HTTP (answers read
//! from JSON or SSE), one session, an agent's key as `Authorization: Bearer`.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use super::Harness;

/// The gateway's MCP endpoint.
pub fn url(harness: &Harness) -> String {
    format!("http://{}/mcp", harness.addr)
}

/// The MCP-over-HTTP client of crisp-mcp's tests (JSON-RPC posts with a session and a bearer
/// token, answers read from JSON or SSE), shared rather than written again.
#[path = "../../../crisp-mcp/tests/support/mcp_client.rs"]
mod client;

pub use client::Answer;

/// One MCP session of one agent (or of no one: no key).
pub struct Mcp {
    /// The posts: the URL, the session and the agent's key (`bearer`).
    pub client: client::Client,
    /// What the server said on `initialize`.
    pub instructions: String,
    /// The next JSON-RPC request id: ids are unique in a session, so that requests in flight
    /// together get each its own answer.
    next_id: AtomicU64,
}

impl Mcp {
    /// A client of `url` with `key`, no session yet.
    pub fn new(url: &str, key: Option<&str>) -> Self {
        let mut client = client::Client::new(url);
        client.bearer = key.map(str::to_owned);
        Self {
            client,
            instructions: String::new(),
            next_id: AtomicU64::new(1),
        }
    }

    /// A session opened at `url` with `key`, as the MCP client `name`.
    pub async fn open(url: &str, key: &str, name: &str) -> Self {
        let mut mcp = Self::new(url, Some(key));
        let answer = mcp.initialize(name).await;
        assert_eq!(answer.status, 200, "initialize: {}", answer.text);
        mcp
    }

    /// Posts one JSON-RPC message with the session and key this client has.
    pub async fn post(&self, message: Value) -> Answer {
        self.client.post(message).await
    }

    /// `initialize` as the MCP client `name`, then `notifications/initialized`; keeps the
    /// session id and the instructions.
    pub async fn initialize(&mut self, name: &str) -> Answer {
        let answer = self
            .post(json!({
                "jsonrpc": "2.0", "id": 0, "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": name, "version": "1"}
                }
            }))
            .await;
        if answer.status == 200 {
            self.client.session = answer
                .headers
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            self.instructions = answer.message()["result"]["instructions"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let notified = self
                .post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
                .await;
            assert!(notified.status < 300, "{}", notified.text);
        }
        answer
    }

    /// A new JSON-RPC request id.
    fn id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The tools listed.
    pub async fn tools(&self) -> Vec<Value> {
        let answer = self
            .post(json!({"jsonrpc": "2.0", "id": self.id(), "method": "tools/list"}))
            .await;
        assert_eq!(answer.status, 200, "tools/list: {}", answer.text);
        let message = answer.message();
        message["result"]["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("tools/list: {message}"))
            .clone()
    }

    /// The names of the tools listed.
    pub async fn tool_names(&self) -> Vec<String> {
        self.tools()
            .await
            .iter()
            .map(|tool| tool["name"].as_str().unwrap().to_owned())
            .collect()
    }

    /// A `tools/call`'s HTTP answer.
    pub async fn call_raw(&self, tool: &str, arguments: Value) -> Answer {
        self.post(json!({
            "jsonrpc": "2.0", "id": self.id(), "method": "tools/call",
            "params": {"name": tool, "arguments": arguments}
        }))
        .await
    }

    /// A `tools/call`'s result: `content`, `structuredContent` and `isError`.
    pub async fn call(&self, tool: &str, arguments: Value) -> Value {
        let answer = self.call_raw(tool, arguments).await;
        assert_eq!(answer.status, 200, "{tool}: {}", answer.text);
        let message = answer.message();
        message
            .get("result")
            .cloned()
            .unwrap_or_else(|| panic!("{tool}: no result in {message}"))
    }
}

/// Whether a tool result is a tool error.
pub fn is_error(result: &Value) -> bool {
    result["isError"] == true
}

/// A tool result's structured content.
pub fn structured(result: &Value) -> &Value {
    &result["structuredContent"]
}

/// A tool error's `error` object.
pub fn error(result: &Value) -> &Value {
    &result["structuredContent"]["error"]
}

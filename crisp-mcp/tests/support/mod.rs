//! A server on a fresh sandbox, reached as "the real Crisp" (the environment's credentials
//! and a base URL), with its audit lines kept in memory.

#![allow(dead_code)]

pub mod mcp_client;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crisp_api::Grants;
use crisp_api::env::{self, Env, Website};
use crisp_mcp::backend::{Backend, ClientOptions};
use crisp_mcp::{Audit, AuditLine, CrispMcp, Settings};
use crisp_sandbox::Sandbox;
use rmcp::model::CallToolResult;
use serde_json::{Value, json};

/// Audit lines written to memory.
#[derive(Clone, Default)]
pub struct Lines(pub Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    pub fn parsed(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).expect("each audit line is JSON"))
            .collect()
    }

    pub fn last(&self) -> Value {
        self.parsed().pop().expect("an audit line")
    }
}

/// Audit lines kept as values, through [`Audit::callback`] (what an embedder such as a gateway
/// does with them).
#[derive(Clone, Default)]
pub struct Recorded(pub Arc<Mutex<Vec<AuditLine>>>);

impl Recorded {
    /// The audit sink that records here.
    pub fn audit(&self) -> Audit {
        let lines = self.clone();
        Audit::callback(move |line: &AuditLine| lines.0.lock().unwrap().push(line.clone()))
    }

    /// Every line so far.
    pub fn all(&self) -> Vec<AuditLine> {
        self.0.lock().unwrap().clone()
    }

    /// Every line so far, as JSON.
    pub fn json(&self) -> Vec<Value> {
        self.all()
            .iter()
            .map(|l| serde_json::to_value(l).unwrap())
            .collect()
    }
}

/// The arguments of a `send_message` call on the demo conversation.
pub fn hello() -> Value {
    json!({
        "session_id": crisp_sandbox::demo::SESSION_ID,
        "body": {"type": "text", "from": "operator", "origin": "chat", "content": "On its way."}
    })
}

pub struct Harness {
    pub sandbox: Sandbox,
    pub server: CrispMcp,
    /// The client the server calls through (for building other servers on it).
    pub client: crisp_api::Client,
    pub audit: Lines,
}

pub struct Options {
    pub grants: Option<&'static str>,
    pub confirm: bool,
    pub ttl: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            grants: None,
            confirm: true,
            ttl: Duration::from_secs(300),
        }
    }
}

pub async fn harness(options: Options) -> Harness {
    let sandbox = Sandbox::start().await.unwrap();
    // The environment a user would set for the real Crisp, read as the binary reads it.
    let vars = [
        (env::IDENTIFIER, sandbox.identifier().to_owned()),
        (env::KEY, sandbox.key().to_owned()),
        (env::TIER, sandbox.tier().to_string()),
        (env::WEBSITE_ID, sandbox.website_id().to_owned()),
        (env::BASE_URL, sandbox.base_url().to_owned()),
    ];
    let env = Env::from_lookup(Website::Required, |name| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    })
    .unwrap();
    let grants: Grants = match options.grants {
        Some(text) => text.parse().unwrap(),
        None => Grants::all(),
    };
    let backend = Backend::connect(env.crisp, &ClientOptions::new(Some(grants.clone()), None))
        .await
        .unwrap();
    assert!(
        backend.sandbox.is_none(),
        "credentials given: no embedded sandbox"
    );
    let audit = Lines::default();
    let settings = Settings::new(backend.website_id)
        .confirm(options.confirm)
        .confirm_ttl(options.ttl)
        .audit(Audit::to_writer(audit.clone()));
    let server = CrispMcp::new(backend.client.clone(), settings).unwrap();
    Harness {
        sandbox,
        server,
        client: backend.client,
        audit,
    }
}

/// The text of a result's first content block.
pub fn text(result: &CallToolResult) -> String {
    result
        .content
        .first()
        .and_then(|c| c.as_text())
        .map(|t| t.text.clone())
        .unwrap_or_default()
}

pub fn is_error(result: &CallToolResult) -> bool {
    result.is_error == Some(true)
}

pub fn structured(result: &CallToolResult) -> Value {
    result.structured_content.clone().unwrap_or(Value::Null)
}

/// The arguments as an MCP argument object.
pub fn args(value: Value) -> Option<serde_json::Map<String, Value>> {
    match value {
        Value::Object(map) => Some(map),
        _ => panic!("arguments are an object"),
    }
}

/// Conversation `session` as the sandbox holds it now, with its `messages`.
fn conversation(sandbox: &Sandbox, session: &str) -> Option<Value> {
    sandbox
        .fixtures()
        .conversations
        .into_iter()
        .find(|c| c["session_id"] == session)
}

/// How many messages the sandbox holds in conversation `session`.
pub fn messages_in(sandbox: &Sandbox, session: &str) -> usize {
    conversation(sandbox, session).map_or(0, |c| c["messages"].as_array().map_or(0, Vec::len))
}

/// Whether the sandbox holds conversation `session`.
pub fn has_conversation(sandbox: &Sandbox, session: &str) -> bool {
    conversation(sandbox, session).is_some()
}

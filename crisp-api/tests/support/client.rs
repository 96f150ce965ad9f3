//! What the client-layer tests share (`#[path = "support/client.rs"] mod support;`): a client
//! on a mock server with quick retries, an audit sink, answers and calls they all make, and
//! hand-rolled servers for what a mock cannot answer (chunked bodies).

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crisp_api::types::NewMessage;
use crisp_api::{AuditRecord, Client, ClientBuilder, Credentials, Error, RetryPolicy};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

pub const WEBSITE: &str = "8c842203-7ed8-4e29-a608-7cf78a7d2fcc";
pub const SESSION: &str = "session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881";
pub const KEY: &str = "k3y-7f1c0e9a5b2d4c6e8a0b1c2d3e4f5a6b";

/// A client on `server` with the test key, quick retries, and every audit record kept.
pub fn builder(base: &str) -> ClientBuilder {
    Client::builder(Credentials::plugin("ident-3f2a", KEY))
        .base_url(base)
        .retry(
            RetryPolicy::default()
                .initial_delay(Duration::from_millis(5))
                .max_delay(Duration::from_millis(20)),
        )
}

#[derive(Clone, Default)]
pub struct Audit(pub Arc<Mutex<Vec<AuditRecord>>>);

impl Audit {
    pub fn attach(&self, builder: ClientBuilder) -> ClientBuilder {
        let sink = self.clone();
        builder.on_audit(move |record| sink.0.lock().unwrap().push(record.clone()))
    }

    pub fn records(&self) -> Vec<AuditRecord> {
        self.0.lock().unwrap().clone()
    }

    pub fn only(&self) -> AuditRecord {
        let records = self.records();
        assert_eq!(records.len(), 1, "one record per call: {records:#?}");
        records.into_iter().next().unwrap()
    }
}

pub fn envelope(data: Value) -> Value {
    json!({"error": false, "reason": "resolved", "data": data})
}

pub fn message() -> NewMessage {
    NewMessage::text("We are on it!")
}

pub async fn send_message(client: &Client) -> Result<crisp_api::types::SendMessageResponse, Error> {
    client
        .send_message()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .body(message())
        .send()
        .await
}

pub async fn get_state(
    client: &Client,
) -> Result<crisp_api::types::GetConversationStateResponse, Error> {
    client
        .get_conversation_state()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .send()
        .await
}

pub async fn received(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

/// Answers the first `failures` requests with `failure`, then 200 with `body`.
pub struct FailThen {
    pub failures: usize,
    pub failure: ResponseTemplate,
    pub body: Value,
    pub seen: Arc<Mutex<Vec<Instant>>>,
}

impl Respond for FailThen {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let mut seen = self.seen.lock().unwrap();
        seen.push(Instant::now());
        if seen.len() <= self.failures {
            self.failure.clone()
        } else {
            ResponseTemplate::new(200).set_body_json(self.body.clone())
        }
    }
}

/// A server that answers every request with a chunked body of `size` bytes of `x`.
pub async fn chunked_server(status: u16, size: usize) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = read_request(&mut socket).await;
                let head = format!(
                    "HTTP/1.1 {status} OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
                );
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b'x'; 8192];
                let mut sent = 0;
                while sent < size {
                    let frame =
                        [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
                    if socket.write_all(&frame).await.is_err() {
                        return;
                    }
                    sent += chunk.len();
                }
                let _ = socket.write_all(b"0\r\n\r\n").await;
            });
        }
    });
    url
}

/// Reads one HTTP/1.1 request (head and Content-Length body) from `socket`.
pub async fn read_request(socket: &mut tokio::net::TcpStream) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(buf);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return Ok(buf);
            }
        }
    }
}

//! The sandbox within its limits: connections that never finish their request head are closed
//! before authentication, and a well-formed client is still answered meanwhile.
//!
//! The timeout here is short and the waits generous; nothing asserts how fast anything happens.

mod support;

use std::time::Duration;

use crisp_sandbox::{Limits, Sandbox, demo};
use support::Api;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), future)
        .await
        .unwrap_or_else(|_| panic!("still waiting for {what} after 30 s"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_heads_are_closed_and_a_client_is_still_answered() {
    let sandbox = Sandbox::builder()
        .limits(
            Limits::default()
                .header_read_timeout(Duration::from_millis(300))
                .max_connections(16),
        )
        .start()
        .await
        .unwrap();
    let head = format!(
        "GET /v1/website/{}/conversations/1 HTTP/1.1\r\nHost: sandbox\r\nAuthorization: Basic ",
        demo::WEBSITE_ID
    );
    // Four times the cap, each stopping halfway through its headers, before any credentials.
    let mut half_open = Vec::new();
    for _ in 0..64 {
        let mut stream = TcpStream::connect(sandbox.addr()).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        half_open.push(stream);
    }

    let api = Api::new(&sandbox);
    let (status, body) = within("an answer", api.get("/conversations/1")).await;
    assert_eq!(status, 200, "{body}");

    for stream in &mut half_open {
        let mut buffer = [0u8; 256];
        within("a half-open connection to close", async {
            // End of file or a reset: closed (hyper may first write a 408).
            while let Ok(n) = stream.read(&mut buffer).await
                && n > 0
            {}
        })
        .await;
    }
    assert_eq!(
        sandbox.api_requests(),
        1,
        "the half-sent requests never reached the API"
    );
}

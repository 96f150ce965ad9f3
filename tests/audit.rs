//! Every call leaves one audit record on the `crisp_api::audit` tracing target, with the
//! operation, its scope and access, the status and `Bloom-Status`, and never a secret.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crisp_api::{AUDIT_TARGET, Client, Credentials};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn each_call_leaves_an_audit_record_without_secrets() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("bloom-status", "HIT")
                .set_body_json(serde_json::json!({
                    "error": false, "reason": "resolved", "data": {"state": "resolved"}
                })),
        )
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(403).set_body_json(serde_json::json!({
            "error": true, "reason": "not_allowed", "data": {}
        })))
        .mount(&server)
        .await;
    let key = "audit-test-secret-key-91d2";
    let client = Client::builder(Credentials::plugin("audit-identifier", key))
        .base_url(server.uri())
        .build()
        .unwrap();

    client
        .get_conversation_state()
        .website_id("w1")
        .session_id("session_1")
        .send()
        .await
        .unwrap();
    client
        .block_conversation()
        .website_id("w1")
        .session_id("session_1")
        .body(crisp_api::types::BlockUpdate::builder().blocked(true))
        .send()
        .await
        .unwrap_err();

    let log = captured.text();
    let records: Vec<&str> = log.lines().filter(|l| l.contains(AUDIT_TARGET)).collect();
    assert_eq!(records.len(), 2, "{log}");
    let read = records[0];
    for field in [
        "operation=\"get_conversation_state\"",
        "scope=\"website:conversation:states\"",
        "access=\"read\"",
        "status=200",
        "bloom_status=\"HIT\"",
        "latency_ms=",
    ] {
        assert!(read.contains(field), "{field} missing from {read}");
    }
    let write = records[1];
    for field in [
        "operation=\"block_conversation\"",
        "scope=\"website:conversation:sessions\"",
        "access=\"write\"",
        "status=403",
    ] {
        assert!(write.contains(field), "{field} missing from {write}");
    }
    assert!(!log.contains(key), "the key reached the log: {log}");
    assert!(
        !log.contains("Basic "),
        "an Authorization header reached the log: {log}"
    );
}

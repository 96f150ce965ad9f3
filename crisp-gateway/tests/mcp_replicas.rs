//! The MCP front of two gateways on one PostgreSQL store, behind no load balancer that pins
//! clients: a client whose requests alternate between the two replicas (real HTTP on loopback,
//! the sandbox as the upstream) completes initialize, tools/list, a preview (on one) and the
//! confirmed call (on the other), which reaches the sandbox once; the token cannot be used
//! again on either replica. The MCP front is served without sessions on a shared store, and the
//! token lives in the store. Needs PostgreSQL's binaries, as the store tests do
//! (`CRISP_SKIP_POSTGRES=1` skips it).

mod support;

#[path = "support/postgres.rs"]
mod cluster;

use std::net::SocketAddr;
use std::sync::Arc;

use crisp_gateway::Gateway;
use crisp_gateway::dashboard::Dashboard;
use crisp_gateway::store::{self, AuditFilter};
use crisp_sandbox::Sandbox;
use serde_json::{Value, json};
use support::mcp::{Mcp, error, is_error, structured};
use support::{TestAgent, fast_retries, gateway, policy_text, serve, surely};
use tokio::sync::oneshot;

const REPLY: &str = "website:conversation:sessions=read, website:conversation:messages=read-write";

/// A gateway on the PostgreSQL database `url`, in front of `sandbox`, serving `policy` on
/// loopback: its address, the gateway, and what stops it.
async fn replica(
    url: &str,
    policy: &str,
    sandbox: &Sandbox,
) -> (SocketAddr, Arc<Gateway>, oneshot::Sender<()>) {
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(dir.path(), Some(url))
        .await
        .expect("the store opens");
    assert!(store.shared(), "a PostgreSQL store is shared by replicas");
    let gateway = gateway(policy, store, sandbox, fast_retries());
    let (addr, stop, _task) = serve(&gateway, Dashboard::default(), "127.0.0.1:0").await;
    (addr, gateway, stop)
}

fn hello(session: &str) -> Value {
    json!({
        "session_id": session,
        "body": {"type": "text", "from": "operator", "origin": "chat", "content": "From either replica"}
    })
}

/// How many messages of `session` the sandbox holds with the content of [`hello`].
fn copies(sandbox: &Sandbox, session: &str) -> usize {
    let fixtures = serde_json::to_value(sandbox.fixtures()).unwrap();
    fixtures["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["session_id"] == session)
        .flat_map(|c| c["messages"].as_array().cloned().unwrap_or_default())
        .filter(|m| m["content"] == "From either replica")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_alternating_between_two_replicas_previews_and_confirms_once() {
    let Some(cluster) = cluster::Cluster::shared() else {
        return;
    };
    let url = cluster.create_database().await;
    let sandbox = Sandbox::start().await.unwrap();
    let reply = TestAgent::new("reply", REPLY, sandbox.website_id());
    let policy = policy_text("", &[&reply]);
    let (a, gateway_a, stop_a) = replica(&url, &policy, &sandbox).await;
    let (b, gateway_b, stop_b) = replica(&url, &policy, &sandbox).await;
    let on_a = Mcp::open(&format!("http://{a}/mcp"), &reply.key, "alternating").await;
    assert!(on_a.client.session.is_none(), "served without sessions");
    let on_b = Mcp::new(&format!("http://{b}/mcp"), Some(&reply.key));
    let session = support::conversations(&sandbox)[0].session.clone();

    let names = on_b.tool_names().await;
    assert!(names.contains(&"send_message".to_owned()), "{names:?}");

    let preview = on_a.call("send_message", hello(&session)).await;
    assert!(!is_error(&preview), "{preview}");
    let token = structured(&preview)["confirmation_token"]
        .as_str()
        .expect("a preview with a token")
        .to_owned();
    assert_eq!(copies(&sandbox, &session), 0, "a preview sends nothing");
    let mut confirmed = hello(&session);
    confirmed["confirmation_token"] = json!(token);
    let sent = on_b.call("send_message", confirmed.clone()).await;
    assert!(!is_error(&sent), "the other replica redeems it: {sent}");
    assert_eq!(copies(&sandbox, &session), 1);
    for replica in [&on_a, &on_b] {
        let again = replica.call("send_message", confirmed.clone()).await;
        assert_eq!(error(&again)["code"], "unknown_token", "once: {again}");
    }
    assert_eq!(copies(&sandbox, &session), 1);

    for (stop, gateway) in [(stop_a, gateway_a), (stop_b, gateway_b)] {
        let _ = stop.send(());
        surely("the gateway's close", gateway.close())
            .await
            .unwrap();
    }
    let rows = store::open(tempfile::tempdir().unwrap().path(), Some(&url))
        .await
        .unwrap()
        .query_audit(&AuditFilter::default())
        .await
        .unwrap();
    let decisions: Vec<&str> = rows.iter().rev().map(|row| row.decision.as_str()).collect();
    assert_eq!(
        decisions,
        ["awaiting_confirmation", "confirmed", "refused", "refused"],
        "one row per tool call, from whichever replica took it"
    );
}

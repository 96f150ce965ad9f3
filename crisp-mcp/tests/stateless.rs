//! Two replicas of one server behind an address that does not pin clients, over real HTTP on
//! loopback against the sandbox: served stateless and sharing one token store, a client whose
//! requests alternate between them completes initialize, tools/list, a preview and the
//! confirmed call (sent once), and the token cannot be spent again on either; the client's
//! name is its User-Agent. With a token store of its own each, a token issued by one replica
//! is unknown to the other (the store is what makes replicas work).

mod support;

use std::sync::Arc;

use crisp_mcp::confirm::{MemoryTokens, TokenStore};
use crisp_mcp::http::{HttpSettings, MCP_PATH, router};
use crisp_mcp::{Audit, CrispMcp, Settings};
use crisp_sandbox::demo;
use serde_json::{Value, json};
use support::mcp_client::Client;
use support::{Harness, Lines, Options, harness, messages_in};

/// A replica: the harness's client and website, confirmation on, tokens in `tokens`, audit
/// lines to `lines`, served stateless; its MCP URL.
async fn replica(h: &Harness, tokens: Arc<dyn TokenStore>, lines: &Lines) -> String {
    let settings = Settings::new(demo::WEBSITE_ID)
        .token_store(tokens)
        .audit(Audit::to_writer(lines.clone()));
    let server = CrispMcp::new(h.client.clone(), settings).unwrap();
    let http = HttpSettings::new("127.0.0.1:0".parse().unwrap()).stateless(true);
    let listener = tokio::net::TcpListener::bind(http.bind).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = router(server, &http).unwrap();
    tokio::spawn(crisp_mcp::http::serve(
        listener,
        app,
        crisp_serve::Limits::default(),
        std::future::pending(),
    ));
    format!("http://127.0.0.1:{port}{MCP_PATH}")
}

fn result(answer: &support::mcp_client::Answer) -> Value {
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.message()["result"].clone()
}

fn hello() -> Value {
    json!({
        "session_id": demo::SESSION_ID,
        "body": {"type": "text", "from": "operator", "origin": "chat", "content": "From either replica"}
    })
}

#[tokio::test]
async fn a_client_alternating_between_stateless_replicas_previews_and_confirms_once() {
    let h = harness(Options::default()).await;
    let shared: Arc<dyn TokenStore> = Arc::new(MemoryTokens::default());
    let lines = Lines::default();
    let a = replica(&h, Arc::clone(&shared), &lines).await;
    let b = replica(&h, Arc::clone(&shared), &lines).await;
    let named = || {
        reqwest::Client::builder()
            .user_agent("alternating-test")
            .build()
            .unwrap()
    };
    let mut on_a = Client {
        http: named(),
        ..Client::new(&a)
    };
    let on_b = Client {
        http: named(),
        ..Client::new(&b)
    };

    let init = on_a.initialize().await;
    assert_eq!(init.status, 200, "{}", init.text);
    assert!(on_a.session.is_none(), "no session is issued");
    assert!(init.headers.get("mcp-session-id").is_none());
    let listed = result(
        &on_b
            .post(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
            .await,
    );
    assert!(
        listed["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "send_message")
    );

    let count = messages_in(&h.sandbox, demo::SESSION_ID);
    let preview = result(&on_a.call(3, "send_message", hello()).await);
    let token = preview["structuredContent"]["confirmation_token"]
        .as_str()
        .expect("a preview with a token")
        .to_owned();
    assert_eq!(messages_in(&h.sandbox, demo::SESSION_ID), count);
    let mut confirmed = hello();
    confirmed["confirmation_token"] = json!(token);
    let sent = result(&on_b.call(4, "send_message", confirmed.clone()).await);
    assert_ne!(
        sent["isError"], true,
        "confirmed on the other replica: {sent}"
    );
    assert_eq!(messages_in(&h.sandbox, demo::SESSION_ID), count + 1);
    for (id, client) in [(5, &on_a), (6, &on_b)] {
        let again = result(&client.call(id, "send_message", confirmed.clone()).await);
        assert_eq!(
            again["structuredContent"]["error"]["code"], "unknown_token",
            "spent once: {again}"
        );
    }
    assert_eq!(messages_in(&h.sandbox, demo::SESSION_ID), count + 1);
    // A GET stream needs a session: there is none.
    let get = on_a.post_with(reqwest::Method::GET, Vec::new()).await;
    assert_eq!(get.status, 405, "{}", get.text);
    // The client's name is its User-Agent.
    let parsed = lines.parsed();
    assert_eq!(parsed.len(), 4, "{parsed:?}");
    assert!(
        parsed
            .iter()
            .all(|line| line["client"] == "alternating-test"),
        "{parsed:?}"
    );

    // Replicas that each keep their own tokens: the other does not know the token.
    let c = replica(&h, Arc::new(MemoryTokens::default()), &lines).await;
    let d = replica(&h, Arc::new(MemoryTokens::default()), &lines).await;
    let preview = result(&Client::new(&c).call(7, "send_message", hello()).await);
    let mut confirmed = hello();
    confirmed["confirmation_token"] = preview["structuredContent"]["confirmation_token"].clone();
    let elsewhere = result(&Client::new(&d).call(8, "send_message", confirmed).await);
    assert_eq!(
        elsewhere["structuredContent"]["error"]["code"],
        "unknown_token"
    );
}

//! One HTTP endpoint for many principals, over real HTTP on loopback: two bearer tokens resolve
//! to two servers with different tools, each session sticks to the token and server that
//! opened it, a revoked token stops working at once, and a request with no valid token gets
//! 401 with `WWW-Authenticate: Bearer resource_metadata="..."` naming the protected-resource
//! metadata (RFC 9728), which is served without a token.

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crisp_api::Grants;
use crisp_mcp::http::{Bearer, HttpSettings, MCP_PATH, Unauthorized, router_with};
use crisp_mcp::{CrispMcp, Settings};
use crisp_sandbox::demo;
use serde_json::{Value, json};
use support::mcp_client::Client;
use support::{Options, Recorded, harness};

const TRIAGE_KEY: &str = "triage-key-0123456789abcdef";
const REPLY_KEY: &str = "reply-key-0123456789abcdef";

/// Audit lines handed to a callback.
/// Each line's tool and refusal.
fn tools_and_refusals(lines: &Recorded) -> Vec<(String, Option<String>)> {
    lines
        .all()
        .iter()
        .map(|l| (l.tool.clone(), l.refusal.clone()))
        .collect()
}

/// The agents' servers by key; keys can be revoked; resolutions are counted.
#[derive(Clone)]
struct Agents {
    servers: Arc<Mutex<HashMap<&'static str, CrispMcp>>>,
    resolved: Arc<AtomicUsize>,
}

impl Agents {
    fn resolve(&self, bearer: Option<Bearer>) -> Result<CrispMcp, Unauthorized> {
        self.resolved.fetch_add(1, Ordering::SeqCst);
        let servers = self.servers.lock().unwrap();
        bearer
            .and_then(|b| servers.get(b.expose_secret()).cloned())
            .ok_or_else(|| {
                Unauthorized::new(
                    "unknown agent key: send `Authorization: Bearer <your agent key>`",
                )
            })
    }

    fn revoke(&self, key: &str) {
        self.servers.lock().unwrap().remove(key);
    }
}

struct Endpoint {
    url: String,
    root: String,
    agents: Agents,
    triage: Recorded,
    reply: Recorded,
    door: Recorded,
}

async fn endpoint(public_url: Option<&str>) -> (support::Harness, Endpoint) {
    let h = harness(Options::default()).await;
    let (triage, reply, door) = (
        Recorded::default(),
        Recorded::default(),
        Recorded::default(),
    );
    let read: Grants = "website:conversation:sessions=read, website:conversation:messages=read"
        .parse()
        .unwrap();
    let write: Grants =
        "website:conversation:sessions=read, website:conversation:messages=read-write"
            .parse()
            .unwrap();
    let server = |grants: Grants, lines: &Recorded| {
        let settings = Settings::new(demo::WEBSITE_ID).audit(lines.audit());
        CrispMcp::with_dispatch(grants, settings, h.client.clone()).unwrap()
    };
    let servers = HashMap::from([
        (TRIAGE_KEY, server(read, &triage)),
        (REPLY_KEY, server(write, &reply)),
    ]);
    let agents = Agents {
        servers: Arc::new(Mutex::new(servers)),
        resolved: Arc::new(AtomicUsize::new(0)),
    };
    let settings = HttpSettings::new("127.0.0.1:0".parse().unwrap())
        .public_url(public_url.map(str::to_owned))
        .door_audit(door.audit());
    let app = {
        let agents = agents.clone();
        router_with(
            move |bearer| std::future::ready(agents.resolve(bearer)),
            &settings,
        )
        .unwrap()
    };
    let listener = tokio::net::TcpListener::bind(settings.bind).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(crisp_mcp::http::serve(
        listener,
        app,
        crisp_serve::Limits::default(),
        std::future::pending(),
    ));
    let root = format!("http://127.0.0.1:{port}");
    let endpoint = Endpoint {
        url: format!("{root}{MCP_PATH}"),
        root,
        agents,
        triage,
        reply,
        door,
    };
    (h, endpoint)
}

async fn tool_names(client: &Client) -> Vec<String> {
    let listed = client
        .post(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
        .await
        .message();
    let tools = listed["result"]["tools"].as_array().expect("a tool list");
    assert!(
        tools.iter().all(|t| t["outputSchema"]["type"] == "object"),
        "every tool has an output schema"
    );
    tools
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

fn agent(url: &str, key: &str) -> Client {
    let mut client = Client::new(url);
    client.bearer = Some(key.to_owned());
    client
}

#[tokio::test]
async fn each_bearer_token_gets_its_own_server_and_sessions_stick_to_it() {
    let (h, e) = endpoint(None).await;
    let mut triage = agent(&e.url, TRIAGE_KEY);
    let mut reply = agent(&e.url, REPLY_KEY);
    assert_eq!(triage.initialize().await.status, 200);
    assert_eq!(reply.initialize().await.status, 200);

    let triage_tools = tool_names(&triage).await;
    let reply_tools = tool_names(&reply).await;
    assert!(triage_tools.contains(&"list_messages".to_owned()));
    assert!(!triage_tools.contains(&"send_message".to_owned()));
    assert!(reply_tools.contains(&"send_message".to_owned()));
    assert_eq!(reply_tools.len(), triage_tools.len() + 3, "{reply_tools:?}");

    let refused = triage.call(3, "send_message", json!({})).await.message();
    assert_eq!(
        refused["result"]["structuredContent"]["error"]["code"],
        "not_granted"
    );
    let preview = reply
        .call(
            3,
            "send_message",
            json!({"session_id": demo::SESSION_ID, "body": {"type": "text", "from": "operator", "origin": "chat", "content": "Hi"}}),
        )
        .await
        .message();
    assert_eq!(
        preview["result"]["structuredContent"]["confirmation_required"],
        true
    );
    let read = triage
        .call(4, "list_conversations", json!({}))
        .await
        .message();
    assert_eq!(
        read["result"]["structuredContent"]["error"], false,
        "{read}"
    );
    assert_eq!(h.sandbox.api_requests(), 1);
    // Each server wrote its own lines.
    assert_eq!(
        tools_and_refusals(&e.triage),
        [
            ("send_message".to_owned(), Some("not_granted".to_owned())),
            ("list_conversations".to_owned(), None),
        ]
    );
    assert_eq!(
        tools_and_refusals(&e.reply),
        [("send_message".to_owned(), None)]
    );

    // A session is used only with the token that opened it: with another agent's, it is
    // not found; with none, 401.
    let mut borrowed = agent(&e.url, REPLY_KEY);
    borrowed.session = triage.session.clone();
    let answer = borrowed.call(5, "list_conversations", json!({})).await;
    assert_eq!(answer.status, 404, "{}", answer.text);
    borrowed.bearer = None;
    assert_eq!(
        borrowed
            .call(6, "list_conversations", json!({}))
            .await
            .status,
        401
    );
    assert_eq!(h.sandbox.api_requests(), 1, "neither reached Crisp");
    assert_eq!(
        tool_names(&triage).await,
        triage_tools,
        "the session is still triage's"
    );

    // Every request is resolved, so a revoked key stops working at once, in its open session.
    let before = e.agents.resolved.load(Ordering::SeqCst);
    assert!(before >= 10, "{before} resolutions");
    e.agents.revoke(TRIAGE_KEY);
    let revoked = triage.call(7, "list_conversations", json!({})).await;
    assert_eq!(revoked.status, 401);
    assert!(
        revoked.text.contains("unknown agent key"),
        "{}",
        revoked.text
    );
    assert!(!revoked.text.contains(TRIAGE_KEY));
    assert_eq!(
        tool_names(&reply).await,
        reply_tools,
        "the other agent carries on"
    );
    // The refused tools/call was recorded at the door, with no agent.
    assert_eq!(
        tools_and_refusals(&e.door),
        [
            (
                "list_conversations".to_owned(),
                Some("unauthorized".to_owned())
            ),
            (
                "list_conversations".to_owned(),
                Some("unauthorized".to_owned())
            ),
        ]
    );
    assert_eq!(
        tools_and_refusals(&e.triage).len(),
        2,
        "nothing more in triage's lines"
    );
    assert_eq!(h.sandbox.api_requests(), 1);
}

async fn get(url: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (
        status,
        headers,
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn a_401_names_the_protected_resource_metadata_which_needs_no_token() {
    let (_h, e) = endpoint(None).await;
    let answer = Client::new(&e.url).initialize().await;
    assert_eq!(answer.status, 401);
    let metadata_url = format!("{}/.well-known/oauth-protected-resource/mcp", e.root);
    assert_eq!(
        answer.headers["www-authenticate"],
        format!("Bearer resource_metadata=\"{metadata_url}\"").as_str()
    );
    let wrong = agent(&e.url, "not-a-key").initialize().await;
    assert_eq!(wrong.status, 401);
    assert_eq!(
        wrong.headers["www-authenticate"],
        answer.headers["www-authenticate"]
    );

    let resolved = e.agents.resolved.load(Ordering::SeqCst);
    let expected = json!({
        "resource": e.url,
        "bearer_methods_supported": ["header"],
    });
    for url in [
        metadata_url,
        format!("{}/.well-known/oauth-protected-resource", e.root),
    ] {
        let (status, headers, document) = get(&url).await;
        assert_eq!(status, 200, "{url}");
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(document, expected, "{url}: no authorization server is run");
    }
    assert_eq!(
        e.agents.resolved.load(Ordering::SeqCst),
        resolved,
        "the metadata is read without a token"
    );
}

#[tokio::test]
async fn behind_a_proxy_the_public_url_names_the_resource() {
    let (_h, e) = endpoint(Some("https://mcp.example.com/")).await;
    let answer = Client::new(&e.url).initialize().await;
    assert_eq!(
        answer.headers["www-authenticate"],
        "Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\""
    );
    let (_, _, document) = get(&format!("{}/.well-known/oauth-protected-resource", e.root)).await;
    assert_eq!(document["resource"], "https://mcp.example.com/mcp");

    let settings = HttpSettings::new("127.0.0.1:0".parse().unwrap())
        .public_url(Some("https://mcp.example.com/mcp".to_owned()));
    let refused = router_with(
        |_: Option<Bearer>| std::future::ready(Err::<CrispMcp, _>(Unauthorized::default())),
        &settings,
    )
    .unwrap_err();
    assert!(refused.contains("a scheme and a host only"), "{refused}");
}

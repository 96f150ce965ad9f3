//! The streamable HTTP transport over real HTTP on loopback: the bearer token off loopback,
//! Hugo's request signatures (tampered body, wrong secret, old timestamp, a repeated header:
//! 401), the audit lines of calls refused at the door, the session caps, the Host check, and
//! bodies that are too large or not JSON-RPC.

mod support;

use std::net::SocketAddr;

use crisp_api::types::SecretString;
use crisp_mcp::http::{BODY_LIMIT, HttpSettings, MCP_PATH, OPEN_LIMIT, router};
use crisp_mcp::hugo::{self, HugoSecret};
use crisp_sandbox::demo;
use serde_json::json;
use support::mcp_client::{Client, now};
use support::{Harness, Options, harness};

const SECRET: &str = "hugo-integration-secret";
const TOKEN: &str = "a-long-random-bearer-token";
/// How long the servers under test wait for a request head.
const HEAD_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(300);

/// Serves the harness's server with `settings`; returns the MCP URL on loopback.
async fn serve(h: &Harness, settings: HttpSettings) -> String {
    let listener = tokio::net::TcpListener::bind(settings.bind).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = router(h.server.clone(), &settings).unwrap();
    tokio::spawn(crisp_mcp::http::serve(
        listener,
        app,
        crisp_serve::Limits::default().header_read_timeout(HEAD_TIMEOUT),
        std::future::pending(),
    ));
    format!("http://127.0.0.1:{port}{MCP_PATH}")
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

#[tokio::test]
async fn on_loopback_no_token_is_needed() {
    let h = harness(Options::default()).await;
    let url = serve(&h, HttpSettings::new(loopback())).await;
    let mut client = Client::new(&url);
    let answer = client.initialize().await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        answer.message()["result"]["serverInfo"]["name"],
        "crisp-mcp"
    );
    let listed = client
        .post(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
        .await;
    let tools = listed.message()["result"]["tools"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(tools, crisp_api::Operation::ALL.len());
    let called = client
        .call(
            3,
            "get_conversation",
            json!({"session_id": demo::SESSION_ID}),
        )
        .await;
    let result = &called.message()["result"];
    assert_eq!(result["isError"], false, "{result}");
    assert_eq!(
        result["structuredContent"]["data"]["session_id"],
        demo::SESSION_ID
    );
    let line = h.audit.last();
    assert_eq!(line["transport"], "http");
    assert_eq!(line["client"], "http-test");
    // Ending the session: 204, as MCP clients expect.
    let ended = reqwest::Client::new()
        .delete(&url)
        .header("mcp-session-id", client.session.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 204);
}

#[tokio::test]
async fn off_loopback_the_bearer_token_is_required() {
    let h = harness(Options::default()).await;
    let anywhere: SocketAddr = "0.0.0.0:0".parse().unwrap();
    let refused = router(h.server.clone(), &HttpSettings::new(anywhere)).unwrap_err();
    assert!(refused.contains("CRISP_MCP_TOKEN"), "{refused}");
    let blank = router(
        h.server.clone(),
        &HttpSettings::new(anywhere).bearer(Some(SecretString::from(" "))),
    );
    assert!(blank.is_err());

    let url = serve(
        &h,
        HttpSettings::new(anywhere).bearer(Some(SecretString::from(TOKEN))),
    )
    .await;
    let mut client = Client::new(&url);
    let none = client.initialize().await;
    assert_eq!(none.status, 401);
    // RFC 9728: the 401 names the protected-resource metadata of the URL the client used.
    let metadata = url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp");
    assert_eq!(
        none.headers["www-authenticate"],
        format!("Bearer resource_metadata=\"{metadata}\"").as_str()
    );
    client.bearer = Some("not-the-token".to_owned());
    assert_eq!(client.initialize().await.status, 401);
    client.bearer = Some(TOKEN.to_owned());
    let answer = client.initialize().await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let called = client.call(2, "count_visitors", json!({})).await.message();
    assert_eq!(called["result"]["isError"], false, "{called}");
    assert!(!none.text.contains(TOKEN));
}

#[tokio::test]
async fn hugo_signed_requests_are_verified_and_recorded() {
    let h = harness(Options::default()).await;
    let url = serve(
        &h,
        HttpSettings::new(loopback()).hugo(HugoSecret::new(SECRET)),
    )
    .await;
    let mut client = Client::new(&url);
    client.hugo = Some((SECRET.to_owned(), demo::WEBSITE_ID.to_owned(), 0));
    client.crisp_session = Some(demo::SESSION_ID.to_owned());
    let answer = client.initialize().await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let called = client
        .call(
            2,
            "get_conversation",
            json!({"session_id": demo::SESSION_ID}),
        )
        .await;
    assert_eq!(called.status, 200);
    assert_eq!(called.message()["result"]["isError"], false);
    let line = h.audit.last();
    assert_eq!(line["hugo_website_id"], demo::WEBSITE_ID);
    assert_eq!(line["crisp_session_id"], demo::SESSION_ID);
    let requests = h.sandbox.api_requests();
    assert_eq!(requests, 1);

    // A tampered body, a wrong secret, an old timestamp, no signature: 401, nothing called.
    let message = json!({
        "jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "get_conversation", "arguments": {"session_id": demo::SESSION_ID}}
    });
    let signed = serde_json::to_vec(&message).unwrap();
    let timestamp = now().to_string();
    let signature = hugo::sign(SECRET, &timestamp, demo::WEBSITE_ID, &signed);
    let tampered = String::from_utf8(signed.clone())
        .unwrap()
        .replace("get_conversation", "remove_conversation");
    let send = |body: Vec<u8>, timestamp: String, signature: String| {
        let http = reqwest::Client::new();
        let url = url.clone();
        let session = client.session.clone().unwrap();
        async move {
            let response = http
                .post(url)
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .header("mcp-session-id", session)
                .header(hugo::TIMESTAMP_HEADER, timestamp)
                .header(hugo::WEBSITE_HEADER, demo::WEBSITE_ID)
                .header(hugo::SIGNATURE_HEADER, signature)
                .body(body)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let (status, text) = send(tampered.into_bytes(), timestamp.clone(), signature.clone()).await;
    assert_eq!(status, 401, "tampered body");
    assert!(!text.contains(SECRET));
    let wrong = hugo::sign("another-secret", &timestamp, demo::WEBSITE_ID, &signed);
    assert_eq!(
        send(signed.clone(), timestamp.clone(), wrong).await.0,
        401,
        "wrong secret"
    );
    let old = (now() - 301).to_string();
    let old_signature = hugo::sign(SECRET, &old, demo::WEBSITE_ID, &signed);
    assert_eq!(
        send(signed.clone(), old, old_signature).await.0,
        401,
        "old timestamp"
    );
    let mut unsigned = Client::new(&url);
    unsigned.session = client.session.clone();
    assert_eq!(
        unsigned.post(message.clone()).await.status,
        401,
        "no signature"
    );
    assert_eq!(
        h.sandbox.api_requests(),
        requests,
        "no refused request reached Crisp"
    );

    // The same request, properly signed, still goes through.
    let (status, _) = send(signed, timestamp, signature).await;
    assert_eq!(status, 200);
    assert_eq!(h.sandbox.api_requests(), requests + 1);
}

#[tokio::test]
async fn odd_requests_get_clear_refusals_and_the_server_carries_on() {
    let h = harness(Options::default()).await;
    let url = serve(&h, HttpSettings::new(loopback())).await;
    let client = Client::new(&url);
    let huge = client.post_bytes(vec![b'['; BODY_LIMIT + 1024]).await;
    assert_eq!(huge.status, 413);
    let garbage = client.post_bytes(b"{not json".to_vec()).await;
    assert!((400..500).contains(&garbage.status), "{}", garbage.status);
    let no_session = client
        .call(9, "get_conversation", json!({"session_id": ".."}))
        .await;
    assert!(
        (400..500).contains(&no_session.status),
        "{}",
        no_session.status
    );
    // A page that rebinds a name to this address is refused by the Host check.
    let rebound = reqwest::Client::new()
        .post(&url)
        .header("host", "evil.example")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), 403);

    let mut client = Client::new(&url);
    assert_eq!(client.initialize().await.status, 200);
    let answer = client
        .call(2, "get_conversation", json!({"session_id": ".."}))
        .await
        .message();
    assert_eq!(answer["result"]["isError"], true);
    assert_eq!(h.sandbox.api_requests(), 0);
}

/// Where the secrets live: the HTTP settings (bearer token and Hugo secret) and the backend
/// (its client holds the key, its sandbox the signing secret). None reaches `Debug`.
#[tokio::test]
async fn settings_and_the_backend_keep_their_secrets_out_of_debug() {
    let settings = HttpSettings::new(loopback())
        .bearer(Some(SecretString::from(TOKEN)))
        .hugo(HugoSecret::new(SECRET));
    let text = format!("{settings:?}");
    assert!(!text.contains(TOKEN) && !text.contains(SECRET), "{text}");

    let backend = crisp_mcp::backend::Backend::connect(
        None,
        &crisp_mcp::backend::ClientOptions::new(None, None),
    )
    .await
    .unwrap();
    let sandbox = backend.sandbox.as_ref().unwrap();
    let text = format!("{backend:?}");
    assert!(text.contains(sandbox.website_id()), "{text}");
    assert!(!text.contains(sandbox.key()), "{text}");
    assert!(!text.contains(sandbox.signing_secret()), "{text}");
}

/// Today a `tools/call` refused for its bearer token or its Hugo signature left no audit line.
#[tokio::test]
async fn calls_refused_at_the_door_are_recorded() {
    let h = harness(Options::default()).await;
    let anywhere: SocketAddr = "0.0.0.0:0".parse().unwrap();
    let url = serve(
        &h,
        HttpSettings::new(anywhere)
            .bearer(Some(SecretString::from(TOKEN)))
            .hugo(HugoSecret::new(SECRET)),
    )
    .await;
    let mut client = Client::new(&url);
    client.bearer = Some("not-the-token".to_owned());
    let call = client
        .call(
            1,
            "remove_conversation",
            json!({"session_id": demo::SESSION_ID}),
        )
        .await;
    assert_eq!(call.status, 401);
    let line = h.audit.last();
    assert_eq!(line["tool"], "remove_conversation");
    assert_eq!(line["transport"], "http");
    assert_eq!(line["decision"], "refused");
    assert_eq!(line["refusal"], "unauthorized");
    assert_eq!(line["attempts"], 0);

    client.bearer = Some(TOKEN.to_owned());
    client.hugo = Some(("another-secret".to_owned(), demo::WEBSITE_ID.to_owned(), 0));
    let call = client
        .call(
            2,
            "get_conversation",
            json!({"session_id": demo::SESSION_ID}),
        )
        .await;
    assert_eq!(call.status, 401);
    let line = h.audit.last();
    assert_eq!(line["tool"], "get_conversation");
    assert_eq!(line["refusal"], "bad_signature");
    assert!(
        line.get("hugo_website_id").is_none(),
        "an unverified website is not recorded"
    );

    // Requests that are not tool calls leave no line.
    let lines = h.audit.parsed().len();
    client.bearer = None;
    assert_eq!(client.initialize().await.status, 401);
    assert_eq!(h.audit.parsed().len(), lines);
    assert_eq!(h.sandbox.api_requests(), 0);
}

/// Today a repeated Hugo header was read as its first value.
#[tokio::test]
async fn a_repeated_hugo_header_is_refused() {
    let h = harness(Options::default()).await;
    let url = serve(
        &h,
        HttpSettings::new(loopback()).hugo(HugoSecret::new(SECRET)),
    )
    .await;
    let body = serde_json::to_vec(&json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}
    }))
    .unwrap();
    let timestamp = now().to_string();
    let signature = hugo::sign(SECRET, &timestamp, demo::WEBSITE_ID, &body);
    let post = |repeat: Option<(&'static str, String)>| {
        let mut request = reqwest::Client::new()
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header(hugo::TIMESTAMP_HEADER, &timestamp)
            .header(hugo::WEBSITE_HEADER, demo::WEBSITE_ID)
            .header(hugo::SIGNATURE_HEADER, &signature);
        if let Some((name, value)) = repeat {
            request = request.header(name, value);
        }
        request.body(body.clone()).send()
    };
    assert_eq!(post(None).await.unwrap().status(), 200);
    for repeat in [
        (hugo::WEBSITE_HEADER, "another-website".to_owned()),
        (hugo::TIMESTAMP_HEADER, timestamp.clone()),
        (hugo::SIGNATURE_HEADER, signature.clone()),
    ] {
        let name = repeat.0;
        let response = post(Some(repeat)).await.unwrap();
        assert_eq!(response.status(), 401, "{name} twice");
        let text = response.text().await.unwrap();
        assert!(text.contains("more than once"), "{text}");
    }
}

/// Today sessions were unbounded: 1,514 in 25 s took the process to 4.6 GB, each keeping its
/// `initialize` (a client name of up to 4 MiB) for 300 s.
#[tokio::test]
async fn sessions_are_capped_per_client_and_in_total() {
    let h = harness(Options::default()).await;
    let url = serve(
        &h,
        HttpSettings::new(loopback())
            .hugo(HugoSecret::new(SECRET))
            .max_sessions(3, 2),
    )
    .await;
    let hugo = |website: &str| {
        let mut client = Client::new(&url);
        client.hugo = Some((SECRET.to_owned(), website.to_owned(), 0));
        client
    };
    // One client (a website Hugo signed for) holds at most 2.
    let mut a1 = hugo("website-a");
    assert_eq!(a1.initialize().await.status, 200);
    let mut a2 = hugo("website-a");
    assert_eq!(a2.initialize().await.status, 200);
    let mut a3 = hugo("website-a");
    let refused = a3.initialize().await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert!(
        refused.text.contains("already holds 2 MCP sessions"),
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("website website-a"),
        "{}",
        refused.text
    );
    // The server holds at most 3.
    let mut b1 = hugo("website-b");
    assert_eq!(b1.initialize().await.status, 200);
    let mut c1 = hugo("website-c");
    let full = c1.initialize().await;
    assert_eq!(full.status, 503, "{}", full.text);
    assert!(
        full.text.contains("already holds 3 MCP sessions"),
        "{}",
        full.text
    );
    // The sessions open still work, and ending one frees its place.
    let listed = a1
        .post(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
        .await;
    assert_eq!(listed.status, 200);
    let ended = a2.post_with(reqwest::Method::DELETE, Vec::new()).await;
    assert_eq!(ended.status, 204, "{}", ended.text);
    assert_eq!(c1.initialize().await.status, 200);
    assert_eq!(
        a3.initialize().await.status,
        503,
        "the server is full again"
    );
}

/// On loopback without Hugo, a client is its IP address; a request that opens a session is
/// at most 32 KiB (rmcp keeps its parameters for the session's life).
#[tokio::test]
async fn a_peer_is_capped_and_an_initialize_is_small() {
    let h = harness(Options::default()).await;
    let url = serve(&h, HttpSettings::new(loopback()).max_sessions(10, 1)).await;
    let mut first = Client::new(&url);
    assert_eq!(first.initialize().await.status, 200);
    let mut second = Client::new(&url);
    let refused = second.initialize().await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert!(refused.text.contains("(127.0.0.1)"), "{}", refused.text);

    let big = Client::new(&url)
        .post(json!({
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "x".repeat(OPEN_LIMIT), "version": "0"}
            }
        }))
        .await;
    assert_eq!(big.status, 413, "{}", big.text);
    assert!(big.text.contains("32 KiB"), "{}", big.text);
    // A large body within a session is still fine up to the body limit.
    let called = first
        .call(
            2,
            "get_conversation",
            json!({"session_id": demo::SESSION_ID, "pad": "x".repeat(OPEN_LIMIT)}),
        )
        .await;
    assert_eq!(called.status, 200);
    assert_eq!(
        called.message()["result"]["isError"],
        true,
        "an unknown argument"
    );
}

/// A connection that sends half a request head, with no token, is closed once the head timeout
/// passes, before any check; a client with the token is still served meanwhile.
#[tokio::test]
async fn connections_that_never_finish_their_head_are_closed_before_any_check() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let h = harness(Options::default()).await;
    let url = serve(&h, HttpSettings::new(loopback())).await;
    let address = url
        .trim_start_matches("http://")
        .trim_end_matches(MCP_PATH)
        .to_owned();
    let mut stalled = Vec::new();
    for _ in 0..50 {
        let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
        socket
            .write_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty")
            .await
            .unwrap();
        stalled.push(socket);
    }
    let mut client = Client::new(&url);
    let answer = client.initialize().await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    for mut socket in stalled {
        let mut buf = [0_u8; 256];
        // The server closes it (EOF, or a 408 and then EOF); a generous bound, never a timing
        // assertion on how fast.
        let read = tokio::time::timeout(HEAD_TIMEOUT * 20, async {
            loop {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(
            read.is_ok(),
            "a half-sent head was still open long after the timeout"
        );
    }
}

//! The upstream key and the agents' keys appear in no byte the gateway sends or writes: its
//! answers (statuses, headers, bodies) to allowed, refused, malformed and failed calls, on REST
//! and on MCP (sessions, tool lists, previews, tool results and errors, 401s at the door), its
//! logs (every target at `TRACE`, captured with a tracing subscriber), its audit rows (as
//! queried, as `crisp-gateway audit --json` prints them, and the store's files on disk), its
//! errors and its `Debug` output. Searched for the keys and for the Basic credentials that
//! carry them; for an MCP confirmation token everywhere but the preview that hands it out; and
//! for the dashboard's admin token (signed in with, and mistyped).

mod support;

use base64::Engine as _;
use crisp_gateway::cli::audit::render;
use crisp_gateway::dashboard::{AdminToken, Dashboard};
use crisp_gateway::policy::{AgentKey, KeyFormat};
use serde_json::json;
use support::mcp::{self, Answer, Mcp};
use support::person::Person;
use support::{Captured, Harness, INBOX, TestAgent, http, policy_text};
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;

const WEBSITE: &str = crisp_sandbox::demo::WEBSITE_ID;

/// Sends `request` and keeps its whole answer: status, headers and body.
async fn send(answers: &mut Vec<String>, request: reqwest::RequestBuilder) {
    let response = request.send().await.unwrap();
    let mut text = format!("{} {:?}\n", response.status(), response.headers());
    text.push_str(&response.text().await.unwrap());
    answers.push(text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_is_in_any_answer_log_row_or_file() {
    let logs = Captured::default();
    let writer = logs.clone();
    // Every target at TRACE, less the binary's caps (which no `RUST_LOG` lifts).
    let caps = crisp_gateway::mcp::LOG_CAPS.iter().fold(
        Targets::new().with_default(LevelFilter::TRACE),
        |targets, (target, level)| targets.with_target(*target, LevelFilter::from_level(*level)),
    );
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .with_filter(caps),
    );
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let key = |format| AgentKey::generate(format).unwrap().expose().to_owned();
    let mut triage = TestAgent::new(
        "triage",
        "website:conversation:sessions=read, website:conversation:messages=read",
        WEBSITE,
    )
    .with(&format!("inboxes = [{INBOX:?}]"))
    .with("daily_budget = 8");
    triage.key = key(KeyFormat::Hex);
    let mut reply = TestAgent::new(
        "reply",
        "website:conversation:sessions=read, website:conversation:messages=read-write",
        WEBSITE,
    );
    reply.key = key(KeyFormat::Base64Url);
    let admin = key(KeyFormat::Hex);
    let dashboard = Dashboard::new(Some(AdminToken::new(&admin).unwrap()));
    let harness = Harness::with_dashboard(
        &policy_text("", &[&triage, &reply]),
        dashboard,
        "127.0.0.1:0",
    )
    .await;
    let base = harness.base_url.clone();
    let session = crisp_sandbox::demo::SESSION_ID;
    let other = support::conversations(&harness.sandbox)
        .into_iter()
        .find(|c| c.inbox.is_none())
        .unwrap()
        .session;

    let mut answers = Vec::new();
    let get = |agent: &TestAgent, path: &str| {
        http()
            .get(format!("{base}{path}"))
            .header("Authorization", agent.basic())
    };
    // Allowed, with a conversation read first; refused by each rule; malformed; failed.
    let mut wrong = reply.clone();
    wrong.key.push('!');
    let messages = format!("/website/{WEBSITE}/conversation/{session}/messages");
    let requests = [
        get(&triage, &messages),
        get(&triage, &format!("/website/{WEBSITE}/conversations/1")),
        get(&triage, &format!("/website/{WEBSITE}/conversation/{other}")),
        get(&triage, "/website/another-website/conversations/1"),
        get(&reply, &format!("/website/{WEBSITE}/settings")),
        get(
            &reply,
            &format!("/website/{WEBSITE}/conversation/session_missing"),
        ),
        http()
            .post(format!(
                "{base}/website/{WEBSITE}/conversation/{session}/message"
            ))
            .header("Authorization", reply.basic())
            .body(r#"{"type":"text","from":"operator","origin":"chat","content":"Hello"}"#),
        get(
            &reply,
            &format!("/website/{WEBSITE}/conversations/1?q={}", reply.key),
        ),
        get(
            &reply,
            &format!("/website/{WEBSITE}/conversations/1?q={}", triage.key),
        ),
        get(&wrong, &format!("/website/{WEBSITE}/settings")),
        http()
            .get(format!("{base}/website/{WEBSITE}/settings"))
            .header("Authorization", format!("Bearer {}", reply.key)),
        http()
            .get(format!("{base}/{}", triage.key))
            .header("Authorization", format!("Basic {}", reply.key)),
    ];
    // Triage reading on past its daily budget of 8 (a 429).
    let spent = (0..8).map(|_| get(&triage, &messages));
    for request in requests.into_iter().chain(spent) {
        send(&mut answers, request).await;
    }
    // Crisp failing: a proxy's HTML page, then connections dropped.
    for faults in [
        crisp_sandbox::Faults {
            bad_gateway: 1.0,
            ..Default::default()
        },
        crisp_sandbox::Faults {
            drop: 1.0,
            ..Default::default()
        },
    ] {
        harness.sandbox.set_faults(Some(faults)).unwrap();
        send(
            &mut answers,
            http()
                .post(format!(
                    "{base}/website/{WEBSITE}/conversation/{session}/message"
                ))
                .header("Authorization", reply.basic())
                .body(r#"{"type":"text","from":"operator","origin":"chat","content":"Again"}"#),
        )
        .await;
    }
    harness.sandbox.set_faults(None).unwrap();
    let tool_calls = mcp_calls(&harness, &triage, &reply, &other).await;
    let (mcp_answers, token, mcp_rows) = tool_calls;

    // The dashboard: a mistyped token and the right one, its pages, a form without its CSRF
    // token (two audit rows: the refused sign-in and the refused form).
    let mut person = Person::at(&format!("http://{}", harness.addr));
    let mistyped = format!("{admin}x");
    let mut pages = Vec::new();
    for token in [mistyped.as_str(), admin.as_str()] {
        let page = person.post("/sign-in", &[("token", token)]).await;
        pages.push(format!("{} {:?}\n{}", page.status, page.headers, page.text));
    }
    for path in ["/", "/approvals", "/audit", "/audit/export"] {
        let page = person.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        pages.push(format!("{} {:?}\n{}", page.status, page.headers, page.text));
    }
    let refused = person.post("/sign-out", &[("csrf", "")]).await;
    assert_eq!(refused.status, 403);
    pages.push(refused.text);

    let statuses: Vec<&str> = answers.iter().map(|a| &a[..3]).collect();
    for status in ["200", "401", "403", "404", "400", "429", "502"] {
        assert!(statuses.contains(&status), "{status} in {statuses:?}");
    }

    let rows = harness.rows().await;
    let mut rows_json = Vec::new();
    render(&rows, true, &mut rows_json).unwrap();
    let debug = format!(
        "{rows:?} {:?} {:?}",
        harness.gateway,
        harness.gateway.upstream()
    );
    let (sandbox, data) = harness.stop().await;
    let mut files = Vec::new();
    for entry in std::fs::read_dir(data.path()).unwrap() {
        files.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }

    let basic = |identifier: &str, key: &str| {
        base64::engine::general_purpose::STANDARD.encode(format!("{identifier}:{key}"))
    };
    let secrets = [
        ("the upstream key", sandbox.key().to_owned()),
        (
            "the upstream Basic credentials",
            basic(sandbox.identifier(), sandbox.key()),
        ),
        ("triage's key", triage.key.clone()),
        ("triage's Basic credentials", basic("triage", &triage.key)),
        ("reply's key", reply.key.clone()),
        ("reply's Basic credentials", basic("reply", &reply.key)),
        ("the admin token", admin.clone()),
        ("a mistyped admin token", mistyped.clone()),
    ];
    let logs = logs.text();
    assert!(
        logs.contains("crisp_gateway"),
        "the gateway's logs were captured"
    );
    assert!(
        logs.contains("crisp_api::audit"),
        "the upstream client's logs were captured"
    );
    // The dashboard's two: the refused sign-in and the refused form.
    assert_eq!(rows.len(), answers.len() + mcp_rows + 2);
    assert!(rows.iter().any(|r| r.front == "mcp"));
    let places = [
        ("the answers", answers.join("\n").into_bytes()),
        ("the MCP answers", mcp_answers.join("\n").into_bytes()),
        ("the dashboard's pages", pages.join("\n").into_bytes()),
        ("the logs", logs.into_bytes()),
        ("the audit rows", rows_json),
        ("the Debug output", debug.into_bytes()),
        ("the data directory's files", files),
    ];
    for (place, bytes) in &places {
        for (what, secret) in &secrets {
            assert!(!holds(bytes, secret), "{what} is in {place}");
        }
    }
    // The confirmation token is in the preview that hands it out, and nowhere else.
    assert!(mcp_answers.iter().filter(|a| a.contains(&token)).count() == 1);
    for (place, bytes) in places
        .iter()
        .filter(|(place, _)| *place != "the MCP answers")
    {
        assert!(
            !holds(bytes, &token),
            "the confirmation token is in {place}"
        );
    }
    // The search can find a key where there is one.
    assert!(holds(format!("..{}..", triage.key).as_bytes(), &triage.key));
}

/// Whether `bytes` hold `secret` anywhere.
fn holds(bytes: &[u8], secret: &str) -> bool {
    bytes
        .windows(secret.len())
        .any(|window| window == secret.as_bytes())
}

/// A whole MCP answer: status, headers and body.
fn whole(answer: &Answer) -> String {
    format!("{} {:?}\n{}", answer.status, answer.headers, answer.text)
}

/// MCP sessions of both agents: tool lists, allowed and refused calls, a preview and its
/// token, a key in the arguments, keys refused at the door. Returns every answer, the
/// confirmation token handed out, and how many audit rows the tool calls make.
async fn mcp_calls(
    harness: &Harness,
    triage: &TestAgent,
    reply: &TestAgent,
    other: &str,
) -> (Vec<String>, String, usize) {
    let url = mcp::url(harness);
    let session = crisp_sandbox::demo::SESSION_ID;
    let mut answers = Vec::new();
    let mut rows = 0;
    let mut as_triage = Mcp::new(&url, Some(&triage.key));
    answers.push(whole(&as_triage.initialize("triage-bot").await));
    let mut as_reply = Mcp::new(&url, Some(&reply.key));
    answers.push(whole(&as_reply.initialize("reply-bot").await));
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    answers.push(whole(&as_triage.post(list.clone()).await));
    answers.push(whole(&as_reply.post(list).await));
    for (mcp, tool, arguments) in [
        (&as_triage, "list_conversations", json!({})),
        (&as_triage, "get_conversation", json!({"session_id": other})),
        (
            &as_triage,
            "list_conversations",
            json!({"website_id": "another-website"}),
        ),
        (&as_triage, "send_message", json!({"session_id": session})),
        (
            &as_reply,
            "list_conversations",
            json!({"search_query": reply.key}),
        ),
        (
            &as_reply,
            "list_conversations",
            json!({"search_query": triage.key}),
        ),
        (
            &as_reply,
            "get_conversation",
            json!({"session_id": "session_missing"}),
        ),
    ] {
        answers.push(whole(&mcp.call_raw(tool, arguments).await));
        rows += 1;
    }
    let hello = json!({
        "session_id": session,
        "body": {"type": "text", "from": "operator", "origin": "chat", "content": "Hi"}
    });
    let preview = as_reply.call_raw("send_message", hello.clone()).await;
    answers.push(whole(&preview));
    let token = preview.message()["result"]["structuredContent"]["confirmation_token"]
        .as_str()
        .expect("a preview with a token")
        .to_owned();
    let mut confirmed = hello;
    confirmed["confirmation_token"] = json!(token);
    let sent = as_reply.call_raw("send_message", confirmed.clone()).await;
    assert!(sent.text.contains("dispatched"), "{}", sent.text);
    answers.push(whole(&sent));
    answers.push(whole(&as_reply.call_raw("send_message", confirmed).await));
    rows += 3;
    // At the door: a wrong key in an open session, a wrong key, a Basic header.
    let mut wrong = reply.key.clone();
    wrong.push('!');
    as_reply.client.bearer = Some(wrong.clone());
    answers.push(whole(
        &as_reply.call_raw("list_conversations", json!({})).await,
    ));
    answers.push(whole(
        &Mcp::new(&url, Some(&wrong))
            .call_raw("list_conversations", json!({}))
            .await,
    ));
    rows += 2;
    let basic = http()
        .post(&url)
        .header("Authorization", triage.basic())
        .header("content-type", "application/json")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#);
    send(&mut answers, basic).await;
    // A key in the arguments is refused (not sent on); the door's answers are 401s.
    for answer in &answers[8..=9] {
        assert!(answer.contains(r#""code":"request""#), "{answer}");
    }
    for answer in &answers[14..] {
        assert!(answer.starts_with("401"), "{answer}");
    }
    (answers, token, rows)
}

//! The MCP front over real HTTP on loopback, the sandbox as the upstream: an agent's key as
//! `Authorization: Bearer` sees exactly its tools (with their output schemas) and may call
//! them within its grants, websites and rules; the gateway's refusals are tool errors with the
//! same code and message as on REST (before any preview when the gateway can tell); a
//! customer-visible call gives a preview, then acts with the token; the budget ends with a
//! refusal carrying `retry_after`; a bad key gets 401 naming the protected-resource metadata,
//! which is served; an agent of several websites names one on every call; a reload rebuilds
//! the agents' servers and a removed key stops working at once, in its open session too
//! (approvals on MCP: `mcp_approvals.rs`). Every tool call is one audit row (front `mcp`, the
//! MCP client's name).

mod support;

use crisp_api::Operation;
use crisp_gateway::decide::effective_operations;
use crisp_gateway::policy::Policy;
use crisp_gateway::store::AuditRow;
use serde_json::{Value, json};
use support::mcp::{self, Mcp, error, is_error, structured};
use support::{Harness, INBOX, TestAgent, conversations, http, policy_text};

const WEBSITE: &str = crisp_sandbox::demo::WEBSITE_ID;
const ELSEWHERE: &str = "1b9e0c47-0000-4000-8000-00000000abcd";
const REPLY: &str = "website:conversation:sessions=read, website:conversation:messages=read-write";

/// The tools an agent of `policy` should see: its effective operations, in the spec's order.
fn expected_tools(policy: &str, name: &str) -> Vec<String> {
    let policy = Policy::parse(policy, "test.toml").unwrap();
    let agent = policy.agent(name).unwrap();
    effective_operations(agent)
        .map(|op| op.id.to_owned())
        .collect()
}

/// One audit row in short: `(agent, operation, decision, why)`.
type Short = (Option<String>, Option<String>, String, Option<String>);

/// The rows of the MCP front, oldest first, in short.
fn summary(rows: &[AuditRow]) -> Vec<Short> {
    rows.iter()
        .rev()
        .filter(|row| row.front == "mcp")
        .map(|row| {
            (
                row.agent.clone(),
                row.operation.clone(),
                row.decision.clone(),
                row.why.clone(),
            )
        })
        .collect()
}

fn row(agent: &str, operation: &str, decision: &str, why: Option<&str>) -> Short {
    (
        Some(agent.to_owned()),
        Some(operation.to_owned()),
        decision.to_owned(),
        why.map(str::to_owned),
    )
}

fn hello(session: &str) -> Value {
    json!({
        "session_id": session,
        "body": {"type": "text", "from": "operator", "origin": "chat", "content": "Through the gateway's MCP"}
    })
}

fn messages_in(harness: &Harness, session: &str) -> usize {
    harness
        .sandbox
        .fixtures()
        .conversations
        .iter()
        .find(|c| c["session_id"] == session)
        .map_or(0, |c| c["messages"].as_array().map_or(0, Vec::len))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_sees_its_tools_works_within_them_and_is_refused_as_on_rest() {
    let reply = TestAgent::new("reply", REPLY, WEBSITE);
    // Sessions at read-write with an inbox rule: create_conversation is granted, but no new
    // conversation can meet the rule, so it is not offered.
    let boxed = TestAgent::new(
        "boxed",
        "website:conversation:sessions=read-write, website:conversation:messages=read-write",
        WEBSITE,
    )
    .with(&format!("inboxes = [{INBOX:?}]"));
    let text = policy_text("", &[&reply, &boxed]);
    let harness = Harness::start(&text).await;
    let url = mcp::url(&harness);
    let as_reply = Mcp::open(&url, &reply.key, "reply-bot").await;
    let as_boxed = Mcp::open(&url, &boxed.key, "boxed-bot").await;

    // Exactly each agent's tools, each with an output schema.
    let tools = as_reply.tools().await;
    let names: Vec<String> = tools
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, expected_tools(&text, "reply"));
    for tool in &tools {
        assert_eq!(tool["outputSchema"]["type"], "object", "{}", tool["name"]);
        assert_eq!(
            tool["inputSchema"]["properties"]["website_id"]["default"],
            WEBSITE
        );
    }
    let boxed_names = as_boxed.tool_names().await;
    assert_eq!(boxed_names, expected_tools(&text, "boxed"));
    assert!(!boxed_names.contains(&"create_conversation".to_owned()));
    assert!(
        as_reply
            .instructions
            .contains("defaults to the configured website")
    );

    // A call within its grants answers what the sandbox answers.
    let before = harness.sandbox.api_requests();
    let list = as_reply
        .call("list_conversations", json!({"per_page": 20}))
        .await;
    assert!(!is_error(&list), "{list}");
    let direct = harness
        .direct()
        .call(&Operation::LIST_CONVERSATIONS)
        .path("website_id", WEBSITE)
        .path("page_number", "1")
        .query("per_page", "20")
        .send()
        .await
        .unwrap();
    assert_eq!(structured(&list)["data"], direct["data"]);
    assert_eq!(
        harness.sandbox.api_requests(),
        before + 2,
        "one through the gateway, one direct"
    );

    // A website outside its list: the same code, status, reason and message as on REST, and
    // nothing sent.
    let before = harness.sandbox.api_requests();
    let outside = as_reply
        .call("list_conversations", json!({"website_id": ELSEWHERE}))
        .await;
    assert!(is_error(&outside));
    let refused = error(&outside);
    let rest = http()
        .get(format!(
            "{}/website/{ELSEWHERE}/conversations/1",
            harness.base_url
        ))
        .header("Authorization", reply.basic())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), 403);
    let rest: Value = rest.json().await.unwrap();
    assert_eq!(refused["kind"], "refused");
    assert_eq!(refused["code"], "website");
    assert_eq!(refused["status"], 403);
    assert_eq!(refused["reason"], rest["reason"]);
    assert_eq!(refused["message"], rest["data"]["message"]);
    assert!(
        refused["hint"].as_str().unwrap().contains("policy"),
        "{refused}"
    );
    // A customer-visible call the gateway refuses anyway gets no preview and no token.
    let mut elsewhere = hello(crisp_sandbox::demo::SESSION_ID);
    elsewhere["website_id"] = json!(ELSEWHERE);
    let no_preview = as_reply.call("send_message", elsewhere).await;
    assert_eq!(error(&no_preview)["code"], "website");
    assert!(structured(&no_preview).get("confirmation_token").is_none());
    assert_eq!(harness.sandbox.api_requests(), before);

    // A customer-visible call: a preview (nothing sent), then the token acts, once.
    let session = crisp_sandbox::demo::SESSION_ID;
    let count = messages_in(&harness, session);
    let before = harness.sandbox.api_requests();
    let preview = as_reply.call("send_message", hello(session)).await;
    assert!(!is_error(&preview), "{preview}");
    assert_eq!(structured(&preview)["confirmation_required"], true);
    let token = structured(&preview)["confirmation_token"].clone();
    assert!(token.is_string());
    assert_eq!(
        harness.sandbox.api_requests(),
        before,
        "the preview sent nothing"
    );
    let mut confirmed = hello(session);
    confirmed["confirmation_token"] = token;
    let sent = as_reply.call("send_message", confirmed.clone()).await;
    assert!(!is_error(&sent), "{sent}");
    assert_eq!(structured(&sent)["reason"], "dispatched");
    assert!(structured(&sent)["data"]["fingerprint"].is_u64());
    assert_eq!(messages_in(&harness, session), count + 1);
    let again = as_reply.call("send_message", confirmed).await;
    assert_eq!(error(&again)["code"], "unknown_token");
    assert_eq!(messages_in(&harness, session), count + 1);

    // Crisp's own error is a tool error with its status and reason.
    let missing = as_reply
        .call("get_conversation", json!({"session_id": "session_missing"}))
        .await;
    assert!(is_error(&missing));
    assert_eq!(
        (
            &error(&missing)["kind"],
            &error(&missing)["status"],
            &error(&missing)["reason"]
        ),
        (&json!("api"), &json!(404), &json!("not_found"))
    );

    // Resource rules: a conversation outside the agent's inbox is refused when read; once its
    // facts are known, a reply to it is refused before any preview.
    let outside = conversations(&harness.sandbox)
        .into_iter()
        .find(|c| c.inbox.is_none())
        .unwrap()
        .session;
    let read = as_boxed
        .call("get_conversation", json!({"session_id": outside}))
        .await;
    assert_eq!(error(&read)["code"], "inbox", "{read}");
    let before = harness.sandbox.api_requests();
    let reply_outside = as_boxed.call("send_message", hello(&outside)).await;
    assert_eq!(error(&reply_outside)["code"], "inbox", "{reply_outside}");
    assert!(
        structured(&reply_outside)
            .get("confirmation_token")
            .is_none()
    );
    let hidden = as_boxed.call("create_conversation", json!({})).await;
    assert_eq!(error(&hidden)["code"], "not_offered", "{hidden}");
    let bad = as_boxed
        .call("send_message", json!({"session_id": 7}))
        .await;
    assert_eq!(error(&bad)["code"], "invalid_arguments");
    assert_eq!(
        harness.sandbox.api_requests(),
        before,
        "nothing sent for these"
    );

    // One row per tool call, with the agent, the front, the client and the decision.
    let rows = harness.rows().await;
    assert_eq!(
        summary(&rows),
        [
            row("reply", "list_conversations", "allowed", None),
            row("reply", "list_conversations", "refused", Some("website")),
            row("reply", "send_message", "refused", Some("website")),
            row("reply", "send_message", "awaiting_confirmation", None),
            row("reply", "send_message", "confirmed", None),
            row("reply", "send_message", "refused", Some("unknown_token")),
            row("reply", "get_conversation", "allowed", None),
            row("boxed", "get_conversation", "refused", Some("inbox")),
            row("boxed", "send_message", "refused", Some("inbox")),
            row(
                "boxed",
                "create_conversation",
                "refused",
                Some("not_offered")
            ),
            row(
                "boxed",
                "send_message",
                "refused",
                Some("invalid_arguments")
            ),
        ]
    );
    let mcp_rows: Vec<&AuditRow> = rows.iter().filter(|r| r.front == "mcp").collect();
    assert!(
        mcp_rows
            .iter()
            .all(|r| r.key_id.as_deref().is_some_and(|k| k.len() == 8))
    );
    let clients: Vec<&str> = mcp_rows
        .iter()
        .filter_map(|r| r.client.as_deref())
        .collect();
    assert_eq!(clients.len(), mcp_rows.len(), "every row names its client");
    assert!(
        clients
            .iter()
            .all(|c| *c == "reply-bot" || *c == "boxed-bot")
    );
    let confirmed = mcp_rows.iter().find(|r| r.decision == "confirmed").unwrap();
    assert_eq!(
        (
            confirmed.status,
            confirmed.outcome.as_deref(),
            confirmed.upstream_requests
        ),
        (Some(200), Some("succeeded"), 1)
    );
    let website = mcp_rows
        .iter()
        .find(|r| r.why.as_deref() == Some("website"))
        .unwrap();
    assert_eq!(
        (website.status, website.reason.as_deref()),
        (Some(403), Some("not_allowed"))
    );
    assert_eq!(website.outcome.as_deref(), Some("not_sent"));
    // Every upstream request is in a row (the REST call of the comparison included).
    let spent: u64 = rows.iter().map(|r| u64::from(r.upstream_requests)).sum();
    assert_eq!(
        spent + 1,
        harness.sandbox.api_requests(),
        "all but the direct call"
    );
    harness.stop().await;
}

#[tokio::test]
async fn the_budget_ends_with_a_refusal_that_carries_retry_after() {
    let thrifty = TestAgent::new("thrifty", "website:conversation:sessions=read", WEBSITE)
        .with("daily_budget = 2");
    let harness = Harness::start(&policy_text("", &[&thrifty])).await;
    let as_thrifty = Mcp::open(&mcp::url(&harness), &thrifty.key, "thrifty-bot").await;
    for _ in 0..2 {
        let list = as_thrifty.call("list_conversations", json!({})).await;
        assert!(!is_error(&list), "{list}");
    }
    let spent = as_thrifty.call("list_conversations", json!({})).await;
    assert!(is_error(&spent));
    let refused = error(&spent);
    assert_eq!(refused["code"], "budget", "{refused}");
    assert_eq!(
        (&refused["status"], &refused["reason"]),
        (&json!(429), &json!("rate_limited"))
    );
    let wait = refused["retry_after"].as_u64().unwrap();
    assert!((1..=86_400).contains(&wait), "{wait}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("daily budget of 2")
    );
    assert_eq!(harness.sandbox.api_requests(), 2);
    let rows = harness.rows().await;
    assert_eq!(
        summary(&rows),
        [
            row("thrifty", "list_conversations", "allowed", None),
            row("thrifty", "list_conversations", "allowed", None),
            row("thrifty", "list_conversations", "refused", Some("budget")),
        ]
    );
    harness.stop().await;
}

#[tokio::test]
async fn a_bad_key_gets_401_naming_the_metadata_which_is_served() {
    let reply = TestAgent::new("reply", REPLY, WEBSITE);
    let harness = Harness::start(&policy_text("", &[&reply])).await;
    let url = mcp::url(&harness);
    let metadata_url = format!(
        "http://{}/.well-known/oauth-protected-resource/mcp",
        harness.addr
    );
    let call = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "list_conversations", "arguments": {}}
    });
    let mut wrong = reply.key.clone();
    wrong.push('x');
    for key in [None, Some(wrong.as_str()), Some("")] {
        let answer = Mcp::new(&url, key).post(call.clone()).await;
        assert_eq!(answer.status, 401, "{key:?}: {}", answer.text);
        let challenge = answer.headers["www-authenticate"].to_str().unwrap();
        assert_eq!(
            challenge,
            format!("Bearer resource_metadata=\"{metadata_url}\"")
        );
        assert!(!answer.text.contains(&reply.key));
    }
    // A Basic header is REST's: on /mcp it is no key.
    let basic = http()
        .post(&url)
        .header("Authorization", reply.basic())
        .header("content-type", "application/json")
        .body(call.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let document: Value = http()
            .get(format!("http://{}{path}", harness.addr))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(document["resource"], url, "{path}");
        assert_eq!(document["bearer_methods_supported"], json!(["header"]));
    }
    assert_eq!(harness.sandbox.api_requests(), 0);
    // Each tool call refused at the door is a row: the `auth` rule, no agent.
    let rows = harness.rows().await;
    assert_eq!(rows.len(), 4, "{rows:?}");
    for row in &rows {
        assert_eq!((row.front.as_str(), row.agent.as_deref()), ("mcp", None));
        assert_eq!(
            (row.decision.as_str(), row.why.as_deref()),
            ("refused", Some("auth"))
        );
        assert_eq!(
            (row.status, row.reason.as_deref()),
            (Some(401), Some("invalid_session"))
        );
        assert_eq!(row.operation.as_deref(), Some("list_conversations"));
    }
    harness.stop().await;
}

#[tokio::test]
async fn an_agent_of_several_websites_names_one_on_every_call() {
    let mut two = TestAgent::new("two", "website:conversation:sessions=read", WEBSITE);
    two.websites.push(ELSEWHERE.to_owned());
    let harness = Harness::start(&policy_text("", &[&two])).await;
    let as_two = Mcp::open(&mcp::url(&harness), &two.key, "two-bot").await;
    assert!(
        as_two.instructions.contains("no default website"),
        "{}",
        as_two.instructions
    );
    for tool in as_two.tools().await {
        let schema = &tool["inputSchema"];
        assert!(
            schema["properties"]["website_id"].get("default").is_none(),
            "{tool}"
        );
        assert!(
            schema["required"]
                .as_array()
                .unwrap()
                .contains(&json!("website_id")),
            "{tool}"
        );
    }
    let unnamed = as_two.call("list_conversations", json!({})).await;
    assert_eq!(error(&unnamed)["code"], "invalid_arguments");
    let message = error(&unnamed)["message"].as_str().unwrap();
    assert!(message.contains("`website_id` is required"), "{message}");
    assert_eq!(harness.sandbox.api_requests(), 0);
    let named = as_two
        .call("list_conversations", json!({"website_id": WEBSITE}))
        .await;
    assert!(!is_error(&named), "{named}");
    let third = as_two
        .call("list_conversations", json!({"website_id": "third-website"}))
        .await;
    assert_eq!(error(&third)["code"], "website");
    assert_eq!(harness.sandbox.api_requests(), 1);
    harness.stop().await;
}

#[tokio::test]
async fn a_reload_rebuilds_the_servers_and_a_removed_key_stops_in_its_open_session() {
    let gone = TestAgent::new("gone", "website:conversation:sessions=read", WEBSITE);
    let stays = TestAgent::new("stays", "website:conversation:sessions=read", WEBSITE);
    let harness = Harness::start(&policy_text("", &[&gone, &stays])).await;
    let url = mcp::url(&harness);
    let as_gone = Mcp::open(&url, &gone.key, "gone-bot").await;
    let as_stays = Mcp::open(&url, &stays.key, "stays-bot").await;
    assert!(!is_error(
        &as_gone.call("list_conversations", json!({})).await
    ));
    let before: Vec<String> = as_stays.tool_names().await;
    assert!(!before.contains(&"send_message".to_owned()));

    // `gone` is removed; `stays` may now send messages, without confirmation.
    let grown = TestAgent::new("stays", REPLY, WEBSITE).with("confirm = \"never\"");
    let text = policy_text("", &[&grown]);
    harness
        .gateway
        .reload(Policy::parse(&text, "test.toml").unwrap());

    let refused = as_gone.call_raw("list_conversations", json!({})).await;
    assert_eq!(
        refused.status, 401,
        "the removed key, in its open session: {}",
        refused.text
    );
    let mut again = Mcp::new(&url, Some(&gone.key));
    assert_eq!(again.initialize("gone-bot").await.status, 401);

    // Its open session keeps its server; a call is decided with the policy in force.
    assert_eq!(as_stays.tool_names().await, before);
    assert!(!is_error(
        &as_stays.call("list_conversations", json!({})).await
    ));
    // A new session has the agent's new tools and setting: no preview, sent at once.
    let renewed = Mcp::open(&url, &stays.key, "stays-bot").await;
    assert_eq!(renewed.tool_names().await, expected_tools(&text, "stays"));
    let session = crisp_sandbox::demo::SESSION_ID;
    let count = messages_in(&harness, session);
    let sent = renewed.call("send_message", hello(session)).await;
    assert!(!is_error(&sent), "{sent}");
    assert_eq!(messages_in(&harness, session), count + 1);

    let rows = harness.rows().await;
    let summary = summary(&rows);
    assert_eq!(summary.len(), 4, "{summary:?}");
    assert_eq!(
        summary[0],
        row("gone", "list_conversations", "allowed", None)
    );
    assert_eq!(
        summary[1],
        (
            None,
            Some("list_conversations".to_owned()),
            "refused".to_owned(),
            Some("auth".to_owned())
        )
    );
    assert_eq!(
        summary[2],
        row("stays", "list_conversations", "allowed", None)
    );
    assert_eq!(summary[3], row("stays", "send_message", "allowed", None));
    harness.stop().await;
}

//! Approvals on the MCP front, over real HTTP on loopback with the sandbox as the upstream: a
//! call the agent may only propose asks for no confirmation token (even with `confirm =
//! "always"`) and is answered with a tool result, not an error: nothing sent, the approval id,
//! and a preview of exactly the stored request with the message as the customer will see it;
//! the `approval_status` tool (listed only for agents that have approvals) follows it to
//! `approved` with Crisp's answer once a person approves (the sandbox then has the message
//! once), or `denied` with the reviewer's note; every step is an audit row.

mod support;

use crisp_gateway::store::AuditRow;
use serde_json::{Value, json};
use support::approvals::{alice, copies, now_ms};
use support::mcp::{self, Mcp, error, is_error, structured};
use support::{Harness, TestAgent, policy_text, surely};

const WEBSITE: &str = crisp_sandbox::demo::WEBSITE_ID;
const REPLY: &str = "website:conversation:sessions=read, website:conversation:messages=read-write";

fn message(session: &str, text: &str) -> Value {
    json!({
        "session_id": session,
        "body": {"type": "text", "from": "operator", "origin": "chat", "content": text}
    })
}

/// The MCP front's rows, oldest first: `(operation, decision)`.
fn mcp_rows(rows: &[AuditRow]) -> Vec<(String, String)> {
    rows.iter()
        .rev()
        .filter(|row| row.front == "mcp")
        .map(|row| {
            (
                row.operation.clone().unwrap_or_default(),
                row.decision.clone(),
            )
        })
        .collect()
}

/// The tool `name` as listed.
fn listed<'a>(tools: &'a [Value], name: &str) -> &'a Value {
    tools
        .iter()
        .find(|tool| tool["name"] == name)
        .unwrap_or_else(|| panic!("{name} is listed"))
}

/// `approval_status` of `id`: the tool's result.
async fn status(agent: &Mcp, id: &str) -> Value {
    agent
        .call("approval_status", json!({"approval_id": id}))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proposal_is_a_result_with_its_preview_and_approval_status_follows_it() {
    // `confirm` is left at its default, "always".
    let reply = TestAgent::new("reply", REPLY, WEBSITE).with("approve = [\"send_message\"]");
    let harness = Harness::start(&policy_text("", &[&reply])).await;
    let as_reply = Mcp::open(&mcp::url(&harness), &reply.key, "reply-bot").await;
    let session = support::conversations(&harness.sandbox)[0].session.clone();

    let tools = as_reply.tools().await;
    let send = listed(&tools, "send_message");
    assert!(
        send["inputSchema"]["properties"]
            .get("confirmation_token")
            .is_none(),
        "one step: no token for a call that is only proposed: {send}"
    );
    assert!(
        send["description"]
            .as_str()
            .unwrap()
            .contains("held for a person's approval")
    );
    let branches = send["outputSchema"]["anyOf"].as_array().unwrap();
    assert!(
        branches.iter().any(|b| b["required"]
            .as_array()
            .is_some_and(|r| r.contains(&json!("approval_id")))),
        "the output schema allows the proposed shape: {send}"
    );
    let status_tool = listed(&tools, "approval_status");
    assert_eq!(status_tool["annotations"]["readOnlyHint"], true);

    // Proposed: a result, nothing sent.
    let text = "Your refund was approved.\nIt reaches you <b>today</b>.";
    let before = harness.sandbox.api_requests();
    let proposed = as_reply.call("send_message", message(&session, text)).await;
    assert!(!is_error(&proposed), "a result, not an error: {proposed}");
    let held = structured(&proposed);
    assert_eq!(held["approval_required"], true, "{held}");
    assert_eq!(held["status"], "pending");
    let id = held["approval_id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32, "{held}");
    assert_eq!(
        held["request"],
        json!({
            "method": "POST",
            "path": format!("/website/{WEBSITE}/conversation/{session}/message"),
            "query": {},
            "body": message(&session, text)["body"],
        })
    );
    assert_eq!(held["expires_in_seconds"], 24 * 3600);
    let shown = proposed["content"][0]["text"].as_str().unwrap();
    assert!(
        shown.contains("The customer will see:\n    Your refund was approved.\n    It reaches you <b>today</b>."),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("\"approval_id\": \"{id}\"")),
        "{shown}"
    );
    assert_eq!(harness.sandbox.api_requests(), before, "nothing was sent");
    assert_eq!(copies(&harness.sandbox, &session, text).await, 0);

    let pending = status(&as_reply, &id).await;
    assert!(!is_error(&pending), "{pending}");
    assert_eq!(structured(&pending)["status"], "pending");
    assert_eq!(structured(&pending)["answer"], Value::Null);

    // A person approves: sent once, and the status carries Crisp's answer.
    let sent = surely(
        "the approval",
        harness.gateway.approve(&id, &alice(), None, now_ms()),
    )
    .await
    .expect("approved and sent");
    assert!(sent.outcome.is_success(), "{:?}", sent.outcome);
    assert_eq!(copies(&harness.sandbox, &session, text).await, 1);
    let approved = status(&as_reply, &id).await;
    let data = structured(&approved);
    assert_eq!(data["status"], "approved", "{approved}");
    assert_eq!(data["answer"]["status"], 200);
    assert_eq!(data["answer"]["error"], false);
    assert_eq!(data["answer"]["reason"], sent.outcome.envelope()["reason"]);
    assert_eq!(data["answer"]["data"], sent.outcome.envelope()["data"]);
    let said = approved["content"][0]["text"].as_str().unwrap();
    assert!(said.contains(": approved."), "{said}");
    assert!(said.contains("Crisp answered"), "{said}");

    // Another proposal, denied with a note: the agent reads the note; nothing is sent.
    let other = "A second answer, not wanted.";
    let proposed = as_reply
        .call("send_message", message(&session, other))
        .await;
    let denied_id = structured(&proposed)["approval_id"]
        .as_str()
        .unwrap()
        .to_owned();
    harness
        .gateway
        .deny(&denied_id, &alice(), Some("Too early".into()), now_ms())
        .await
        .expect("denied");
    let denied = status(&as_reply, &denied_id).await;
    assert_eq!(structured(&denied)["status"], "denied", "{denied}");
    assert_eq!(structured(&denied)["note"], "Too early");
    assert!(
        denied["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Note: Too early")
    );
    assert_eq!(copies(&harness.sandbox, &session, other).await, 0);

    // An id that is none of its approvals: a tool error, as REST's 404.
    let unknown = status(&as_reply, "0123456789abcdef0123456789abcdef").await;
    assert!(is_error(&unknown));
    assert_eq!(
        (&error(&unknown)["code"], &error(&unknown)["status"]),
        (&json!("not_found"), &json!(404)),
        "{unknown}"
    );
    let bad = as_reply.call("approval_status", json!({})).await;
    assert_eq!(error(&bad)["code"], "invalid_arguments", "{bad}");

    let rows = harness.rows().await;
    let pair = |op: &str, decision: &str| (op.to_owned(), decision.to_owned());
    assert_eq!(
        mcp_rows(&rows),
        [
            pair("send_message", "proposed"),
            pair("approval_status", "allowed"),
            pair("approval_status", "allowed"),
            pair("send_message", "proposed"),
            pair("approval_status", "allowed"),
            pair("approval_status", "refused"),
            pair("approval_status", "refused"),
        ]
    );
    harness.stop().await;
}

#[tokio::test]
async fn approval_status_is_listed_only_for_an_agent_that_has_approvals() {
    let plain = TestAgent::new("plain", REPLY, WEBSITE);
    let harness = Harness::start(&policy_text("", &[&plain])).await;
    let as_plain = Mcp::open(&mcp::url(&harness), &plain.key, "plain-bot").await;
    let tools = as_plain.tools().await;
    assert!(!tools.iter().any(|tool| tool["name"] == "approval_status"));
    // Its send_message still waits for a confirmation token.
    assert!(
        listed(&tools, "send_message")["inputSchema"]["properties"]["confirmation_token"]
            .is_object()
    );
    let call = status(&as_plain, "0123456789abcdef0123456789abcdef").await;
    assert_eq!(error(&call)["code"], "unknown_tool", "{call}");
    harness.stop().await;
}

//! Every tool error carries the same structured error, `{"error": {kind, code, status, reason,
//! message, hint}}`, whether the server refused the call itself or the client layer ended it;
//! and a message's content is checked against its type before a preview or a send.

mod support;

use crisp_mcp::{Caller, hugo::HugoRequest};
use crisp_sandbox::demo;
use serde_json::{Value, json};
use support::{Options, args, harness, is_error, messages_in, structured, text};

fn stdio() -> Caller {
    Caller::new("stdio", Some("test-agent".to_owned()))
}

fn message(kind: &str, content: Value) -> Value {
    json!({
        "session_id": demo::SESSION_ID,
        "body": {"type": kind, "from": "operator", "origin": "chat", "content": content}
    })
}

/// The structured error of a refusal by the server: its code, the text's message, a hint,
/// and no status or reason (nothing reached Crisp).
fn assert_refused(result: &rmcp::model::CallToolResult, code: &str) {
    assert!(is_error(result), "{}", text(result));
    let error = &structured(result)["error"];
    assert_eq!(error["kind"], "refused", "{error}");
    assert_eq!(error["code"], code, "{error}");
    assert_eq!(error["message"], text(result), "{error}");
    assert!(
        error["hint"].as_str().is_some_and(|h| !h.is_empty()),
        "{error}"
    );
    assert!(
        error["status"].is_null() && error["reason"].is_null(),
        "{error}"
    );
}

#[tokio::test]
async fn the_server_s_refusals_carry_a_structured_error_with_their_code() {
    let h = harness(Options {
        grants: Some("website:conversation:sessions=read, website:conversation:messages=write"),
        ..Options::default()
    })
    .await;
    let granted_out = h
        .server
        .call(
            "remove_conversation",
            args(json!({"session_id": demo::SESSION_ID})),
            &stdio(),
        )
        .await;
    assert_refused(&granted_out, "not_granted");
    assert!(
        structured(&granted_out)["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("--grants")
    );

    let unknown = h.server.call("no_such_tool", None, &stdio()).await;
    assert_refused(&unknown, "unknown_tool");

    let invalid = h
        .server
        .call("get_conversation", args(json!({})), &stdio())
        .await;
    assert_refused(&invalid, "invalid_arguments");

    let mut forged = message("text", json!("hello"));
    forged["confirmation_token"] = json!("not-a-token");
    let token = h.server.call("send_message", args(forged), &stdio()).await;
    assert_refused(&token, "unknown_token");

    let preview = h
        .server
        .call("send_message", args(message("text", json!("a"))), &stdio())
        .await;
    let mut other = message("text", json!("b"));
    other["confirmation_token"] = structured(&preview)["confirmation_token"].clone();
    let mismatch = h.server.call("send_message", args(other), &stdio()).await;
    assert_refused(&mismatch, "token_mismatch");

    let hugo = stdio().with_hugo(Some(HugoRequest {
        website_id: demo::WEBSITE_ID.to_owned(),
        session_id: None,
    }));
    let elsewhere = h
        .server
        .call(
            "get_conversation",
            args(json!({"website_id": "another-website", "session_id": demo::SESSION_ID})),
            &hugo,
        )
        .await;
    assert_refused(&elsewhere, "website_mismatch");

    // Each refusal's audit line has the same code.
    let refusals: Vec<Value> = h
        .audit
        .parsed()
        .into_iter()
        .filter_map(|line| line.get("refusal").cloned())
        .collect();
    assert_eq!(
        refusals,
        [
            "not_granted",
            "unknown_tool",
            "invalid_arguments",
            "unknown_token",
            "token_mismatch",
            "website_mismatch"
        ]
    );
    assert_eq!(h.sandbox.api_requests(), 0, "nothing reached the sandbox");
}

#[tokio::test]
async fn an_error_from_crisp_has_the_same_shape_with_no_refusal_code() {
    let h = harness(Options::default()).await;
    let missing = h
        .server
        .call(
            "get_conversation",
            args(json!({"session_id": "session_00000000-0000-4000-8000-000000000000"})),
            &stdio(),
        )
        .await;
    assert!(is_error(&missing));
    let error = &structured(&missing)["error"];
    assert_eq!(error["kind"], "api", "{error}");
    assert!(error["code"].is_null(), "sent, so not a refusal: {error}");
    assert_eq!(error["status"], 404, "{error}");
    for field in ["reason", "message", "hint"] {
        assert!(error[field].is_string(), "{field}: {error}");
    }
}

#[tokio::test]
async fn a_message_s_content_must_fit_its_type_before_a_preview() {
    let h = harness(Options::default()).await;
    let before = messages_in(&h.sandbox, demo::SESSION_ID);
    let cases = [
        (
            message("text", json!({"text": "hi"})),
            "`body.content` of a `text` message is a string, such as \"content\": \"Hello\", not an object",
        ),
        (
            message("note", json!(["hi"])),
            "`body.content` of a `note` message is a string",
        ),
        (
            message("file", json!("invoice.pdf")),
            "`body.content` of a `file` message is an object",
        ),
        (
            message(
                "file",
                json!({"name": "invoice.pdf", "type": "application/pdf"}),
            ),
            "`body.content` does not fit a `file` message: missing field `url`",
        ),
    ];
    for (arguments, expected) in cases {
        let result = h
            .server
            .call("send_message", args(arguments.clone()), &stdio())
            .await;
        assert_refused(&result, "invalid_arguments");
        let said = text(&result);
        assert!(
            said.starts_with("Invalid arguments for `send_message`: ") && said.contains(expected),
            "{arguments}: {said}"
        );
        assert!(
            structured(&result).get("confirmation_token").is_none(),
            "no preview, no token"
        );
    }
    // Content that fits its type gets its preview, and with the token it is sent.
    for arguments in [
        message("text", json!("hi")),
        message(
            "file",
            json!({"name": "a.pdf", "url": "https://example.com/a.pdf", "type": "application/pdf"}),
        ),
    ] {
        let preview = h
            .server
            .call("send_message", args(arguments.clone()), &stdio())
            .await;
        let token = structured(&preview)["confirmation_token"].clone();
        assert!(token.is_string(), "{}", text(&preview));
        let mut confirmed = arguments;
        confirmed["confirmation_token"] = token;
        let sent = h
            .server
            .call("send_message", args(confirmed), &stdio())
            .await;
        assert!(!is_error(&sent), "{}", text(&sent));
    }
    assert_eq!(messages_in(&h.sandbox, demo::SESSION_ID), before + 2);
    assert_eq!(
        h.sandbox.api_requests(),
        2,
        "only the two that fit were sent"
    );
}

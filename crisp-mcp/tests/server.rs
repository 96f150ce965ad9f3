//! The server's decisions, in-process against a sandbox reached over HTTP on loopback: tools
//! listed within the grants, refusals with no request to Crisp, argument validation, the
//! confirmation flow, results and errors, the Hugo website binding, and the audit lines.

mod support;

use crisp_api::{Grants, Operation};
use crisp_mcp::{Caller, hugo::HugoRequest};
use crisp_sandbox::demo;
use serde_json::{Value, json};
use support::{Options, args, harness, has_conversation, is_error, messages_in, structured, text};

const READ_AND_MESSAGES: &str =
    "website:conversation:sessions=read, website:conversation:messages=read-write";

fn stdio() -> Caller {
    Caller::new("stdio", Some("test-agent".to_owned()))
}

fn hello(content: &str) -> Value {
    json!({
        "session_id": demo::SESSION_ID,
        "body": {"type": "text", "from": "operator", "origin": "chat", "content": content}
    })
}

#[tokio::test]
async fn only_the_granted_tools_are_listed() {
    let h = harness(Options {
        grants: Some(READ_AND_MESSAGES),
        ..Options::default()
    })
    .await;
    let listed: Vec<String> = h
        .server
        .tools()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    let grants: Grants = READ_AND_MESSAGES.parse().unwrap();
    let expected: Vec<&str> = grants.allowed_operations().map(|op| op.id).collect();
    assert_eq!(listed, expected);
    assert!(listed.contains(&"send_message".to_owned()));
    assert!(!listed.contains(&"remove_conversation".to_owned()));

    let all = harness(Options::default()).await;
    assert_eq!(all.server.tools().len(), Operation::ALL.len());
}

#[tokio::test]
async fn a_read_returns_crisp_s_data() {
    let h = harness(Options::default()).await;
    let result = h
        .server
        .call(
            "list_conversations",
            args(json!({"filter_not_resolved": 1})),
            &stdio(),
        )
        .await;
    assert!(!is_error(&result), "{}", text(&result));
    let data = &structured(&result)["data"];
    let conversations = data.as_array().expect("a list");
    assert!(!conversations.is_empty());
    assert!(conversations.iter().all(|c| c["state"] != "resolved"));
    assert!(text(&result).starts_with("list_conversations succeeded: "));
    assert_eq!(h.sandbox.api_requests(), 1);
    let line = h.audit.last();
    assert_eq!(line["tool"], "list_conversations");
    assert_eq!(line["client"], "test-agent");
    assert_eq!(line["transport"], "stdio");
    assert_eq!(line["decision"], "allowed");
    assert_eq!(line["outcome"], "succeeded");
    assert_eq!(line["status"], 200);
    assert_eq!(line["attempts"], 1);
    assert_eq!(line["path_ids"]["website_id"], demo::WEBSITE_ID);
    assert_eq!(line["path_ids"]["page_number"], "1", "the default page");
}

#[tokio::test]
async fn calls_outside_the_grants_are_refused_with_no_request() {
    let h = harness(Options {
        grants: Some(READ_AND_MESSAGES),
        ..Options::default()
    })
    .await;
    let result = h
        .server
        .call(
            "remove_conversation",
            args(json!({"session_id": demo::SESSION_ID})),
            &stdio(),
        )
        .await;
    assert!(is_error(&result));
    let message = text(&result);
    assert!(message.starts_with("Refused"), "{message}");
    assert!(
        message.contains("website:conversation:sessions=write"),
        "{message}"
    );
    let line = h.audit.last();
    assert_eq!(line["decision"], "refused");
    assert_eq!(line["refusal"], "not_granted");
    assert_eq!(line["attempts"], 0);

    let unknown = h.server.call("../../etc/passwd", None, &stdio()).await;
    assert!(is_error(&unknown));
    assert_eq!(h.audit.last()["refusal"], "unknown_tool");
    assert_eq!(h.sandbox.api_requests(), 0, "nothing reached the sandbox");
    assert!(has_conversation(&h.sandbox, demo::SESSION_ID));
}

#[tokio::test]
async fn invalid_arguments_are_refused_naming_the_argument() {
    let h = harness(Options::default()).await;
    let cases = [
        ("get_conversation", json!({}), "session_id"),
        ("get_conversation", json!({"session_id": 7}), "session_id"),
        (
            "get_conversation",
            json!({"session_id": demo::SESSION_ID, "sesion": 1}),
            "sesion",
        ),
        ("list_conversations", json!({"per_page": 500}), "per_page"),
        (
            "send_message",
            json!({"session_id": demo::SESSION_ID, "body": {"type": "text"}}),
            "from",
        ),
        (
            "send_message",
            json!({"session_id": demo::SESSION_ID, "body": {"type": "shout", "from": "operator", "origin": "chat", "content": "x"}}),
            "body.type",
        ),
    ];
    for (tool, arguments, named) in cases {
        let result = h.server.call(tool, args(arguments.clone()), &stdio()).await;
        assert!(is_error(&result), "{tool} {arguments}");
        let message = text(&result);
        assert!(
            message.starts_with(&format!("Invalid arguments for `{tool}`")),
            "{message}"
        );
        assert!(message.contains(named), "{tool} {arguments}: {message}");
        assert_eq!(h.audit.last()["refusal"], "invalid_arguments");
    }
    // Unsafe ids pass the schema (they are strings) and are refused as the client would
    // refuse them, naming the parameter.
    for id in ["..", ".", "a\\b", "a\nb", &"x".repeat(100_000)] {
        let result = h
            .server
            .call(
                "get_conversation",
                args(json!({"session_id": id})),
                &stdio(),
            )
            .await;
        assert!(is_error(&result));
        assert!(
            text(&result).starts_with("Invalid arguments for `get_conversation`: `session_id`: "),
            "{}",
            text(&result)
        );
        let line = h.audit.last();
        assert_eq!(line["refusal"], "invalid_arguments");
        assert!(line["path_ids"]["session_id"].as_str().unwrap().len() <= 256);
    }
    assert_eq!(h.sandbox.api_requests(), 0);
}

#[tokio::test]
async fn a_customer_visible_call_waits_for_its_one_time_token() {
    let h = harness(Options::default()).await;
    let before = messages_in(&h.sandbox, demo::SESSION_ID);
    let arguments = hello("Your order has shipped (mcp test)");

    // 1. A preview, a token, and nothing sent.
    let preview = h
        .server
        .call("send_message", args(arguments.clone()), &stdio())
        .await;
    assert!(!is_error(&preview), "{}", text(&preview));
    let shown = structured(&preview);
    assert_eq!(shown["confirmation_required"], true);
    assert_eq!(shown["effect"], "customer-visible");
    assert_eq!(shown["request"]["method"], "POST");
    assert_eq!(
        shown["request"]["path"],
        format!(
            "/website/{}/conversation/{}/message",
            demo::WEBSITE_ID,
            demo::SESSION_ID
        )
    );
    assert_eq!(shown["request"]["body"], arguments["body"]);
    let token = shown["confirmation_token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 64);
    assert!(text(&preview).starts_with("NOT DONE"));
    assert!(text(&preview).contains("Your order has shipped (mcp test)"));
    assert_eq!(h.sandbox.api_requests(), 0);
    assert_eq!(messages_in(&h.sandbox, demo::SESSION_ID), before);
    assert_eq!(h.audit.last()["decision"], "awaiting_confirmation");

    // 2. With the token: sent, once.
    let mut confirmed = arguments.clone();
    confirmed["confirmation_token"] = json!(token);
    let sent = h
        .server
        .call("send_message", args(confirmed.clone()), &stdio())
        .await;
    assert!(!is_error(&sent), "{}", text(&sent));
    assert_eq!(h.sandbox.api_requests(), 1);
    assert_eq!(messages_in(&h.sandbox, demo::SESSION_ID), before + 1);
    let line = h.audit.last();
    assert_eq!(line["decision"], "confirmed");
    assert_eq!(line["outcome"], "succeeded");
    assert_eq!(line["path_ids"]["session_id"], demo::SESSION_ID);

    // 3. The token works once.
    let again = h
        .server
        .call("send_message", args(confirmed), &stdio())
        .await;
    assert!(is_error(&again));
    assert!(text(&again).contains("unknown"), "{}", text(&again));
    assert_eq!(h.audit.last()["refusal"], "unknown_token");

    // 4. A token is bound to its arguments and its tool.
    let preview = h
        .server
        .call("send_message", args(arguments.clone()), &stdio())
        .await;
    let token = structured(&preview)["confirmation_token"].clone();
    let mut changed = hello("Something else entirely");
    changed["confirmation_token"] = token;
    let refused = h.server.call("send_message", args(changed), &stdio()).await;
    assert!(is_error(&refused));
    assert_eq!(h.audit.last()["refusal"], "token_mismatch");
    let preview = h
        .server
        .call("send_message", args(arguments), &stdio())
        .await;
    let token = structured(&preview)["confirmation_token"].clone();
    let other_tool = h
        .server
        .call(
            "remove_conversation",
            args(json!({"session_id": demo::SESSION_ID, "confirmation_token": token})),
            &stdio(),
        )
        .await;
    assert!(is_error(&other_tool));
    assert_eq!(h.audit.last()["refusal"], "token_mismatch");

    assert_eq!(
        h.sandbox.api_requests(),
        1,
        "only the confirmed call was sent"
    );
    assert_eq!(messages_in(&h.sandbox, demo::SESSION_ID), before + 1);
    // The audit never holds a token or a body.
    let audit = h.audit.text();
    assert!(!audit.contains(token.as_str().unwrap()));
    assert!(!audit.contains("Your order has shipped"));
    assert!(!audit.contains(h.sandbox.key()));
}

#[tokio::test]
async fn an_irreversible_call_previews_what_it_deletes() {
    let h = harness(Options::default()).await;
    let arguments = json!({"session_id": demo::SESSION_ID});
    let preview = h
        .server
        .call("remove_conversation", args(arguments.clone()), &stdio())
        .await;
    let shown = structured(&preview);
    assert_eq!(shown["effect"], "irreversible");
    assert_eq!(shown["request"]["method"], "DELETE");
    assert!(text(&preview).contains("deletes what it names for good"));
    assert!(has_conversation(&h.sandbox, demo::SESSION_ID));
    let mut confirmed = arguments.clone();
    confirmed["confirmation_token"] = shown["confirmation_token"].clone();
    let removed = h
        .server
        .call("remove_conversation", args(confirmed), &stdio())
        .await;
    assert!(!is_error(&removed), "{}", text(&removed));
    assert!(!has_conversation(&h.sandbox, demo::SESSION_ID));

    // A read of what is gone is a tool error with Crisp's reason and a hint.
    let gone = h
        .server
        .call("get_conversation", args(arguments), &stdio())
        .await;
    assert!(is_error(&gone));
    let error = &structured(&gone)["error"];
    assert_eq!(error["kind"], "api");
    assert_eq!(error["status"], 404);
    assert_eq!(error["reason"], "not_found");
    assert!(!error["hint"].as_str().unwrap().is_empty());
    let line = h.audit.last();
    assert_eq!(line["outcome"], "failed");
    assert_eq!(line["status"], 404);
    assert_eq!(line["reason"], "not_found");
}

#[tokio::test]
async fn confirmation_can_be_turned_off_for_trusted_pipelines() {
    let h = harness(Options {
        confirm: false,
        ..Options::default()
    })
    .await;
    let send = h
        .server
        .tools()
        .into_iter()
        .find(|t| t.name == "send_message")
        .unwrap();
    assert!(
        send.input_schema["properties"]
            .get("confirmation_token")
            .is_none()
    );
    let before = messages_in(&h.sandbox, demo::SESSION_ID);
    let sent = h
        .server
        .call("send_message", args(hello("at once")), &stdio())
        .await;
    assert!(!is_error(&sent), "{}", text(&sent));
    assert_eq!(messages_in(&h.sandbox, demo::SESSION_ID), before + 1);
    assert_eq!(h.audit.last()["decision"], "allowed");
}

#[tokio::test]
async fn a_hugo_request_acts_only_on_the_website_it_was_signed_for() {
    let h = harness(Options::default()).await;
    let hugo = |website: &str| {
        stdio().with_hugo(Some(HugoRequest {
            website_id: website.to_owned(),
            session_id: Some(demo::SESSION_ID.to_owned()),
        }))
    };
    let ok = h
        .server
        .call(
            "get_conversation",
            args(json!({"session_id": demo::SESSION_ID})),
            &hugo(demo::WEBSITE_ID),
        )
        .await;
    assert!(!is_error(&ok), "{}", text(&ok));
    let line = h.audit.last();
    assert_eq!(line["hugo_website_id"], demo::WEBSITE_ID);
    assert_eq!(line["crisp_session_id"], demo::SESSION_ID);

    let other = h
        .server
        .call(
            "get_conversation",
            args(json!({"session_id": demo::SESSION_ID, "website_id": demo::WEBSITE_ID})),
            &hugo("another-website"),
        )
        .await;
    assert!(is_error(&other));
    assert_eq!(h.audit.last()["refusal"], "website_mismatch");
    assert_eq!(h.sandbox.api_requests(), 1);

    // With no website_id, the signed website is the default, not the server's.
    let signed = h
        .server
        .call(
            "get_conversation",
            args(json!({"session_id": demo::SESSION_ID})),
            &hugo("another-website"),
        )
        .await;
    assert!(is_error(&signed));
    assert_eq!(h.audit.last()["path_ids"]["website_id"], "another-website");
}

#[tokio::test]
async fn secrets_stay_out_of_results_debug_and_audit() {
    let h = harness(Options::default()).await;
    let key = h.sandbox.key().to_owned();
    let debug = format!("{:?}", h.server);
    assert!(!debug.contains(&key));
    let mut seen = String::new();
    for (tool, arguments) in [
        ("list_conversations", json!({})),
        ("get_conversation", json!({"session_id": "session_missing"})),
        ("get_conversation", json!({"session_id": ".."})),
        ("send_message", hello("x")),
    ] {
        let result = h.server.call(tool, args(arguments), &stdio()).await;
        seen.push_str(&serde_json::to_string(&result).unwrap());
    }
    assert!(!seen.contains(&key));
    assert!(!h.audit.text().contains(&key));
    assert_eq!(h.audit.parsed().len(), 4, "one line per call");
}

//! What a gateway needs of the tool layer, through the real server: a dispatch that answers as
//! Crisp answers (a status and the envelope) instead of with the client layer's record, a
//! confirmed call marked as such, tools the dispatch does not offer hidden, audit lines that
//! say whether the call reached the dispatch, and a server with no default website.

mod support;

use std::sync::{Arc, Mutex};

use crisp_api::{Grants, Operation};
use crisp_mcp::{Caller, CrispMcp, Dispatch, Dispatched, Outgoing, Settings, WEBSITE_ID};
use crisp_sandbox::demo;
use futures::future::BoxFuture;
use rmcp::ServerHandler as _;
use serde_json::{Value, json};
use support::{Options, Recorded, args, harness, hello, is_error, messages_in, structured, text};

/// Audit lines handed to a callback.
/// Answers every call itself, as a gateway does: `get_conversation` with Crisp's success
/// envelope, anything else with Crisp's 404 envelope. Hides `remove_conversation`, and
/// records whether each call it checked and sent was confirmed.
#[derive(Default)]
struct Answers {
    checked: Mutex<Vec<(&'static str, bool)>>,
    sent: Mutex<Vec<(&'static str, bool)>>,
}

impl Dispatch for Answers {
    fn offers(&self, operation: &'static Operation) -> bool {
        operation.id != Operation::REMOVE_CONVERSATION.id
    }

    fn check(&self, request: &Outgoing<'_>, _caller: &Caller) -> Result<(), crisp_mcp::Refusal> {
        let seen = (request.operation.id, request.confirmed);
        self.checked.lock().unwrap().push(seen);
        Ok(())
    }

    fn dispatch<'a>(
        &'a self,
        request: Outgoing<'a>,
        _caller: &'a Caller,
    ) -> BoxFuture<'a, Dispatched> {
        let seen = (request.operation.id, request.confirmed);
        self.sent.lock().unwrap().push(seen);
        Box::pin(async move {
            if request.operation.id == Operation::GET_CONVERSATION.id {
                let data = json!({"session_id": request.id("session_id"), "website_id": request.id("website_id")});
                Dispatched::answered(
                    200,
                    json!({"error": false, "reason": "resolved", "data": data}),
                )
            } else {
                Dispatched::answered(
                    404,
                    json!({"error": true, "reason": "not_found", "data": {"message": "no such session"}}),
                )
            }
        })
    }
}

fn agent() -> Caller {
    Caller::new("http", Some("gateway-agent".to_owned()))
}

#[tokio::test]
async fn a_dispatch_answers_as_crisp_and_the_lines_say_what_reached_it() {
    let lines = Recorded::default();
    let answers = Arc::new(Answers::default());
    let settings = Settings::new(demo::WEBSITE_ID).audit(lines.audit());
    let server = CrispMcp::with_dispatch(Grants::all(), settings, Arc::clone(&answers)).unwrap();

    // A tool the dispatch does not offer is neither listed nor called.
    let listed: Vec<String> = server.tools().iter().map(|t| t.name.to_string()).collect();
    assert_eq!(listed.len(), Operation::ALL.len() - 1);
    assert!(!listed.iter().any(|name| name == "remove_conversation"));
    let hidden = server
        .call(
            "remove_conversation",
            args(json!({"session_id": demo::SESSION_ID})),
            &agent(),
        )
        .await;
    assert!(is_error(&hidden));
    let error = &structured(&hidden)["error"];
    assert_eq!(error["code"], "not_offered", "{error}");
    assert!(
        error["hint"].as_str().unwrap().contains("tools/list"),
        "{error}"
    );

    // Crisp's success envelope is the tool's result.
    let got = server
        .call(
            "get_conversation",
            args(json!({"session_id": demo::SESSION_ID})),
            &agent(),
        )
        .await;
    assert!(!is_error(&got), "{}", text(&got));
    assert_eq!(structured(&got)["reason"], "resolved");
    assert_eq!(structured(&got)["data"]["session_id"], demo::SESSION_ID);

    // Crisp's error envelope is a tool error of the shape of Crisp's errors.
    let missing = server
        .call(
            "get_conversation_state",
            args(json!({"session_id": "session_gone"})),
            &agent(),
        )
        .await;
    assert!(is_error(&missing));
    let error = &structured(&missing)["error"];
    assert_eq!(
        (
            &error["kind"],
            &error["code"],
            &error["status"],
            &error["reason"]
        ),
        (
            &json!("api"),
            &Value::Null,
            &json!(404),
            &json!("not_found")
        ),
        "{error}"
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("no such session"),
        "{error}"
    );

    // A preview is checked but not sent; the confirmed call is sent, marked confirmed.
    let preview = server.call("send_message", args(hello()), &agent()).await;
    let mut confirmed = hello();
    confirmed["confirmation_token"] = structured(&preview)["confirmation_token"].clone();
    server.call("send_message", args(confirmed), &agent()).await;
    assert_eq!(
        *answers.checked.lock().unwrap(),
        [
            ("get_conversation", false),
            ("get_conversation_state", false),
            ("send_message", false),
            ("send_message", false),
        ],
        "check runs before the confirmation step"
    );
    assert_eq!(
        *answers.sent.lock().unwrap(),
        [
            ("get_conversation", false),
            ("get_conversation_state", false),
            ("send_message", true),
        ]
    );

    let summary: Vec<_> = lines
        .all()
        .iter()
        .map(|l| {
            (
                l.tool.clone(),
                serde_json::to_value(l.decision).unwrap(),
                l.dispatched,
                l.outcome,
                l.status,
                l.reason.clone(),
            )
        })
        .collect();
    let line = |tool: &str, decision: &str, dispatched, outcome, status, reason: Option<&str>| {
        (
            tool.to_owned(),
            json!(decision),
            dispatched,
            outcome,
            status,
            reason.map(str::to_owned),
        )
    };
    assert_eq!(
        summary,
        [
            line("remove_conversation", "refused", false, None, None, None),
            line(
                "get_conversation",
                "allowed",
                true,
                Some("succeeded"),
                Some(200),
                Some("resolved")
            ),
            line(
                "get_conversation_state",
                "allowed",
                true,
                Some("failed"),
                Some(404),
                Some("not_found")
            ),
            line(
                "send_message",
                "awaiting_confirmation",
                false,
                None,
                None,
                None
            ),
            line(
                "send_message",
                "confirmed",
                true,
                Some("failed"),
                Some(404),
                Some("not_found")
            ),
        ]
    );
    let json = serde_json::to_value(&lines.all()[1]).unwrap();
    assert!(json.get("dispatched").is_none(), "not written: {json}");
}

#[tokio::test]
async fn a_server_without_a_default_website_requires_one_on_every_call_and_says_so() {
    let h = harness(Options::default()).await;
    let lines = Recorded::default();
    let settings = Settings::without_website().audit(lines.audit());
    let server = CrispMcp::with_dispatch(Grants::all(), settings, h.client.clone()).unwrap();
    assert_eq!(server.website_id(), None);
    let instructions = server.get_info().instructions.unwrap_or_default();
    assert!(
        instructions.contains("no default website"),
        "{instructions}"
    );

    for tool in server.tools() {
        let website = &tool.input_schema["properties"][WEBSITE_ID];
        let required = tool.input_schema["required"].as_array().unwrap();
        assert!(website.get("default").is_none(), "{}: {website}", tool.name);
        assert!(
            required.iter().any(|r| r == WEBSITE_ID),
            "{}: website_id is required",
            tool.name
        );
        assert!(
            website["description"]
                .as_str()
                .unwrap()
                .contains("no default website"),
            "{}: {website}",
            tool.name
        );
    }

    let count = messages_in(&h.sandbox, demo::SESSION_ID);
    let unnamed = server.call("send_message", args(hello()), &agent()).await;
    assert!(is_error(&unnamed));
    let error = &structured(&unnamed)["error"];
    assert_eq!(error["code"], "invalid_arguments");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("`website_id` is required") && message.contains("no default website"),
        "{message}"
    );
    assert!(structured(&unnamed).get("confirmation_token").is_none());
    assert_eq!(h.sandbox.api_requests(), 0);

    let mut named = hello();
    named[WEBSITE_ID] = json!(demo::WEBSITE_ID);
    let preview = server
        .call("send_message", args(named.clone()), &agent())
        .await;
    assert!(!is_error(&preview), "{}", text(&preview));
    named["confirmation_token"] = structured(&preview)["confirmation_token"].clone();
    let sent = server.call("send_message", args(named), &agent()).await;
    assert!(!is_error(&sent), "{}", text(&sent));
    assert_eq!(messages_in(&h.sandbox, demo::SESSION_ID), count + 1);

    // With a default website, the schemas give it and do not require it.
    let with = CrispMcp::new(h.client.clone(), Settings::new(demo::WEBSITE_ID)).unwrap();
    let tool = &with.tools()[0];
    assert_eq!(
        tool.input_schema["properties"][WEBSITE_ID]["default"],
        demo::WEBSITE_ID
    );
    let required = tool.input_schema.get("required").and_then(Value::as_array);
    assert!(!required.is_some_and(|r| r.iter().any(|n| n == WEBSITE_ID)));
    assert!(
        with.get_info()
            .instructions
            .unwrap_or_default()
            .contains("defaults to the configured website")
    );
}

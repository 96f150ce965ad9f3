//! The two hooks a gateway's approvals need, through the real server: a dispatch that holds a
//! tool's calls for a person's approval (no confirmation token asked, the answer a result with
//! the approval id and a preview of exactly what would be sent, the text as the customer will
//! see it, a shape the tool's output schema allows), and a tool of the embedder's own (listed,
//! its arguments checked before it runs, its reply or refusal the agent's answer, one audit
//! line each).

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crisp_api::{Grants, Operation};
use crisp_mcp::{
    Caller, CrispMcp, Dispatch, Dispatched, ExtraTool, Held, Outgoing, Refusal, Settings,
    ToolReply, ToolSpec,
};
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};
use support::{Recorded, args, is_error, structured, text};

const WEBSITE: &str = "8c842203-7ed8-4e29-a608-7cf78a7d2fcc";
const APPROVAL: &str = "0123456789abcdef0123456789abcdef";

/// Audit lines handed to a callback.
/// Holds every `send_message` for approval (with a query of its own, as a gateway's rules may
/// set one); refuses anything else as a rate limit would. Counts what it is handed.
#[derive(Default)]
struct Holds {
    handed: Mutex<u32>,
}

impl Dispatch for Holds {
    fn holds(&self, operation: &'static Operation) -> bool {
        operation.id == Operation::SEND_MESSAGE.id
    }

    fn dispatch<'a>(
        &'a self,
        request: Outgoing<'a>,
        _caller: &'a Caller,
    ) -> BoxFuture<'a, Dispatched> {
        Box::pin(async move {
            *self.handed.lock().unwrap() += 1;
            assert!(!request.confirmed, "a held tool asks for no confirmation");
            if request.operation.id != Operation::SEND_MESSAGE.id {
                return Dispatched::refused(Refusal::new("rate", "Refused: slow down."));
            }
            Dispatched::held(
                Held::new(APPROVAL, request.operation)
                    .ids(request.ids.to_vec())
                    .query(vec![("held_by".into(), "the gateway".into())])
                    .body(request.body.cloned())
                    .expires_in(Duration::from_secs(3600))
                    .follow_up("Read its status with the `approval_status` tool."),
            )
        })
    }
}

/// Reads an approval's status: `pending` for [`APPROVAL`], refused `not_found` otherwise.
struct Status;

impl ExtraTool for Status {
    fn spec(&self) -> ToolSpec {
        ToolSpec::new("approval_status", "What became of a held call.")
            .input_schema(json!({
                "type": "object",
                "required": ["approval_id"],
                "properties": {"approval_id": {"type": "string"}},
                "additionalProperties": false,
            }))
            .output_schema(json!({
                "type": "object",
                "required": ["status"],
                "properties": {"status": {"type": "string"}},
            }))
    }

    fn call<'a>(
        &'a self,
        arguments: Map<String, Value>,
        caller: &'a Caller,
    ) -> BoxFuture<'a, Result<ToolReply, Refusal>> {
        Box::pin(async move {
            assert_eq!(caller.client.as_deref(), Some("bot"));
            if arguments["approval_id"] == APPROVAL {
                Ok(ToolReply::new("pending", json!({"status": "pending"})))
            } else {
                Err(Refusal::new("not_found", "No such approval.").with_status(404, "not_found"))
            }
        })
    }
}

fn bot() -> Caller {
    Caller::new("http", Some("bot".to_owned()))
}

fn tool(server: &CrispMcp, name: &str) -> Value {
    let tool = server
        .tools()
        .into_iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("{name} is listed"));
    serde_json::to_value(tool).unwrap()
}

/// Whether `value` fits the output schema `tool` lists.
fn fits(tool: &Value, value: &Value) -> bool {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&tool["outputSchema"])
        .unwrap()
        .is_valid(value)
}

#[tokio::test]
async fn a_held_call_asks_no_token_and_answers_its_approval_id_and_exact_request() {
    let lines = Recorded::default();
    let holds = Arc::new(Holds::default());
    let settings = Settings::new(WEBSITE).audit(lines.audit());
    let server = CrispMcp::with_dispatch(Grants::all(), settings, Arc::clone(&holds)).unwrap();

    // Listed without a token, saying it waits for approval, the held shape in its output.
    let send = tool(&server, "send_message");
    assert!(
        send["inputSchema"]["properties"]
            .get("confirmation_token")
            .is_none(),
        "{send}"
    );
    let description = send["description"].as_str().unwrap();
    assert!(description.contains("held for a person's approval"));
    assert!(!description.contains("Confirmation:"));
    assert_eq!(send["outputSchema"]["anyOf"].as_array().unwrap().len(), 3);
    // Tools it does not hold keep their confirmation.
    let remove = tool(&server, "remove_conversation");
    assert!(remove["inputSchema"]["properties"]["confirmation_token"].is_object());

    let message = "Hello,\nyour refund is on its way \u{202e}.";
    let arguments = json!({
        "session_id": "session_1",
        "body": {"type": "text", "from": "operator", "origin": "chat", "content": message}
    });
    let result = server.call("send_message", args(arguments), &bot()).await;
    assert!(
        !is_error(&result),
        "a result, not an error: {}",
        text(&result)
    );
    let content = structured(&result);
    assert_eq!(content["approval_required"], true);
    assert_eq!(content["approval_id"], APPROVAL);
    assert_eq!(content["status"], "pending");
    assert_eq!(content["tool"], "send_message");
    assert_eq!(content["expires_in_seconds"], 3600);
    assert_eq!(
        content["request"],
        json!({
            "method": "POST",
            "path": format!("/website/{WEBSITE}/conversation/session_1/message"),
            "query": {"held_by": "the gateway"},
            "body": {"type": "text", "from": "operator", "origin": "chat", "content": message},
        })
    );
    assert!(content.get("confirmation_token").is_none());
    assert!(
        fits(&send, &content),
        "the output schema allows it: {content}"
    );
    let shown = text(&result);
    assert!(shown.starts_with("NOT DONE YET"), "{shown}");
    assert!(shown.contains(APPROVAL), "{shown}");
    assert!(
        shown.contains(&format!(
            "POST /website/{WEBSITE}/conversation/session_1/message?held_by=the+gateway"
        )),
        "{shown}"
    );
    assert!(
        shown.contains(
            "The customer will see:\n    Hello,\n    your refund is on its way \\u{202e}."
        ),
        "the text as the customer reads it, hidden characters shown: {shown}"
    );
    assert!(shown.ends_with("Read its status with the `approval_status` tool."));
    assert_eq!(*holds.handed.lock().unwrap(), 1);

    let line = &lines.json()[0];
    assert_eq!(line["decision"], "awaiting_approval", "{line}");
    assert!(line.get("refusal").is_none(), "{line}");
}

#[tokio::test]
async fn an_extra_tool_is_listed_checked_and_answers() {
    let lines = Recorded::default();
    let settings = Settings::new(WEBSITE).audit(lines.audit()).tool(Status);
    let grants: Grants = "website:conversation:sessions=read".parse().unwrap();
    let server = CrispMcp::with_dispatch(grants, settings, Holds::default()).unwrap();

    let names: Vec<String> = server.tools().iter().map(|t| t.name.to_string()).collect();
    assert_eq!(names.last().map(String::as_str), Some("approval_status"));
    let status = tool(&server, "approval_status");
    assert_eq!(status["annotations"]["readOnlyHint"], true);

    let pending = server
        .call(
            "approval_status",
            args(json!({"approval_id": APPROVAL})),
            &bot(),
        )
        .await;
    assert!(!is_error(&pending));
    assert_eq!(structured(&pending), json!({"status": "pending"}));
    assert_eq!(text(&pending), "pending");

    let unknown = server
        .call(
            "approval_status",
            args(json!({"approval_id": "nope"})),
            &bot(),
        )
        .await;
    assert!(is_error(&unknown));
    assert_eq!(structured(&unknown)["error"]["code"], "not_found");
    assert!(fits(&status, &structured(&unknown)), "errors fit too");

    let bad = server
        .call("approval_status", args(json!({"approval_id": 7})), &bot())
        .await;
    assert_eq!(structured(&bad)["error"]["code"], "invalid_arguments");
    let none = server.call("approval_status", None, &bot()).await;
    assert_eq!(structured(&none)["error"]["code"], "invalid_arguments");

    let decisions: Vec<(Value, Value)> = lines
        .json()
        .iter()
        .map(|l| (l["decision"].clone(), l["refusal"].clone()))
        .collect();
    assert_eq!(
        decisions,
        [
            (json!("allowed"), Value::Null),
            (json!("refused"), json!("not_found")),
            (json!("refused"), json!("invalid_arguments")),
            (json!("refused"), json!("invalid_arguments")),
        ]
    );
    let dispatched: Vec<bool> = lines
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|l| l.dispatched)
        .collect();
    assert_eq!(
        dispatched,
        [true, true, false, false],
        "the tool's own record"
    );
}

#[test]
fn an_extra_tool_may_not_take_a_generated_tools_name_or_a_bad_one() {
    struct Named(&'static str);
    impl ExtraTool for Named {
        fn spec(&self) -> ToolSpec {
            ToolSpec::new(self.0, "x")
        }
        fn call<'a>(
            &'a self,
            _arguments: Map<String, Value>,
            _caller: &'a Caller,
        ) -> BoxFuture<'a, Result<ToolReply, Refusal>> {
            Box::pin(async { Ok(ToolReply::new("", json!({}))) })
        }
    }
    for (name, says) in [
        ("send_message", "already is"),
        ("Bad Name", "a-z, 0-9"),
        ("", "a-z, 0-9"),
    ] {
        let settings = Settings::new(WEBSITE).tool(Named(name));
        let error =
            CrispMcp::with_dispatch(Grants::none(), settings, Holds::default()).unwrap_err();
        assert!(error.contains(says), "{name:?}: {error}");
    }
    let twice = Settings::new(WEBSITE)
        .tool(Named("mine"))
        .tool(Named("mine"));
    let error = CrispMcp::with_dispatch(Grants::none(), twice, Holds::default()).unwrap_err();
    assert!(error.contains("already is"), "{error}");
}

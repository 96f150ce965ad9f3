//! The pluggable send step and the audit callback, through the real server against a sandbox:
//! a dispatch that refuses (after confirmation, or before a preview), one that answers through
//! a client and sees exactly the prepared request, the tools a server built on a dispatch
//! lists, and every audit line handed to a callback, complete.

mod support;

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crisp_api::{Client, Grants};
use crisp_mcp::{Caller, CrispMcp, Dispatch, Dispatched, Outgoing, Refusal, Settings};
use crisp_sandbox::demo;
use futures::future::BoxFuture;
use serde_json::{Value, json};
use support::{Options, Recorded, args, harness, hello, is_error, messages_in, structured, text};

/// What a dispatch saw of one call: its operation, ids, query, body and client name.
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    operation: &'static str,
    ids: Vec<(&'static str, String)>,
    query: Vec<(&'static str, String)>,
    body: Option<Value>,
    client: Option<String>,
}

impl Seen {
    fn of(request: &Outgoing<'_>, caller: &Caller) -> Self {
        Self {
            operation: request.operation.id,
            ids: request.ids.to_vec(),
            query: request.query.to_vec(),
            body: request.body.cloned(),
            client: caller.client.clone(),
        }
    }
}

/// Sends through `client`, recording what it sends and counting two lookups per call.
struct Forward {
    client: Client,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Dispatch for Forward {
    fn dispatch<'a>(
        &'a self,
        request: Outgoing<'a>,
        caller: &'a Caller,
    ) -> BoxFuture<'a, Dispatched> {
        Box::pin(async move {
            self.seen.lock().unwrap().push(Seen::of(&request, caller));
            self.client.dispatch(request, caller).await.with_lookups(2)
        })
    }
}

/// Refuses every call as a gateway refuses one over its rate, after reading something first;
/// in `check` too when `early`.
struct Refuse {
    early: bool,
    dispatched: Arc<Mutex<u32>>,
}

fn over_the_rate() -> Refusal {
    Refusal::new(
        "rate",
        "Refused: agent `triage` is over its rate of 1/minute. Nothing was sent to Crisp.",
    )
    .with_status(429, "rate_limited")
    .with_hint("Wait for `retry_after` seconds, then call again.")
    .with_retry_after(42)
}

impl Dispatch for Refuse {
    fn check(&self, _request: &Outgoing<'_>, _caller: &Caller) -> Result<(), Refusal> {
        if self.early {
            Err(over_the_rate())
        } else {
            Ok(())
        }
    }

    fn dispatch<'a>(
        &'a self,
        _request: Outgoing<'a>,
        _caller: &'a Caller,
    ) -> BoxFuture<'a, Dispatched> {
        *self.dispatched.lock().unwrap() += 1;
        Box::pin(async move { Dispatched::refused(over_the_rate()).with_lookups(1) })
    }
}

/// The agent the calls come from: an MCP client over HTTP.
fn agent() -> Caller {
    Caller::new("http", Some("triage-bot".to_owned()))
}

#[tokio::test]
async fn a_dispatch_that_refuses_answers_a_structured_refusal_and_sends_nothing() {
    let h = harness(Options::default()).await;
    let count = messages_in(&h.sandbox, demo::SESSION_ID);
    let lines = Recorded::default();
    let dispatched = Arc::new(Mutex::new(0));
    let settings = Settings::new(demo::WEBSITE_ID).audit(lines.audit());
    let refuse = Refuse {
        early: false,
        dispatched: Arc::clone(&dispatched),
    };
    let server = CrispMcp::with_dispatch(Grants::all(), settings, refuse).unwrap();

    let result = server
        .call(
            "get_conversation",
            args(json!({"session_id": demo::SESSION_ID})),
            &agent(),
        )
        .await;
    assert!(is_error(&result));
    assert!(
        text(&result).starts_with("Refused: agent `triage` is over its rate"),
        "{}",
        text(&result)
    );
    assert_eq!(
        structured(&result),
        json!({"error": {
            "kind": "refused",
            "code": "rate",
            "status": 429,
            "reason": "rate_limited",
            "message": "Refused: agent `triage` is over its rate of 1/minute. Nothing was sent to Crisp.",
            "hint": "Wait for `retry_after` seconds, then call again.",
            "retry_after": 42,
        }})
    );
    assert_eq!(*dispatched.lock().unwrap(), 1);
    assert_eq!(h.sandbox.api_requests(), 0, "nothing reached Crisp");
    let line = &lines.json()[0];
    assert_eq!(line["decision"], "refused");
    assert_eq!(line["refusal"], "rate");
    assert_eq!(line["status"], 429);
    assert_eq!(line["reason"], "rate_limited");
    assert_eq!(line["attempts"], 0);
    assert_eq!(line["lookups"], 1);
    assert_eq!(line["client"], "triage-bot");
    assert_eq!(line["transport"], "http");
    assert!(line.get("outcome").is_none(), "not sent: {line}");

    // A customer-visible call is previewed, confirmed, then refused by the dispatch: the
    // token is spent, nothing is sent.
    let preview = server.call("send_message", args(hello()), &agent()).await;
    assert!(!is_error(&preview), "{}", text(&preview));
    let token = structured(&preview)["confirmation_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut confirmed = hello();
    confirmed["confirmation_token"] = json!(token);
    let result = server
        .call("send_message", args(confirmed.clone()), &agent())
        .await;
    assert_eq!(structured(&result)["error"]["code"], "rate");
    assert_eq!(*dispatched.lock().unwrap(), 2);
    let again = server.call("send_message", args(confirmed), &agent()).await;
    assert_eq!(
        structured(&again)["error"]["code"],
        "unknown_token",
        "the token was spent"
    );
    assert_eq!(messages_in(&h.sandbox, demo::SESSION_ID), count);
    assert_eq!(h.sandbox.api_requests(), 0, "nothing reached Crisp");
    let decisions: Vec<(String, Value)> = lines
        .json()
        .iter()
        .map(|l| (l["tool"].as_str().unwrap().to_owned(), l["refusal"].clone()))
        .collect();
    assert_eq!(
        decisions,
        [
            ("get_conversation".to_owned(), json!("rate")),
            ("send_message".to_owned(), Value::Null),
            ("send_message".to_owned(), json!("rate")),
            ("send_message".to_owned(), json!("unknown_token")),
        ]
    );
}

#[tokio::test]
async fn a_refusal_in_check_comes_before_any_preview_or_token() {
    let h = harness(Options::default()).await;
    let lines = Recorded::default();
    let dispatched = Arc::new(Mutex::new(0));
    let settings = Settings::new(demo::WEBSITE_ID).audit(lines.audit());
    let refuse = Refuse {
        early: true,
        dispatched: Arc::clone(&dispatched),
    };
    let server = CrispMcp::with_dispatch(Grants::all(), settings, refuse).unwrap();

    let result = server.call("send_message", args(hello()), &agent()).await;
    assert!(is_error(&result));
    let content = structured(&result);
    assert_eq!(content["error"]["code"], "rate");
    assert!(content.get("confirmation_token").is_none());
    assert_eq!(*dispatched.lock().unwrap(), 0, "not dispatched");
    let line = &lines.json()[0];
    assert_eq!(
        (line["decision"].clone(), line["refusal"].clone()),
        (json!("refused"), json!("rate"))
    );
    assert_eq!(line["status"], 429);
    assert!(line.get("lookups").is_none(), "no lookup was made: {line}");
    // Steps before it still come first: a bad argument is the server's refusal.
    let bad = server
        .call("send_message", args(json!({"session_id": 7})), &agent())
        .await;
    assert_eq!(structured(&bad)["error"]["code"], "invalid_arguments");
    assert_eq!(h.sandbox.api_requests(), 0);
}

#[tokio::test]
async fn a_dispatch_that_answers_gets_the_prepared_request_and_the_line_gets_its_record() {
    let h = harness(Options::default()).await;
    let lines = Recorded::default();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let grants: Grants =
        "website:conversation:sessions=read, website:conversation:messages=read-write"
            .parse()
            .unwrap();
    let settings = Settings::new(demo::WEBSITE_ID).audit(lines.audit());
    // The client underneath has every grant: the server's grants choose the tools.
    let forward = Forward {
        client: h.client.clone(),
        seen: Arc::clone(&seen),
    };
    let server = CrispMcp::with_dispatch(grants.clone(), settings, forward).unwrap();
    let listed: Vec<String> = server.tools().iter().map(|t| t.name.to_string()).collect();
    let expected: Vec<&str> = grants.allowed_operations().map(|op| op.id).collect();
    assert_eq!(listed, expected);
    let refused = server
        .call(
            "remove_conversation",
            args(json!({"session_id": demo::SESSION_ID})),
            &agent(),
        )
        .await;
    assert_eq!(structured(&refused)["error"]["code"], "not_granted");

    let before = SystemTime::now();
    let list = server
        .call(
            "list_conversations",
            args(json!({"per_page": 20, "filter_not_resolved": 1})),
            &agent(),
        )
        .await;
    assert!(!is_error(&list), "{}", text(&list));
    let envelope = structured(&list);
    assert_eq!(envelope["error"], false, "Crisp's envelope: {envelope}");
    assert!(envelope["data"].as_array().is_some_and(|c| !c.is_empty()));

    let count = messages_in(&h.sandbox, demo::SESSION_ID);
    let preview = server.call("send_message", args(hello()), &agent()).await;
    let mut confirmed = hello();
    confirmed["confirmation_token"] = structured(&preview)["confirmation_token"].clone();
    let sent = server.call("send_message", args(confirmed), &agent()).await;
    assert!(!is_error(&sent), "{}", text(&sent));
    assert_eq!(structured(&sent)["reason"], "dispatched");
    assert_eq!(messages_in(&h.sandbox, demo::SESSION_ID), count + 1);
    assert_eq!(h.sandbox.api_requests(), 2);

    let seen = seen.lock().unwrap().clone();
    let website = ("website_id", demo::WEBSITE_ID.to_owned());
    let client = Some("triage-bot".to_owned());
    assert_eq!(
        seen,
        [
            Seen {
                operation: "list_conversations",
                ids: vec![website.clone(), ("page_number", "1".to_owned())],
                query: vec![
                    ("per_page", "20".to_owned()),
                    ("filter_not_resolved", "1".to_owned())
                ],
                body: None,
                client: client.clone(),
            },
            Seen {
                operation: "send_message",
                ids: vec![website, ("session_id", demo::SESSION_ID.to_owned())],
                query: vec![],
                body: Some(hello()["body"].clone()),
                client,
            },
        ],
        "the ids in path order, the query in the spec's order, the body as given"
    );

    let all = lines.all();
    let decisions: Vec<_> = all
        .iter()
        .map(|l| (l.tool.as_str(), serde_json::to_value(l.decision).unwrap()))
        .collect();
    assert_eq!(
        decisions,
        [
            ("remove_conversation", json!("refused")),
            ("list_conversations", json!("allowed")),
            ("send_message", json!("awaiting_confirmation")),
            ("send_message", json!("confirmed")),
        ]
    );
    let line = &all[3];
    assert_eq!(line.client.as_deref(), Some("triage-bot"));
    assert_eq!(line.transport, "http");
    assert_eq!(line.path_ids["session_id"], demo::SESSION_ID);
    assert_eq!(line.path_ids["website_id"], demo::WEBSITE_ID);
    assert_eq!(line.outcome, Some("succeeded"));
    assert_eq!(line.status, Some(200));
    assert_eq!(line.reason.as_deref(), Some("dispatched"));
    assert_eq!((line.attempts, line.lookups), (1, 2));
    assert!(line.error.is_none() && line.refusal.is_none());
    assert!(line.ended_at >= before && line.latency_ms > 0.0);
    assert!(!line.time.is_empty());
    // Nothing of the body or the token in a line.
    let text = serde_json::to_string(&lines.json()).unwrap();
    assert!(
        !text.contains("On its way") && !text.contains("confirmation_token"),
        "{text}"
    );
}

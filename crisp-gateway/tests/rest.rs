//! crisp-api's own client pointed at the gateway with an agent's key, the sandbox as the
//! upstream: every call the agent's grants allow works and answers what the sandbox answers
//! directly (driven by the generated per-operation cases, so an operation added to the spec
//! needs no new test code); what they do not allow is refused with Crisp's envelope, and the
//! sandbox's request counter shows that nothing refused reached it; the budget ends with 429
//! and `Retry-After`, and survives a restart.

mod support;

use crisp_api::types::ErrorReason;
use crisp_api::{Error, Method, Operation};
use crisp_e2e::cases::{Ids, cases};
use serde_json::Value;
use support::{Harness, TestAgent, http, policy_text};

const ALL: &str = "all";
const READ: &str = "website:conversation:sessions=read, website:conversation:messages=read, \
                    website:conversation:states=read, website:settings=read";

/// The shape of a JSON value: the same keys and kinds all the way down (values generated
/// anew, such as a new session's id, differ between two runs).
fn shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), shape(v))).collect(),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        Value::String(_) => Value::from("string"),
        Value::Number(_) => Value::from("number"),
        Value::Bool(_) => Value::from("bool"),
        Value::Null => Value::Null,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_an_agents_grants_allow_works_and_matches_the_sandbox() {
    let website = crisp_sandbox::demo::WEBSITE_ID;
    let all = TestAgent::new("all", ALL, website);
    let reader = TestAgent::new("reader", READ, website);
    let harness = Harness::start(&policy_text("", &[&all, &reader])).await;
    let (through_all, through_reader, direct) = (
        harness.client(&all),
        harness.client(&reader),
        harness.direct(),
    );
    let ids = Ids::default();
    let cases = cases();
    assert_eq!(cases.len(), Operation::ALL.len());
    let mut refused = 0;
    for case in &cases {
        let op = case.operation;
        // Through the gateway: one request reaches the sandbox.
        harness.sandbox.reset();
        let before = harness.sandbox.api_requests();
        let gateway = (case.call)(&through_all, &ids)
            .await
            .unwrap_or_else(|e| panic!("{} through the gateway: {e}", op.id));
        assert_eq!(harness.sandbox.api_requests(), before + 1, "{}", op.id);
        // The same call, straight to the sandbox.
        harness.sandbox.reset();
        let sandbox = (case.call)(&direct, &ids)
            .await
            .unwrap_or_else(|e| panic!("{} against the sandbox: {e}", op.id));
        if op.method == Method::Get {
            assert_eq!(
                gateway, sandbox,
                "{}: the gateway's answer is the sandbox's",
                op.id
            );
        } else {
            assert_eq!(shape(&gateway), shape(&sandbox), "{}", op.id);
            assert_eq!(gateway["reason"], sandbox["reason"], "{}", op.id);
        }

        // A read-only agent: its reads work, its writes are refused before any request.
        harness.sandbox.reset();
        let before = harness.sandbox.api_requests();
        let result = (case.call)(&through_reader, &ids).await;
        if reader_may(op) {
            result.unwrap_or_else(|e| panic!("{} by the reader: {e}", op.id));
            assert_eq!(harness.sandbox.api_requests(), before + 1, "{}", op.id);
        } else {
            match result {
                Err(Error::Api {
                    status,
                    reason: ErrorReason::NotAllowed,
                    message: Some(message),
                    ..
                }) => {
                    assert_eq!(status.as_u16(), 403, "{}", op.id);
                    assert!(
                        message.contains("agent `reader` may not call")
                            && message.contains(op.id)
                            && message.contains(op.scope),
                        "{}: {message}",
                        op.id
                    );
                }
                other => panic!("{}: the reader's call is not refused: {other:?}", op.id),
            }
            assert_eq!(
                harness.sandbox.api_requests(),
                before,
                "{}: a refused call reaches nothing",
                op.id
            );
            refused += 1;
        }
    }
    assert!(refused > 0 && refused < cases.len(), "{refused}");

    // One audit row per request: three per case, the refused ones as refused by the grants.
    let rows = harness.rows().await;
    assert_eq!(
        rows.len(),
        2 * cases.len(),
        "the direct calls are not the gateway's"
    );
    let denied: Vec<_> = rows.iter().filter(|r| r.decision == "refused").collect();
    assert_eq!(denied.len(), refused);
    assert!(denied.iter().all(|r| r.agent.as_deref() == Some("reader")
        && r.why.as_deref() == Some("grants")
        && r.status == Some(403)
        && r.upstream_requests == 0));
    assert!(
        rows.iter()
            .filter(|r| r.decision == "allowed")
            .all(|r| r.outcome.as_deref() == Some("succeeded") && r.upstream_requests == 1)
    );
    harness.stop().await;
}

fn reader_may(op: &Operation) -> bool {
    READ.parse::<crisp_api::Grants>().unwrap().allows(op)
}

#[tokio::test]
async fn a_website_outside_the_agents_list_is_refused_before_any_request() {
    let agent = TestAgent::new("elsewhere", ALL, "1b9e0c47-0000-4000-8000-000000000001");
    let harness = Harness::start(&policy_text("", &[&agent])).await;
    let client = harness.client(&agent);
    let before = harness.sandbox.api_requests();
    let error = client
        .get_website_settings()
        .website_id(crisp_sandbox::demo::WEBSITE_ID)
        .send()
        .await
        .unwrap_err();
    match &error {
        Error::Api {
            status,
            reason: ErrorReason::NotAllowed,
            message: Some(message),
            ..
        } => {
            assert_eq!(status.as_u16(), 403);
            assert!(message.contains("is not one of its websites"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(harness.sandbox.api_requests(), before);
    let rows = harness.rows().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].why.as_deref(), Some("website"));
    harness.stop().await;
}

#[tokio::test]
async fn the_budget_ends_with_429_and_retry_after_and_survives_a_restart() {
    let website = crisp_sandbox::demo::WEBSITE_ID;
    let agent = TestAgent::new("thrifty", READ, website).with("daily_budget = 2");
    let text = policy_text("", &[&agent]);
    let harness = Harness::start(&text).await;
    let url = format!("{}/website/{website}/settings", harness.base_url);
    let get = || {
        http()
            .get(&url)
            .header("Authorization", agent.basic())
            .header("X-Crisp-Tier", "plugin")
            .send()
    };
    for _ in 0..2 {
        assert_eq!(get().await.unwrap().status(), 200);
    }
    let spent = get().await.unwrap();
    assert_eq!(spent.status(), 429);
    let wait: u64 = spent.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=86_400).contains(&wait), "{wait}");
    let body: Value = spent.json().await.unwrap();
    assert_eq!(body["error"], true);
    assert_eq!(body["reason"], "rate_limited");
    assert!(
        body["data"]["message"]
            .as_str()
            .unwrap()
            .contains("daily budget of 2"),
        "{body}"
    );
    // crisp-api reads it as Crisp's rate limit, with the wait.
    let error = harness
        .client(&agent)
        .get_website_settings()
        .website_id(website)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::RateLimited {
                retry_after: Some(_),
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        harness.sandbox.api_requests(),
        2,
        "no refused call reached the sandbox"
    );

    // The count is in the store: a new gateway on the same data still refuses.
    let (sandbox, data) = harness.stop().await;
    let again = Harness::on(sandbox, data, &text).await;
    let refused = http()
        .get(format!("{}/website/{website}/settings", again.base_url))
        .header("Authorization", agent.basic())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(again.sandbox.api_requests(), 2);
    let rows = again.rows().await;
    let why: Vec<_> = rows
        .iter()
        .map(|r| r.why.as_deref().unwrap_or("-"))
        .collect();
    assert_eq!(why, ["budget", "budget", "budget", "-", "-"]);
    again.stop().await;
}

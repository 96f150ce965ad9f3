//! Refusals before any I/O: grants, confirmation and budget refuse with zero requests and an
//! audit record; credentials a header cannot carry are refused when building.

#[path = "support/client.rs"]
mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crisp_api::{BuildError, Client, Credentials, Error, Grants, Outcome, Refusal};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use support::*;

#[tokio::test]
async fn grants_confirmation_and_budget_refuse_with_zero_requests_and_an_audit_record() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(envelope(json!({"state": "pending"}))),
        )
        .mount(&server)
        .await;

    // Not granted.
    let audit = Audit::default();
    let grants: Grants = "website:conversation:states=write".parse().unwrap();
    let client = audit
        .attach(builder(&server.uri()).grants(grants))
        .build()
        .unwrap();
    match get_state(&client).await.unwrap_err() {
        Error::NotGranted {
            scope,
            needed,
            granted,
            ..
        } => {
            assert_eq!(scope, "website:conversation:states");
            assert_eq!(needed, crisp_api::Access::Read);
            assert_eq!(granted, Some(crisp_api::Level::Write));
        }
        other => panic!("{other:?}"),
    }
    let record = audit.only();
    assert_eq!(record.outcome, Outcome::Refused(Refusal::NotGranted));
    assert_eq!((record.attempts, record.status), (0, None));
    assert_eq!(
        record.path_ids,
        [
            ("website_id", WEBSITE.to_owned()),
            ("session_id", SESSION.to_owned())
        ]
    );

    // Not confirmed: the callback sees the operation and ids, never the key.
    let audit = Audit::default();
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&asked);
    let client = audit
        .attach(builder(&server.uri()))
        .confirm(move |request| {
            log.lock().unwrap().push(request.to_string());
            false
        })
        .build()
        .unwrap();
    assert!(matches!(
        send_message(&client).await.unwrap_err(),
        Error::NotConfirmed { .. }
    ));
    get_state(&client).await.expect("reads are not confirmed");
    assert_eq!(
        *asked.lock().unwrap(),
        [format!(
            "send_message (customer-visible) on website_id={WEBSITE}, session_id={SESSION}"
        )]
    );
    let records = audit.records();
    assert_eq!(records[0].outcome, Outcome::Refused(Refusal::NotConfirmed));
    assert_eq!(records[1].outcome, Outcome::Succeeded);

    // Budget: two requests a day.
    let audit = Audit::default();
    let client = audit
        .attach(builder(&server.uri()))
        .daily_budget(2)
        .build()
        .unwrap();
    get_state(&client).await.unwrap();
    get_state(&client).await.unwrap();
    let budget = client.budget().unwrap();
    assert_eq!((budget.used, budget.remaining), (2, 0));
    match get_state(&client).await.unwrap_err() {
        Error::BudgetSpent {
            limit, resets_in, ..
        } => {
            assert_eq!(limit, 2);
            assert!(resets_in <= Duration::from_secs(24 * 3600));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        audit.records()[2].outcome,
        Outcome::Refused(Refusal::BudgetSpent)
    );

    // Only the successful reads ever reached the server.
    assert_eq!(received(&server).await, 1 + 2);
}

#[tokio::test]
async fn the_budget_counts_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let audit = Audit::default();
    let client = audit
        .attach(builder(&server.uri()).daily_budget(5))
        .build()
        .unwrap();
    get_state(&client).await.unwrap_err();
    assert_eq!(client.budget().unwrap().used, 3);
    let error = get_state(&client).await.unwrap_err();
    assert!(matches!(error, Error::BudgetSpent { .. }), "{error:?}");
    assert_eq!(received(&server).await, 5);
    // Spent between retries: two requests went out, so the record says failed, not refused.
    let record = audit.records().pop().unwrap();
    assert_eq!(record.outcome, Outcome::Failed);
    assert_eq!(record.attempts, 2);
    assert_eq!(record.error, Some("budget_spent"));
    assert_eq!(record.status, Some(503));
    // And once spent, the next call is refused before any request.
    get_state(&client).await.unwrap_err();
    let record = audit.records().pop().unwrap();
    assert_eq!(record.outcome, Outcome::Refused(Refusal::BudgetSpent));
    assert_eq!(record.attempts, 0);
    assert_eq!(received(&server).await, 5);
}

#[tokio::test]
async fn credentials_a_header_cannot_carry_are_refused_when_building() {
    for (identifier, key) in [
        ("ident", "key\r\nX-Evil: 1"),
        ("ident", ""),
        ("id:ent", "key"),
        ("ident", "key\n"),
    ] {
        let error = Client::builder(Credentials::plugin(identifier, key))
            .build()
            .unwrap_err();
        assert!(
            matches!(error, BuildError::InvalidCredentials { .. }),
            "{identifier:?}: {error}"
        );
        assert!(!error.to_string().contains("X-Evil"), "{error}");
    }
}

/// Today a builder reported one missing parameter per attempt: fix `website_id`, send, learn
/// about `session_id`, send, learn about the body.
#[tokio::test]
async fn a_builder_reports_every_missing_or_unusable_parameter_at_once() {
    let server = MockServer::start().await;
    let audit = Audit::default();
    let client = audit.attach(builder(&server.uri())).build().unwrap();
    let error = client.send_message().send().await.unwrap_err();
    match &error {
        Error::InvalidRequest {
            parameter, problem, ..
        } => {
            assert_eq!(*parameter, Some("website_id"));
            assert_eq!(
                problem,
                "`website_id` and `session_id` are required and were not set; the body is \
                 required and was not set: call `.body(...)` before `.send()`; it needs `type`, \
                 `from`, `origin` and `content`"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        error.to_string(),
        "send_message: invalid request: `website_id` and `session_id` are required and were \
         not set; the body is required and was not set: call `.body(...)` before `.send()`; it \
         needs `type`, `from`, `origin` and `content`. Set every required parameter (and \
         `.body(...)` on a write) before `.send()`, with ids from earlier answers (a website_id \
         is a UUID, a session_id looks like `session_<uuid>`), never from free text."
    );

    // An unusable id beside a missing one, and a body missing a field: all named.
    let error = client
        .change_conversation_state()
        .website_id(WEBSITE)
        .session_id("..")
        .body_map(|body| body)
        .send()
        .await
        .unwrap_err();
    match &error {
        Error::InvalidRequest {
            parameter, problem, ..
        } => {
            assert_eq!(*parameter, Some("session_id"));
            assert!(
                problem.starts_with(
                    "`session_id` is not a usable id: `..` is a relative path segment that \
                     would change the route; the body is incomplete or invalid: "
                ),
                "{problem}"
            );
            assert!(
                problem.contains("state"),
                "names the body's field: {problem}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(received(&server).await, 0, "nothing was sent");
    let records = audit.records();
    assert_eq!(records.len(), 2);
    assert!(
        records
            .iter()
            .all(|r| r.outcome == Outcome::Refused(Refusal::InvalidRequest))
    );
}

//! What the sandbox refuses rather than quietly bending: fault shares outside 0 to 1, fixtures
//! with two entries of one id, and a query parameter given twice. Each refusal names what was
//! wrong.

mod support;

use crisp_sandbox::{Faults, Fixtures, Sandbox};
use serde_json::Value;
use support::{Api, assert_error};

#[tokio::test]
async fn fault_shares_outside_0_to_1_are_refused_naming_the_field() {
    let bad = Faults {
        rate_limited: 1.5,
        ..Faults::default()
    };
    let error = Sandbox::builder()
        .faults(bad.clone())
        .start()
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("`rate_limited` is 1.5"),
        "{error}"
    );
    let error = r#"{"delay": -1}"#.parse::<Faults>().unwrap_err().to_string();
    assert!(error.contains("`delay` is -1"), "{error}");

    let sandbox = Sandbox::start().await.unwrap();
    let refused = sandbox.set_faults(Some(bad)).unwrap_err();
    assert_eq!(refused.field(), "rate_limited");
    let answer = reqwest::Client::new()
        .put(format!("{}/_sandbox/faults", sandbox.url()))
        .body(r#"{"drop": 2}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["reason"], "invalid_data");
    let message = body["data"]["message"].as_str().unwrap();
    assert!(
        message.contains("`drop`") && message.contains("from 0 to 1"),
        "{message}"
    );
    // Nothing was injected.
    let api = Api::new(&sandbox);
    for _ in 0..5 {
        assert_eq!(api.get("/conversations/1").await.0, 200);
    }
}

#[tokio::test]
async fn duplicate_fixture_ids_are_refused_naming_the_kind_and_the_id() {
    type Edit = fn(&mut Fixtures) -> Value;
    let cases: [(&str, Edit); 5] = [
        ("operators have user_id", |f| {
            f.operators[2]["user_id"] = f.operators[0]["user_id"].clone();
            f.operators[0]["user_id"].clone()
        }),
        ("campaigns have campaign_id", |f| {
            f.campaigns[1]["campaign_id"] = f.campaigns[0]["campaign_id"].clone();
            f.campaigns[0]["campaign_id"].clone()
        }),
        ("people have people_id", |f| {
            f.people[3]["people_id"] = f.people[0]["people_id"].clone();
            f.people[0]["people_id"].clone()
        }),
        ("conversations have session_id", |f| {
            f.conversations[4]["session_id"] = f.conversations[1]["session_id"].clone();
            f.conversations[1]["session_id"].clone()
        }),
        ("messages have fingerprint", |f| {
            let messages = f.conversations[0]["messages"].as_array_mut().unwrap();
            messages[5]["fingerprint"] = messages[2]["fingerprint"].clone();
            messages[2]["fingerprint"].clone()
        }),
    ];
    for (what, edit) in cases {
        let mut fixtures = Fixtures::demo();
        let id = edit(&mut fixtures);
        let id = id.as_str().map_or_else(|| id.to_string(), str::to_owned);
        let error = Sandbox::builder()
            .fixtures(fixtures)
            .start()
            .await
            .expect_err(what)
            .to_string();
        assert!(
            error.contains(&format!("two {what} `{id}`")),
            "{what}: {error}"
        );
    }
}

#[tokio::test]
async fn a_query_parameter_given_twice_is_refused_naming_it() {
    let sandbox = Sandbox::start().await.unwrap();
    let api = Api::new(&sandbox);
    for (path, name) in [
        (
            "/campaigns/list/1?filter_tag=promotions&filter_tag=newsletter",
            "filter_tag",
        ),
        (
            "/conversations/1?filter_resolved=1&per_page=20&filter_resolved=1",
            "filter_resolved",
        ),
        (
            "/conversation/x/messages?timestamp_before=1&timestamp_before=2",
            "timestamp_before",
        ),
    ] {
        let answer = api.get(path).await;
        assert_error(&answer, 400, "invalid_data");
        let message = answer.1["data"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("`{name}` is given 2 times")),
            "{path}: {message}"
        );
    }
    // Once each is fine.
    assert_eq!(
        api.get("/campaigns/list/1?filter_tag=promotions").await.0,
        200
    );
}

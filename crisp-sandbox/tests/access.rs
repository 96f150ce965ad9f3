//! Who may call what, and what a bad call gets, over real HTTP on loopback: auth, grants,
//! quota, 400 and 404, each answered with Crisp's envelope.

mod support;

use crisp_sandbox::{Sandbox, Token, demo};
use serde_json::{Value, json};
use support::{Api, assert_error, conv};

#[tokio::test]
async fn auth_is_basic_plus_tier_and_answers_invalid_session() {
    let sandbox = Sandbox::start().await.unwrap();
    let api = Api::new(&sandbox);
    let url = format!(
        "{}/website/{}/settings",
        sandbox.base_url(),
        sandbox.website_id()
    );

    let none = api
        .client
        .get(&url)
        .header("X-Crisp-Tier", "plugin")
        .send()
        .await
        .unwrap();
    let none = (none.status().as_u16(), none.json::<Value>().await.unwrap());
    assert_error(&none, 401, "invalid_session");

    let wrong_key = api.with_token(&api.identifier, "wrong", "plugin");
    assert_error(&wrong_key.get("/settings").await, 401, "invalid_session");
    let wrong_tier = api.with_token(&api.identifier, &api.key, "user");
    assert_error(&wrong_tier.get("/settings").await, 401, "invalid_session");
    let no_tier = api
        .client
        .get(&url)
        .basic_auth(&api.identifier, Some(&api.key))
        .send()
        .await
        .unwrap();
    assert_eq!(no_tier.status(), 401);
    let garbage = api
        .client
        .get(&url)
        .header("Authorization", "Basic %%%not-base64")
        .header("X-Crisp-Tier", "plugin")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 401);
    // The key never shows in an answer.
    let body = wrong_key.get("/settings").await.1.to_string();
    assert!(!body.contains(&api.key));
}

#[tokio::test]
async fn grants_refuse_with_not_allowed_and_quota_with_rate_limited() {
    let limited = Token::plugin("reader", "reader-key")
        .with_grants("website:conversation:sessions=read".parse().unwrap())
        .with_daily_quota(Some(3));
    let sandbox = Sandbox::builder().add_token(limited).start().await.unwrap();
    let api = Api::new(&sandbox).with_token("reader", "reader-key", "plugin");

    assert_eq!(api.get("/conversations/1").await.0, 200);
    let refused = api.post("/conversation", json!({})).await;
    assert_error(&refused, 403, "not_allowed");
    assert!(
        refused.1["data"]["message"]
            .as_str()
            .unwrap()
            .contains("website:conversation:sessions")
    );
    // Two requests spent, one left; then 429 with Retry-After.
    assert_error(&api.get("/settings").await, 403, "not_allowed");
    let url = format!(
        "{}/website/{}/conversations/1",
        sandbox.base_url(),
        sandbox.website_id()
    );
    let spent = api
        .client
        .get(&url)
        .basic_auth("reader", Some("reader-key"))
        .header("X-Crisp-Tier", "plugin")
        .send()
        .await
        .unwrap();
    assert_eq!(spent.status(), 429);
    let retry_after: u64 = spent.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=86_400).contains(&retry_after));
    let body: Value = spent.json().await.unwrap();
    assert_eq!(body["reason"], "rate_limited");
    // The main token is not affected.
    assert_eq!(Api::new(&sandbox).get("/settings").await.0, 200);
}

#[tokio::test]
async fn bad_requests_answer_invalid_data_naming_the_field() {
    let sandbox = Sandbox::start().await.unwrap();
    let api = Api::new(&sandbox);
    let path = format!("{}/message", conv(demo::SESSION_ID));

    let cases = [
        (
            json!({"type": "text", "from": "operator", "content": "x"}),
            "origin",
        ),
        (
            json!({"type": "txt", "from": "operator", "origin": "chat", "content": "x"}),
            "type",
        ),
        (
            json!({"type": "text", "from": "robot", "origin": "chat", "content": "x"}),
            "from",
        ),
        (
            json!({"type": "text", "from": "user", "origin": 7, "content": "x"}),
            "origin",
        ),
        (
            json!({"type": "text", "from": "user", "origin": "chat", "content": "x", "fingerprint": "12"}),
            "fingerprint",
        ),
    ];
    for (body, field) in cases {
        let answer = api.post(&path, body.clone()).await;
        assert_error(&answer, 400, "invalid_data");
        let message = answer.1["data"]["message"].as_str().unwrap().to_owned();
        assert!(
            message.contains(&format!("`{field}`")),
            "{body} -> {message}"
        );
    }
    let answer = api.get("/conversations/1?per_page=5").await;
    assert_error(&answer, 400, "invalid_data");
    assert!(
        answer.1["data"]["message"]
            .as_str()
            .unwrap()
            .contains("per_page")
    );
    assert_error(&api.get("/conversations/0").await, 400, "invalid_data");
    assert_error(&api.get("/conversations/first").await, 400, "invalid_data");
    assert_error(
        &api.get("/conversations/1?search_type=magic").await,
        400,
        "invalid_data",
    );
    assert_error(
        &api.get("/conversations/1?filter_unresolved=1").await,
        400,
        "invalid_data",
    );
    assert_error(
        &api.get(&format!("{}/message/abc", conv(demo::SESSION_ID)))
            .await,
        400,
        "invalid_data",
    );

    // Malformed and huge bodies are refused, not a crash.
    let url = format!(
        "{}/website/{}{path}",
        sandbox.base_url(),
        sandbox.website_id()
    );
    let send = |body: Vec<u8>| {
        api.client
            .post(&url)
            .basic_auth(&api.identifier, Some(&api.key))
            .header("X-Crisp-Tier", "plugin")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let malformed = send(b"{\"type\": ".to_vec()).await.unwrap();
    assert_eq!(malformed.status(), 400);
    let huge = send(vec![b' '; crisp_sandbox::BODY_LIMIT + 10])
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);
    assert_eq!(
        huge.json::<Value>().await.unwrap()["reason"],
        "invalid_data"
    );
    let empty = send(Vec::new()).await.unwrap();
    assert_eq!(empty.status(), 400);
}

#[tokio::test]
async fn unknown_ids_and_routes_answer_not_found_in_the_envelope() {
    let sandbox = Sandbox::start().await.unwrap();
    let api = Api::new(&sandbox);
    assert_error(
        &api.get("/conversation/session_nope").await,
        404,
        "not_found",
    );
    assert_error(&api.get("/people/profile/nope").await, 404, "not_found");
    assert_error(&api.get("/operator/nope").await, 404, "not_found");
    let other = Api {
        website: "00000000-0000-4000-8000-000000000000".into(),
        ..api.clone()
    };
    assert_error(&other.get("/settings").await, 404, "not_found");

    let unknown = api
        .client
        .get(format!("{}/nothing/here", sandbox.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let body = unknown.json::<Value>().await.unwrap();
    assert_eq!(body["reason"], "not_found");
    // Crisp's words for a route it does not know, by which a client tells it from an id.
    assert_eq!(
        body["data"]["message"],
        "the route does not exist: GET /v1/nothing/here"
    );
    let outside = api
        .client
        .get(format!("{}/website/x/conversations/1", sandbox.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(outside.status(), 404);
    assert_eq!(
        outside.json::<Value>().await.unwrap()["data"]["message"],
        "the route does not exist: GET /website/x/conversations/1 (the API's routes are under /v1)"
    );
    let method = api
        .client
        .put(format!(
            "{}/website/{}/settings",
            sandbox.base_url(),
            sandbox.website_id()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(method.status(), 405);
    assert!(method.headers().contains_key("allow"));
    assert_eq!(method.json::<Value>().await.unwrap()["error"], true);
}

//! The sandbox over real HTTP on loopback: behaviours, auth, grants, quota, 404, 400 and
//! faults, each answered with Crisp's envelope.

mod common;

use common::{Api, assert_error};
use crisp_sandbox::{Faults, Fixtures, Sandbox, Token, demo};
use serde_json::{Value, json};

fn conv(session: &str) -> String {
    format!("/conversation/{session}")
}

#[tokio::test]
async fn conversations_are_created_found_changed_and_removed() {
    let sandbox = Sandbox::start().await.unwrap();
    let api = Api::new(&sandbox);

    let (status, created) = api.post("/conversation", json!({})).await;
    assert_eq!(status, 200, "{created}");
    let session = created["data"]["session_id"].as_str().unwrap().to_owned();
    assert!(session.starts_with("session_"));
    let found = api.data(&conv(&session)).await;
    assert_eq!(found["session_id"], session.as_str());
    assert_eq!(found["state"], "pending");

    // State, meta, routing and block changes show on the next read.
    let path = conv(&session);
    assert_eq!(
        api.patch(&format!("{path}/state"), json!({"state": "resolved"}))
            .await
            .0,
        200
    );
    assert_eq!(
        api.data(&format!("{path}/state")).await["state"],
        "resolved"
    );
    assert_eq!(
        api.patch(
            &format!("{path}/meta"),
            json!({"nickname": "Jane", "data": {"plan": "pro"}})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        api.patch(
            &format!("{path}/meta"),
            json!({"email": "jane@example.com", "data": {"orders": 2}})
        )
        .await
        .0,
        200
    );
    let meta = api.data(&format!("{path}/meta")).await;
    assert_eq!(meta["nickname"], "Jane");
    assert_eq!(meta["email"], "jane@example.com");
    assert_eq!(
        meta["data"],
        json!({"plan": "pro", "orders": 2}),
        "meta data merges"
    );
    let routing = json!({"assigned": {"user_id": demo::OPERATOR_ID}});
    assert_eq!(api.patch(&format!("{path}/routing"), routing).await.0, 200);
    assert_eq!(
        api.patch(&format!("{path}/block"), json!({"blocked": true}))
            .await
            .0,
        200
    );
    let found = api.data(&path).await;
    assert_eq!(found["assigned"]["user_id"], demo::OPERATOR_ID);
    assert_eq!(found["is_blocked"], true);
    assert_eq!(found["state"], "resolved");
    // Unassigning takes `assigned: null`.
    assert_eq!(
        api.patch(&format!("{path}/routing"), json!({"assigned": null}))
            .await
            .0,
        200
    );
    assert!(api.data(&path).await.get("assigned").is_none());

    // A visitor's messages are unread by the operators until marked read.
    let visitor = json!({"type": "text", "from": "user", "origin": "chat", "content": "Hi"});
    assert_eq!(
        api.patch(&format!("{path}/block"), json!({"blocked": false}))
            .await
            .0,
        200
    );
    for _ in 0..2 {
        assert_eq!(
            api.post(&format!("{path}/message"), visitor.clone())
                .await
                .0,
            200
        );
    }
    let found = api.data(&path).await;
    assert_eq!(found["unread"]["operator"], 2);
    assert_eq!(found["state"], "unresolved", "a visitor writing reopens it");
    assert!(found["waiting_since"].is_i64());
    let read = json!({"from": "operator", "origin": "chat"});
    assert_eq!(api.patch(&format!("{path}/read"), read).await.0, 200);
    assert_eq!(api.data(&path).await["unread"]["operator"], 0);

    assert_eq!(api.delete(&path).await.0, 200);
    assert_error(&api.get(&path).await, 404, "not_found");
    assert_error(&api.delete(&path).await, 404, "not_found");
}

/// A fingerprint the client chose is never handed out again to a message that has none.
#[tokio::test]
async fn a_fingerprint_chosen_by_the_client_is_not_reused() {
    let sandbox = Sandbox::start().await.unwrap();
    let api = Api::new(&sandbox);
    let path = format!("{}/message", conv(demo::SESSION_ID));
    let message = json!({"type": "text", "from": "operator", "origin": "chat", "content": "a"});
    let (_, first) = api.post(&path, message.clone()).await;
    let next = first["data"]["fingerprint"].as_i64().unwrap() + 1;
    let mut chosen = message.clone();
    chosen["fingerprint"] = json!(next);
    let (status, second) = api.post(&path, chosen).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["data"]["fingerprint"], next);
    let (_, third) = api.post(&path, message.clone()).await;
    assert_ne!(third["data"]["fingerprint"], next, "{third}");
    // The largest fingerprint a client can choose does not break the next one.
    let mut largest = message.clone();
    largest["fingerprint"] = json!(i64::MAX);
    assert_eq!(api.post(&path, largest).await.0, 200);
    let (status, fourth) = api.post(&path, message).await;
    assert_eq!(status, 200, "{fourth}");
    assert_ne!(fourth["data"]["fingerprint"], json!(i64::MAX));
}

#[tokio::test]
async fn a_sent_message_is_listed_with_its_fingerprint_and_can_be_edited() {
    let sandbox = Sandbox::start().await.unwrap();
    let api = Api::new(&sandbox);
    let path = conv(demo::SESSION_ID);

    let (status, sent) = api
        .post(
            &format!("{path}/message"),
            json!({"type": "text", "from": "operator", "origin": "chat", "content": "On it!",
                   "not_a_field_of_crisp": 1}),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["reason"], "dispatched");
    let fingerprint = sent["data"]["fingerprint"].as_i64().unwrap();

    let latest = api.data(&format!("{path}/messages")).await;
    let latest = latest.as_array().unwrap();
    assert_eq!(latest.len(), crisp_sandbox::MESSAGE_BATCH);
    let last = latest.last().unwrap();
    assert_eq!(last["fingerprint"], fingerprint);
    assert_eq!(last["content"], "On it!");
    assert!(
        last.get("not_a_field_of_crisp").is_none(),
        "unknown fields are ignored"
    );

    let one = api.data(&format!("{path}/message/{fingerprint}")).await;
    assert_eq!(one["content"], "On it!");
    assert_eq!(
        api.patch(
            &format!("{path}/message/{fingerprint}"),
            json!({"content": "On it, Jane!"})
        )
        .await
        .0,
        200
    );
    let one = api.data(&format!("{path}/message/{fingerprint}")).await;
    assert_eq!(
        (one["content"].as_str(), one["edited"].as_bool()),
        (Some("On it, Jane!"), Some(true))
    );
    assert_error(
        &api.get(&format!("{path}/message/1")).await,
        404,
        "not_found",
    );

    // The conversation shows it, and an operator reply is not waiting for anyone.
    let found = api.data(&path).await;
    assert_eq!(found["last_message"], "On it, Jane!");
    assert_eq!(found["preview_message"]["fingerprint"], fingerprint);
    assert!(found.get("waiting_since").is_none());
}

#[tokio::test]
async fn messages_page_backwards_by_timestamp_before() {
    let sandbox = Sandbox::start().await.unwrap();
    let api = Api::new(&sandbox);
    let path = format!("{}/messages", conv(demo::SESSION_ID));
    let mut seen = Vec::new();
    let mut query = String::new();
    loop {
        let batch = api.data(&format!("{path}{query}")).await;
        let batch = batch.as_array().unwrap().clone();
        if batch.is_empty() {
            break;
        }
        let stamps: Vec<i64> = batch
            .iter()
            .map(|m| m["timestamp"].as_i64().unwrap())
            .collect();
        assert!(stamps.windows(2).all(|w| w[0] < w[1]), "oldest first");
        query = format!("?timestamp_before={}", stamps[0]);
        seen.splice(0..0, batch);
    }
    assert_eq!(seen.len(), demo::SESSION_MESSAGES);
    assert!(seen.iter().any(|m| m["fingerprint"] == demo::FINGERPRINT));
}

#[tokio::test]
async fn lists_page_by_page_number_and_filter() {
    let sandbox = Sandbox::start().await.unwrap();
    let api = Api::new(&sandbox);

    let mut all = Vec::new();
    for page in 1.. {
        let items = api
            .data(&format!("/conversations/{page}?include_empty=1"))
            .await;
        let items = items.as_array().unwrap().clone();
        let short = items.len() < 20;
        all.extend(items);
        if short {
            break;
        }
    }
    assert_eq!(
        all.len(),
        demo::CONVERSATIONS,
        "every conversation, over several pages"
    );
    let without_empty = api.data("/conversations/3").await;
    assert!(
        without_empty.as_array().unwrap().len() < 5,
        "empty ones are left out by default"
    );
    let fifty = api
        .data("/conversations/1?per_page=50&include_empty=1")
        .await;
    assert_eq!(fifty.as_array().unwrap().len(), demo::CONVERSATIONS);

    let open = api
        .data("/conversations/1?filter_not_resolved=1&per_page=50")
        .await;
    let open = open.as_array().unwrap();
    assert!(!open.is_empty());
    assert!(open.iter().all(|c| c["state"] != "resolved"));
    let resolved = api
        .data("/conversations/1?filter_resolved=1&per_page=50")
        .await;
    assert!(
        resolved
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["state"] == "resolved")
    );
    let mine = api
        .data(&format!(
            "/conversations/1?filter_assigned={}&per_page=50",
            demo::OPERATOR_ID
        ))
        .await;
    assert!(
        mine.as_array()
            .unwrap()
            .iter()
            .all(|c| c["assigned"]["user_id"] == demo::OPERATOR_ID)
    );

    let people = api.data("/people/profiles/2").await;
    assert_eq!(
        people.as_array().unwrap().len(),
        5,
        "25 profiles: 20 then 5"
    );
    let found = api.data("/people/profiles/1?search_text=jane").await;
    assert!(
        found
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["email"].as_str().unwrap().contains("jane"))
    );
    assert!(
        !api.data("/campaigns/list/1")
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        !api.data("/visitors/list/1")
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        api.data("/operators/list").await.as_array().unwrap().len(),
        3
    );
    assert_eq!(api.data("/visitors/count").await["count"], 6);
    assert_eq!(
        api.data(&format!("/operator/{}", demo::OPERATOR_ID)).await["role"],
        "owner"
    );
}

#[tokio::test]
async fn profiles_are_created_merged_replaced_and_removed() {
    let sandbox = Sandbox::start().await.unwrap();
    let api = Api::new(&sandbox);
    let card = json!({"email": "ada@example.com", "person": {"nickname": "Ada", "phone": "+44 1"},
                      "segments": ["lead"]});
    let (status, created) = api.post("/people/profile", card.clone()).await;
    assert_eq!(status, 200, "{created}");
    let id = created["data"]["people_id"].as_str().unwrap().to_owned();
    assert_error(&api.post("/people/profile", card).await, 409, "conflict");

    let path = format!("/people/profile/{id}");
    assert_eq!(
        api.patch(
            &path,
            json!({"person": {"nickname": "Ada L."}, "active": 1700000000000_i64})
        )
        .await
        .0,
        200
    );
    let merged = api.data(&path).await;
    assert_eq!(
        merged["person"],
        json!({"nickname": "Ada L.", "phone": "+44 1"}),
        "patch merges"
    );
    assert_eq!(merged["segments"], json!(["lead"]));
    assert_eq!(
        merged["active"]["last"], 1700000000000_i64,
        "active is an object when read"
    );

    assert_eq!(
        api.put(
            &path,
            json!({"email": "ada@example.org", "notepad": "new card"})
        )
        .await
        .0,
        200
    );
    let saved = api.data(&path).await;
    assert_eq!(saved["email"], "ada@example.org");
    assert_eq!(saved["notepad"], "new card");
    assert!(saved.get("person").is_none(), "put replaces the whole card");
    assert_eq!(saved["people_id"], id.as_str());

    assert_eq!(
        api.data(&format!("/people/data/{}", demo::PEOPLE_ID)).await["data"]["plan"],
        "pro"
    );
    assert_eq!(api.delete(&path).await.0, 200);
    assert_error(&api.get(&path).await, 404, "not_found");
}

#[tokio::test]
async fn settings_patch_merges_and_campaigns_dispatch() {
    let sandbox = Sandbox::start().await.unwrap();
    let api = Api::new(&sandbox);
    let patch = json!({"name": "Acme Help", "chatbox": {"hide_on_away": true}});
    assert_eq!(api.patch("/settings", patch).await.0, 200);
    let settings = api.data("/settings").await;
    assert_eq!(settings["name"], "Acme Help");
    assert_eq!(settings["chatbox"]["hide_on_away"], true);
    assert_eq!(
        settings["chatbox"]["color_theme"], "blue",
        "other keys are kept"
    );
    assert_eq!(settings["website_id"], demo::WEBSITE_ID);

    let path = format!("/campaign/{}/dispatch", demo::CAMPAIGN_ID);
    assert_eq!(api.post(&path, json!({})).await.0, 200);
    let campaigns = api.data("/campaigns/list/1?filter_status_done=1").await;
    assert!(
        campaigns
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["campaign_id"] == demo::CAMPAIGN_ID)
    );
    assert_error(
        &api.post("/campaign/nope/dispatch", json!({})).await,
        404,
        "not_found",
    );
}

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

#[tokio::test]
async fn faults_are_seeded_and_repeat() {
    let faults = Faults {
        rate_limited: 0.25,
        retry_after_secs: 3,
        bad_gateway: 0.25,
        drop: 0.1,
        delay: 0.1,
        delay_ms: 5,
        seed: 11,
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let sandbox = Sandbox::builder()
            .faults(faults.clone())
            .start()
            .await
            .unwrap();
        let api = Api::new(&sandbox);
        let url = format!(
            "{}/website/{}/settings",
            sandbox.base_url(),
            sandbox.website_id()
        );
        let mut outcomes = Vec::new();
        for _ in 0..40 {
            let answer = api
                .client
                .get(&url)
                .basic_auth(&api.identifier, Some(&api.key))
                .header("X-Crisp-Tier", "plugin")
                .send()
                .await;
            let outcome = match answer {
                Err(_) => "dropped".to_owned(),
                Ok(r) => {
                    let status = r.status().as_u16();
                    let retry = r
                        .headers()
                        .get("retry-after")
                        .map(|v| v.to_str().unwrap().to_owned());
                    let html = r
                        .headers()
                        .get("content-type")
                        .is_some_and(|v| v.to_str().unwrap().starts_with("text/html"));
                    match (status, r.text().await) {
                        (_, Err(_)) => "dropped".to_owned(),
                        (429, _) => format!("429 retry-after {}", retry.unwrap()),
                        (502, Ok(_)) if html => "502 html".to_owned(),
                        (s, _) => s.to_string(),
                    }
                }
            };
            outcomes.push(outcome);
        }
        runs.push(outcomes);
        sandbox.set_faults(None).unwrap();
    }
    assert_eq!(runs[0], runs[1], "the same seed gives the same faults");
    for kind in ["200", "429 retry-after 3", "502 html", "dropped"] {
        assert!(runs[0].iter().any(|o| o == kind), "{kind} in {:?}", runs[0]);
    }
}

#[tokio::test]
async fn fixtures_load_export_and_are_checked() {
    let mut fixtures = Fixtures::demo();
    fixtures.conversations.truncate(2);
    let sandbox = Sandbox::builder()
        .fixtures(fixtures.clone())
        .start()
        .await
        .unwrap();
    let api = Api::new(&sandbox);
    let listed = api.data("/conversations/1?include_empty=1").await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let exported = sandbox.fixtures();
    assert_eq!(exported.conversations.len(), 2);
    let text = serde_json::to_string(&exported).unwrap();
    assert_eq!(Fixtures::from_json(&text).unwrap(), exported);

    // The sandbox's own export round-trips through the admin route too.
    let admin: Value = reqwest::get(format!("{}/_sandbox/fixtures", sandbox.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(admin["website_id"], demo::WEBSITE_ID);

    let mut broken = fixtures;
    broken.conversations[0]["state"] = json!(7);
    let error = Sandbox::builder()
        .fixtures(broken)
        .start()
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("conversations[0]") && message.contains("state"),
        "{message}"
    );
}

#[tokio::test]
async fn reset_restores_the_workspace() {
    let sandbox = Sandbox::start().await.unwrap();
    let api = Api::new(&sandbox);
    assert_eq!(api.delete(&conv(demo::SESSION_ID)).await.0, 200);
    assert_eq!(api.get(&conv(demo::SESSION_ID)).await.0, 404);
    let reset = api
        .client
        .post(format!("{}/_sandbox/reset", sandbox.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    assert_eq!(api.get(&conv(demo::SESSION_ID)).await.0, 200);
}

#[tokio::test]
async fn api_requests_are_counted_whatever_their_answer() {
    let sandbox = Sandbox::start().await.unwrap();
    let api = Api::new(&sandbox);
    let admin = || async {
        let body: Value = reqwest::get(format!("{}/_sandbox/requests", sandbox.url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["data"]["api_requests"].as_u64().unwrap()
    };
    assert_eq!(sandbox.api_requests(), 0);
    assert_eq!(admin().await, 0, "admin routes are not counted");
    assert_eq!(api.get(&conv(demo::SESSION_ID)).await.0, 200);
    assert_eq!(api.get("/no/such/route").await.0, 404);
    let unauthorised = api.with_token("nobody", "wrong", "plugin");
    assert_eq!(unauthorised.get(&conv(demo::SESSION_ID)).await.0, 401);
    assert_eq!(sandbox.api_requests(), 3);
    assert_eq!(admin().await, 3);
    sandbox.reset();
    assert_eq!(sandbox.api_requests(), 3, "reset keeps the count");
}

#[tokio::test]
async fn keys_and_signing_secrets_come_from_the_os_generator() {
    // Made with the process's fast generator, a key would follow its seed: two sandboxes
    // started from one seed would share their key and signing secret.
    let mut made = Vec::new();
    for _ in 0..2 {
        fastrand::seed(7);
        let sandbox = Sandbox::start().await.unwrap();
        assert_eq!(sandbox.key().len(), 64);
        assert_eq!(sandbox.signing_secret().len(), 64);
        made.push((
            sandbox.key().to_owned(),
            sandbox.signing_secret().to_owned(),
        ));
    }
    assert_ne!(made[0].0, made[1].0, "the same key twice");
    assert_ne!(made[0].1, made[1].1, "the same signing secret twice");
}

#[tokio::test]
async fn secrets_stay_out_of_debug() {
    let sandbox = Sandbox::start().await.unwrap();
    let printed = format!("{sandbox:?} {:?}", sandbox.info());
    assert!(!printed.contains(sandbox.key()));
    assert!(!printed.contains(sandbox.signing_secret()));
    let line = serde_json::to_value(sandbox.info()).unwrap();
    for field in [
        "base_url",
        "website_id",
        "identifier",
        "key",
        "tier",
        "signing_secret",
    ] {
        assert!(line[field].is_string(), "{field}");
    }
    assert!(line["base_url"].as_str().unwrap().ends_with("/v1"));
}

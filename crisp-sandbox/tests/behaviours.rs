//! The sandbox's behaviours over real HTTP on loopback: conversations, messages, lists and
//! their filters, profiles, settings and campaigns, as Crisp keeps them.

mod support;

use crisp_sandbox::{Sandbox, demo};
use serde_json::json;
use support::{Api, assert_error, conv};

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

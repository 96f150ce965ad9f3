//! Every API operation against a mock Crisp on loopback: what the client sends (method, path,
//! query, headers, JSON body) and what it makes of Crisp's answer (the typed envelope), plus the
//! error paths and the redaction of the key.

use crisp_api::types::{
    self, Availability, CampaignType, Content, ConversationState, ErrorReason, MessageContent,
    MessageFrom, MessageType, OperatorRole, SearchOperator, SearchType, SortOrder,
};
use crisp_api::{Client, Credentials, Error};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockBuilder, MockServer, Request, ResponseTemplate};

const WEBSITE: &str = "8c842203-7ed8-4e29-a608-7cf78a7d2fcc";
const SESSION: &str = "session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881";
const PEOPLE: &str = "c5d2a9f1-3b7e-4f0a-8d61-2e9b4c7a1f05";
const OPERATOR: &str = "aa0b0c3b-1b11-4c9f-b6e5-0e1b5d6a7c42";
const CAMPAIGN: &str = "4f1e2d3c-5b6a-4978-8e1f-0a9b8c7d6e5f";
/// Message fingerprints exceed 32 bits (2^32 = 4294967296).
const FINGERPRINT: i64 = 163_408_221_955_193;
const FINGERPRINT_2: i64 = 163_408_223_301_234;

/// `printf 'ident:key' | base64`
const BASIC_PLUGIN: &str = "Basic aWRlbnQ6a2V5";
/// `printf 'ident:user-key' | base64`
const BASIC_USER: &str = "Basic aWRlbnQ6dXNlci1rZXk=";

// ---------------------------------------------------------------------------------------------
// Helpers

/// A mock server on loopback and a client (plugin tier, `ident`/`key`) pointed at it.
async fn start() -> (MockServer, Client) {
    start_with(Credentials::plugin("ident", "key")).await
}

async fn start_with(credentials: Credentials) -> (MockServer, Client) {
    let server = MockServer::start().await;
    let client = Client::builder(credentials)
        .base_url(server.uri())
        .build()
        .unwrap();
    (server, client)
}

/// A mock for `verb path`, to be answered once.
fn route(verb: &str, route_path: &str) -> MockBuilder {
    Mock::given(method(verb)).and(path(route_path))
}

/// Crisp's success envelope around `data`.
fn envelope(reason: &str, data: Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"error": false, "reason": reason, "data": data}))
}

/// Mounts `verb path` answering `response` once.
async fn mount(server: &MockServer, verb: &str, route_path: &str, response: ResponseTemplate) {
    route(verb, route_path)
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
}

/// The one request the server received, checked for method, exact path and the headers every
/// call carries on the plugin tier.
async fn single_request(server: &MockServer, verb: &str, route_path: &str) -> Request {
    let mut requests = server.received_requests().await.expect("recording is on");
    assert_eq!(requests.len(), 1, "exactly one request: {requests:#?}");
    let request = requests.remove(0);
    assert_eq!(request.method.as_str(), verb);
    assert_eq!(request.url.path(), route_path);
    assert_headers(&request, BASIC_PLUGIN, "plugin");
    request
}

fn header<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    let mut values = request.headers.get_all(name).iter();
    let value = values.next()?.to_str().expect("ASCII header");
    assert!(values.next().is_none(), "{name} sent more than once");
    Some(value)
}

fn assert_headers(request: &Request, authorization: &str, tier: &str) {
    assert_eq!(header(request, "authorization"), Some(authorization));
    assert_eq!(header(request, "x-crisp-tier"), Some(tier));
    assert_eq!(header(request, "accept"), Some("application/json"));
    let agent = header(request, "user-agent").expect("a User-Agent");
    assert!(agent.starts_with("crisp-api-rust/"), "User-Agent {agent:?}");
    assert_eq!(
        header(request, "api-version"),
        None,
        "Crisp has no api-version header"
    );
}

/// The decoded query string, sorted; `[]` when there is none.
fn query(request: &Request) -> Vec<(String, String)> {
    let mut pairs: Vec<_> = request.url.query_pairs().into_owned().collect();
    pairs.sort();
    pairs
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<_> = expected
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    pairs.sort();
    pairs
}

/// No query string and no body (GET, DELETE, and the body-less POSTs).
fn assert_bare(request: &Request) {
    assert_eq!(request.url.query(), None, "no query string");
    assert!(
        request.body.is_empty(),
        "no body, got {:?}",
        String::from_utf8_lossy(&request.body)
    );
    assert_eq!(header(request, "content-type"), None);
}

/// A JSON body equal to `expected`, and no query string.
fn assert_json_body(request: &Request, expected: Value) {
    assert_eq!(request.url.query(), None, "no query string");
    assert_eq!(header(request, "content-type"), Some("application/json"));
    let body: Value = request.body_json().expect("the body is JSON");
    assert_eq!(body, expected);
}

/// A full conversation as Crisp returns it, with `extra` merged in.
fn conversation(state: &str, extra: Value) -> Value {
    let mut value = json!({
        "session_id": SESSION,
        "website_id": WEBSITE,
        "inbox_id": null,
        "people_id": PEOPLE,
        "state": state,
        "status": 2,
        "is_verified": true,
        "is_blocked": false,
        "availability": "online",
        "active": {"now": false, "last": 1_700_041_234_567_i64},
        "last_message": "Thanks, that fixed it!",
        "preview_message": {
            "type": "text",
            "from": "user",
            "excerpt": "Thanks, that fixed it!",
            "fingerprint": FINGERPRINT
        },
        "topic": "Billing",
        "mentions": [],
        "participants": [{"type": "email", "target": "finance@acme.example"}],
        "verifications": [{"identity": "email", "method": "hmac"}],
        "compose": {"operator": {"type": "stop", "timestamp": 1_700_041_230_000_i64}},
        "unread": {"operator": 0, "visitor": 2},
        "assigned": {"user_id": OPERATOR},
        "meta": {
            "nickname": "Jane Doe",
            "email": "jane.doe@acme.example",
            "segments": ["customer", "vip"],
            "data": {"plan": "pro"},
            "ip": "203.0.113.42",
            "origin": "chat"
        },
        "created_at": 1_700_040_000_000_i64,
        "updated_at": 1_700_041_234_567_i64,
        "waiting_since": 1_700_041_000_000_i64
    });
    for (k, v) in extra.as_object().expect("an object") {
        value[k] = v.clone();
    }
    value
}

fn profile(people_id: &str, email: &str, nickname: &str) -> Value {
    json!({
        "people_id": people_id,
        "email": email,
        "person": {
            "nickname": nickname,
            "avatar": "https://avatars.example/jane.png",
            "gender": "female",
            "phone": "+33612345678",
            "address": "10 Rue de Rivoli, 75001 Paris",
            "locales": ["fr", "en"],
            "geolocation": {"country": "FR", "city": "Paris", "coordinates": {"latitude": 48.8566, "longitude": 2.3522}},
            "employment": {"name": "Acme", "title": "CFO", "role": "finance", "seniority": "executive"},
            "profiles": [{"type": "linkedin", "handle": "janedoe"}],
            "timezone": -60
        },
        "company": {"name": "Acme", "domain": "acme.example", "metrics": {"employees": 120}},
        "segments": ["customer", "vip"],
        "notepad": "Renewal in March.",
        "score": 87,
        "active": {"now": true, "last": 1_700_041_234_567_i64},
        "created_at": 1_690_000_000_000_i64,
        "updated_at": 1_700_041_234_567_i64
    })
}

fn assert_ack(ack: &types::Acknowledgement, reason: &str) {
    assert!(!ack.error);
    assert_eq!(ack.reason, reason);
    assert_eq!(ack.data, Some(json!({})));
}

// ---------------------------------------------------------------------------------------------
// Conversations

#[tokio::test]
async fn list_conversations() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/conversations/2");
    route("GET", &p)
        .and(query_param("filter_unread", "1"))
        .and(query_param("filter_not_resolved", "1"))
        .and(query_param("filter_assigned", OPERATOR))
        .and(query_param("order_date_updated", "1"))
        .and(query_param("per_page", "30"))
        .and(query_param("search_type", "text"))
        .and(query_param("search_query", "refund request"))
        .and(query_param_is_missing("filter_resolved"))
        .and(query_param_is_missing("include_empty"))
        .and(query_param_is_missing("search_operator"))
        .respond_with(envelope(
            "resolved",
            json!([
                conversation("unresolved", json!({})),
                // A state this crate does not know yet.
                conversation(
                    "snoozed",
                    json!({
                        "session_id": "session_1b4c7a2e-9d3f-4e8a-b5c6-7d8e9f0a1b2c",
                        "people_id": null,
                        "assigned": null,
                        "unread": {"operator": 5, "visitor": 0}
                    })
                ),
            ]),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let result = client
        .list_conversations()
        .website_id(WEBSITE)
        .page_number(2_u32)
        .filter_unread(1)
        .filter_not_resolved(1)
        .filter_assigned(OPERATOR)
        .order_date_updated(1)
        .per_page(30)
        .search_type(SearchType::Text)
        .search_query("refund request")
        .send()
        .await;

    let request = single_request(&server, "GET", &p).await;
    assert_eq!(
        query(&request),
        pairs(&[
            ("filter_assigned", OPERATOR),
            ("filter_not_resolved", "1"),
            ("filter_unread", "1"),
            ("order_date_updated", "1"),
            ("per_page", "30"),
            ("search_query", "refund request"),
            ("search_type", "text"),
        ]),
        "exactly the parameters set, none of the unset ones"
    );
    assert!(request.body.is_empty());

    let page = result.unwrap().into_inner();
    assert!(!page.error);
    assert_eq!(page.reason, "resolved");
    assert_eq!(page.data.len(), 2);
    let first = &page.data[0];
    assert_eq!(first.session_id, SESSION);
    assert_eq!(first.website_id, WEBSITE);
    assert_eq!(first.state, Some(ConversationState::Unresolved));
    assert_eq!(first.people_id.as_deref(), Some(PEOPLE));
    assert_eq!(first.inbox_id, None);
    let preview = first.preview_message.as_ref().unwrap();
    assert_eq!(preview.fingerprint, Some(FINGERPRINT));
    assert_eq!(preview.from, Some(MessageFrom::User));
    assert_eq!(preview.type_, Some(MessageType::Text));
    assert_eq!(first.unread.as_ref().unwrap().visitor, Some(2));
    assert_eq!(first.updated_at, Some(1_700_041_234_567));
    let second = &page.data[1];
    assert_eq!(
        second.state,
        Some(ConversationState::Unknown("snoozed".into()))
    );
    assert_eq!(second.people_id, None);
    assert_eq!(second.assigned, None);
    assert_eq!(second.unread.as_ref().unwrap().operator, Some(5));
}

#[tokio::test]
async fn create_conversation() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/conversation");
    mount(
        &server,
        "POST",
        &p,
        envelope("added", json!({"session_id": SESSION})),
    )
    .await;

    let result = client
        .create_conversation()
        .website_id(WEBSITE)
        .send()
        .await;

    assert_bare(&single_request(&server, "POST", &p).await);
    let created = result.unwrap();
    assert_eq!(created.status(), 200);
    assert_eq!(created.reason, "added");
    assert_eq!(created.data.session_id.as_deref(), Some(SESSION));
}

#[tokio::test]
async fn get_conversation() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/conversation/{SESSION}");
    let data = conversation(
        "resolved",
        // A field this crate does not know yet.
        json!({"x_sla_breached": {"at": 1_700_041_000_000_i64, "policy": "gold"}}),
    );
    mount(&server, "GET", &p, envelope("resolved", data)).await;

    let result = client
        .get_conversation()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .send()
        .await;

    assert_bare(&single_request(&server, "GET", &p).await);
    let conversation = result.unwrap().into_inner().data;
    assert_eq!(conversation.session_id, SESSION);
    assert_eq!(conversation.state, Some(ConversationState::Resolved));
    assert_eq!(conversation.status, Some(2));
    assert_eq!(conversation.people_id.as_deref(), Some(PEOPLE));
    assert_eq!(conversation.availability, Some(Availability::Online));
    assert_eq!(conversation.is_verified, Some(true));
    assert_eq!(conversation.is_blocked, Some(false));
    assert_eq!(
        conversation.assigned.unwrap().user_id.as_deref(),
        Some(OPERATOR)
    );
    let active = conversation.active.unwrap();
    assert_eq!(
        (active.now, active.last),
        (Some(false), Some(1_700_041_234_567))
    );
    let meta = conversation.meta.unwrap();
    assert_eq!(meta.email.as_deref(), Some("jane.doe@acme.example"));
    assert_eq!(meta.segments, ["customer", "vip"]);
    assert_eq!(meta.data.get("plan"), Some(&json!("pro")));
    assert_eq!(conversation.participants.len(), 1);
    assert_eq!(
        conversation.verifications[0].method.as_deref(),
        Some("hmac")
    );
    assert_eq!(conversation.created_at, Some(1_700_040_000_000));
    assert_eq!(conversation.waiting_since, Some(1_700_041_000_000));
}

#[tokio::test]
async fn remove_conversation() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/conversation/{SESSION}");
    mount(&server, "DELETE", &p, envelope("deleted", json!({}))).await;

    let result = client
        .remove_conversation()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .send()
        .await;

    assert_bare(&single_request(&server, "DELETE", &p).await);
    assert_ack(&result.unwrap(), "deleted");
}

// ---------------------------------------------------------------------------------------------
// Messages

#[tokio::test]
async fn list_messages() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/conversation/{SESSION}/messages");
    route("GET", &p)
        .and(query_param("timestamp_before", "1700041234567"))
        .respond_with(envelope(
            "resolved",
            json!([
                {
                    "session_id": SESSION,
                    "website_id": WEBSITE,
                    "type": "text",
                    "from": "user",
                    "origin": "chat",
                    "content": "Hi, I was charged twice this month.",
                    "fingerprint": FINGERPRINT,
                    "timestamp": 1_700_041_200_000_i64,
                    "user": {"type": "participant", "user_id": SESSION, "nickname": "Jane Doe"},
                    "read": "chat",
                    "delivered": "chat",
                    "stamped": true,
                    "mentions": [],
                    "preview": []
                },
                {
                    "session_id": SESSION,
                    "website_id": WEBSITE,
                    "type": "file",
                    "from": "operator",
                    "origin": "chat",
                    "content": {
                        "name": "invoice-2023-11.pdf",
                        "url": "https://storage.crisp.chat/users/upload/invoice-2023-11.pdf",
                        "type": "application/pdf"
                    },
                    "fingerprint": FINGERPRINT_2,
                    "timestamp": 1_700_041_230_000_i64,
                    "user": {"type": "website", "user_id": OPERATOR, "nickname": "Baptiste"}
                },
                {
                    // A message type this crate does not know yet.
                    "session_id": SESSION,
                    "type": "sticker",
                    "from": "user",
                    "origin": "chat",
                    "content": {"pack": "cats", "id": 7},
                    "fingerprint": 163_408_224_000_001_i64,
                    "timestamp": 1_700_041_231_000_i64
                }
            ]),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let result = client
        .list_messages()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .timestamp_before(1_700_041_234_567_i64)
        .send()
        .await;

    let request = single_request(&server, "GET", &p).await;
    assert_eq!(
        query(&request),
        pairs(&[("timestamp_before", "1700041234567")])
    );
    assert!(request.body.is_empty());

    let messages = result.unwrap().into_inner().data;
    assert_eq!(messages.len(), 3);
    let text = &messages[0];
    assert_eq!(text.fingerprint, Some(FINGERPRINT));
    assert_eq!(text.from, Some(MessageFrom::User));
    assert_eq!(text.timestamp, Some(1_700_041_200_000));
    assert_eq!(
        Content::decode(text.type_.as_ref().unwrap(), text.content.as_ref().unwrap()).unwrap(),
        Content::Text("Hi, I was charged twice this month.".into())
    );
    let file = &messages[1];
    assert_eq!(file.fingerprint, Some(FINGERPRINT_2));
    assert_eq!(file.from, Some(MessageFrom::Operator));
    match Content::decode(file.type_.as_ref().unwrap(), file.content.as_ref().unwrap()).unwrap() {
        Content::File(file) => {
            assert_eq!(file.name, "invoice-2023-11.pdf");
            assert_eq!(file.type_, "application/pdf");
        }
        other => panic!("a file, got {other:?}"),
    }
    let sticker = &messages[2];
    assert_eq!(sticker.type_, Some(MessageType::Unknown("sticker".into())));
    assert_eq!(
        Content::decode(
            sticker.type_.as_ref().unwrap(),
            sticker.content.as_ref().unwrap()
        )
        .unwrap(),
        Content::Unknown {
            message_type: MessageType::Unknown("sticker".into()),
            content: json!({"pack": "cats", "id": 7}),
        }
    );
}

#[tokio::test]
async fn list_messages_without_cursor_sends_no_query() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/conversation/{SESSION}/messages");
    mount(&server, "GET", &p, envelope("resolved", json!([]))).await;

    let result = client
        .list_messages()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .send()
        .await;

    assert_bare(&single_request(&server, "GET", &p).await);
    assert!(result.unwrap().data.is_empty());
}

#[tokio::test]
async fn send_message() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/conversation/{SESSION}/message");
    mount(
        &server,
        "POST",
        &p,
        envelope("dispatched", json!({"fingerprint": FINGERPRINT})),
    )
    .await;

    let (message_type, content) = Content::Text("Your refund is on its way.".into())
        .into_parts()
        .unwrap();
    let result = client
        .send_message()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .body(
            types::NewMessage::builder()
                .type_(message_type)
                .content(content)
                .from(MessageFrom::Operator)
                .origin("chat")
                .user(types::UserRef {
                    nickname: Some("Billing bot".into()),
                    avatar: Some("https://avatars.example/bot.png".into()),
                    ..Default::default()
                }),
        )
        .send()
        .await;

    let request = single_request(&server, "POST", &p).await;
    assert_json_body(
        &request,
        json!({
            "type": "text",
            "from": "operator",
            "origin": "chat",
            "content": "Your refund is on its way.",
            "user": {"nickname": "Billing bot", "avatar": "https://avatars.example/bot.png"}
        }),
    );
    let sent = result.unwrap();
    assert_eq!(sent.reason, "dispatched");
    assert_eq!(sent.data.fingerprint, Some(FINGERPRINT));
}

#[tokio::test]
async fn get_message() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/conversation/{SESSION}/message/{FINGERPRINT}");
    mount(
        &server,
        "GET",
        &p,
        envelope(
            "resolved",
            json!({
                "session_id": SESSION,
                "website_id": WEBSITE,
                "type": "text",
                "from": "operator",
                "origin": "urn:crisp.im:slack:0",
                "content": "Your refund is on its way.",
                "fingerprint": FINGERPRINT,
                "timestamp": 1_700_041_300_000_i64,
                "user": {"type": "website", "user_id": OPERATOR, "nickname": "Baptiste"},
                "edited": false,
                "translated": false,
                "automated": false,
                "properties": {"ticket": 4821},
                // A field this crate does not know yet.
                "x_reactions": [{"emoji": "thumbsup", "count": 1}]
            }),
        ),
    )
    .await;

    let result = client
        .get_message()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .fingerprint(FINGERPRINT)
        .send()
        .await;

    assert_bare(&single_request(&server, "GET", &p).await);
    let message = result.unwrap().into_inner().data;
    assert_eq!(message.fingerprint, Some(FINGERPRINT));
    assert_eq!(message.type_, Some(MessageType::Text));
    assert_eq!(message.from, Some(MessageFrom::Operator));
    assert_eq!(message.origin.as_deref(), Some("urn:crisp.im:slack:0"));
    assert_eq!(
        message.content,
        Some(MessageContent(json!("Your refund is on its way.")))
    );
    assert_eq!(
        Content::decode(
            message.type_.as_ref().unwrap(),
            message.content.as_ref().unwrap()
        )
        .unwrap(),
        Content::Text("Your refund is on its way.".into())
    );
    assert_eq!(message.user.unwrap().user_id.as_deref(), Some(OPERATOR));
    assert_eq!(message.properties.get("ticket"), Some(&json!(4821)));
    assert_eq!(message.timestamp, Some(1_700_041_300_000));
}

#[tokio::test]
async fn update_message() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/conversation/{SESSION}/message/{FINGERPRINT}");
    mount(&server, "PATCH", &p, envelope("updated", json!({}))).await;

    let result = client
        .update_message()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .fingerprint(FINGERPRINT)
        .body(types::MessageUpdate {
            content: MessageContent(json!("Your refund was sent on Nov 15.")),
        })
        .send()
        .await;

    let request = single_request(&server, "PATCH", &p).await;
    assert_json_body(
        &request,
        json!({"content": "Your refund was sent on Nov 15."}),
    );
    assert_ack(&result.unwrap(), "updated");
}

#[tokio::test]
async fn mark_messages_read() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/conversation/{SESSION}/read");
    mount(&server, "PATCH", &p, envelope("updated", json!({}))).await;

    let result = client
        .mark_messages_read()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .body(types::MarkMessagesRead {
            from: Some(MessageFrom::Operator),
            origin: Some("urn:crisp.im:slack:0".into()),
            fingerprints: Some(vec![FINGERPRINT, FINGERPRINT_2]),
        })
        .send()
        .await;

    let request = single_request(&server, "PATCH", &p).await;
    assert_json_body(
        &request,
        json!({
            "from": "operator",
            "origin": "urn:crisp.im:slack:0",
            "fingerprints": [163_408_221_955_193_i64, 163_408_223_301_234_i64]
        }),
    );
    // Sent as exact integers, not floats or strings.
    let body = String::from_utf8(request.body).unwrap();
    assert!(body.contains("[163408221955193,163408223301234]"), "{body}");
    assert_ack(&result.unwrap(), "updated");
}

// ---------------------------------------------------------------------------------------------
// Conversation state & routing

#[tokio::test]
async fn get_conversation_state() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/conversation/{SESSION}/state");
    mount(
        &server,
        "GET",
        &p,
        envelope("resolved", json!({"state": "unresolved"})),
    )
    .await;

    let result = client
        .get_conversation_state()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .send()
        .await;

    assert_bare(&single_request(&server, "GET", &p).await);
    assert_eq!(
        result.unwrap().data.state,
        Some(ConversationState::Unresolved)
    );
}

#[tokio::test]
async fn change_conversation_state() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/conversation/{SESSION}/state");
    mount(&server, "PATCH", &p, envelope("updated", json!({}))).await;

    let result = client
        .change_conversation_state()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .body(types::ConversationStateUpdate {
            state: ConversationState::Resolved,
            origin: None,
            user: None,
        })
        .send()
        .await;

    let request = single_request(&server, "PATCH", &p).await;
    assert_json_body(&request, json!({"state": "resolved"}));
    assert_ack(&result.unwrap(), "updated");
}

#[tokio::test]
async fn get_conversation_meta() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/conversation/{SESSION}/meta");
    mount(
        &server,
        "GET",
        &p,
        envelope(
            "resolved",
            json!({
                "nickname": "Jane Doe",
                "email": "jane.doe@acme.example",
                "phone": "+33612345678",
                "avatar": "https://avatars.example/jane.png",
                "ip": "203.0.113.42",
                "origin": "chat",
                "subject": null,
                "segments": ["customer", "vip"],
                "data": {"plan": "pro", "seats": 12, "trial": false},
                "connection": {"isp": "Orange", "asn": "AS3215"},
                "device": {
                    "capabilities": ["browsing", "call"],
                    "geolocation": {"country": "FR", "region": "Ile-de-France", "city": "Paris"},
                    "system": {
                        "os": {"name": "Mac OS", "version": "14.1"},
                        "engine": {"name": "Blink", "version": "119.0"},
                        "browser": {"name": "Chrome", "major": "119", "version": "119.0.6045.123"},
                        "useragent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)"
                    },
                    "timezone": -60,
                    "locales": ["fr", "en"]
                }
            }),
        ),
    )
    .await;

    let result = client
        .get_conversation_meta()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .send()
        .await;

    assert_bare(&single_request(&server, "GET", &p).await);
    let meta = result.unwrap().into_inner().data;
    assert_eq!(meta.nickname.as_deref(), Some("Jane Doe"));
    assert_eq!(meta.email.as_deref(), Some("jane.doe@acme.example"));
    assert_eq!(meta.subject, None);
    assert_eq!(meta.segments, ["customer", "vip"]);
    assert_eq!(meta.data.get("seats"), Some(&json!(12)));
    assert_eq!(meta.data.get("trial"), Some(&json!(false)));
    let device = meta.device.unwrap();
    assert_eq!(device.timezone, Some(-60));
    assert_eq!(device.geolocation.unwrap().country.as_deref(), Some("FR"));
    let browser = device.system.unwrap().browser.unwrap();
    assert_eq!(browser.major.as_deref(), Some("119"));
}

#[tokio::test]
async fn update_conversation_meta() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/conversation/{SESSION}/meta");
    mount(&server, "PATCH", &p, envelope("updated", json!({}))).await;

    let mut data = serde_json::Map::new();
    data.insert("plan".into(), json!("enterprise"));
    data.insert("seats".into(), json!(40));
    let result = client
        .update_conversation_meta()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .body(types::ConversationMetaUpdate {
            nickname: Some("Jane Doe".into()),
            email: Some("jane@acme.example".into()),
            segments: Some(vec!["customer".into(), "enterprise".into()]),
            data,
            ..Default::default()
        })
        .send()
        .await;

    let request = single_request(&server, "PATCH", &p).await;
    assert_json_body(
        &request,
        json!({
            "nickname": "Jane Doe",
            "email": "jane@acme.example",
            "segments": ["customer", "enterprise"],
            "data": {"plan": "enterprise", "seats": 40}
        }),
    );
    assert_ack(&result.unwrap(), "updated");
}

#[tokio::test]
async fn update_conversation_meta_can_clear_segments() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/conversation/{SESSION}/meta");
    mount(&server, "PATCH", &p, envelope("updated", json!({}))).await;

    // `Some(vec![])` sends an empty list (clear), `None` leaves the field out (keep).
    let result = client
        .update_conversation_meta()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .body(types::ConversationMetaUpdate {
            segments: Some(vec![]),
            ..Default::default()
        })
        .send()
        .await;

    let request = single_request(&server, "PATCH", &p).await;
    assert_json_body(&request, json!({"segments": []}));
    assert_ack(&result.unwrap(), "updated");
}

#[tokio::test]
async fn assign_conversation_routing() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/conversation/{SESSION}/routing");
    mount(&server, "PATCH", &p, envelope("updated", json!({}))).await;

    let result = client
        .assign_conversation_routing()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .body(types::RoutingUpdate {
            assigned: Some(types::Assignee {
                user_id: Some(OPERATOR.into()),
            }),
            silent: Some(true),
        })
        .send()
        .await;

    let request = single_request(&server, "PATCH", &p).await;
    assert_json_body(
        &request,
        json!({"assigned": {"user_id": OPERATOR}, "silent": true}),
    );
    assert_ack(&result.unwrap(), "updated");
}

#[tokio::test]
async fn assign_conversation_routing_unassign_sends_null() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/conversation/{SESSION}/routing");
    mount(&server, "PATCH", &p, envelope("updated", json!({}))).await;

    let result = client
        .assign_conversation_routing()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .body(types::RoutingUpdate {
            assigned: None,
            silent: None,
        })
        .send()
        .await;

    let request = single_request(&server, "PATCH", &p).await;
    assert_json_body(&request, json!({"assigned": null}));
    assert_eq!(request.body, br#"{"assigned":null}"#);
    assert_ack(&result.unwrap(), "updated");
}

#[tokio::test]
async fn block_conversation() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/conversation/{SESSION}/block");
    mount(&server, "PATCH", &p, envelope("updated", json!({}))).await;

    let result = client
        .block_conversation()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .body(types::BlockUpdate {
            blocked: true,
            origin: None,
            user: None,
        })
        .send()
        .await;

    let request = single_request(&server, "PATCH", &p).await;
    assert_json_body(&request, json!({"blocked": true}));
    assert_ack(&result.unwrap(), "updated");
}

// ---------------------------------------------------------------------------------------------
// People

const SEARCH_FILTER: &str =
    r#"[{"model":"people","criterion":"segments","operator":"has","query":["vip"]}]"#;

#[tokio::test]
async fn list_people_profiles() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/people/profiles/1");
    route("GET", &p)
        .and(query_param("per_page", "50"))
        .and(query_param("sort_field", "nickname"))
        .and(query_param("sort_order", "descending"))
        .and(query_param("search_operator", "or"))
        .and(query_param("search_filter", SEARCH_FILTER))
        .and(query_param("filter_date_start", "2023-11-14T00:00:00Z"))
        .and(query_param_is_missing("search_text"))
        .and(query_param_is_missing("filter_date_end"))
        .respond_with(envelope(
            "resolved",
            json!([
                profile(PEOPLE, "jane.doe@acme.example", "Jane Doe"),
                profile(
                    "0e7f3c2a-6b1d-4a8e-9f5c-3d2b1a0e9f8d",
                    "omar@globex.example",
                    "Omar Haddad"
                ),
            ]),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let result = client
        .list_people_profiles()
        .website_id(WEBSITE)
        .page_number(1_u32)
        .per_page(50)
        .sort_field("nickname")
        .sort_order(SortOrder::Descending)
        .search_operator(SearchOperator::Or)
        .search_filter(SEARCH_FILTER)
        .filter_date_start("2023-11-14T00:00:00Z")
        .send()
        .await;

    let request = single_request(&server, "GET", &p).await;
    assert_eq!(
        query(&request),
        pairs(&[
            ("filter_date_start", "2023-11-14T00:00:00Z"),
            ("per_page", "50"),
            ("search_filter", SEARCH_FILTER),
            ("search_operator", "or"),
            ("sort_field", "nickname"),
            ("sort_order", "descending"),
        ])
    );
    assert!(request.body.is_empty());

    let profiles = result.unwrap().into_inner().data;
    assert_eq!(profiles.len(), 2);
    assert_eq!(profiles[0].people_id.as_deref(), Some(PEOPLE));
    assert_eq!(profiles[0].score, Some(87));
    assert_eq!(profiles[1].email.as_deref(), Some("omar@globex.example"));
    assert_eq!(
        profiles[1].person.as_ref().unwrap().nickname.as_deref(),
        Some("Omar Haddad")
    );
}

#[tokio::test]
async fn add_people_profile() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/people/profile");
    mount(
        &server,
        "POST",
        &p,
        envelope("added", json!({"people_id": PEOPLE})),
    )
    .await;

    let result = client
        .add_people_profile()
        .website_id(WEBSITE)
        .body(types::PeopleProfileWrite {
            email: Some("jane.doe@acme.example".into()),
            person: Some(types::PersonCard {
                nickname: Some("Jane Doe".into()),
                locales: vec!["fr".into()],
                ..Default::default()
            }),
            segments: Some(vec!["lead".into()]),
            ..Default::default()
        })
        .send()
        .await;

    let request = single_request(&server, "POST", &p).await;
    assert_json_body(
        &request,
        json!({
            "email": "jane.doe@acme.example",
            "person": {"nickname": "Jane Doe", "locales": ["fr"]},
            "segments": ["lead"]
        }),
    );
    let added = result.unwrap();
    assert_eq!(added.reason, "added");
    assert_eq!(added.data.people_id.as_deref(), Some(PEOPLE));
}

#[tokio::test]
async fn get_people_profile() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/people/profile/{PEOPLE}");
    let mut data = profile(PEOPLE, "jane.doe@acme.example", "Jane Doe");
    // A field this crate does not know yet.
    data["x_lifetime_value"] = json!({"amount": 129_900, "currency": "EUR"});
    mount(&server, "GET", &p, envelope("resolved", data)).await;

    let result = client
        .get_people_profile()
        .website_id(WEBSITE)
        .people_id(PEOPLE)
        .send()
        .await;

    assert_bare(&single_request(&server, "GET", &p).await);
    let profile = result.unwrap().into_inner().data;
    assert_eq!(profile.people_id.as_deref(), Some(PEOPLE));
    assert_eq!(profile.email.as_deref(), Some("jane.doe@acme.example"));
    assert_eq!(profile.segments, ["customer", "vip"]);
    assert_eq!(profile.created_at, Some(1_690_000_000_000));
    assert_eq!(profile.active.unwrap().last, Some(1_700_041_234_567));
    let person = profile.person.unwrap();
    assert_eq!(person.nickname.as_deref(), Some("Jane Doe"));
    assert_eq!(person.timezone, Some(-60));
    assert_eq!(person.employment.unwrap().title.as_deref(), Some("CFO"));
    let coordinates = person.geolocation.unwrap().coordinates.unwrap();
    assert_eq!(coordinates.latitude, Some(48.8566));
    let company = profile.company.unwrap();
    assert_eq!(company.name.as_deref(), Some("Acme"));
    assert_eq!(company.metrics.unwrap().employees, Some(120));
}

#[tokio::test]
async fn update_people_profile() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/people/profile/{PEOPLE}");
    mount(&server, "PATCH", &p, envelope("updated", json!({}))).await;

    let result = client
        .update_people_profile()
        .website_id(WEBSITE)
        .people_id(PEOPLE)
        .body(types::PeopleProfileWrite {
            notepad: Some("Asked about annual billing.".into()),
            segments: Some(vec!["customer".into(), "vip".into()]),
            ..Default::default()
        })
        .send()
        .await;

    let request = single_request(&server, "PATCH", &p).await;
    assert_json_body(
        &request,
        json!({"notepad": "Asked about annual billing.", "segments": ["customer", "vip"]}),
    );
    assert_ack(&result.unwrap(), "updated");
}

#[tokio::test]
async fn save_people_profile() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/people/profile/{PEOPLE}");
    mount(&server, "PUT", &p, envelope("updated", json!({}))).await;

    let result = client
        .save_people_profile()
        .website_id(WEBSITE)
        .people_id(PEOPLE)
        .body(types::PeopleProfileWrite {
            email: Some("jane.doe@acme.example".into()),
            person: Some(types::PersonCard {
                nickname: Some("Jane Doe".into()),
                phone: Some("+33612345678".into()),
                ..Default::default()
            }),
            company: Some(types::CompanyCard {
                name: Some("Acme".into()),
                domain: Some("acme.example".into()),
                ..Default::default()
            }),
            segments: Some(vec!["customer".into()]),
            notepad: Some("Renewal in March.".into()),
            active: Some(1_700_041_234_567),
        })
        .send()
        .await;

    let request = single_request(&server, "PUT", &p).await;
    assert_json_body(
        &request,
        json!({
            "email": "jane.doe@acme.example",
            "person": {"nickname": "Jane Doe", "phone": "+33612345678"},
            "company": {"name": "Acme", "domain": "acme.example"},
            "segments": ["customer"],
            "notepad": "Renewal in March.",
            "active": 1_700_041_234_567_i64
        }),
    );
    assert_ack(&result.unwrap(), "updated");
}

#[tokio::test]
async fn remove_people_profile() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/people/profile/{PEOPLE}");
    mount(&server, "DELETE", &p, envelope("deleted", json!({}))).await;

    let result = client
        .remove_people_profile()
        .website_id(WEBSITE)
        .people_id(PEOPLE)
        .send()
        .await;

    assert_bare(&single_request(&server, "DELETE", &p).await);
    assert_ack(&result.unwrap(), "deleted");
}

#[tokio::test]
async fn get_people_data() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/people/data/{PEOPLE}");
    mount(
        &server,
        "GET",
        &p,
        envelope(
            "resolved",
            json!({"data": {"plan": "pro", "seats": 12, "trial": false, "signup_at": 1_690_000_000_000_i64}}),
        ),
    )
    .await;

    let result = client
        .get_people_data()
        .website_id(WEBSITE)
        .people_id(PEOPLE)
        .send()
        .await;

    assert_bare(&single_request(&server, "GET", &p).await);
    let data = result.unwrap().into_inner().data.data;
    assert_eq!(data.len(), 4);
    assert_eq!(data["plan"], json!("pro"));
    assert_eq!(data["seats"], json!(12));
    assert_eq!(data["trial"], json!(false));
    assert_eq!(data["signup_at"].as_i64(), Some(1_690_000_000_000));
}

// ---------------------------------------------------------------------------------------------
// Website settings

#[tokio::test]
async fn get_website_settings() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/settings");
    mount(
        &server,
        "GET",
        &p,
        envelope(
            "resolved",
            json!({
                "website_id": WEBSITE,
                "name": "Acme",
                "domain": "acme.example",
                "logo": "https://logos.example/acme.png",
                "contact": {"email": "support@acme.example", "phone": "+33100000000"},
                "inbox": {"lock_removal": true, "force_operator_token": false, "locale": "en"},
                "emails": {"rating": true, "transcript": true, "enrich": true, "junk_filter": true},
                "chatbox": {
                    "color_theme": "blue",
                    "locale": "en",
                    "tile": "default",
                    "file_transfer": true,
                    "hide_on_mobile": false,
                    "blocked_countries": ["KP"],
                    // A chatbox key this crate does not know yet.
                    "x_ai_answers": true
                },
                "audit": {"log": true}
            }),
        ),
    )
    .await;

    let result = client
        .get_website_settings()
        .website_id(WEBSITE)
        .send()
        .await;

    assert_bare(&single_request(&server, "GET", &p).await);
    let settings = result.unwrap().into_inner().data;
    assert_eq!(settings.website_id.as_deref(), Some(WEBSITE));
    assert_eq!(settings.name.as_deref(), Some("Acme"));
    assert_eq!(settings.inbox.unwrap().lock_removal, Some(true));
    assert_eq!(settings.emails.unwrap().transcript, Some(true));
    let chatbox = settings.chatbox.unwrap();
    assert_eq!(chatbox.color_theme.as_deref(), Some("blue"));
    assert_eq!(chatbox.file_transfer, Some(true));
    assert_eq!(chatbox.blocked_countries, ["KP"]);
    assert_eq!(settings.audit.unwrap().log, Some(true));
}

#[tokio::test]
async fn update_website_settings() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/settings");
    mount(&server, "PATCH", &p, envelope("updated", json!({}))).await;

    let result = client
        .update_website_settings()
        .website_id(WEBSITE)
        .body(types::WebsiteSettingsUpdate {
            name: Some("Acme Support".into()),
            chatbox: Some(types::SettingsChatbox {
                color_theme: Some("red".into()),
                hide_on_mobile: Some(true),
                ..Default::default()
            }),
            emails: Some(types::SettingsEmails {
                rating: Some(false),
                ..Default::default()
            }),
            ..Default::default()
        })
        .send()
        .await;

    let request = single_request(&server, "PATCH", &p).await;
    assert_json_body(
        &request,
        json!({
            "name": "Acme Support",
            "chatbox": {"color_theme": "red", "hide_on_mobile": true},
            "emails": {"rating": false}
        }),
    );
    assert_ack(&result.unwrap(), "updated");
}

// ---------------------------------------------------------------------------------------------
// Operators

#[tokio::test]
async fn list_operators() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/operators/list");
    mount(
        &server,
        "GET",
        &p,
        envelope(
            "resolved",
            json!([
                {
                    "type": "operator",
                    "details": {
                        "user_id": OPERATOR,
                        "email": "baptiste@acme.example",
                        "first_name": "Baptiste",
                        "last_name": "Jamin",
                        "avatar": "https://avatars.example/baptiste.png",
                        "role": "owner",
                        "title": "Founder",
                        "availability": "online",
                        "has_token": false
                    }
                },
                {
                    "type": "operator",
                    "details": {
                        "user_id": "1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
                        "email": "valerian@acme.example",
                        "first_name": "Valerian",
                        // A role this crate does not know yet.
                        "role": "viewer",
                        "availability": "offline"
                    }
                }
            ]),
        ),
    )
    .await;

    let result = client.list_operators().website_id(WEBSITE).send().await;

    assert_bare(&single_request(&server, "GET", &p).await);
    let operators = result.unwrap().into_inner().data;
    assert_eq!(operators.len(), 2);
    assert_eq!(operators[0].type_.as_deref(), Some("operator"));
    let owner = operators[0].details.as_ref().unwrap();
    assert_eq!(owner.user_id.as_deref(), Some(OPERATOR));
    assert_eq!(owner.role, Some(OperatorRole::Owner));
    assert_eq!(owner.availability, Some(Availability::Online));
    let viewer = operators[1].details.as_ref().unwrap();
    assert_eq!(viewer.role, Some(OperatorRole::Unknown("viewer".into())));
    assert_eq!(viewer.availability, Some(Availability::Offline));
}

#[tokio::test]
async fn get_operator() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/operator/{OPERATOR}");
    mount(
        &server,
        "GET",
        &p,
        envelope(
            "resolved",
            json!({
                "user_id": OPERATOR,
                "email": "baptiste@acme.example",
                "first_name": "Baptiste",
                "last_name": "Jamin",
                "role": "member",
                "title": "Support lead",
                // An availability this crate does not know yet.
                "availability": "busy",
                "has_token": true,
                "identifier": "0f4e3a1c-token-identifier",
                "key": "operator-token-key-7c1d9e2b5a"
            }),
        ),
    )
    .await;

    let result = client
        .get_operator()
        .website_id(WEBSITE)
        .user_id(OPERATOR)
        .send()
        .await;

    assert_bare(&single_request(&server, "GET", &p).await);
    let operator = result.unwrap().into_inner().data;
    assert_eq!(operator.user_id.as_deref(), Some(OPERATOR));
    assert_eq!(operator.first_name.as_deref(), Some("Baptiste"));
    assert_eq!(operator.role, Some(OperatorRole::Member));
    assert_eq!(
        operator.availability,
        Some(Availability::Unknown("busy".into()))
    );
    assert_eq!(operator.has_token, Some(true));
    // The operator's token key is a secret: readable on purpose, never in Debug.
    let key = operator.key.as_ref().expect("the key is decoded");
    assert_eq!(key.expose_secret(), "operator-token-key-7c1d9e2b5a");
    let debug = format!("{operator:?}");
    assert!(!debug.contains("operator-token-key"), "{debug}");
    assert!(debug.contains("[redacted]"), "{debug}");
}

// ---------------------------------------------------------------------------------------------
// Visitors

#[tokio::test]
async fn list_visitors() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/visitors/list/3");
    route("GET", &p)
        .and(query_param("per_page", "40"))
        .respond_with(envelope(
            "resolved",
            json!([{
                "session_id": SESSION,
                "inbox_id": null,
                "nickname": "Jane Doe",
                "email": "jane.doe@acme.example",
                "avatar": null,
                "useragent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)",
                "initiated": true,
                "active": true,
                "last_page": {"page_title": "Pricing - Acme", "page_url": "https://acme.example/pricing"},
                "timezone": -60,
                "capabilities": ["browsing"],
                "locales": ["fr", "en"],
                "geolocation": {"country": "FR", "region": "Ile-de-France", "city": "Paris"}
            }]),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let result = client
        .list_visitors()
        .website_id(WEBSITE)
        .page_number(3_u32)
        .per_page(40)
        .send()
        .await;

    let request = single_request(&server, "GET", &p).await;
    assert_eq!(query(&request), pairs(&[("per_page", "40")]));
    assert!(request.body.is_empty());

    let visitors = result.unwrap().into_inner().data;
    assert_eq!(visitors.len(), 1);
    let visitor = &visitors[0];
    assert_eq!(visitor.session_id.as_deref(), Some(SESSION));
    assert_eq!(visitor.avatar, None);
    assert_eq!(visitor.initiated, Some(true));
    assert_eq!(
        visitor.last_page.as_ref().unwrap().page_url.as_deref(),
        Some("https://acme.example/pricing")
    );
    assert_eq!(visitor.locales, ["fr", "en"]);
    assert_eq!(
        visitor.geolocation.as_ref().unwrap().city.as_deref(),
        Some("Paris")
    );
}

#[tokio::test]
async fn count_visitors() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/visitors/count");
    mount(
        &server,
        "GET",
        &p,
        envelope(
            "resolved",
            json!({"count": 42, "active": 17, "limited": false}),
        ),
    )
    .await;

    let result = client.count_visitors().website_id(WEBSITE).send().await;

    assert_bare(&single_request(&server, "GET", &p).await);
    let count = result.unwrap().into_inner().data;
    assert_eq!(count.count, Some(42));
    assert_eq!(count.active, Some(17));
    assert_eq!(count.limited, Some(false));
}

// ---------------------------------------------------------------------------------------------
// Campaigns

#[tokio::test]
async fn list_campaigns() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/campaigns/list/1");
    route("GET", &p)
        .and(query_param("search_name", "Black Friday"))
        .and(query_param("filter_tag", "newsletter"))
        .and(query_param("filter_type_one_shot", "1"))
        .and(query_param("filter_status_done", "0"))
        .and(query_param_is_missing("filter_type_automated"))
        .and(query_param_is_missing("filter_status_sending"))
        .respond_with(envelope(
            "resolved",
            json!([
                {
                    "campaign_id": CAMPAIGN,
                    "type": "one-shot",
                    "format": "markdown",
                    "name": "Black Friday 2023",
                    "subject": "Our biggest sale of the year",
                    "tag": "newsletter",
                    "ready": true,
                    "dispatched": true,
                    "running": false,
                    "progress": 100,
                    "targets": 5_230,
                    "reached": 5_188,
                    "created_at": 1_699_900_000_000_i64,
                    "updated_at": 1_700_800_000_000_i64,
                    "dispatched_at": 1_700_780_400_000_i64
                },
                {
                    "campaign_id": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d",
                    // A campaign type this crate does not know yet.
                    "type": "recurring",
                    "name": "Black Friday reminder",
                    "tag": "newsletter",
                    "ready": false,
                    "dispatched": false
                }
            ]),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let result = client
        .list_campaigns()
        .website_id(WEBSITE)
        .page_number(1_u32)
        .search_name("Black Friday")
        .filter_tag("newsletter")
        .filter_type_one_shot(1)
        .filter_status_done(0)
        .send()
        .await;

    let request = single_request(&server, "GET", &p).await;
    assert_eq!(
        query(&request),
        pairs(&[
            ("filter_status_done", "0"),
            ("filter_tag", "newsletter"),
            ("filter_type_one_shot", "1"),
            ("search_name", "Black Friday"),
        ])
    );
    assert!(request.body.is_empty());

    let campaigns = result.unwrap().into_inner().data;
    assert_eq!(campaigns.len(), 2);
    let sent = &campaigns[0];
    assert_eq!(sent.campaign_id.as_deref(), Some(CAMPAIGN));
    assert_eq!(sent.type_, Some(CampaignType::OneShot));
    assert_eq!(sent.dispatched, Some(true));
    assert_eq!(sent.progress, Some(100));
    assert_eq!(sent.targets, Some(5_230));
    assert_eq!(sent.reached, Some(5_188));
    assert_eq!(sent.dispatched_at, Some(1_700_780_400_000));
    assert_eq!(
        campaigns[1].type_,
        Some(CampaignType::Unknown("recurring".into()))
    );
    assert_eq!(campaigns[1].dispatched_at, None);
}

#[tokio::test]
async fn dispatch_campaign() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/campaign/{CAMPAIGN}/dispatch");
    mount(&server, "POST", &p, envelope("dispatched", json!({}))).await;

    let result = client
        .dispatch_campaign()
        .website_id(WEBSITE)
        .campaign_id(CAMPAIGN)
        .send()
        .await;

    assert_bare(&single_request(&server, "POST", &p).await);
    assert_ack(&result.unwrap(), "dispatched");
}

// ---------------------------------------------------------------------------------------------
// Credentials, path encoding and errors

#[tokio::test]
async fn user_credentials_send_the_user_tier() {
    let (server, client) = start_with(Credentials::user("ident", "user-key")).await;
    let p = format!("/website/{WEBSITE}/visitors/count");
    mount(
        &server,
        "GET",
        &p,
        envelope("resolved", json!({"count": 3, "active": 1})),
    )
    .await;

    let result = client.count_visitors().website_id(WEBSITE).send().await;

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert_headers(&requests[0], BASIC_USER, "user");
    assert_eq!(result.unwrap().data.count, Some(3));
}

#[tokio::test]
async fn path_parameters_are_percent_encoded() {
    let (server, client) = start().await;
    // What the client must send for the people id `a/b c?d`: one path segment.
    let p = format!("/website/{WEBSITE}/people/profile/a%2Fb%20c%3Fd");
    mount(&server, "DELETE", &p, envelope("deleted", json!({}))).await;

    let result = client
        .remove_people_profile()
        .website_id(WEBSITE)
        .people_id("a/b c?d")
        .send()
        .await;

    assert_bare(&single_request(&server, "DELETE", &p).await);
    assert_ack(&result.unwrap(), "deleted");
}

#[tokio::test]
async fn not_found_is_an_error_response_with_the_crisp_envelope() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/conversation/{SESSION}");
    mount(
        &server,
        "GET",
        &p,
        ResponseTemplate::new(404).set_body_json(json!({
            "error": true,
            "reason": "not_found",
            "data": {"message": "Got response error: not_found"}
        })),
    )
    .await;

    let result = client
        .get_conversation()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .send()
        .await;

    single_request(&server, "GET", &p).await;
    match result {
        Err(Error::ErrorResponse(rv)) => {
            assert_eq!(rv.status(), 404);
            assert!(rv.error);
            assert_eq!(rv.reason, ErrorReason::NotFound);
            assert_eq!(
                rv.data.as_ref().unwrap().message.as_deref(),
                Some("Got response error: not_found")
            );
        }
        other => panic!("expected ErrorResponse, got {other:?}"),
    }
}

#[tokio::test]
async fn server_error_is_an_error_response_with_the_crisp_envelope() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/conversation/{SESSION}/message");
    mount(
        &server,
        "POST",
        &p,
        ResponseTemplate::new(500).set_body_json(json!({
            "error": true,
            // A reason this crate does not know.
            "reason": "internal_error",
            "data": {"message": "Got response error: internal_error"}
        })),
    )
    .await;

    let result = client
        .send_message()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .body(types::NewMessage {
            type_: MessageType::Note,
            content: MessageContent(json!("Internal: customer is on the Pro plan.")),
            from: MessageFrom::Operator,
            origin: "chat".into(),
            automated: None,
            fingerprint: None,
            mentions: vec![OPERATOR.into()],
            original: None,
            properties: serde_json::Map::new(),
            references: vec![],
            stealth: None,
            timestamp: None,
            translated: None,
            user: None,
        })
        .send()
        .await;

    let request = single_request(&server, "POST", &p).await;
    assert_json_body(
        &request,
        json!({
            "type": "note",
            "from": "operator",
            "origin": "chat",
            "content": "Internal: customer is on the Pro plan.",
            "mentions": [OPERATOR]
        }),
    );
    let err = result.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    match err {
        Error::ErrorResponse(rv) => {
            assert_eq!(rv.status(), 500);
            assert_eq!(rv.reason, ErrorReason::Unknown("internal_error".into()));
        }
        other => panic!("expected ErrorResponse, got {other:?}"),
    }
}

#[tokio::test]
async fn html_error_page_is_an_error_that_keeps_status_and_headers() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/visitors/count");
    let page = "<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head>\
                <body><h1>503 Service Unavailable</h1></body></html>";
    mount(
        &server,
        "GET",
        &p,
        ResponseTemplate::new(503)
            .set_body_raw(page, "text/html")
            .insert_header("retry-after", "7"),
    )
    .await;

    let result = client.count_visitors().website_id(WEBSITE).send().await;

    single_request(&server, "GET", &p).await;
    let Error::ErrorResponse(response) = result.unwrap_err() else {
        panic!("an HTML error page must still be an error response with its status");
    };
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "7");
    assert_eq!(response.reason, ErrorReason::HttpError);
    let message = response
        .data
        .as_ref()
        .and_then(|d| d.message.as_deref())
        .unwrap();
    assert!(
        message.contains("HTTP 503 Service Unavailable"),
        "{message}"
    );
    assert!(message.contains("text/html"), "{message}");
    assert!(
        message.contains("<title>503 Service Unavailable</title>"),
        "{message}"
    );
}

#[tokio::test]
async fn empty_and_non_envelope_error_bodies_keep_their_status() {
    let (server, client) = start().await;
    let p = format!("/website/{WEBSITE}/visitors/count");
    for (status, template) in [
        (502, ResponseTemplate::new(502)),
        (
            429,
            ResponseTemplate::new(429).set_body_json(json!({"message": "slow down"})),
        ),
        (
            420,
            ResponseTemplate::new(420).set_body_raw("Enhance Your Calm", "text/plain"),
        ),
    ] {
        server.reset().await;
        mount(&server, "GET", &p, template).await;
        let result = client.count_visitors().website_id(WEBSITE).send().await;
        match result.unwrap_err() {
            Error::ErrorResponse(response) => {
                assert_eq!(response.status().as_u16(), status);
                assert_eq!(response.reason, ErrorReason::HttpError, "{status}");
            }
            other => panic!("{status}: expected an error response, got {other:?}"),
        }
    }
}

#[test]
fn debug_output_hides_the_key() {
    let identifier = "d3e0c1a2-4b5f-4e6a-9c7d-1f2e3a4b5c6d";
    let key = "7f9c2ba4e88f827d616045507605853ed73b8093f6efbc88eb1a6eacfa66f2d4";
    // `printf '%s:%s' "$identifier" "$key" | base64 -w0`
    let basic = "ZDNlMGMxYTItNGI1Zi00ZTZhLTljN2QtMWYyZTNhNGI1YzZkOjdmOWMyYmE0ZTg4ZjgyN2Q2MTYwNDU1MDc2MDU4NTNlZDczYjgwOTNmNmVmYmM4OGViMWE2ZWFjZmE2NmYyZDQ=";

    let builder = Client::builder(Credentials::plugin(identifier, key));
    let builder_debug = format!("{builder:?}");
    let client = builder.build().unwrap();
    let client_debug = format!("{client:?}");
    for debug in [&builder_debug, &client_debug] {
        assert!(!debug.contains(key), "{debug}");
        assert!(!debug.contains(basic), "{debug}");
        // Not even a fragment of the encoded secret.
        assert!(!debug.contains(&basic[40..80]), "{debug}");
    }
}

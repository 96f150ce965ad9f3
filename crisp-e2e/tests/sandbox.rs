//! The client against the sandbox, end to end, for every operation of the spec: each is called
//! through its typed builder with the spec's examples (the generated cases), on a fresh local
//! Crisp whose demo workspace holds the spec's example ids, and must succeed with a Crisp
//! envelope that decodes into its type. Both sides are generated from the same spec and
//! written independently; this is where they must agree.
//!
//! Then the flows an agent relies on: a conversation created, written to and read back; a
//! stream over every page of the demo's conversations; grants enforced by the sandbox as
//! Crisp does, which the client reports as `Error::Api`.

use crisp_api::types::{Content, ConversationState, ErrorReason, NewMessage};
use crisp_api::{Client, Credentials, Error, Operation, RetryPolicy};
use crisp_e2e::cases::{Ids, cases};
use crisp_sandbox::Sandbox;
use futures::TryStreamExt;

fn client(sandbox: &Sandbox) -> Client {
    Client::builder(sandbox.credentials())
        .base_url(sandbox.base_url())
        .retry(RetryPolicy::never())
        .build()
        .expect("a client")
}

#[tokio::test]
async fn every_operation_succeeds_against_the_sandbox() {
    let cases = cases();
    assert_eq!(cases.len(), Operation::ALL.len());
    for case in &cases {
        let op = case.operation.id;
        let sandbox = Sandbox::start().await.expect("the sandbox starts");
        let client = client(&sandbox);
        let answer = (case.call)(&client, &Ids::default())
            .await
            .unwrap_or_else(|e| panic!("{op} against the sandbox: {e}"));
        // One request reached the sandbox, and its data has the example's shape: an object
        // where the spec's example has one, a
        // list where it has a list.
        assert_eq!(sandbox.api_requests(), 1, "{op}");
        let example: serde_json::Value = serde_json::from_str(case.response).unwrap();
        let (data, expected) = (&answer["data"], &example["data"]);
        assert_eq!(
            std::mem::discriminant(data),
            std::mem::discriminant(expected),
            "{op}: the data is {data}, the spec's example {expected}"
        );
        sandbox.shutdown().await;
    }
}

fn text_message(text: &str) -> NewMessage {
    NewMessage::text(text)
}

#[tokio::test]
async fn a_conversation_is_created_written_and_read_back() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = client(&sandbox);
    let website = sandbox.website_id();
    let created = client
        .create_conversation()
        .website_id(website)
        .send()
        .await
        .unwrap();
    let session = created.data.session_id.expect("a new session id");
    let sent = client
        .send_message()
        .website_id(website)
        .session_id(session.as_str())
        .body(text_message("Hello from the end-to-end test"))
        .send()
        .await
        .unwrap();
    let fingerprint = sent.data.fingerprint.expect("a fingerprint");
    let message = client
        .get_message()
        .website_id(website)
        .session_id(session.as_str())
        .fingerprint(fingerprint)
        .send()
        .await
        .unwrap();
    let text = Content::decode(
        message.data.type_.as_ref().unwrap(),
        message.data.content.as_ref().unwrap(),
    )
    .unwrap();
    assert_eq!(text, Content::Text("Hello from the end-to-end test".into()));
    let messages: Vec<_> = client
        .list_messages()
        .website_id(website)
        .session_id(session.as_str())
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        messages
            .iter()
            .filter(|m| m.fingerprint == Some(fingerprint))
            .count(),
        1
    );
    client
        .change_conversation_state()
        .website_id(website)
        .session_id(session.as_str())
        .body(
            crisp_api::types::ConversationStateUpdate::builder().state(ConversationState::Resolved),
        )
        .send()
        .await
        .unwrap();
    let state = client
        .get_conversation_state()
        .website_id(website)
        .session_id(session.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(state.data.state, Some(ConversationState::Resolved));
    client
        .remove_conversation()
        .website_id(website)
        .session_id(session.as_str())
        .send()
        .await
        .unwrap();
    match client
        .get_conversation()
        .website_id(website)
        .session_id(session.as_str())
        .send()
        .await
    {
        Err(Error::Api { status, reason, .. }) => {
            assert_eq!(status.as_u16(), 404);
            assert_eq!(reason, ErrorReason::NotFound);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn streams_walk_every_page_of_the_sandbox() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = client(&sandbox);
    let website = sandbox.website_id();
    let all: Vec<_> = client
        .list_conversations()
        .website_id(website)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let page_size = match Operation::LIST_CONVERSATIONS.paging {
        Some(crisp_api::Paging::PageNumber { page_size, .. }) => page_size as usize,
        other => panic!("{other:?}"),
    };
    assert!(
        all.len() > page_size,
        "the demo spans several pages: {}",
        all.len()
    );
    let mut ids: Vec<_> = all.iter().map(|c| c.session_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all.len(), "no conversation twice");
    let unresolved: Vec<_> = client
        .list_conversations()
        .website_id(website)
        .filter_not_resolved(1)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(!unresolved.is_empty());
    assert!(
        unresolved
            .iter()
            .all(|c| c.state != Some(ConversationState::Resolved)),
        "the filter holds on every page"
    );
    assert!(unresolved.len() < all.len());
}

#[tokio::test]
async fn the_sandbox_enforces_scopes_and_the_client_reports_it() {
    let sandbox = Sandbox::start().await.unwrap();
    // A second token, read-only on sessions, as a Marketplace plugin could be granted.
    let token = crisp_sandbox::Token::plugin("reader-token", "reader-key")
        .with_grants("website:conversation:sessions=read".parse().unwrap());
    sandbox.add_token(token);
    let client = Client::builder(Credentials::plugin("reader-token", "reader-key"))
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    let website = sandbox.website_id();
    client
        .list_conversations()
        .website_id(website)
        .page_number(1)
        .send()
        .await
        .expect("granted");
    match client
        .send_message()
        .website_id(website)
        .session_id(crisp_sandbox::demo::SESSION_ID)
        .body(text_message("not allowed"))
        .send()
        .await
    {
        Err(error @ Error::Api { .. }) => {
            assert_eq!(error.status().map(|s| s.as_u16()), Some(403));
            assert_eq!(error.reason(), Some(&ErrorReason::NotAllowed));
            assert!(
                error.hint().contains("website:conversation:messages"),
                "{}",
                error.hint()
            );
        }
        other => panic!("{other:?}"),
    }
}

/// A base URL without `/v1`, or with a prefix the sandbox does not serve: the sandbox answers
/// as Crisp does for a route it does not know (404 `not_found`, "the route does not exist"),
/// and the client says to check the base URL, never to verify the ids.
#[tokio::test]
async fn a_wrong_base_url_on_the_sandbox_is_an_unknown_route_with_the_right_hint() {
    let sandbox = Sandbox::start().await.unwrap();
    let root = sandbox.url();
    let website = sandbox.website_id();
    for (base, hint) in [
        (
            root.clone(),
            format!(
                "The base URL in use, {root}, does not end in /v1, where Crisp's API lives: set \
                 CRISP_BASE_URL or ClientBuilder::base_url to {root}/v1 (Crisp's is \
                 https://api.crisp.chat/v1)."
            ),
        ),
        (
            format!("{root}/crisp/v1"),
            format!("The server at the base URL in use, {root}/crisp/v1, does not know this route"),
        ),
    ] {
        let client = Client::builder(sandbox.credentials())
            .base_url(&base)
            .build()
            .unwrap();
        let error = client
            .get_conversation()
            .website_id(website)
            .session_id(crisp_sandbox::demo::SESSION_ID)
            .send()
            .await
            .unwrap_err();
        let path = format!(
            "/website/{website}/conversation/{}",
            crisp_sandbox::demo::SESSION_ID
        );
        match &error {
            Error::UnknownRoute {
                url,
                reason,
                detail,
                ..
            } => {
                assert_eq!(url, &format!("{base}{path}"));
                assert_eq!(reason, &Some(ErrorReason::NotFound));
                assert!(
                    detail.starts_with("Crisp's envelope, `not_found`: the route does not exist"),
                    "{detail}"
                );
            }
            other => panic!("{base}: {other:?}"),
        }
        assert!(error.hint().starts_with(&hint), "{error}");
        assert!(!error.hint().contains("website_id"), "{error}");
    }
    // The same call on the right base URL, for an id the sandbox does not hold: the id case.
    let error = client(&sandbox)
        .get_conversation()
        .website_id(website)
        .session_id("session_00000000-0000-4000-8000-000000000000")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Api {
                reason: ErrorReason::NotFound,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.hint().contains("Verify the website_id"), "{error}");
}

//! What a call is checked for before a preview or a request, each a defect an outside trial
//! found: ids the client would refuse (no token for them, the path shown as sent), characters
//! a reader cannot see (escaped in the preview), integers written as floats, a caller with too
//! many pending previews (refused; nobody else's token dropped), a confirmation time to live
//! outside 1 s to a day.

mod support;

use std::time::Duration;

use crisp_mcp::{Caller, CrispMcp, Settings, hugo::HugoRequest};
use crisp_sandbox::demo;
use serde_json::{Value, json};
use support::{Options, args, harness, is_error, structured, text};

fn stdio() -> Caller {
    Caller::new("stdio", Some("test-agent".to_owned()))
}

fn hello(content: &str) -> Value {
    json!({
        "session_id": demo::SESSION_ID,
        "body": {"type": "text", "from": "operator", "origin": "chat", "content": content}
    })
}

/// Today `--confirm-ttl 0` made tokens that could never be redeemed, and a huge one panicked
/// a worker on every preview. (Expiry itself is tested in `confirm.rs` with an injected clock.)
#[tokio::test]
async fn a_confirmation_ttl_outside_one_second_to_a_day_is_refused() {
    let h = harness(Options::default()).await;
    for ttl in [
        Duration::ZERO,
        Duration::from_millis(999),
        Duration::from_secs(86_401),
        Duration::from_secs(u64::MAX),
    ] {
        let settings = Settings::new(demo::WEBSITE_ID).confirm_ttl(ttl);
        let refused = CrispMcp::new(h.client.clone(), settings).unwrap_err();
        assert!(refused.contains("give 1 to 86400 seconds"), "{refused}");
    }
    for ttl in [Duration::from_secs(1), Duration::from_secs(86_400)] {
        let settings = Settings::new(demo::WEBSITE_ID).confirm_ttl(ttl);
        assert!(CrispMcp::new(h.client.clone(), settings).is_ok());
    }
    // Without confirmation there are no tokens, and the ttl does not matter.
    let off = Settings::new(demo::WEBSITE_ID)
        .confirm(false)
        .confirm_ttl(Duration::ZERO);
    assert!(CrispMcp::new(h.client.clone(), off).is_ok());
}

/// Today the preview showed `DELETE .../conversation/../../../settings` (the request actually
/// sent is percent-encoded), and issued a token for ids the client refuses anyway.
#[tokio::test]
async fn the_preview_shows_the_path_as_sent_and_no_token_is_issued_for_a_refused_id() {
    let h = harness(Options::default()).await;
    let preview = h
        .server
        .call(
            "remove_conversation",
            args(json!({"session_id": "../../../settings"})),
            &stdio(),
        )
        .await;
    assert!(!is_error(&preview), "{}", text(&preview));
    let encoded = format!(
        "/website/{}/conversation/..%2F..%2F..%2Fsettings",
        demo::WEBSITE_ID
    );
    assert_eq!(structured(&preview)["request"]["path"], encoded);
    assert!(
        text(&preview).contains(&format!("DELETE {encoded}\n")),
        "{}",
        text(&preview)
    );
    assert!(!text(&preview).contains("../"), "{}", text(&preview));

    for (id, problem) in [
        ("..", "relative path segment"),
        ("a\nb", "control character"),
        ("", "empty"),
    ] {
        let refused = h
            .server
            .call(
                "remove_conversation",
                args(json!({"session_id": id})),
                &stdio(),
            )
            .await;
        assert!(is_error(&refused), "{id:?}");
        let message = text(&refused);
        assert!(
            message.starts_with("Invalid arguments for `remove_conversation`: `session_id`: "),
            "{message}"
        );
        assert!(message.contains(problem), "{message}");
        assert!(structured(&refused).get("confirmation_token").is_none());
        assert!(!message.contains("confirmation_token"), "{message}");
        let line = h.audit.last();
        assert_eq!(line["decision"], "refused");
        assert_eq!(line["refusal"], "invalid_arguments");
    }
    assert_eq!(h.sandbox.api_requests(), 0);
}

/// Today bidirectional overrides and other invisible characters reached the preview's text as
/// they were, so a person approving it could read something else than what is sent.
#[tokio::test]
async fn the_preview_escapes_characters_a_reader_cannot_see() {
    let h = harness(Options::default()).await;
    let content = "Refund of 10\u{202e}00 EUR\u{200b} sent\u{2028}ok\u{7}";
    let preview = h
        .server
        .call("send_message", args(hello(content)), &stdio())
        .await;
    assert!(!is_error(&preview), "{}", text(&preview));
    let shown = text(&preview);
    for hidden in ['\u{202e}', '\u{200b}', '\u{2028}', '\u{7}'] {
        assert!(!shown.contains(hidden), "{hidden:?} in {shown}");
    }
    assert!(
        shown.contains(r"Refund of 10\u{202e}00 EUR\u{200b} sent\u{2028}ok\u0007"),
        "{shown}"
    );
    // The structured content keeps the exact value, which is what the token is bound to.
    assert_eq!(structured(&preview)["request"]["body"]["content"], content);
    let mut confirmed = hello(content);
    confirmed["confirmation_token"] = structured(&preview)["confirmation_token"].clone();
    let sent = h
        .server
        .call("send_message", args(confirmed), &stdio())
        .await;
    assert!(!is_error(&sent), "{}", text(&sent));
}

/// Today `1.0` and `1e30` passed the schema's `integer` and reached Crisp as `1.0` and `1e+30`.
#[tokio::test]
async fn integers_must_be_written_as_integers() {
    let h = harness(Options {
        confirm: false,
        ..Options::default()
    })
    .await;
    let body = |fingerprint: Value| {
        json!({
            "session_id": demo::SESSION_ID,
            "body": {"type": "text", "from": "operator", "origin": "chat", "content": "x", "fingerprint": fingerprint}
        })
    };
    let cases = [
        (
            "list_conversations",
            json!({"page_number": 1e30}),
            "page_number",
        ),
        (
            "list_conversations",
            json!({"page_number": 2.0}),
            "page_number",
        ),
        ("list_conversations", json!({"per_page": 20.0}), "per_page"),
        (
            "get_message",
            json!({"session_id": demo::SESSION_ID, "fingerprint": 1.0}),
            "fingerprint",
        ),
        (
            "list_messages",
            json!({"session_id": demo::SESSION_ID, "timestamp_before": 9_223_372_036_854_775_808u64}),
            "timestamp_before",
        ),
        ("send_message", body(json!(1.0)), "body.fingerprint"),
        ("send_message", body(json!(1.5e300)), "body.fingerprint"),
    ];
    for (tool, arguments, named) in cases {
        let result = h.server.call(tool, args(arguments.clone()), &stdio()).await;
        assert!(is_error(&result), "{tool} {arguments}");
        let message = text(&result);
        assert!(
            message.starts_with(&format!("Invalid arguments for `{tool}`: `{named}`")),
            "{tool} {arguments}: {message}"
        );
        assert_eq!(h.audit.last()["refusal"], "invalid_arguments");
    }
    assert_eq!(h.sandbox.api_requests(), 0, "nothing reached Crisp");

    // Integers written as integers go through, up to the schema's bounds.
    let listed = h
        .server
        .call(
            "list_conversations",
            args(json!({"page_number": 1, "per_page": 20})),
            &stdio(),
        )
        .await;
    assert!(!is_error(&listed), "{}", text(&listed));
    let messages = h
        .server
        .call(
            "list_messages",
            args(json!({"session_id": demo::SESSION_ID, "timestamp_before": i64::MAX})),
            &stdio(),
        )
        .await;
    assert!(!is_error(&messages), "{}", text(&messages));
}

/// Today one caller's previews filled the shared store (1,024) and evicted everyone else's
/// oldest token.
#[tokio::test]
async fn a_caller_with_too_many_pending_previews_is_refused_and_nobody_loses_a_token() {
    use crisp_mcp::confirm::MAX_PENDING_PER_CALLER;

    let h = harness(Options::default()).await;
    let session = |id: &str| Caller::new("http", None).with_session(Some(id.to_owned()));
    let victim = h
        .server
        .call(
            "send_message",
            args(hello("the victim's")),
            &session("victim"),
        )
        .await;
    let victim_token = structured(&victim)["confirmation_token"].clone();
    assert!(victim_token.is_string(), "{}", text(&victim));

    for i in 0..MAX_PENDING_PER_CALLER {
        let preview = h
            .server
            .call(
                "send_message",
                args(hello(&format!("flood {i}"))),
                &session("flooder"),
            )
            .await;
        assert!(!is_error(&preview), "{}", text(&preview));
    }
    for _ in 0..3 {
        let refused = h
            .server
            .call("send_message", args(hello("one more")), &session("flooder"))
            .await;
        assert!(is_error(&refused));
        assert!(
            text(&refused).contains("previews waiting for confirmation"),
            "{}",
            text(&refused)
        );
        assert_eq!(h.audit.last()["refusal"], "too_many_pending");
    }
    // A Hugo website is a caller of its own, whatever session it comes in.
    let hugo = session("flooder").with_hugo(Some(HugoRequest {
        website_id: demo::WEBSITE_ID.to_owned(),
        session_id: None,
    }));
    let other = h
        .server
        .call("send_message", args(hello("from hugo")), &hugo)
        .await;
    assert!(!is_error(&other), "{}", text(&other));

    let mut confirmed = hello("the victim's");
    confirmed["confirmation_token"] = victim_token;
    let sent = h
        .server
        .call("send_message", args(confirmed), &session("victim"))
        .await;
    assert!(
        !is_error(&sent),
        "the victim's token survived: {}",
        text(&sent)
    );
    assert_eq!(h.sandbox.api_requests(), 1);
}

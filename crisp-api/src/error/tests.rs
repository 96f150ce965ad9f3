//! The error's words: hints, retryable cases, `Debug`, durations.

use super::*;

fn api(status: u16, reason: &str) -> Error {
    Error::Api {
        operation: &Operation::SEND_MESSAGE,
        status: StatusCode::from_u16(status).unwrap(),
        reason: ErrorReason::from(reason),
        message: Some("the message".into()),
    }
}

#[test]
fn each_reason_of_the_guide_has_its_hint() {
    let cases = [
        (400, "invalid_data", "fix the request fields"),
        (401, "invalid_session", "identifier and key"),
        (
            403,
            "not_allowed",
            "grant `website:conversation:messages` at write level",
        ),
        (404, "not_found", "Verify the website_id"),
        (404, "not_subscribed", "has not installed the plugin"),
        (403, "restricted_route_tier", "tier"),
        (409, "conflict", "current state"),
        (429, "rate_limited", "Back off"),
        (418, "something_new", "not one this crate knows"),
        (503, "something_new", "retry later"),
    ];
    for (status, reason, expected) in cases {
        let error = api(status, reason);
        assert!(
            error.hint().contains(expected),
            "{status} {reason}: {}",
            error.hint()
        );
        let text = error.to_string();
        assert!(text.starts_with("send_message: Crisp answered"), "{text}");
        assert!(text.contains(reason), "{text}");
        assert!(text.contains("the message"), "{text}");
        assert!(text.contains(expected), "display carries the hint: {text}");
    }
}

#[test]
fn retryable_cases() {
    assert!(api(502, "x").is_retryable());
    assert!(api(503, "x").is_retryable());
    assert!(!api(500, "x").is_retryable());
    assert!(!api(404, "not_found").is_retryable());
    let limited = Error::RateLimited {
        operation: &Operation::GET_CONVERSATION,
        status: StatusCode::from_u16(420).unwrap(),
        retry_after: Some(Duration::from_secs(3)),
        attempts: 3,
    };
    assert!(limited.is_retryable());
    assert_eq!(limited.reason(), Some(&ErrorReason::RateLimited));
    assert!(limited.to_string().contains("wait 3 s"), "{limited}");
    let refused = Error::NotGranted {
        operation: &Operation::REMOVE_CONVERSATION,
        scope: "website:conversation:sessions",
        needed: Access::Write,
        granted: Some(Level::Read),
    };
    assert!(!refused.is_retryable());
    assert!(refused.is_refused());
    assert_eq!(
        refused.to_string(),
        "remove_conversation: not granted: it needs `website:conversation:sessions` at \
         write level, and the grants have it at read level only. Add \
         `website:conversation:sessions=write` to the client's grants (and grant it to the \
         plugin token in the Crisp Marketplace) if this agent should call \
         remove_conversation; `Grants::for_operations` prints the least set for a list of \
         operations."
    );
}

#[test]
fn debug_is_the_case_and_the_message() {
    let error = Error::NotConfirmed {
        operation: &Operation::REMOVE_CONVERSATION,
    };
    assert_eq!(
        format!("{error:?}"),
        "crisp_api::Error::not_confirmed(\"remove_conversation: not confirmed: the \
         confirmation callback declined this irreversible call, so nothing was sent\")"
    );
}

#[test]
fn durations_read_as_people_say_them() {
    assert_eq!(Hms(Duration::from_secs(1)).to_string(), "1 s");
    assert_eq!(Hms(Duration::from_millis(1500)).to_string(), "1.5 s");
    assert_eq!(Hms(Duration::from_secs(200)).to_string(), "3 min 20 s");
    assert_eq!(
        Hms(Duration::from_secs(5 * 3600 + 120)).to_string(),
        "5 h 2 min"
    );
}

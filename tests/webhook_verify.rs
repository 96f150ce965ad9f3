//! Webhook signature verification: known-answer vectors from independent implementations,
//! rejection cases, the replay window, secrecy of errors and `Debug`, and property tests.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crisp_api::webhook::{
    self, ATTEMPT_COUNT_HEADER, SIGNATURE_HEADER, SkewDirection, TIMESTAMP_HEADER, Verifier,
    WebhookError,
};
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;

/// Crisp facts §6: computed with the official Node client's `verifyWidget`, checked with openssl.
const KAT_SECRET: &str = "test_secret";
const KAT_TIMESTAMP: &str = "1700000000000";
const KAT_BODY: &str = r#"{"website_id":"w1","event":"message:send","data":{"website_id":"w1","session_id":"session_1","type":"text","content":"Hi","from":"user","origin":"chat","fingerprint":1,"timestamp":1700000000000},"timestamp":1700000000000}"#;
const KAT_SIGNATURE: &str = "3421415159b19afda5080d1aab18e0407e0c14b7859f1e5d92f8c31321b569c6";

/// Made by `tests/fixtures/webhook_vectors.py` with Python's stdlib `hmac`.
const VECTORS: &str = include_str!("fixtures/webhook_vectors.json");

struct Vector {
    name: String,
    secret: Vec<u8>,
    timestamp: String,
    body: Vec<u8>,
    signature: String,
}

fn unhex(hex: &str) -> Vec<u8> {
    assert!(hex.len().is_multiple_of(2), "odd-length hex in fixture");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex in fixture"))
        .collect()
}

fn vectors() -> Vec<Vector> {
    let json: Vec<serde_json::Value> = serde_json::from_str(VECTORS).expect("fixture is JSON");
    let field = |v: &serde_json::Value, name: &str| v[name].as_str().expect(name).to_owned();
    json.iter()
        .map(|v| Vector {
            name: field(v, "name"),
            secret: unhex(&field(v, "secret_hex")),
            timestamp: field(v, "timestamp"),
            body: unhex(&field(v, "body_hex")),
            signature: field(v, "signature"),
        })
        .collect()
}

fn headers(timestamp: &str, signature: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(TIMESTAMP_HEADER, HeaderValue::from_str(timestamp).unwrap());
    headers.insert(SIGNATURE_HEADER, HeaderValue::from_str(signature).unwrap());
    headers
}

fn at(seconds: u64) -> impl Fn() -> SystemTime + Send + Sync + 'static {
    move || UNIX_EPOCH + Duration::from_secs(seconds)
}

fn is_malformed(result: Result<(), WebhookError>, header: &str) -> bool {
    matches!(result, Err(WebhookError::MalformedHeader { name, .. }) if name == header)
}

// ---- Known answers --------------------------------------------------------------------------

#[test]
fn known_answer_from_crisp_facts() {
    assert_eq!(
        webhook::sign(KAT_SECRET.as_bytes(), KAT_TIMESTAMP, KAT_BODY.as_bytes()),
        KAT_SIGNATURE
    );
    assert_eq!(
        webhook::verify(
            KAT_SECRET.as_bytes(),
            KAT_TIMESTAMP,
            KAT_BODY.as_bytes(),
            KAT_SIGNATURE
        ),
        Ok(())
    );
    let verifier = Verifier::new(KAT_SECRET);
    assert_eq!(
        verifier.verify(KAT_TIMESTAMP, KAT_BODY.as_bytes(), KAT_SIGNATURE),
        Ok(())
    );
    assert_eq!(
        verifier.verify_headers(&headers(KAT_TIMESTAMP, KAT_SIGNATURE), KAT_BODY.as_bytes()),
        Ok(())
    );
}

#[test]
fn python_vectors_verify() {
    let vectors = vectors();
    assert!(vectors.len() >= 30, "fixture has {} vectors", vectors.len());
    assert_eq!(
        vectors[0].signature, KAT_SIGNATURE,
        "fixture agrees with facts §6"
    );
    for v in &vectors {
        let name = &v.name;
        assert_eq!(
            webhook::sign(&v.secret, &v.timestamp, &v.body),
            v.signature,
            "sign: {name}"
        );
        assert_eq!(
            webhook::verify(&v.secret, &v.timestamp, &v.body, &v.signature),
            Ok(()),
            "verify: {name}"
        );
        let verifier = Verifier::new(v.secret.clone());
        assert_eq!(
            verifier.verify(&v.timestamp, &v.body, &v.signature),
            Ok(()),
            "Verifier::verify: {name}"
        );
        assert_eq!(
            verifier.verify_headers(&headers(&v.timestamp, &v.signature), &v.body),
            Ok(()),
            "Verifier::verify_headers: {name}"
        );
    }
}

#[test]
fn fixture_covers_what_it_claims() {
    let vectors = vectors();
    assert!(vectors.iter().any(|v| v.body.is_empty()));
    assert!(
        vectors
            .iter()
            .any(|v| std::str::from_utf8(&v.body).is_err())
    );
    assert!(vectors.iter().any(|v| v.body.len() > 16_000));
    assert!(vectors.iter().any(|v| v.secret.len() > 64));
    let non_ascii_utf8 = |b: &[u8]| !b.is_ascii() && std::str::from_utf8(b).is_ok();
    assert!(vectors.iter().any(|v| non_ascii_utf8(&v.body)));
    assert!(vectors.iter().any(|v| non_ascii_utf8(&v.secret)));
}

#[test]
fn hex_is_accepted_in_either_case() {
    let secret = KAT_SECRET.as_bytes();
    let body = KAT_BODY.as_bytes();
    let upper = KAT_SIGNATURE.to_uppercase();
    let mixed: String = KAT_SIGNATURE
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect();
    let verifier = Verifier::new(KAT_SECRET);
    for signature in [upper.as_str(), mixed.as_str()] {
        assert_eq!(
            webhook::verify(secret, KAT_TIMESTAMP, body, signature),
            Ok(())
        );
        assert_eq!(verifier.verify(KAT_TIMESTAMP, body, signature), Ok(()));
        assert_eq!(
            verifier.verify_headers(&headers(KAT_TIMESTAMP, signature), body),
            Ok(())
        );
    }
}

#[test]
fn surrounding_whitespace_is_trimmed() {
    let verifier = Verifier::new(KAT_SECRET);
    let body = KAT_BODY.as_bytes();
    assert_eq!(
        verifier.verify(" 1700000000000\t", body, &format!("  {KAT_SIGNATURE}\r\n")),
        Ok(())
    );
    assert_eq!(
        webhook::sign(KAT_SECRET.as_bytes(), "\t1700000000000 ", body),
        KAT_SIGNATURE
    );
    // Whitespace inside is not trimmed.
    assert_eq!(
        verifier.verify("1700000000 000", body, KAT_SIGNATURE),
        Err(WebhookError::SignatureMismatch)
    );
}

// ---- Rejections -----------------------------------------------------------------------------

#[test]
fn tampering_is_a_mismatch() {
    let verifier = Verifier::new(KAT_SECRET);
    let body = KAT_BODY.as_bytes();
    let tampered = KAT_BODY.replace("\"Hi\"", "\"Ho\"");
    let reserialised =
        serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(KAT_BODY).unwrap())
            .unwrap();
    let wrong_secret = Verifier::new("test_secreT");
    let mut flipped_signature = KAT_SIGNATURE.to_owned();
    flipped_signature.replace_range(63.., "7");

    let cases: [(&str, Result<(), WebhookError>); 9] = [
        (
            "tampered body",
            verifier.verify(KAT_TIMESTAMP, tampered.as_bytes(), KAT_SIGNATURE),
        ),
        (
            "re-serialised body",
            verifier.verify(KAT_TIMESTAMP, reserialised.as_bytes(), KAT_SIGNATURE),
        ),
        (
            "body with trailing newline",
            verifier.verify(
                KAT_TIMESTAMP,
                format!("{KAT_BODY}\n").as_bytes(),
                KAT_SIGNATURE,
            ),
        ),
        (
            "empty body",
            verifier.verify(KAT_TIMESTAMP, b"", KAT_SIGNATURE),
        ),
        (
            "changed timestamp",
            verifier.verify("1700000000001", body, KAT_SIGNATURE),
        ),
        (
            "timestamp in seconds instead of ms",
            verifier.verify("1700000000", body, KAT_SIGNATURE),
        ),
        (
            "wrong secret",
            wrong_secret.verify(KAT_TIMESTAMP, body, KAT_SIGNATURE),
        ),
        (
            "wrong secret (free function)",
            webhook::verify(b"other", KAT_TIMESTAMP, body, KAT_SIGNATURE),
        ),
        (
            "one digit of the signature changed",
            verifier.verify(KAT_TIMESTAMP, body, &flipped_signature),
        ),
    ];
    for (name, result) in cases {
        assert_eq!(result, Err(WebhookError::SignatureMismatch), "{name}");
    }
}

#[test]
fn malformed_signatures() {
    let verifier = Verifier::new(KAT_SECRET);
    let body = KAT_BODY.as_bytes();
    let non_hex = format!("{}g", &KAT_SIGNATURE[..63]);
    let with_prefix = format!("sha256={KAT_SIGNATURE}");
    let doubled = KAT_SIGNATURE.repeat(2);
    let non_ascii = format!("{}é", &KAT_SIGNATURE[..62]); // 64 bytes, not hex
    for signature in [
        "",
        "   ",
        &KAT_SIGNATURE[..63],
        &KAT_SIGNATURE[..32],
        &format!("{KAT_SIGNATURE}0"),
        &doubled,
        &non_hex,
        &with_prefix,
        &non_ascii,
        &"z".repeat(64),
    ] {
        assert!(
            is_malformed(
                verifier.verify(KAT_TIMESTAMP, body, signature),
                SIGNATURE_HEADER
            ),
            "{signature:?}"
        );
        assert!(
            is_malformed(
                webhook::verify(KAT_SECRET.as_bytes(), KAT_TIMESTAMP, body, signature),
                SIGNATURE_HEADER
            ),
            "{signature:?}"
        );
    }
}

#[test]
fn malformed_header_values() {
    let verifier = Verifier::new(KAT_SECRET);
    let body = KAT_BODY.as_bytes();

    // A signature header that is not UTF-8 is malformed, not a panic.
    let mut map = headers(KAT_TIMESTAMP, KAT_SIGNATURE);
    map.insert(
        SIGNATURE_HEADER,
        HeaderValue::from_bytes(&[0xff; 64]).unwrap(),
    );
    assert!(is_malformed(
        verifier.verify_headers(&map, body),
        SIGNATURE_HEADER
    ));

    // A timestamp header that is not UTF-8 is signed verbatim: without a window it simply
    // does not match the signature.
    let mut map = headers(KAT_TIMESTAMP, KAT_SIGNATURE);
    map.insert(
        TIMESTAMP_HEADER,
        HeaderValue::from_bytes(b"17000000\xff00000").unwrap(),
    );
    assert_eq!(
        verifier.verify_headers(&map, body),
        Err(WebhookError::SignatureMismatch)
    );

    // Either header twice is malformed.
    for name in [TIMESTAMP_HEADER, SIGNATURE_HEADER] {
        let mut map = headers(KAT_TIMESTAMP, KAT_SIGNATURE);
        let value = map.get(name).unwrap().clone();
        map.append(name, value);
        assert!(
            is_malformed(verifier.verify_headers(&map, body), name),
            "{name}"
        );
    }
}

#[test]
fn missing_headers() {
    let verifier = Verifier::new(KAT_SECRET);
    let body = KAT_BODY.as_bytes();
    for name in [TIMESTAMP_HEADER, SIGNATURE_HEADER] {
        let mut map = headers(KAT_TIMESTAMP, KAT_SIGNATURE);
        map.remove(name);
        assert_eq!(
            verifier.verify_headers(&map, body),
            Err(WebhookError::MissingHeader { name }),
            "{name}"
        );
    }
    assert!(matches!(
        verifier.verify_headers(&HeaderMap::new(), body),
        Err(WebhookError::MissingHeader { .. })
    ));
}

#[test]
fn header_names_are_case_insensitive() {
    let verifier = Verifier::new(KAT_SECRET);
    let mut map = HeaderMap::new();
    map.insert(
        HeaderName::from_bytes(b"X-Crisp-Request-Timestamp").unwrap(),
        HeaderValue::from_static(KAT_TIMESTAMP),
    );
    map.insert(
        HeaderName::from_bytes(b"X-CRISP-SIGNATURE").unwrap(),
        HeaderValue::from_static(KAT_SIGNATURE),
    );
    map.insert(
        HeaderName::from_bytes(b"X-Delivery-Attempt-Count").unwrap(),
        HeaderValue::from_static("2"),
    );
    assert_eq!(verifier.verify_headers(&map, KAT_BODY.as_bytes()), Ok(()));
    assert_eq!(map.get(ATTEMPT_COUNT_HEADER).unwrap(), "2");
}

#[test]
fn header_constants() {
    assert_eq!(SIGNATURE_HEADER, "x-crisp-signature");
    assert_eq!(TIMESTAMP_HEADER, "x-crisp-request-timestamp");
    assert_eq!(ATTEMPT_COUNT_HEADER, "x-delivery-attempt-count");
    for name in [SIGNATURE_HEADER, TIMESTAMP_HEADER, ATTEMPT_COUNT_HEADER] {
        assert_eq!(HeaderName::from_static(name).as_str(), name);
    }
}

// ---- Replay window --------------------------------------------------------------------------

const NOW: u64 = 1_700_000_000;

fn signed(timestamp: &str) -> (String, &'static [u8]) {
    let body = KAT_BODY.as_bytes();
    (webhook::sign(KAT_SECRET.as_bytes(), timestamp, body), body)
}

fn windowed(now: u64) -> Verifier {
    Verifier::new(KAT_SECRET)
        .with_tolerance(Duration::from_secs(300))
        .with_clock(at(now))
}

#[test]
fn window_accepts_inside_and_at_the_edge() {
    let verifier = windowed(NOW);
    for timestamp in [
        "1700000000000", // now, ms
        "1700000000",    // now, s
        "1699999700000", // exactly 300 s old
        "1700000300000", // exactly 300 s ahead
        "1699999700",
        "1700000300",
        "1699999999999",
        "1700000000001",
    ] {
        let (signature, body) = signed(timestamp);
        assert_eq!(
            verifier.verify(timestamp, body, &signature),
            Ok(()),
            "{timestamp}"
        );
        assert_eq!(
            verifier.verify_headers(&headers(timestamp, &signature), body),
            Ok(()),
            "{timestamp}"
        );
    }
}

#[test]
fn window_rejects_too_old_and_future() {
    let verifier = windowed(NOW);
    let cases = [
        ("1699999699999", SkewDirection::Past, 300_001),
        ("1699999000000", SkewDirection::Past, 1_000_000),
        ("1699999699", SkewDirection::Past, 301_000),
        ("1700000300001", SkewDirection::Future, 300_001),
        ("1700003600000", SkewDirection::Future, 3_600_000),
        ("1700000301", SkewDirection::Future, 301_000),
        ("0", SkewDirection::Past, NOW * 1000),
    ];
    for (timestamp, expected_direction, skew_ms) in cases {
        let (signature, body) = signed(timestamp);
        let err = verifier.verify(timestamp, body, &signature).unwrap_err();
        assert_eq!(
            err,
            WebhookError::TimestampOutsideWindow {
                skew: Duration::from_millis(skew_ms),
                direction: expected_direction,
                tolerance: Duration::from_secs(300),
            },
            "{timestamp}"
        );
        let message = err.to_string();
        let word = match expected_direction {
            SkewDirection::Past => "in the past",
            SkewDirection::Future => "in the future",
        };
        assert!(message.contains(word), "{message}");
        assert!(message.contains("300s"), "{message}");
    }
}

#[test]
fn window_checks_signature_first() {
    // A forged request with a stale timestamp is a mismatch, not a window error.
    let verifier = windowed(NOW);
    let (signature, body) = signed("1600000000000");
    assert_eq!(
        verifier.verify("1600000000000", b"forged", &signature),
        Err(WebhookError::SignatureMismatch)
    );
    assert!(matches!(
        verifier.verify("1600000000000", body, &signature),
        Err(WebhookError::TimestampOutsideWindow {
            direction: SkewDirection::Past,
            ..
        })
    ));
}

#[test]
fn window_needs_a_numeric_timestamp() {
    let verifier = windowed(NOW);
    for timestamp in [
        "",
        "abc",
        "-1700000000",
        "+1700000000",
        "1700000000.5",
        "1.7e12",
        "99999999999999999999999",
    ] {
        let (signature, body) = signed(timestamp);
        assert!(
            is_malformed(
                verifier.verify(timestamp, body, &signature),
                TIMESTAMP_HEADER
            ),
            "{timestamp:?}"
        );
        // Without a window, the timestamp is opaque: any signed value verifies.
        assert_eq!(
            Verifier::new(KAT_SECRET).verify(timestamp, body, &signature),
            Ok(()),
            "{timestamp:?}"
        );
    }
}

#[test]
fn no_window_by_default_and_clock_alone_does_nothing() {
    let (signature, body) = signed("1000000000000");
    assert_eq!(
        Verifier::new(KAT_SECRET).verify("1000000000000", body, &signature),
        Ok(())
    );
    assert_eq!(
        Verifier::new(KAT_SECRET)
            .with_clock(at(NOW))
            .verify("1000000000000", body, &signature),
        Ok(())
    );
}

#[test]
fn default_clock_is_the_system_clock() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    let verifier = Verifier::new(KAT_SECRET).with_tolerance(Duration::from_secs(60));
    let (signature, body) = signed(&now);
    assert_eq!(verifier.verify(&now, body, &signature), Ok(()));
    let (signature, body) = signed(KAT_TIMESTAMP);
    assert!(matches!(
        verifier.verify(KAT_TIMESTAMP, body, &signature),
        Err(WebhookError::TimestampOutsideWindow { .. })
    ));
}

#[test]
fn clock_can_be_a_shared_closure() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let seconds = Arc::new(AtomicU64::new(NOW));
    let clock: Arc<dyn Fn() -> SystemTime + Send + Sync> = {
        let seconds = Arc::clone(&seconds);
        Arc::new(move || UNIX_EPOCH + Duration::from_secs(seconds.load(Ordering::SeqCst)))
    };
    let verifier = Verifier::new(KAT_SECRET)
        .with_tolerance(Duration::from_secs(300))
        .with_clock(move || clock());
    let (signature, body) = signed(KAT_TIMESTAMP);
    assert_eq!(verifier.verify(KAT_TIMESTAMP, body, &signature), Ok(()));
    seconds.store(NOW + 301, Ordering::SeqCst);
    assert!(verifier.verify(KAT_TIMESTAMP, body, &signature).is_err());
}

// ---- Secrecy --------------------------------------------------------------------------------

const SECRET: &str = "s3cr3t-plugin-signing-key-7f1c";

#[test]
fn debug_of_verifier_redacts_the_secret() {
    for verifier in [
        Verifier::new(SECRET),
        Verifier::new(SECRET)
            .with_tolerance(Duration::from_secs(300))
            .with_clock(at(NOW)),
    ] {
        for debug in [format!("{verifier:?}"), format!("{verifier:#?}")] {
            assert!(!debug.contains(SECRET), "{debug}");
            assert!(!debug.contains("s3cr3t"), "{debug}");
            assert!(debug.contains("[redacted]"), "{debug}");
        }
    }
    assert_eq!(
        format!("{:?}", Verifier::new(SECRET)),
        r#"Verifier { secret: "[redacted]", tolerance: None, .. }"#
    );
    assert_eq!(
        format!(
            "{:?}",
            Verifier::new(SECRET).with_tolerance(Duration::from_secs(300))
        ),
        r#"Verifier { secret: "[redacted]", tolerance: Some(300s), .. }"#
    );
}

#[test]
fn errors_never_reveal_secret_or_signatures() {
    let body = KAT_BODY.as_bytes();
    let expected = webhook::sign(SECRET.as_bytes(), KAT_TIMESTAMP, body);
    let received = webhook::sign(b"another-secret", KAT_TIMESTAMP, body);
    let verifier = Verifier::new(SECRET)
        .with_tolerance(Duration::from_secs(300))
        .with_clock(at(NOW + 10_000));

    let mut errors = vec![
        verifier.verify(KAT_TIMESTAMP, body, &received).unwrap_err(),
        verifier.verify(KAT_TIMESTAMP, body, &expected).unwrap_err(),
        verifier
            .verify(KAT_TIMESTAMP, body, &received[..63])
            .unwrap_err(),
        verifier
            .verify(KAT_TIMESTAMP, body, &format!("{}x", &received[..63]))
            .unwrap_err(),
        verifier.verify("not-a-time", body, &received).unwrap_err(),
        verifier
            .verify_headers(&HeaderMap::new(), body)
            .unwrap_err(),
        webhook::verify(SECRET.as_bytes(), KAT_TIMESTAMP, body, &received).unwrap_err(),
    ];
    let mut twice = headers(KAT_TIMESTAMP, &received);
    twice.append(SIGNATURE_HEADER, HeaderValue::from_str(&received).unwrap());
    errors.push(verifier.verify_headers(&twice, body).unwrap_err());
    errors.push(
        serde_json::from_slice::<serde_json::Value>(b"not json")
            .map(|_| ())
            .map_err(|e| WebhookError::InvalidDelivery {
                reason: e.to_string(),
            })
            .unwrap_err(),
    );

    let kinds: Vec<_> = errors.iter().map(std::mem::discriminant).collect();
    for kind in [
        WebhookError::SignatureMismatch,
        WebhookError::MissingHeader { name: "" },
    ] {
        assert!(kinds.contains(&std::mem::discriminant(&kind)));
    }

    for err in &errors {
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.is_empty());
            for forbidden in [
                SECRET,
                expected.as_str(),
                &expected.to_uppercase(),
                received.as_str(),
                &received[..16],
                &expected[..16],
            ] {
                assert!(!text.contains(forbidden), "{text:?} contains {forbidden:?}");
            }
        }
    }
}

#[test]
fn error_messages_say_what_to_do() {
    let mismatch = WebhookError::SignatureMismatch.to_string();
    assert!(mismatch.contains("secret"), "{mismatch}");
    assert!(mismatch.contains("unmodified"), "{mismatch}");
    let missing = WebhookError::MissingHeader {
        name: SIGNATURE_HEADER,
    }
    .to_string();
    assert!(missing.contains(SIGNATURE_HEADER), "{missing}");
    assert!(missing.contains("plugin hook"), "{missing}");
    let malformed = Verifier::new(KAT_SECRET)
        .verify(KAT_TIMESTAMP, b"", "abc")
        .unwrap_err()
        .to_string();
    assert!(malformed.contains(SIGNATURE_HEADER), "{malformed}");
    assert!(malformed.contains("64 hex digits"), "{malformed}");
    assert!(malformed.contains("reject"), "{malformed}");
}

#[test]
fn verifier_is_shareable() {
    fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync_clone::<Verifier>();
    fn assert_error<T: std::error::Error + Send + Sync + 'static>() {}
    assert_error::<WebhookError>();
}

// ---- Properties -----------------------------------------------------------------------------

/// A header name: mostly the two that matter (in any case), sometimes anything valid.
fn header_name() -> impl Strategy<Value = HeaderName> {
    prop_oneof![
        Just(TIMESTAMP_HEADER.to_owned()),
        Just(SIGNATURE_HEADER.to_owned()),
        Just("X-Crisp-Signature".to_owned()),
        Just("X-CRISP-REQUEST-TIMESTAMP".to_owned()),
        "[a-zA-Z0-9-]{1,30}",
    ]
    .prop_filter_map("valid header name", |name| {
        HeaderName::from_bytes(name.as_bytes()).ok()
    })
}

/// A header value: hex-like strings of about the right length, digits, or any valid bytes.
fn header_value() -> impl Strategy<Value = HeaderValue> {
    prop_oneof![
        "[0-9a-fA-F]{60,68}".prop_map(String::into_bytes),
        "[ \t]?[0-9]{0,25}[ \t]?".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..100),
    ]
    .prop_filter_map("valid header value", |bytes| {
        HeaderValue::from_bytes(&bytes).ok()
    })
}

fn any_verifier() -> impl Strategy<Value = Verifier> {
    (
        proptest::collection::vec(any::<u8>(), 0..100),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(|(secret, window, now)| {
            let verifier = Verifier::new(secret);
            if window {
                verifier
                    .with_tolerance(Duration::from_secs(300))
                    .with_clock(at(now % 20_000_000_000))
            } else {
                verifier
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_inputs_never_panic(
        verifier in any_verifier(),
        secret in proptest::collection::vec(any::<u8>(), 0..80),
        timestamp in any::<String>(),
        body in proptest::collection::vec(any::<u8>(), 0..300),
        signature in prop_oneof![any::<String>(), "[0-9a-fA-FxX ]{0,70}"],
    ) {
        let _ = webhook::verify(&secret, &timestamp, &body, &signature);
        let _ = verifier.verify(&timestamp, &body, &signature);
        let sig = webhook::sign(&secret, &timestamp, &body);
        prop_assert_eq!(sig.len(), 64);
    }

    #[test]
    fn arbitrary_header_maps_never_panic(
        verifier in any_verifier(),
        entries in proptest::collection::vec((header_name(), header_value()), 0..6),
        body in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        let mut map = HeaderMap::new();
        for (name, value) in entries {
            map.append(name, value);
        }
        if let Err(err) = verifier.verify_headers(&map, &body) {
            prop_assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn sign_then_verify_succeeds(
        secret in proptest::collection::vec(any::<u8>(), 0..150),
        timestamp in "[ -~]{0,20}",
        body in proptest::collection::vec(any::<u8>(), 0..600),
        upper in any::<bool>(),
    ) {
        let mut signature = webhook::sign(&secret, &timestamp, &body);
        if upper {
            signature = signature.to_uppercase();
        }
        prop_assert_eq!(webhook::verify(&secret, &timestamp, &body, &signature), Ok(()));
        let verifier = Verifier::new(secret.clone());
        prop_assert_eq!(verifier.verify(&timestamp, &body, &signature), Ok(()));
        if let Ok(value) = HeaderValue::from_str(&timestamp) {
            let mut map = HeaderMap::new();
            map.insert(TIMESTAMP_HEADER, value);
            map.insert(SIGNATURE_HEADER, HeaderValue::from_str(&signature).unwrap());
            prop_assert_eq!(verifier.verify_headers(&map, &body), Ok(()));
        }
    }

    #[test]
    fn sign_then_verify_succeeds_inside_the_window(
        offset in -300_000i64..=300_000,
        millis in any::<bool>(),
        body in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let now_ms = NOW * 1000;
        let sent_ms = now_ms.checked_add_signed(offset).unwrap();
        let timestamp = if millis { sent_ms.to_string() } else { (sent_ms / 1000).to_string() };
        let signature = webhook::sign(KAT_SECRET.as_bytes(), &timestamp, &body);
        prop_assert_eq!(windowed(NOW).verify(&timestamp, &body, &signature), Ok(()));
    }

    #[test]
    fn flipping_any_body_byte_fails(
        secret in proptest::collection::vec(any::<u8>(), 0..80),
        body in proptest::collection::vec(any::<u8>(), 1..600),
        index in any::<proptest::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let signature = webhook::sign(&secret, KAT_TIMESTAMP, &body);
        let mut tampered = body.clone();
        tampered[index.index(body.len())] ^= flip;
        prop_assert_eq!(
            webhook::verify(&secret, KAT_TIMESTAMP, &tampered, &signature),
            Err(WebhookError::SignatureMismatch)
        );
        prop_assert_eq!(
            Verifier::new(secret).verify(KAT_TIMESTAMP, &tampered, &signature),
            Err(WebhookError::SignatureMismatch)
        );
    }

    #[test]
    fn changing_any_signature_digit_fails(
        body in proptest::collection::vec(any::<u8>(), 0..200),
        index in 0usize..64,
        replacement in "[0-9a-f]",
    ) {
        let signature = webhook::sign(KAT_SECRET.as_bytes(), KAT_TIMESTAMP, &body);
        prop_assume!(signature[index..=index] != replacement);
        let mut changed = signature.clone();
        changed.replace_range(index..=index, &replacement);
        prop_assert_eq!(
            Verifier::new(KAT_SECRET).verify(KAT_TIMESTAMP, &body, &changed),
            Err(WebhookError::SignatureMismatch)
        );
    }
}

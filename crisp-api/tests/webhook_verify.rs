//! Webhook signature verification: known-answer vectors from independent implementations,
//! rejection cases, refused secrets, the replay window (on by default), secrecy of errors and
//! `Debug`, and property tests.
//!
//! The known answers are signed at `1700000000000` (2023-11-14T22:13:20Z). Tests about the
//! signature check them with the default replay window and a clock injected at that time, or
//! `without_timestamp_check()` where the timestamp is not a number at all.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crisp_api::webhook::{
    self, ATTEMPT_COUNT_HEADER, DEFAULT_TOLERANCE, SIGNATURE_HEADER, SkewDirection,
    TIMESTAMP_HEADER, Verifier, WebhookError,
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

/// What `verify` says of a request, after checking that `verify_headers` says the same of it
/// sent as headers.
fn both(
    verifier: &Verifier,
    timestamp: &str,
    body: &[u8],
    signature: &str,
) -> Result<(), WebhookError> {
    let direct = verifier.verify(timestamp, body, signature);
    assert_eq!(
        verifier.verify_headers(&headers(timestamp, signature), body),
        direct,
        "verify and verify_headers disagree at {timestamp}"
    );
    direct
}

fn at(seconds: u64) -> impl Fn() -> SystemTime + Send + Sync + 'static {
    move || UNIX_EPOCH + Duration::from_secs(seconds)
}

/// When the known answers were signed, in Unix seconds (`KAT_TIMESTAMP` is in milliseconds).
const NOW: u64 = 1_700_000_000;

/// A verifier for `secret` as `Verifier::new` makes it (the default window), its clock at `NOW`.
fn verifier_at_now(secret: impl Into<Vec<u8>>) -> Verifier {
    Verifier::new(secret)
        .expect("a usable secret")
        .with_clock(at(NOW))
}

/// A verifier for `secret` that checks the signature only.
fn signature_only(secret: impl Into<Vec<u8>>) -> Verifier {
    Verifier::new(secret)
        .expect("a usable secret")
        .without_timestamp_check()
}

/// Whether `Verifier::new` must refuse `secret`: empty, all whitespace, or all zero bytes.
fn is_blank(secret: &[u8]) -> bool {
    secret.iter().all(|&byte| byte == 0)
        || secret.iter().all(u8::is_ascii_whitespace)
        || std::str::from_utf8(secret).is_ok_and(|text| text.trim().is_empty())
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
    for verifier in [verifier_at_now(KAT_SECRET), signature_only(KAT_SECRET)] {
        assert_eq!(
            both(&verifier, KAT_TIMESTAMP, KAT_BODY.as_bytes(), KAT_SIGNATURE),
            Ok(())
        );
    }
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
        if is_blank(&v.secret) {
            // The free function checks what it is given; a `Verifier` refuses the key.
            assert!(
                matches!(
                    Verifier::new(v.secret.clone()),
                    Err(WebhookError::InvalidSecret { .. })
                ),
                "{name}"
            );
            continue;
        }
        // The vectors sign any timestamp, even an empty one: check the signature alone.
        let verifier = signature_only(v.secret.clone());
        assert_eq!(
            both(&verifier, &v.timestamp, &v.body, &v.signature),
            Ok(()),
            "Verifier::verify: {name}"
        );
        // Those stamped with a time pass the default window at that time too.
        if !v.timestamp.is_empty() {
            assert_eq!(
                verifier_at_now(v.secret.clone()).verify(&v.timestamp, &v.body, &v.signature),
                Ok(()),
                "Verifier::verify, default window: {name}"
            );
        }
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
    let verifier = verifier_at_now(KAT_SECRET);
    for signature in [upper.as_str(), mixed.as_str()] {
        assert_eq!(
            webhook::verify(secret, KAT_TIMESTAMP, body, signature),
            Ok(())
        );
        assert_eq!(both(&verifier, KAT_TIMESTAMP, body, signature), Ok(()));
    }
}

#[test]
fn surrounding_whitespace_is_trimmed() {
    let verifier = verifier_at_now(KAT_SECRET);
    let body = KAT_BODY.as_bytes();
    assert_eq!(
        verifier.verify(" 1700000000000\t", body, &format!("  {KAT_SIGNATURE}\r\n")),
        Ok(())
    );
    assert_eq!(
        webhook::sign(KAT_SECRET.as_bytes(), "\t1700000000000 ", body),
        KAT_SIGNATURE
    );
    // Whitespace inside is not trimmed: signed verbatim, it does not match, and it is not a
    // number the window can read.
    assert_eq!(
        signature_only(KAT_SECRET).verify("1700000000 000", body, KAT_SIGNATURE),
        Err(WebhookError::SignatureMismatch)
    );
    assert!(is_malformed(
        verifier.verify("1700000000 000", body, KAT_SIGNATURE),
        TIMESTAMP_HEADER
    ));
}

// ---- Rejections -----------------------------------------------------------------------------

#[test]
fn tampering_is_a_mismatch() {
    let verifier = verifier_at_now(KAT_SECRET);
    let body = KAT_BODY.as_bytes();
    let tampered = KAT_BODY.replace("\"Hi\"", "\"Ho\"");
    let reserialised =
        serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(KAT_BODY).unwrap())
            .unwrap();
    let wrong_secret = verifier_at_now("test_secreT");
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
    let verifier = verifier_at_now(KAT_SECRET);
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
    let verifier = verifier_at_now(KAT_SECRET);
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

    // A timestamp header that is not UTF-8 is not a time, so the window refuses it; without
    // the window it is signed verbatim, and simply does not match the signature.
    let mut map = headers(KAT_TIMESTAMP, KAT_SIGNATURE);
    map.insert(
        TIMESTAMP_HEADER,
        HeaderValue::from_bytes(b"17000000\xff00000").unwrap(),
    );
    assert!(is_malformed(
        verifier.verify_headers(&map, body),
        TIMESTAMP_HEADER
    ));
    assert_eq!(
        signature_only(KAT_SECRET).verify_headers(&map, body),
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
    let verifier = verifier_at_now(KAT_SECRET);
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
    let verifier = verifier_at_now(KAT_SECRET);
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

// ---- Secrets that are refused -----------------------------------------------------------------

#[test]
fn empty_and_whitespace_secrets_are_refused() {
    let cases: [(&[u8], &str); 8] = [
        (b"", "is empty"),
        (b" ", "is only whitespace"),
        (b"   ", "is only whitespace"),
        (b"\t\r\n\x0c ", "is only whitespace"),
        ("\u{a0}\u{2003}\u{3000}".as_bytes(), "is only whitespace"),
        (
            b"\0",
            "is only zero bytes, which HMAC treats as an empty key",
        ),
        (
            b"\0\0\0\0",
            "is only zero bytes, which HMAC treats as an empty key",
        ),
        (
            &[0u8; 64],
            "is only zero bytes, which HMAC treats as an empty key",
        ),
    ];
    for (secret, reason) in cases {
        let shown = String::from_utf8_lossy(secret);
        assert!(is_blank(secret), "{shown:?}");
        let error = Verifier::new(secret).unwrap_err();
        assert_eq!(error, WebhookError::InvalidSecret { reason }, "{shown:?}");
        let message = error.to_string();
        assert!(message.contains(reason), "{message}");
        assert!(message.contains("signature secret"), "{message}");
        assert!(message.contains("Crisp Marketplace"), "{message}");
        // Nothing of the secret is echoed back, in the message or in `Debug`.
        for text in [message, format!("{error:?}")] {
            for forbidden in [
                "\t", "\r", "\n", "\x0c", "\u{a0}", "\u{2003}", "\u{3000}", "\0",
            ] {
                assert!(!text.contains(forbidden), "{text:?} contains {forbidden:?}");
            }
            assert!(!text.contains("   "), "{text:?}");
        }
    }
    // The same refusal whatever type the secret comes in.
    assert!(matches!(
        Verifier::new(String::new()),
        Err(WebhookError::InvalidSecret { reason: "is empty" })
    ));
    assert!(matches!(
        Verifier::new(vec![b' '; 3]),
        Err(WebhookError::InvalidSecret { .. })
    ));
}

#[test]
fn a_secret_with_surrounding_whitespace_is_used_as_given() {
    // Not blank, so accepted, and not trimmed: the key is the bytes given.
    let body = KAT_BODY.as_bytes();
    let padded = " test_secret\n";
    let signature = webhook::sign(padded.as_bytes(), KAT_TIMESTAMP, body);
    assert_eq!(
        verifier_at_now(padded).verify(KAT_TIMESTAMP, body, &signature),
        Ok(())
    );
    assert_eq!(
        verifier_at_now(padded).verify(KAT_TIMESTAMP, body, KAT_SIGNATURE),
        Err(WebhookError::SignatureMismatch)
    );
    // A single byte that is not whitespace, or zero bytes beside other bytes, make a usable
    // key. So do U+FEFF and U+200B, which Unicode does not count as whitespace.
    for secret in [
        &b"x"[..],
        b" x ",
        b"\0x",
        b"\xff",
        " \u{feff}\u{200b}".as_bytes(),
    ] {
        assert!(Verifier::new(secret).is_ok(), "{secret:?}");
    }
}

#[test]
fn the_free_function_checks_any_secret() {
    // `webhook::verify` is the pure check: the refusal is `Verifier::new`'s job.
    let signature = webhook::sign(b"", KAT_TIMESTAMP, KAT_BODY.as_bytes());
    assert_eq!(
        webhook::verify(b"", KAT_TIMESTAMP, KAT_BODY.as_bytes(), &signature),
        Ok(())
    );
    // Which is exactly why: HMAC pads a short key with zeros, so these are all the same key.
    assert_eq!(
        webhook::verify(b"\0\0", KAT_TIMESTAMP, KAT_BODY.as_bytes(), &signature),
        Ok(())
    );
}

// ---- Replay window --------------------------------------------------------------------------

fn signed(timestamp: &str) -> (String, &'static [u8]) {
    let body = KAT_BODY.as_bytes();
    (webhook::sign(KAT_SECRET.as_bytes(), timestamp, body), body)
}

fn windowed(now: u64) -> Verifier {
    Verifier::new(KAT_SECRET)
        .unwrap()
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
            both(&verifier, timestamp, body, &signature),
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
        // The default window needs one too.
        assert!(
            is_malformed(
                verifier_at_now(KAT_SECRET).verify(timestamp, body, &signature),
                TIMESTAMP_HEADER
            ),
            "{timestamp:?}"
        );
        // Without the window, the timestamp is opaque: any signed value verifies.
        assert_eq!(
            signature_only(KAT_SECRET).verify(timestamp, body, &signature),
            Ok(()),
            "{timestamp:?}"
        );
    }
}

#[test]
fn the_window_is_five_minutes_by_default() {
    assert_eq!(DEFAULT_TOLERANCE, Duration::from_secs(5 * 60));
    let verifier = verifier_at_now(KAT_SECRET);

    // Correctly signed, four minutes old or four minutes ahead: accepted.
    for timestamp in ["1699999760000", "1700000240000", "1699999760"] {
        let (signature, body) = signed(timestamp);
        assert_eq!(
            verifier.verify(timestamp, body, &signature),
            Ok(()),
            "{timestamp}"
        );
        assert_eq!(
            verifier
                .verify_and_parse(&headers(timestamp, &signature), body)
                .map(|d| d.event.name().to_owned()),
            Ok("message:send".to_owned()),
            "{timestamp}"
        );
    }

    // Correctly signed, six minutes old or ahead: rejected, naming the default tolerance.
    for (timestamp, direction) in [
        ("1699999640000", SkewDirection::Past),
        ("1699999640", SkewDirection::Past),
        ("1700000360000", SkewDirection::Future),
    ] {
        let (signature, body) = signed(timestamp);
        let expected = Err(WebhookError::TimestampOutsideWindow {
            skew: Duration::from_secs(6 * 60),
            direction,
            tolerance: DEFAULT_TOLERANCE,
        });
        assert_eq!(
            both(&verifier, timestamp, body, &signature),
            expected,
            "{timestamp}"
        );
        assert!(
            verifier
                .verify_and_parse(&headers(timestamp, &signature), body)
                .is_err(),
            "{timestamp}"
        );
    }

    // The edges: exactly five minutes is in, a millisecond more is out.
    let (signature, body) = signed("1699999700000");
    assert_eq!(verifier.verify("1699999700000", body, &signature), Ok(()));
    let (signature, body) = signed("1699999699999");
    assert!(matches!(
        verifier.verify("1699999699999", body, &signature),
        Err(WebhookError::TimestampOutsideWindow { .. })
    ));
}

#[test]
fn without_timestamp_check_accepts_replays_of_any_age() {
    // Signed in 2001, 2023 and 2286 (seconds and milliseconds), checked "now" (2023) and with
    // the system clock.
    for timestamp in [
        "1000000000000",
        "1000000000",
        "1600000000000",
        "9999999999999",
        "0",
    ] {
        let (signature, body) = signed(timestamp);
        assert!(
            verifier_at_now(KAT_SECRET)
                .verify(timestamp, body, &signature)
                .is_err(),
            "{timestamp}: the default window should refuse it"
        );
        for verifier in [
            signature_only(KAT_SECRET),
            signature_only(KAT_SECRET).with_clock(at(NOW)),
            verifier_at_now(KAT_SECRET).without_timestamp_check(),
        ] {
            assert_eq!(
                both(&verifier, timestamp, body, &signature),
                Ok(()),
                "{timestamp}"
            );
        }
    }
    // The signature is still checked.
    let (signature, _) = signed("1000000000000");
    assert_eq!(
        signature_only(KAT_SECRET).verify("1000000000000", b"forged", &signature),
        Err(WebhookError::SignatureMismatch)
    );
}

#[test]
fn with_tolerance_turns_the_window_back_on_and_the_last_call_wins() {
    let (signature, body) = signed(KAT_TIMESTAMP);
    let ten_minutes_later = at(NOW + 600);
    let back_on = Verifier::new(KAT_SECRET)
        .unwrap()
        .without_timestamp_check()
        .with_tolerance(Duration::from_secs(60))
        .with_clock(ten_minutes_later);
    assert_eq!(
        back_on.verify(KAT_TIMESTAMP, body, &signature),
        Err(WebhookError::TimestampOutsideWindow {
            skew: Duration::from_secs(600),
            direction: SkewDirection::Past,
            tolerance: Duration::from_secs(60),
        })
    );
    let widened = back_on.clone().with_tolerance(Duration::from_secs(900));
    assert_eq!(widened.verify(KAT_TIMESTAMP, body, &signature), Ok(()));
    let off_again = back_on.without_timestamp_check();
    assert_eq!(off_again.verify(KAT_TIMESTAMP, body, &signature), Ok(()));
}

#[test]
fn default_clock_is_the_system_clock() {
    let now_millis = |offset_secs: i64| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis();
        let now = u64::try_from(now).unwrap();
        now.checked_add_signed(offset_secs * 1000)
            .unwrap()
            .to_string()
    };
    for verifier in [
        Verifier::new(KAT_SECRET).unwrap(),
        Verifier::new(KAT_SECRET)
            .unwrap()
            .with_tolerance(Duration::from_secs(60)),
    ] {
        let now = now_millis(0);
        let (signature, body) = signed(&now);
        assert_eq!(verifier.verify(&now, body, &signature), Ok(()));
        let (signature, body) = signed(KAT_TIMESTAMP);
        assert!(matches!(
            verifier.verify(KAT_TIMESTAMP, body, &signature),
            Err(WebhookError::TimestampOutsideWindow { .. })
        ));
    }
    // With the real clock and the default window: four minutes old passes, six does not.
    let verifier = Verifier::new(KAT_SECRET).unwrap();
    let four = now_millis(-4 * 60);
    let (signature, body) = signed(&four);
    assert_eq!(verifier.verify(&four, body, &signature), Ok(()));
    let six = now_millis(-6 * 60);
    let (signature, body) = signed(&six);
    assert!(matches!(
        verifier.verify(&six, body, &signature),
        Err(WebhookError::TimestampOutsideWindow {
            direction: SkewDirection::Past,
            tolerance: DEFAULT_TOLERANCE,
            ..
        })
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
        .unwrap()
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
        Verifier::new(SECRET).unwrap(),
        Verifier::new(SECRET).unwrap().without_timestamp_check(),
        Verifier::new(SECRET)
            .unwrap()
            .with_tolerance(Duration::from_secs(60))
            .with_clock(at(NOW)),
    ] {
        for debug in [format!("{verifier:?}"), format!("{verifier:#?}")] {
            assert!(!debug.contains(SECRET), "{debug}");
            assert!(!debug.contains("s3cr3t"), "{debug}");
            assert!(debug.contains("[redacted]"), "{debug}");
        }
    }
    assert_eq!(
        format!("{:?}", Verifier::new(SECRET).unwrap()),
        r#"Verifier { secret: "[redacted]", tolerance: Some(300s), .. }"#
    );
    assert_eq!(
        format!(
            "{:?}",
            Verifier::new(SECRET).unwrap().without_timestamp_check()
        ),
        r#"Verifier { secret: "[redacted]", tolerance: None, .. }"#
    );
}

#[test]
fn errors_never_reveal_secret_or_signatures() {
    let body = KAT_BODY.as_bytes();
    let expected = webhook::sign(SECRET.as_bytes(), KAT_TIMESTAMP, body);
    let received = webhook::sign(b"another-secret", KAT_TIMESTAMP, body);
    let verifier = Verifier::new(SECRET).unwrap().with_clock(at(NOW + 10_000));

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
    let malformed = verifier_at_now(KAT_SECRET)
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
        .prop_filter_map("a usable secret", |(secret, window, now)| {
            let verifier = Verifier::new(secret).ok()?;
            Some(if window {
                verifier.with_clock(at(now % 20_000_000_000))
            } else {
                verifier.without_timestamp_check()
            })
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
        let verifier = match Verifier::new(secret.clone()) {
            Ok(verifier) => verifier.without_timestamp_check(),
            Err(error) => {
                prop_assert!(is_blank(&secret), "refused a usable secret: {}", error);
                prop_assert!(
                    matches!(error, WebhookError::InvalidSecret { .. }),
                    "refused with {:?}",
                    error
                );
                return Ok(());
            }
        };
        prop_assert!(!is_blank(&secret), "accepted a blank secret");
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
        if let Ok(verifier) = Verifier::new(secret) {
            prop_assert_eq!(
                verifier.with_clock(at(NOW)).verify(KAT_TIMESTAMP, &tampered, &signature),
                Err(WebhookError::SignatureMismatch)
            );
        }
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
            verifier_at_now(KAT_SECRET).verify(KAT_TIMESTAMP, &body, &changed),
            Err(WebhookError::SignatureMismatch)
        );
    }
}

//! Parsing webhook deliveries: property tests over arbitrary and near-valid input, and the
//! spec's example delivery of every known event.
//!
//! - No input panics `Delivery::from_slice`, `Event::from_slice` or `verify_and_parse`, and the
//!   three agree with each other.
//! - An event name this crate does not know gives `Event::Unknown` with the exact name and data.
//! - Every known event's spec example parses into its typed variant, whatever the envelope
//!   around it, and unknown top-level fields change nothing.
//! - Data that does not fit a known event's type is `InvalidDelivery`, naming the event.

#[path = "support/webhook_deliveries.rs"]
mod deliveries;

use std::collections::BTreeSet;
use std::time::{Duration, UNIX_EPOCH};

use crisp_api::webhook::{
    self, ATTEMPT_COUNT_HEADER, Delivery, Event, SIGNATURE_HEADER, TIMESTAMP_HEADER, Verifier,
    WebhookError,
};
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use deliveries::{DELIVERIES, delivery};

const SECRET: &str = "3f0c1a7e9b2d4c6f8a0e1b3d5c7f9a1e";
/// When `signed_headers` signs, in Unix milliseconds.
const TIMESTAMP: &str = "1700000000000";
const TIMESTAMP_MILLIS: u64 = 1_700_000_000_000;

/// The fields of the envelope itself; anything else at the top level is unknown.
const ENVELOPE_FIELDS: [&str; 4] = ["website_id", "event", "data", "timestamp"];

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(256)
}

// ---------------------------------------------------------------------------------------------
// Strategies

/// Any JSON value that is not an array or object. Floats are quarters, which every parser
/// reads back exactly, so that equality after a round trip is meaningful.
fn json_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i32>().prop_map(|n| Value::from(f64::from(n) / 4.0)),
        any::<String>().prop_map(Value::String),
    ]
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    json_scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// Any JSON object.
fn json_object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(any::<String>(), json_value(), 0..8)
        .prop_map(|fields| fields.into_iter().collect())
}

/// Names this crate does not know: arbitrary strings, and near misses of the known ones.
fn unknown_name() -> impl Strategy<Value = String> {
    let known = prop::sample::select(Event::NAMES);
    prop_oneof![
        any::<String>(),
        "[a-z]{1,10}(:[a-z_]{1,12}){1,2}",
        (known.clone(), any::<String>()).prop_map(|(name, suffix)| format!("{name}{suffix}")),
        (known.clone(), any::<String>()).prop_map(|(name, prefix)| format!("{prefix}{name}")),
        known.clone().prop_map(str::to_uppercase),
        known.prop_map(|name| name.replace(':', "_")),
    ]
    .prop_filter("a known name", |name| {
        !Event::NAMES.contains(&name.as_str())
    })
}

/// Top-level fields a delivery does not define, with any values.
fn extra_fields() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(
        any::<String>().prop_filter("an envelope field", |key| {
            !ENVELOPE_FIELDS.contains(&key.as_str())
        }),
        json_value(),
        0..5,
    )
    .prop_map(|fields| fields.into_iter().collect())
}

/// One of the spec's example deliveries: `(name, delivery as JSON)`.
fn spec_delivery() -> impl Strategy<Value = (&'static str, Map<String, Value>)> {
    prop::sample::select(DELIVERIES).prop_map(|(name, body)| (name, object(body)))
}

/// Raw bytes: arbitrary ones, or a valid delivery with a few bytes changed.
fn body_bytes() -> impl Strategy<Value = Vec<u8>> {
    let edit = (any::<prop::sample::Index>(), any::<u8>(), 0..3u8);
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..600),
        (
            prop::sample::select(DELIVERIES),
            prop::collection::vec(edit, 0..4)
        )
            .prop_map(|((_, body), edits)| {
                let mut bytes = body.as_bytes().to_vec();
                for (at, byte, kind) in edits {
                    if bytes.is_empty() {
                        break;
                    }
                    let i = at.index(bytes.len());
                    match kind {
                        0 => bytes[i] = byte,
                        1 => bytes.insert(i, byte),
                        _ => {
                            bytes.remove(i);
                        }
                    }
                }
                bytes
            }),
    ]
}

/// Headers as a proxy might pass them: the two that are checked (maybe twice, maybe absent),
/// the attempt count, and noise, with values that are plausible or arbitrary.
fn headers() -> impl Strategy<Value = HeaderMap> {
    let name = prop_oneof![
        Just(TIMESTAMP_HEADER),
        Just(SIGNATURE_HEADER),
        Just(ATTEMPT_COUNT_HEADER),
        Just("content-type"),
    ];
    let value = prop_oneof![
        "[0-9]{0,20}",
        "[0-9a-fA-F]{62,66}",
        "[ \t]{0,2}[0-9a-f]{64}[ \t]{0,2}",
        prop::collection::vec(any::<u8>(), 0..80)
            .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
    ];
    prop::collection::vec((name, value), 0..6).prop_map(|pairs| {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.append(HeaderName::from_static(name), value);
            }
        }
        headers
    })
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn object(body: &str) -> Map<String, Value> {
    match serde_json::from_str(body) {
        Ok(Value::Object(fields)) => fields,
        other => panic!("not a JSON object: {other:?}"),
    }
}

fn bytes(fields: &Map<String, Value>) -> Vec<u8> {
    serde_json::to_vec(fields).unwrap()
}

fn signed_headers(body: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(TIMESTAMP_HEADER, HeaderValue::from_static(TIMESTAMP));
    let signature = webhook::sign(SECRET.as_bytes(), TIMESTAMP, body);
    headers.insert(SIGNATURE_HEADER, HeaderValue::from_str(&signature).unwrap());
    headers
}

/// Asserts that parsing `body` fails with `InvalidDelivery` naming the event `name`.
fn assert_does_not_fit(body: &[u8], name: &str) -> String {
    match Delivery::from_slice(body) {
        Err(WebhookError::InvalidDelivery { reason }) => {
            assert!(
                reason.contains(&format!("`{name}`")),
                "the reason does not name `{name}`: {reason}"
            );
            assert_eq!(
                Event::from_slice(body),
                Err(WebhookError::InvalidDelivery {
                    reason: reason.clone()
                })
            );
            reason
        }
        other => panic!(
            "expected InvalidDelivery for {}, got {other:?}",
            String::from_utf8_lossy(body)
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// The spec's examples

#[test]
fn examples_cover_every_event() {
    let delivered: BTreeSet<&str> = DELIVERIES.iter().map(|(name, _)| *name).collect();
    let known: BTreeSet<&str> = Event::NAMES.iter().copied().collect();
    assert_eq!(
        delivered, known,
        "tests/generated/webhook_deliveries.rs is out of step with Event::NAMES: run \
         `cargo xtask codegen`"
    );
    assert_eq!(
        DELIVERIES.len(),
        Event::NAMES.len(),
        "an event is listed twice"
    );
}

#[test]
fn every_example_parses_into_its_variant() {
    for (name, body) in DELIVERIES {
        let delivery = Delivery::from_slice(body.as_bytes())
            .unwrap_or_else(|e| panic!("{name}: the spec's example does not parse: {e}"));
        assert!(!delivery.event.is_unknown(), "{name}");
        // Its own variant: a known event's name comes from the variant it decoded into.
        assert_eq!(delivery.event.name(), *name);
        let fields = object(body);
        assert_eq!(
            delivery.website_id.as_deref(),
            fields["website_id"].as_str()
        );
        assert_eq!(delivery.timestamp, fields["timestamp"].as_i64());
        assert_eq!(Event::from_slice(body.as_bytes()), Ok(delivery.event));
    }
}

#[test]
fn message_send_requires_its_documented_fields() {
    let name = "message:send";
    let body = delivery(name);
    for field in [
        "website_id",
        "session_id",
        "type",
        "from",
        "origin",
        "content",
        "fingerprint",
        "timestamp",
    ] {
        let mut delivery = object(body);
        let data = delivery["data"].as_object_mut().unwrap();
        assert!(data.remove(field).is_some(), "the example has no {field}");
        let reason = assert_does_not_fit(&bytes(&delivery), name);
        assert!(reason.contains(&format!("`{field}`")), "{field}: {reason}");
    }
}

#[test]
fn the_envelope_needs_an_event_name_and_data() {
    for body in [
        r#"{"website_id":"w1","data":{},"timestamp":1}"#,
        r#"{"website_id":"w1","event":"plugin:x","timestamp":1}"#,
        r#"{"event":null,"data":{}}"#,
        r#"{"event":["message:send"],"data":{}}"#,
        r#"{"event":"plugin:x","data":{},"event":"plugin:y"}"#,
        r#"{"event":"plugin:x","data":{},"timestamp":"1700000000000"}"#,
        r#"{"event":"plugin:x","data":{},"website_id":7}"#,
        r#"["message:send",{}]"#,
        "null",
        "",
    ] {
        assert!(
            matches!(
                Delivery::from_slice(body.as_bytes()),
                Err(WebhookError::InvalidDelivery { .. })
            ),
            "{body}"
        );
    }
    // Only `event` and `data` are required; null optional fields are absent ones.
    let delivery =
        Delivery::from_slice(br#"{"event":"plugin:x","data":{},"website_id":null}"#).unwrap();
    assert_eq!((delivery.website_id, delivery.timestamp), (None, None));
}

// ---------------------------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(config())]

    /// Nothing panics on any bytes, and the two parsers agree.
    #[test]
    fn parsing_never_panics(body in body_bytes()) {
        let delivery = Delivery::from_slice(&body);
        let event = Event::from_slice(&body);
        prop_assert_eq!(event, delivery.map(|delivery| delivery.event));
    }

    /// Nothing panics on any headers and body, and what passes the check is what
    /// `Delivery::from_slice` gives.
    #[test]
    fn verify_and_parse_never_panics(
        secret in prop::collection::vec(any::<u8>(), 0..40),
        tolerance in prop::option::of(0..3_600u64),
        headers in headers(),
        body in body_bytes(),
    ) {
        let verifier = match Verifier::new(secret) {
            Ok(verifier) => verifier,
            Err(error) => {
                prop_assert!(matches!(error, WebhookError::InvalidSecret { .. }), "{}", error);
                return Ok(());
            }
        };
        let verifier = match tolerance {
            Some(seconds) => verifier.with_tolerance(Duration::from_secs(seconds)),
            None => verifier.without_timestamp_check(),
        };
        if let Ok(delivery) = verifier.verify_and_parse(&headers, &body) {
            prop_assert_eq!(Ok(delivery), Delivery::from_slice(&body));
        }
    }

    /// With a good signature, sent within the default window, `verify_and_parse` is exactly
    /// `Delivery::from_slice`.
    #[test]
    fn a_signed_body_parses_as_from_slice(body in body_bytes()) {
        let verifier = Verifier::new(SECRET)
            .unwrap()
            .with_clock(|| UNIX_EPOCH + Duration::from_millis(TIMESTAMP_MILLIS + 30_000));
        prop_assert_eq!(
            verifier.verify_and_parse(&signed_headers(&body), &body),
            Delivery::from_slice(&body)
        );
    }

    /// Any name this crate does not know gives `Unknown`, with that name and data exactly.
    #[test]
    fn an_unknown_name_keeps_its_name_and_data(
        name in unknown_name(),
        data in json_object(),
        website_id in prop::option::of(any::<String>()),
        timestamp in prop::option::of(any::<i64>()),
    ) {
        let mut fields = Map::new();
        fields.insert("event".into(), json!(name));
        fields.insert("data".into(), Value::Object(data.clone()));
        if let Some(website_id) = &website_id {
            fields.insert("website_id".into(), json!(website_id));
        }
        if let Some(timestamp) = timestamp {
            fields.insert("timestamp".into(), json!(timestamp));
        }
        let body = bytes(&fields);
        let delivery = Delivery::from_slice(&body).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(delivery.website_id, website_id);
        prop_assert_eq!(delivery.timestamp, timestamp);
        prop_assert!(delivery.event.is_unknown());
        prop_assert_eq!(delivery.event.name(), name.as_str());
        prop_assert_eq!(
            &delivery.event,
            &Event::Unknown { name: name.clone(), data: Value::Object(data) }
        );
        prop_assert_eq!(Event::from_slice(&body), Ok(delivery.event));
    }

    /// An unknown event's data need not be an object.
    #[test]
    fn an_unknown_event_takes_any_data(name in unknown_name(), data in json_value()) {
        let body = serde_json::to_vec(&json!({"event": name, "data": data})).unwrap();
        prop_assert_eq!(Event::from_slice(&body), Ok(Event::Unknown { name, data }));
    }

    /// Every known event's example data parses into its variant inside any envelope, and
    /// unknown top-level fields are ignored.
    #[test]
    fn unknown_top_level_fields_are_ignored(
        (name, example) in spec_delivery(),
        extra in extra_fields(),
        website_id in prop::option::of(any::<String>()),
        timestamp in prop::option::of(any::<i64>()),
    ) {
        let expected = Delivery::from_slice(&bytes(&example)).unwrap();

        let mut fields = extra;
        fields.insert("event".into(), json!(name));
        fields.insert("data".into(), example["data"].clone());
        if let Some(website_id) = &website_id {
            fields.insert("website_id".into(), json!(website_id));
        }
        if let Some(timestamp) = timestamp {
            fields.insert("timestamp".into(), json!(timestamp));
        }
        let delivery = Delivery::from_slice(&bytes(&fields))
            .map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
        prop_assert_eq!(delivery.event.name(), name);
        prop_assert_eq!(delivery.event, expected.event);
        prop_assert_eq!(delivery.website_id, website_id);
        prop_assert_eq!(delivery.timestamp, timestamp);
    }

    /// Data of the wrong JSON type for a known event is `InvalidDelivery`, naming the event.
    #[test]
    fn data_that_does_not_fit_names_the_event(
        name in prop::sample::select(Event::NAMES),
        // Not arrays: serde also reads a struct from an array of its fields.
        data in json_scalar(),
    ) {
        let body = serde_json::to_vec(&json!({"website_id": "w1", "event": name, "data": data}))
            .unwrap();
        assert_does_not_fit(&body, name);
    }

    /// A field of the wrong type inside a known event's data is `InvalidDelivery`, naming the
    /// event.
    #[test]
    fn a_mistyped_field_names_the_event(
        (name, mut example) in spec_delivery(),
        website_id in json_value().prop_filter("a string or null", |value| {
            !value.is_string() && !value.is_null()
        }),
    ) {
        let data = example["data"].as_object_mut().unwrap();
        data.insert("website_id".into(), website_id);
        assert_does_not_fit(&bytes(&example), name);
    }
}

#[test]
fn a_known_event_refuses_data_that_is_not_an_object() {
    // serde would read `CampaignDispatchedData` from an array of its fields in order.
    for data in [r#"["w1","c1"]"#, r#""text""#, "7", "null"] {
        let body = format!(r#"{{"event":"campaign:dispatched","data":{data}}}"#);
        match Delivery::from_slice(body.as_bytes()) {
            Err(WebhookError::InvalidDelivery { reason }) => {
                assert!(reason.contains("campaign:dispatched"), "{reason}");
            }
            other => panic!("{data}: expected InvalidDelivery, got {other:?}"),
        }
    }
}

#[test]
fn a_float_timestamp_does_not_refuse_the_delivery() {
    let delivery =
        Delivery::from_slice(br#"{"event":"plugin:x","data":{},"timestamp":1700000000000.0}"#)
            .unwrap();
    assert_eq!(delivery.timestamp, Some(1_700_000_000_000));
}

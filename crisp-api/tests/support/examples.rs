//! Checks shared by the generated `tests/spec_examples.rs`.

#![allow(dead_code)]

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Decodes `example` into `T` and checks that re-encoding loses nothing; then decodes
/// `mutated` (unknown fields and enum values added) and checks the unknown enum values survive.
pub fn check_example<T>(name: &str, example: &str, mutated: &str, unknowns: &[&str])
where
    T: DeserializeOwned + Serialize,
{
    let example: Value = serde_json::from_str(example).expect("the example is JSON");
    let decoded: T = serde_json::from_value(example.clone())
        .unwrap_or_else(|e| panic!("{name}: the spec's example does not decode: {e}"));
    let encoded = serde_json::to_value(&decoded).expect("re-encodes");
    assert_subset(&encoded, &example, name, "re-encoding added something");
    assert_lossless(&example, &encoded, name);

    let mutated: Value = serde_json::from_str(mutated).expect("the mutated example is JSON");
    let decoded: T = serde_json::from_value(mutated.clone()).unwrap_or_else(|e| {
        panic!("{name}: the example with unknown fields and enum values does not decode: {e}")
    });
    let encoded = serde_json::to_value(&decoded).expect("re-encodes");
    assert_subset(
        &encoded,
        &mutated,
        name,
        "re-encoding the mutated example changed something",
    );
    for unknown in unknowns {
        assert!(
            contains_string(&encoded, unknown),
            "{name}: the unknown enum value {unknown:?} was lost on re-encoding: {encoded}"
        );
    }
}

/// Parses a webhook delivery and checks it dispatches to its own typed variant, and that the
/// mutated copy (unknown fields and enum values) still does.
pub fn check_delivery(name: &str, delivery: &str, mutated: &str, unknowns: &[&str]) {
    for (what, body) in [("example", delivery), ("mutated example", mutated)] {
        let event = crisp_api::webhook::Event::from_slice(body.as_bytes())
            .unwrap_or_else(|e| panic!("{name}: the {what} delivery does not parse: {e}"));
        assert_eq!(event.name(), name, "{what}");
        assert!(
            !event.is_unknown(),
            "{name}: the {what} parsed into the unknown variant"
        );
        if what == "mutated example" {
            let debug = format!("{event:?}");
            for unknown in unknowns {
                assert!(
                    debug.contains(unknown),
                    "{name}: the typed event lost the unknown enum value {unknown:?}: {debug}"
                );
            }
        }
    }
}

/// Every value in `small` is in `big` at the same place.
fn assert_subset(small: &Value, big: &Value, name: &str, what: &str) {
    if let Some(path) = first_difference(small, big, "$", false) {
        panic!("{name}: {what} at {path}\n  re-encoded: {small}\n  original:   {big}");
    }
}

/// Every value of the example is kept on re-encoding, except nulls and empty collections,
/// which optional fields may drop.
fn assert_lossless(example: &Value, encoded: &Value, name: &str) {
    if let Some(path) = first_difference(example, encoded, "$", true) {
        panic!(
            "{name}: re-encoding lost or changed the example's value at {path}\n  \
             example:    {example}\n  re-encoded: {encoded}"
        );
    }
}

fn first_difference(small: &Value, big: &Value, path: &str, skip_empty: bool) -> Option<String> {
    match (small, big) {
        (Value::Object(a), Value::Object(b)) => a.iter().find_map(|(k, v)| {
            let at = format!("{path}.{k}");
            match b.get(k) {
                Some(w) => first_difference(v, w, &at, skip_empty),
                None if skip_empty && is_empty(v) => None,
                None => Some(at),
            }
        }),
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (v, w))| first_difference(v, w, &format!("{path}[{i}]"), skip_empty)),
        (Value::Number(a), Value::Number(b)) => (a.as_f64() != b.as_f64()).then(|| path.to_owned()),
        (a, b) => (a != b).then(|| path.to_owned()),
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn contains_string(value: &Value, needle: &str) -> bool {
    match value {
        Value::String(s) => s == needle,
        Value::Array(a) => a.iter().any(|v| contains_string(v, needle)),
        Value::Object(o) => o.values().any(|v| contains_string(v, needle)),
        _ => false,
    }
}

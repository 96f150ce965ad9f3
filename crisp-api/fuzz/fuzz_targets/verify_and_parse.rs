//! Receiving a webhook with fuzzed secret, headers and body.
//!
//! The input is `[secret length][timestamp length][signature length]` (one byte each), then
//! the secret, the timestamp header, the signature header, and the rest as the body. Nothing
//! may panic, and:
//!
//! - whatever `verify_and_parse` accepts is what `Delivery::from_slice` parses from the body,
//!   and `Event::from_slice` agrees with `Delivery::from_slice`;
//! - `Verifier::new` refuses a secret only with `InvalidSecret`, and then nothing else about the
//!   `Verifier` is checked (the free functions still are);
//! - a request signed with `sign` passes `verify` and `verify_headers`, with the signature in
//!   either case; `without_timestamp_check` it passes every check, and with the default replay
//!   window it can only fail on the timestamp, never the signature;
//! - the same signature over a changed body, or with another secret, does not pass.

#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crisp_api::webhook::{
    self, Delivery, Event, SIGNATURE_HEADER, TIMESTAMP_HEADER, Verifier, WebhookError,
};
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

/// The default replay window's clock: 2023-11-14T22:13:20Z, when Crisp timestamps in the spec's
/// examples are sent.
fn clock() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// One fuzzed request and the secret it is checked with.
struct Input<'a> {
    secret: &'a [u8],
    timestamp: &'a [u8],
    signature: &'a [u8],
    body: &'a [u8],
}

/// Splits the input; `None` if it is too short to hold the three lengths and their fields.
fn split(data: &[u8]) -> Option<Input<'_>> {
    let (&[secret_len, timestamp_len, signature_len], rest) = data.split_first_chunk::<3>()?;
    let (secret, rest) = rest.split_at_checked(usize::from(secret_len))?;
    let (timestamp, rest) = rest.split_at_checked(usize::from(timestamp_len))?;
    let (signature, body) = rest.split_at_checked(usize::from(signature_len))?;
    Some(Input {
        secret,
        timestamp,
        signature,
        body,
    })
}

/// The two headers, each left out if its bytes cannot be a header value.
fn headers(timestamp: &[u8], signature: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(timestamp) {
        headers.insert(TIMESTAMP_HEADER, value);
    }
    if let Ok(value) = HeaderValue::from_bytes(signature) {
        headers.insert(SIGNATURE_HEADER, value);
    }
    headers
}

/// The signature alone, and the default replay window at [`clock`]; `None` if the secret is
/// refused.
fn verifiers(secret: &[u8]) -> Option<[Verifier; 2]> {
    let windowed = match Verifier::new(secret) {
        Ok(verifier) => verifier.with_clock(clock),
        Err(WebhookError::InvalidSecret { .. }) => return None,
        Err(error) => panic!("a secret refused with the wrong error: {error}"),
    };
    let plain = windowed.clone().without_timestamp_check();
    Some([plain, windowed])
}

fuzz_target!(|data: &[u8]| {
    let Some(Input {
        secret,
        timestamp,
        signature,
        body,
    }) = split(data)
    else {
        return;
    };

    // Parsing on its own.
    let parsed = Delivery::from_slice(body);
    assert_eq!(
        Event::from_slice(body),
        parsed.clone().map(|delivery| delivery.event)
    );

    // The fuzzed request, as received.
    let received = headers(timestamp, signature);
    let verifiers = verifiers(secret);
    for verifier in verifiers.iter().flatten() {
        if let Ok(delivery) = verifier.verify_and_parse(&received, body) {
            assert_eq!(
                Ok(delivery),
                parsed,
                "accepted, but not what the body parses to"
            );
        }
    }

    // The same request signed the way Crisp signs it.
    let Ok(timestamp) = std::str::from_utf8(timestamp) else {
        return;
    };
    let signed = webhook::sign(secret, timestamp, body);
    assert_eq!(webhook::verify(secret, timestamp, body, &signed), Ok(()));
    assert_eq!(
        webhook::verify(secret, timestamp, body, &signed.to_uppercase()),
        Ok(())
    );
    let headers = headers(timestamp.as_bytes(), signed.as_bytes());
    if let Some([plain, windowed]) = &verifiers {
        assert_eq!(plain.verify(timestamp, body, &signed), Ok(()));
        if headers.contains_key(TIMESTAMP_HEADER) {
            assert_eq!(plain.verify_headers(&headers, body), Ok(()));
            assert_eq!(plain.verify_and_parse(&headers, body), parsed);
            match windowed.verify_headers(&headers, body) {
                Ok(())
                | Err(WebhookError::TimestampOutsideWindow { .. })
                | Err(WebhookError::MalformedHeader {
                    name: TIMESTAMP_HEADER,
                    ..
                }) => {}
                Err(error) => {
                    panic!("a correctly signed request failed the windowed check: {error}")
                }
            }
        }
    }

    // Forgeries: another body, another secret.
    let mut changed = body.to_vec();
    match changed.first_mut() {
        Some(byte) => *byte ^= 0x01,
        None => changed.push(b' '),
    }
    assert_eq!(
        webhook::verify(secret, timestamp, &changed, &signed),
        Err(WebhookError::SignatureMismatch)
    );
    // Not a zero byte: HMAC pads short keys with zeros, so `k` and `k\0` are the same key.
    let mut other_secret = secret.to_vec();
    other_secret.push(1);
    assert_eq!(
        webhook::verify(&other_secret, timestamp, body, &signed),
        Err(WebhookError::SignatureMismatch)
    );
});

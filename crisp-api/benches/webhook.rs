//! Webhook verification throughput on one thread.
//!
//! Run with `cargo bench --bench webhook`. Prints one line per measurement, e.g.
//! `verify: 2000000 per second (500 ns each)`. Targets, in release: `verify` at 1.5 million per
//! second or more, `verify_and_parse` (the check plus typed event parsing) at 400,000 or more.
//!
//! The verifier is `Verifier::new` as a receiver builds it: the default five-minute replay
//! window against the system clock, so every check also reads the clock. The request is stamped
//! when the bench starts; all of it runs in well under five minutes.

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crisp_api::webhook::{self, Event, SIGNATURE_HEADER, TIMESTAMP_HEADER, Verifier};
use http::{HeaderMap, HeaderValue};

const SECRET: &str = "3f0c1a7e9b2d4c6f8a0e1b3d5c7f9a1e";
const WARM_UP: Duration = Duration::from_millis(500);
const RUN: Duration = Duration::from_secs(2);

/// A `message:send` delivery as Crisp sends it (compact JSON), padded to about 525 bytes.
fn delivery_body() -> Vec<u8> {
    let body = String::from(
        r#"{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","event":"message:send","data":{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","session_id":"session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881","inbox_id":null,"type":"text","origin":"chat","content":"Hello team! I ordered the annual plan but my invoice shows the monthly price.","from":"user","fingerprint":163408415407047,"timestamp":1700000000000,"user":{"type":"participant","user_id":"session_700c65e1","nickname":"Jane Doe"},"stamped":true},"timestamp":1700000000000}"#,
    );
    assert!(
        (515..=535).contains(&body.len()),
        "body is {} bytes",
        body.len()
    );
    body.into_bytes()
}

/// Runs `check` for `WARM_UP`, then for about `RUN`, and prints the rate.
fn measure(label: &str, mut check: impl FnMut()) {
    const BATCH: u32 = 1_000;
    let start = Instant::now();
    while start.elapsed() < WARM_UP {
        for _ in 0..BATCH {
            check();
        }
    }
    let mut iterations: u64 = 0;
    let start = Instant::now();
    let elapsed = loop {
        for _ in 0..BATCH {
            check();
        }
        iterations += u64::from(BATCH);
        let elapsed = start.elapsed();
        if elapsed >= RUN {
            break elapsed;
        }
    };
    let per_second = iterations as f64 / elapsed.as_secs_f64();
    let nanos = elapsed.as_nanos() as f64 / iterations as f64;
    println!("{label}: {per_second:.0} per second ({nanos:.0} ns each)");
}

fn main() {
    let body = delivery_body();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let timestamp = now.as_millis().to_string();
    let timestamp = timestamp.as_str();
    let signature = webhook::sign(SECRET.as_bytes(), timestamp, &body);
    let verifier = Verifier::new(SECRET).expect("the bench secret is not blank");
    assert_eq!(verifier.verify(timestamp, &body, &signature), Ok(()));
    let mut headers = HeaderMap::new();
    headers.insert(TIMESTAMP_HEADER, HeaderValue::from_str(timestamp).unwrap());
    headers.insert(SIGNATURE_HEADER, HeaderValue::from_str(&signature).unwrap());
    println!(
        "body: {} bytes, message:send delivery, one thread",
        body.len()
    );

    // The headline figure: a `Verifier` built once, checking the header values and raw body.
    measure("verify", || {
        let result = black_box(&verifier).verify(
            black_box(timestamp),
            black_box(&body),
            black_box(&signature),
        );
        assert!(black_box(result).is_ok());
    });

    // The signature alone: what the replay window costs is the difference.
    let signature_only = verifier.clone().without_timestamp_check();
    measure("verify, without_timestamp_check", || {
        let result = black_box(&signature_only).verify(
            black_box(timestamp),
            black_box(&body),
            black_box(&signature),
        );
        assert!(black_box(result).is_ok());
    });

    // The same through an `http::HeaderMap`, as a web framework hands it over.
    measure("verify_headers", || {
        let result = black_box(&verifier).verify_headers(black_box(&headers), black_box(&body));
        assert!(black_box(result).is_ok());
    });

    // The free function, which re-keys HMAC on every call.
    measure("webhook::verify (re-keys per call)", || {
        let result = webhook::verify(
            black_box(SECRET.as_bytes()),
            black_box(timestamp),
            black_box(&body),
            black_box(&signature),
        );
        assert!(black_box(result).is_ok());
    });

    // The check plus typed event parsing, as a receiver runs it on every request.
    let delivery = verifier
        .verify_and_parse(&headers, &body)
        .expect("the bench body is a valid, correctly signed delivery");
    assert!(
        matches!(delivery.event, Event::MessageSend(_)),
        "the bench body parses as message:send, not {:?}",
        delivery.event
    );
    measure("verify_and_parse", || {
        let result = black_box(&verifier).verify_and_parse(black_box(&headers), black_box(&body));
        assert!(black_box(result).is_ok());
    });
}

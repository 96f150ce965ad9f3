//! Signature and replay-window checks for Crisp plugin webhook deliveries.
//!
//! Crisp signs each plugin hook delivery with HMAC-SHA256, keyed by the plugin's signature
//! secret, over the bytes
//!
//! ```text
//! [<X-Crisp-Request-Timestamp header value>;<raw request body>]
//! ```
//!
//! and sends the hex digest in `X-Crisp-Signature`. Everything here works on the raw body bytes
//! exactly as received: parse the JSON only after the check passes, and never re-serialise it
//! to check it.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{KeyInit, Mac};

use super::error::{SkewDirection, WebhookError};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// `X-Crisp-Signature`: the hex HMAC-SHA256 of the delivery (lowercase, as [`http`] spells
/// header names).
pub const SIGNATURE_HEADER: &str = "x-crisp-signature";

/// `X-Crisp-Request-Timestamp`: when Crisp sent the request; signed verbatim along with the
/// body.
pub const TIMESTAMP_HEADER: &str = "x-crisp-request-timestamp";

/// `X-Delivery-Attempt-Count`: which attempt this is (Crisp retries plugin hooks that fail).
/// Use it with your own idempotency key to recognise a retried delivery; it is not signed.
pub const ATTEMPT_COUNT_HEADER: &str = "x-delivery-attempt-count";

/// Length of an HMAC-SHA256 tag in bytes.
const TAG_LEN: usize = 32;

/// Header timestamps at or above this value are read as milliseconds, below it as seconds.
/// 10^11 seconds is in the year 5138; 10^11 milliseconds is in March 1973.
const MILLIS_THRESHOLD: u64 = 100_000_000_000;

/// Checks a Crisp webhook signature with no replay window and no clock.
///
/// `timestamp` and `signature` are the values of the `X-Crisp-Request-Timestamp` and
/// `X-Crisp-Signature` headers, `body` the raw request body, byte for byte. The signature may be
/// hex in either case. Surrounding ASCII whitespace is removed from both header values, as HTTP
/// itself does for field values (RFC 9110, section 5.5); everything in between is used
/// verbatim. The comparison takes the same time wherever the signatures differ.
///
/// This re-keys HMAC on every call; to check many deliveries, or to reject replays, build a
/// [`Verifier`] once instead.
///
/// # Errors
///
/// [`WebhookError::MalformedHeader`] if the signature is empty, not hexadecimal or not
/// 64 digits long; [`WebhookError::SignatureMismatch`] if it was not made with `secret` over
/// this timestamp and body.
///
/// # Example
///
/// ```
/// use crisp_api::webhook::{self, WebhookError};
///
/// let secret = b"test_secret";
/// let body = br#"{"website_id":"w1","event":"session:removed","data":{},"timestamp":1700000000000}"#;
/// let signature = webhook::sign(secret, "1700000000000", body);
///
/// assert_eq!(webhook::verify(secret, "1700000000000", body, &signature), Ok(()));
/// assert_eq!(
///     webhook::verify(secret, "1700000000001", body, &signature),
///     Err(WebhookError::SignatureMismatch),
/// );
/// ```
pub fn verify(
    secret: &[u8],
    timestamp: &str,
    body: &[u8],
    signature: &str,
) -> Result<(), WebhookError> {
    let tag = decode_signature(signature.as_bytes())?;
    check_tag(keyed(secret), timestamp.as_bytes().trim_ascii(), body, &tag)
}

/// Signs a delivery the way Crisp does, returning the lowercase hex signature.
///
/// This is for testing receivers: it lets a test build requests that [`verify`] and
/// [`Verifier`] accept. `timestamp` is trimmed of surrounding ASCII whitespace, as [`verify`]
/// does.
///
/// # Example
///
/// ```
/// let signature = crisp_api::webhook::sign(b"test_secret", "1700000000000", b"{}");
/// assert_eq!(signature.len(), 64);
/// assert!(crisp_api::webhook::verify(b"test_secret", "1700000000000", b"{}", &signature).is_ok());
/// ```
#[must_use]
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let mut mac = keyed(secret);
    feed(&mut mac, timestamp.as_bytes().trim_ascii(), body);
    encode_hex(&mac.finalize().into_bytes())
}

/// A reusable webhook checker: the plugin's signing secret, keyed once, and optionally a replay
/// window.
///
/// Build one at start-up and share it (it is cheap to clone, and `Send + Sync`). The secret is
/// kept only as HMAC key state; `Debug` prints `[redacted]` in its place.
///
/// # Replay window
///
/// By default only the signature is checked, as Crisp's own clients do. [`with_tolerance`]
/// also rejects a correctly signed request whose `X-Crisp-Request-Timestamp` is further than
/// the tolerance from the clock, in the past or in the future. Crisp does not document the
/// header's unit, so it is decided by magnitude: values of 10^11 or more are Unix
/// milliseconds, smaller ones Unix seconds (for any date between 1973 and the year 5138 the two
/// readings cannot be confused). Crisp retries failed plugin hook deliveries on a schedule it
/// does not document either, and whether a retry carries a fresh timestamp is not known: keep
/// the tolerance generous (minutes, not seconds) and make handlers idempotent.
///
/// [`with_tolerance`]: Verifier::with_tolerance
///
/// # Example
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
///
/// use crisp_api::webhook::{self, Verifier, WebhookError};
/// use http::HeaderMap;
///
/// let verifier = Verifier::new("test_secret")
///     .with_tolerance(Duration::from_secs(300))
///     .with_clock(|| UNIX_EPOCH + Duration::from_secs(1_700_000_060));
///
/// let body = br#"{"website_id":"w1","event":"session:removed","data":{},"timestamp":1700000000000}"#;
/// let mut headers = HeaderMap::new();
/// headers.insert(webhook::TIMESTAMP_HEADER, "1700000000000".parse().unwrap());
/// headers.insert(
///     webhook::SIGNATURE_HEADER,
///     webhook::sign(b"test_secret", "1700000000000", body).parse().unwrap(),
/// );
///
/// // Correctly signed, and sent a minute before the (injected) clock's time.
/// assert_eq!(verifier.verify_headers(&headers, body), Ok(()));
///
/// // The same request ten minutes later is rejected as a replay.
/// let later = verifier.with_clock(|| UNIX_EPOCH + Duration::from_secs(1_700_000_600));
/// assert!(matches!(
///     later.verify_headers(&headers, body),
///     Err(WebhookError::TimestampOutsideWindow { .. }),
/// ));
/// ```
#[derive(Clone)]
pub struct Verifier {
    /// HMAC-SHA256 state after absorbing the key; cloned for every check.
    mac: HmacSha256,
    tolerance: Option<Duration>,
    /// `None` reads [`SystemTime::now`].
    clock: Option<Arc<dyn Fn() -> SystemTime + Send + Sync>>,
}

impl Verifier {
    /// Keys a verifier with the plugin's signature secret (the UTF-8 bytes of the string shown in
    /// the Crisp Marketplace), with no replay window.
    ///
    /// Load the secret from configuration and make sure it is not empty: HMAC accepts an empty
    /// key, and anyone can sign with one.
    #[must_use]
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Self {
            mac: keyed(&secret.into()),
            tolerance: None,
            clock: None,
        }
    }

    /// Also rejects correctly signed requests whose timestamp is more than `tolerance` before
    /// or after the clock. A skew of exactly `tolerance` is accepted.
    ///
    /// See [the replay window](Verifier#replay-window) for how the timestamp is read.
    #[must_use]
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = Some(tolerance);
        self
    }

    /// Replaces the clock the replay window is measured against (by default
    /// [`SystemTime::now`]). Meant for tests; it has no effect without
    /// [`with_tolerance`](Verifier::with_tolerance).
    ///
    /// Takes any `Fn() -> SystemTime` (a function, or a closure that may capture an
    /// `Arc<dyn Fn() -> SystemTime + Send + Sync>` and call it).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Checks a request from its headers and raw body.
    ///
    /// Reads [`TIMESTAMP_HEADER`] and [`SIGNATURE_HEADER`] (header names are case-insensitive)
    /// and checks them as [`Verifier::verify`] does. The header values are taken as bytes, so a
    /// value that is not UTF-8 is checked rather than refused.
    ///
    /// # Errors
    ///
    /// [`WebhookError::MissingHeader`] if either header is absent,
    /// [`WebhookError::MalformedHeader`] if either appears more than once, and otherwise as
    /// [`Verifier::verify`].
    pub fn verify_headers(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<(), WebhookError> {
        // Parsed names, so lookups skip re-validating the name on every request.
        const TIMESTAMP: http::HeaderName = http::HeaderName::from_static(TIMESTAMP_HEADER);
        const SIGNATURE: http::HeaderName = http::HeaderName::from_static(SIGNATURE_HEADER);
        let timestamp = single_header(headers, &TIMESTAMP, TIMESTAMP_HEADER)?;
        let signature = single_header(headers, &SIGNATURE, SIGNATURE_HEADER)?;
        self.verify_bytes(timestamp, body, signature)
    }

    /// Checks a request from the values of its `X-Crisp-Request-Timestamp` and
    /// `X-Crisp-Signature` headers and its raw body.
    ///
    /// Header values are treated as [`verify`] does: trimmed of surrounding ASCII whitespace,
    /// hex in either case, compared in constant time. The signature is checked first; the
    /// replay window, if one is set, only for correctly signed requests.
    ///
    /// # Errors
    ///
    /// [`WebhookError::MalformedHeader`] if the signature is empty, not hexadecimal or not
    /// 64 digits long, or if a replay window is set and the timestamp is not a whole number;
    /// [`WebhookError::SignatureMismatch`] if the signature was not made with this secret over
    /// this timestamp and body; [`WebhookError::TimestampOutsideWindow`] if it was, but the
    /// timestamp is outside the replay window.
    pub fn verify(
        &self,
        timestamp: &str,
        body: &[u8],
        signature: &str,
    ) -> Result<(), WebhookError> {
        self.verify_bytes(timestamp.as_bytes(), body, signature.as_bytes())
    }

    fn verify_bytes(
        &self,
        timestamp: &[u8],
        body: &[u8],
        signature: &[u8],
    ) -> Result<(), WebhookError> {
        let timestamp = timestamp.trim_ascii();
        let tag = decode_signature(signature)?;
        let Some(tolerance) = self.tolerance else {
            return check_tag(self.mac.clone(), timestamp, body, &tag);
        };
        let sent = parse_timestamp(timestamp)?;
        check_tag(self.mac.clone(), timestamp, body, &tag)?;
        let now = self
            .clock
            .as_ref()
            .map_or_else(SystemTime::now, |clock| clock());
        check_window(sent, now, tolerance)
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("secret", &"[redacted]")
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

fn keyed(secret: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length (longer ones are hashed first): this cannot fail.
    HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length")
}

/// Absorbs `[timestamp;body]` piece by piece, without building the concatenation.
fn feed(mac: &mut HmacSha256, timestamp: &[u8], body: &[u8]) {
    mac.update(b"[");
    mac.update(timestamp);
    mac.update(b";");
    mac.update(body);
    mac.update(b"]");
}

fn check_tag(
    mut mac: HmacSha256,
    timestamp: &[u8],
    body: &[u8],
    tag: &[u8; TAG_LEN],
) -> Result<(), WebhookError> {
    feed(&mut mac, timestamp, body);
    // Constant-time comparison of the two 32-byte tags (`subtle::ConstantTimeEq`).
    mac.verify_slice(tag)
        .map_err(|_| WebhookError::SignatureMismatch)
}

fn single_header<'h>(
    headers: &'h http::HeaderMap,
    key: &http::HeaderName,
    name: &'static str,
) -> Result<&'h [u8], WebhookError> {
    let mut values = headers.get_all(key).iter();
    let value = values.next().ok_or(WebhookError::MissingHeader { name })?;
    if values.next().is_some() {
        return Err(WebhookError::MalformedHeader {
            name,
            reason: "it appears more than once, Crisp sends it once",
        });
    }
    Ok(value.as_bytes())
}

/// Decodes a 64-digit hex signature (either case, surrounding whitespace trimmed).
fn decode_signature(signature: &[u8]) -> Result<[u8; TAG_LEN], WebhookError> {
    let malformed = |reason| WebhookError::MalformedHeader {
        name: SIGNATURE_HEADER,
        reason,
    };
    let signature = signature.trim_ascii();
    if signature.is_empty() {
        return Err(malformed(
            "it is empty, expected 64 hex digits (HMAC-SHA256)",
        ));
    }
    if signature.len() != 2 * TAG_LEN {
        return Err(malformed(
            "it is not 64 characters long, expected 64 hex digits (HMAC-SHA256)",
        ));
    }
    let mut tag = [0u8; TAG_LEN];
    for (byte, pair) in tag.iter_mut().zip(signature.chunks_exact(2)) {
        match (hex_value(pair[0]), hex_value(pair[1])) {
            (Some(high), Some(low)) => *byte = (high << 4) | low,
            _ => {
                return Err(malformed(
                    "it is not hexadecimal, expected 64 hex digits (HMAC-SHA256)",
                ));
            }
        }
    }
    Ok(tag)
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

fn encode_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(2 * bytes.len());
    for &byte in bytes {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}

/// Reads the timestamp header as Unix seconds or milliseconds, decided by magnitude.
fn parse_timestamp(timestamp: &[u8]) -> Result<SystemTime, WebhookError> {
    let malformed = |reason| WebhookError::MalformedHeader {
        name: TIMESTAMP_HEADER,
        reason,
    };
    if timestamp.is_empty() {
        return Err(malformed("it is empty, expected a Unix timestamp"));
    }
    let mut value: u64 = 0;
    for &digit in timestamp {
        if !digit.is_ascii_digit() {
            return Err(malformed(
                "it is not a whole number, expected a Unix timestamp",
            ));
        }
        value = value
            .checked_mul(10)
            .and_then(|value| value.checked_add(u64::from(digit - b'0')))
            .ok_or_else(|| malformed("it is too large to be a Unix timestamp"))?;
    }
    let since_epoch = if value >= MILLIS_THRESHOLD {
        Duration::from_millis(value)
    } else {
        Duration::from_secs(value)
    };
    UNIX_EPOCH
        .checked_add(since_epoch)
        .ok_or_else(|| malformed("it is too large to be a Unix timestamp"))
}

fn check_window(
    sent: SystemTime,
    now: SystemTime,
    tolerance: Duration,
) -> Result<(), WebhookError> {
    let (skew, direction) = match now.duration_since(sent) {
        Ok(age) => (age, SkewDirection::Past),
        Err(ahead) => (ahead.duration(), SkewDirection::Future),
    };
    if skew <= tolerance {
        return Ok(());
    }
    // Report to the millisecond: the header carries no finer precision.
    let skew = Duration::from_millis(u64::try_from(skew.as_millis()).unwrap_or(u64::MAX));
    Err(WebhookError::TimestampOutsideWindow {
        skew,
        direction,
        tolerance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let bytes: Vec<u8> = (0..=255).collect();
        let hex = encode_hex(&bytes);
        assert_eq!(&hex[..8], "00010203");
        assert_eq!(&hex[hex.len() - 4..], "feff");
        for chunk in bytes.chunks(TAG_LEN) {
            let hex = encode_hex(chunk);
            assert_eq!(decode_signature(hex.as_bytes()).unwrap(), chunk);
            assert_eq!(
                decode_signature(hex.to_uppercase().as_bytes()).unwrap(),
                chunk
            );
        }
    }

    #[test]
    fn timestamp_unit_is_decided_by_magnitude() {
        let secs = parse_timestamp(b"1700000000").unwrap();
        let millis = parse_timestamp(b"1700000000000").unwrap();
        assert_eq!(secs, millis);
        assert_eq!(
            parse_timestamp(b"99999999999").unwrap(),
            UNIX_EPOCH + Duration::from_secs(99_999_999_999)
        );
        assert_eq!(
            parse_timestamp(b"100000000000").unwrap(),
            UNIX_EPOCH + Duration::from_millis(100_000_000_000)
        );
        assert!(parse_timestamp(b"18446744073709551616").is_err());
        assert!(parse_timestamp(b"-1").is_err());
        assert!(parse_timestamp(b"1.5").is_err());
    }
}

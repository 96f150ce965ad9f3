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
///
/// ```
/// # fn run(headers: &http::HeaderMap) {
/// let present = headers.contains_key(crisp_api::webhook::SIGNATURE_HEADER);
/// # }
/// ```
pub const SIGNATURE_HEADER: &str = "x-crisp-signature";

/// `X-Crisp-Request-Timestamp`: when Crisp sent the request; signed verbatim along with the
/// body.
///
/// ```
/// assert_eq!(crisp_api::webhook::TIMESTAMP_HEADER, "x-crisp-request-timestamp");
/// ```
pub const TIMESTAMP_HEADER: &str = "x-crisp-request-timestamp";

/// `X-Delivery-Attempt-Count`: which attempt this is (Crisp retries plugin hooks that fail).
/// Use it with your own idempotency key to recognise a retried delivery; it is not signed.
///
/// ```
/// # fn run(headers: &http::HeaderMap) {
/// let attempt = headers
///     .get(crisp_api::webhook::ATTEMPT_COUNT_HEADER)
///     .and_then(|v| v.to_str().ok())
///     .and_then(|v| v.parse::<u32>().ok())
///     .unwrap_or(1);
/// # }
/// ```
pub const ATTEMPT_COUNT_HEADER: &str = "x-delivery-attempt-count";

/// How far a delivery's `X-Crisp-Request-Timestamp` may be from the receiver's clock, in either
/// direction, before a [`Verifier`] rejects it as a replay: five minutes, as svix and Standard
/// Webhooks use. Change it with [`Verifier::with_tolerance`].
///
/// ```
/// use std::time::Duration;
///
/// assert_eq!(crisp_api::webhook::DEFAULT_TOLERANCE, Duration::from_secs(5 * 60));
/// ```
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

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
/// This is the signature check alone: it does not read the timestamp, so it accepts a replayed
/// delivery of any age, and it accepts any `secret`, even an empty one. A receiver should build
/// a [`Verifier`] once instead: it refuses an empty secret, rejects replays, and does not re-key
/// HMAC on every call.
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
    check_tag(
        keyed(secret),
        &delivery(timestamp.as_bytes().trim_ascii(), body),
        &tag,
    )
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
    sign_parts(secret, &delivery(timestamp.as_bytes().trim_ascii(), body))
}

/// Signs a message the caller frames, with the same HMAC-SHA256: `parts` are signed in order,
/// as one message. [`sign`] is this over `[`, timestamp, `;`, body, `]`; Crisp's other signed
/// requests frame theirs differently (Hugo signs `{timestamp}.{website_id}.{body}` when it
/// calls an MCP server). Returns lowercase hex. See [`Verifier::verify_parts`].
///
/// ```
/// use crisp_api::webhook;
///
/// let parts: [&[u8]; 5] = [b"1700000000", b".", b"website", b".", b"{}"];
/// let signature = webhook::sign_parts(b"secret", &parts);
/// assert_eq!(signature.len(), 64);
/// ```
#[must_use]
pub fn sign_parts(secret: &[u8], parts: &[&[u8]]) -> String {
    let mut mac = keyed(secret);
    for part in parts {
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// A reusable webhook checker: the plugin's signing secret, keyed once, and a replay window.
///
/// Build one at start-up and share it (it is cheap to clone, and `Send + Sync`). The secret is
/// kept only as HMAC key state; `Debug` prints `[redacted]` in its place.
///
/// # Replay window
///
/// A correctly signed request is also rejected when its `X-Crisp-Request-Timestamp` is further
/// than the tolerance from the clock, in the past or in the future: [`DEFAULT_TOLERANCE`]
/// (five minutes) unless changed with [`with_tolerance`]. So a captured delivery cannot be
/// replayed later, which Crisp's own clients do not check. [`without_timestamp_check`] turns
/// this off, and then replays of any age are accepted.
///
/// Crisp does not document the header's unit, so it is decided by magnitude: values of 10^11
/// or more are Unix milliseconds, smaller ones Unix seconds (for any date between 1973 and the
/// year 5138 the two readings cannot be confused). Crisp retries failed plugin hook deliveries
/// on a schedule it does not document either, and whether a retry carries a fresh timestamp is
/// not known: keep the tolerance generous (minutes, not seconds), keep the server's clock
/// synchronised (NTP), and make handlers idempotent.
///
/// [`with_tolerance`]: Verifier::with_tolerance
/// [`without_timestamp_check`]: Verifier::without_timestamp_check
///
/// # Example
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
///
/// use crisp_api::webhook::{self, Verifier, WebhookError};
/// use http::HeaderMap;
///
/// // The default five-minute window, measured against an injected clock.
/// let verifier = Verifier::new("test_secret")?
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
/// # Ok::<(), WebhookError>(())
/// ```
#[derive(Clone)]
pub struct Verifier {
    /// HMAC-SHA256 state after absorbing the key; cloned for every check.
    mac: HmacSha256,
    /// `None` after [`Verifier::without_timestamp_check`].
    tolerance: Option<Duration>,
    /// `None` reads [`SystemTime::now`].
    clock: Option<Arc<dyn Fn() -> SystemTime + Send + Sync>>,
}

impl Verifier {
    /// Keys a verifier with the plugin's signature secret (the UTF-8 bytes of the string shown in
    /// the Crisp Marketplace), with the [`DEFAULT_TOLERANCE`] replay window and the system
    /// clock.
    ///
    /// The secret is used exactly as given, surrounding whitespace included.
    ///
    /// # Errors
    ///
    /// [`WebhookError::InvalidSecret`] if the secret is empty or only whitespace (or only zero
    /// bytes, which HMAC treats as an empty key): HMAC accepts an empty key, and anyone can sign
    /// with one. This usually means the secret was read from an unset or blank variable.
    ///
    /// # Example
    ///
    /// ```
    /// use crisp_api::webhook::{Verifier, WebhookError};
    ///
    /// let verifier = Verifier::new("plugin-signature-secret")?;
    ///
    /// // An unset variable read as "" is refused, not turned into a key anyone can sign with.
    /// let unset = std::env::var("NO_SUCH_VARIABLE_SET").unwrap_or_default();
    /// assert!(matches!(Verifier::new(unset), Err(WebhookError::InvalidSecret { .. })));
    /// # Ok::<(), WebhookError>(())
    /// ```
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self, WebhookError> {
        let secret = secret.into();
        if let Some(reason) = blank(&secret) {
            return Err(WebhookError::InvalidSecret { reason });
        }
        Ok(Self {
            mac: keyed(&secret),
            tolerance: Some(DEFAULT_TOLERANCE),
            clock: None,
        })
    }

    /// Sets the replay window: correctly signed requests whose timestamp is more than
    /// `tolerance` before or after the clock are rejected. A skew of exactly `tolerance` is
    /// accepted. The default is [`DEFAULT_TOLERANCE`]; this also turns the check back on after
    /// [`without_timestamp_check`](Verifier::without_timestamp_check).
    ///
    /// See [the replay window](Verifier#replay-window) for how the timestamp is read.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let verifier = crisp_api::webhook::Verifier::new("plugin-signature-secret")?
    ///     .with_tolerance(Duration::from_secs(10 * 60));
    /// # Ok::<(), crisp_api::webhook::WebhookError>(())
    /// ```
    #[must_use]
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = Some(tolerance);
        self
    }

    /// Turns the replay window off: the timestamp header is then only signed data, never
    /// compared with a clock, so **a captured delivery is accepted again at any later time**,
    /// however old it is.
    ///
    /// Use it only where something else rejects replays (such as a store of the deliveries
    /// already handled), or to check recorded deliveries. [`with_tolerance`](Verifier::with_tolerance)
    /// turns the check back on.
    ///
    /// ```
    /// use crisp_api::webhook::{self, Verifier};
    ///
    /// // A delivery recorded in 2023, checked today.
    /// let body = br#"{"website_id":"w1","event":"session:removed","data":{},"timestamp":1700000000000}"#;
    /// let signature = webhook::sign(b"test_secret", "1700000000000", body);
    ///
    /// let verifier = Verifier::new("test_secret")?;
    /// assert!(verifier.verify("1700000000000", body, &signature).is_err());
    /// let verifier = verifier.without_timestamp_check();
    /// assert!(verifier.verify("1700000000000", body, &signature).is_ok());
    /// # Ok::<(), webhook::WebhookError>(())
    /// ```
    #[must_use]
    pub fn without_timestamp_check(mut self) -> Self {
        self.tolerance = None;
        self
    }

    /// Replaces the clock the replay window is measured against (by default
    /// [`SystemTime::now`]). Meant for tests; it has no effect after
    /// [`without_timestamp_check`](Verifier::without_timestamp_check).
    ///
    /// Takes any `Fn() -> SystemTime` (a function, or a closure that may capture an
    /// `Arc<dyn Fn() -> SystemTime + Send + Sync>` and call it).
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    ///
    /// let verifier = crisp_api::webhook::Verifier::new("test_secret")?
    ///     .with_clock(|| UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    /// let signature = crisp_api::webhook::sign(b"test_secret", "1700000000000", b"{}");
    /// assert!(verifier.verify("1700000000000", b"{}", &signature).is_ok());
    /// # Ok::<(), crisp_api::webhook::WebhookError>(())
    /// ```
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
    ///
    /// ```
    /// use crisp_api::webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER, Verifier, sign};
    ///
    /// let verifier = Verifier::new("secret")?.without_timestamp_check();
    /// let body = br#"{"event":"message:send","data":{}}"#;
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert(TIMESTAMP_HEADER, "1700000000000".parse().unwrap());
    /// headers.insert(SIGNATURE_HEADER, sign(b"secret", "1700000000000", body).parse().unwrap());
    /// assert!(verifier.verify_headers(&headers, body).is_ok());
    /// # Ok::<(), crisp_api::webhook::WebhookError>(())
    /// ```
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
    /// replay window only for correctly signed requests.
    ///
    /// # Errors
    ///
    /// [`WebhookError::MalformedHeader`] if the signature is empty, not hexadecimal or not
    /// 64 digits long, or if the timestamp is not a whole number (unless built
    /// [`without_timestamp_check`](Verifier::without_timestamp_check));
    /// [`WebhookError::SignatureMismatch`] if the signature was not made with this secret over
    /// this timestamp and body; [`WebhookError::TimestampOutsideWindow`] if it was, but the
    /// timestamp is outside the replay window.
    ///
    /// ```
    /// use crisp_api::webhook::{Verifier, WebhookError, sign};
    ///
    /// let verifier = Verifier::new("secret")?.without_timestamp_check();
    /// let signature = sign(b"secret", "1700000000000", b"{}");
    /// assert!(verifier.verify("1700000000000", b"{}", &signature).is_ok());
    /// assert_eq!(
    ///     verifier.verify("1700000000000", b"{ }", &signature),
    ///     Err(WebhookError::SignatureMismatch)
    /// );
    /// # Ok::<(), WebhookError>(())
    /// ```
    pub fn verify(
        &self,
        timestamp: &str,
        body: &[u8],
        signature: &str,
    ) -> Result<(), WebhookError> {
        self.verify_bytes(timestamp.as_bytes(), body, signature.as_bytes())
    }

    /// Checks a signature over a message the caller frames (see [`sign_parts`]), with this
    /// verifier's secret and replay window: `timestamp` is the signed time, read and checked
    /// against the window as [`Verifier::verify`] does, and `parts` the signed message in
    /// order, which should include it. For Crisp's signatures other than plugin hooks', such as
    /// the one Hugo puts on its calls to MCP servers.
    ///
    /// # Errors
    ///
    /// As [`Verifier::verify`].
    ///
    /// ```
    /// use crisp_api::webhook::{self, Verifier};
    ///
    /// let verifier = Verifier::new("secret")?.without_timestamp_check();
    /// let parts: [&[u8]; 5] = [b"1700000000", b".", b"website", b".", b"{}"];
    /// let signature = webhook::sign_parts(b"secret", &parts);
    /// assert!(verifier.verify_parts("1700000000", &parts, &signature).is_ok());
    /// assert!(verifier.verify_parts("1700000000", &parts[..4], &signature).is_err());
    /// # Ok::<(), webhook::WebhookError>(())
    /// ```
    pub fn verify_parts(
        &self,
        timestamp: &str,
        parts: &[&[u8]],
        signature: &str,
    ) -> Result<(), WebhookError> {
        self.check(
            timestamp.as_bytes().trim_ascii(),
            parts,
            signature.as_bytes(),
        )
    }

    fn verify_bytes(
        &self,
        timestamp: &[u8],
        body: &[u8],
        signature: &[u8],
    ) -> Result<(), WebhookError> {
        let timestamp = timestamp.trim_ascii();
        self.check(timestamp, &delivery(timestamp, body), signature)
    }

    /// The signature over `parts`, then the replay window of `timestamp`.
    fn check(
        &self,
        timestamp: &[u8],
        parts: &[&[u8]],
        signature: &[u8],
    ) -> Result<(), WebhookError> {
        let tag = decode_signature(signature)?;
        let Some(tolerance) = self.tolerance else {
            return check_tag(self.mac.clone(), parts, &tag);
        };
        let sent = parse_timestamp(timestamp)?;
        check_tag(self.mac.clone(), parts, &tag)?;
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

/// Why `secret` cannot be a signing key, if it cannot: empty, nothing but zero bytes (HMAC pads
/// a short key with zeros, so those are the empty key), or nothing but whitespace (ASCII, or
/// Unicode if the secret is UTF-8). Never includes the secret.
fn blank(secret: &[u8]) -> Option<&'static str> {
    if secret.is_empty() {
        Some("is empty")
    } else if secret.iter().all(|&byte| byte == 0) {
        Some("is only zero bytes, which HMAC treats as an empty key")
    } else if secret.trim_ascii().is_empty()
        || std::str::from_utf8(secret).is_ok_and(|secret| secret.trim().is_empty())
    {
        Some("is only whitespace")
    } else {
        None
    }
}

fn keyed(secret: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length (longer ones are hashed first): this cannot fail.
    HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length")
}

/// Absorbs `[timestamp;body]` piece by piece, without building the concatenation.
/// What Crisp signs of a plugin hook delivery: `[{timestamp};{body}]`.
fn delivery<'a>(timestamp: &'a [u8], body: &'a [u8]) -> [&'a [u8]; 5] {
    [b"[", timestamp, b";", body, b"]"]
}

fn check_tag(
    mut mac: HmacSha256,
    parts: &[&[u8]],
    tag: &[u8; TAG_LEN],
) -> Result<(), WebhookError> {
    for part in parts {
        mac.update(part);
    }
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
    hex::decode_to_slice(signature, &mut tag)
        .map_err(|_| malformed("it is not hexadecimal, expected 64 hex digits (HMAC-SHA256)"))?;
    Ok(tag)
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
    fn signatures_decode_in_either_case_and_nothing_else() {
        let bytes: Vec<u8> = (0..=255).collect();
        for chunk in bytes.chunks(TAG_LEN) {
            let hex = hex::encode(chunk);
            assert_eq!(decode_signature(hex.as_bytes()).unwrap(), chunk);
            let upper = format!(" {}\t", hex.to_uppercase());
            assert_eq!(decode_signature(upper.as_bytes()).unwrap(), chunk);
        }
        let reason = |signature: &str| match decode_signature(signature.as_bytes()) {
            Err(WebhookError::MalformedHeader { reason, .. }) => reason,
            other => panic!("{signature:?}: {other:?}"),
        };
        assert!(reason("").contains("empty"));
        assert!(reason(&"a".repeat(63)).contains("64 characters"));
        assert!(reason(&format!("{}g", "a".repeat(63))).contains("not hexadecimal"));
        assert!(reason(&format!("+{}", "a".repeat(63))).contains("not hexadecimal"));
    }

    #[test]
    fn blank_secrets_are_named_and_others_are_not() {
        assert_eq!(blank(b""), Some("is empty"));
        for secret in [" ", "\t\r\n ", "\u{a0}", " \u{3000}\u{2003} "] {
            assert_eq!(
                blank(secret.as_bytes()),
                Some("is only whitespace"),
                "{secret:?}"
            );
        }
        for secret in [&b"\0"[..], b"\0\0\0"] {
            assert_eq!(
                blank(secret),
                Some("is only zero bytes, which HMAC treats as an empty key")
            );
        }
        for secret in [
            &b"s"[..],
            b" s ",
            b"\0s",
            b" \0",
            b"\xff",
            b" \xff ",
            b"\xa0",
        ] {
            assert_eq!(blank(secret), None, "{secret:?}");
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

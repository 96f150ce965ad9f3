//! The one error type for receiving Crisp webhooks.

use std::time::Duration;

/// Why a webhook request was rejected.
///
/// Every message says what was wrong and what to do about it. No message, and no `Debug`
/// output, ever contains the signing secret, the expected signature or the bytes of the
/// received signature, so errors are safe to log and to return to the caller.
///
/// [`InvalidSecret`](WebhookError::InvalidSecret) comes from [`Verifier::new`](super::Verifier::new),
/// at start-up: fix the configuration. Every other variant is about one request: answer it with
/// a 4xx status and do not process the delivery; apart from
/// [`InvalidDelivery`](WebhookError::InvalidDelivery), nothing about the request can be trusted.
///
/// ```
/// use crisp_api::webhook::{Verifier, WebhookError};
///
/// let verifier = Verifier::new("secret")?;
/// let error = verifier.verify_headers(&http::HeaderMap::new(), b"{}").unwrap_err();
/// assert!(matches!(error, WebhookError::MissingHeader { .. }));
/// // Safe to log: it says what to check, and holds no secret.
/// println!("refused a delivery: {error}");
/// # Ok::<(), WebhookError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The signing secret given to [`Verifier::new`](super::Verifier::new) is empty, only
    /// whitespace, or only zero bytes (which HMAC treats as an empty key).
    ///
    /// HMAC accepts an empty key, so a verifier keyed with one would accept deliveries signed
    /// by anyone. This usually means the variable or file the secret is read from is unset or
    /// blank. The message never contains the secret.
    ///
    /// ```
    /// use crisp_api::webhook::{Verifier, WebhookError};
    ///
    /// let error = Verifier::new("  ").unwrap_err();
    /// assert!(matches!(error, WebhookError::InvalidSecret { .. }));
    /// assert!(error.to_string().contains("signature secret"));
    /// ```
    #[error(
        "webhook signing secret {reason}: set it to the plugin's signature secret from the Crisp \
         Marketplace (check that the variable or file it is read from is set); an empty key \
         would let anyone sign deliveries"
    )]
    InvalidSecret {
        /// What is wrong with it, such as `"is empty"`. Never contains the secret.
        reason: &'static str,
    },

    /// A header the check needs is absent.
    ///
    /// Crisp signs plugin hook deliveries only; website hooks (configured in a workspace's
    /// settings) carry no signature.
    #[error(
        "webhook request has no `{name}` header: Crisp signs plugin hook deliveries only \
         (website hooks are not signed); check that the endpoint is registered as a plugin hook \
         and that any proxy in front of it forwards this header"
    )]
    MissingHeader {
        /// The header's name, lowercase (one of this module's `*_HEADER` constants).
        name: &'static str,
    },

    /// A header is present but cannot be what Crisp sends: not hexadecimal, the wrong length,
    /// empty, repeated, or (unless the verifier was built
    /// [`without_timestamp_check`](super::Verifier::without_timestamp_check)) a timestamp that
    /// is not a number.
    #[error(
        "webhook header `{name}` is malformed: {reason}; the request was not sent by Crisp as \
         received here, so reject it (if a proxy sits in front of this endpoint, check that it \
         passes the header through unchanged)"
    )]
    MalformedHeader {
        /// The header's name, lowercase (one of this module's `*_HEADER` constants).
        name: &'static str,
        /// What is wrong with it. Never contains the header's value.
        reason: &'static str,
    },

    /// The signature is well formed but was not made with this secret over this timestamp and
    /// body.
    #[error(
        "webhook signature does not match the request: check that the signing secret is this \
         plugin's signature secret from the Crisp Marketplace, and that the raw request body and \
         the `x-crisp-request-timestamp` header are passed through unmodified (verify the bytes \
         as received, before any JSON parsing or re-serialisation)"
    )]
    SignatureMismatch,

    /// The request is correctly signed, but its timestamp is further from the receiver's clock
    /// than the [`Verifier`](super::Verifier)'s tolerance: [`DEFAULT_TOLERANCE`](super::DEFAULT_TOLERANCE)
    /// unless set with [`Verifier::with_tolerance`](super::Verifier::with_tolerance).
    ///
    /// Because the signature is checked first, this error means a replayed (or very late)
    /// genuine delivery, or a clock problem; never a forgery.
    #[error(
        "webhook timestamp is {skew:?} {direction}, outside the {tolerance:?} tolerance: reject \
         it as a possible replay; if genuine deliveries are rejected, check this server's clock \
         (NTP) or widen the tolerance",
        direction = match direction {
            SkewDirection::Past => "in the past",
            SkewDirection::Future => "in the future",
        }
    )]
    TimestampOutsideWindow {
        /// How far the timestamp is from the receiver's clock, to the millisecond.
        skew: Duration,
        /// Whether the timestamp is older than the clock or ahead of it.
        direction: SkewDirection,
        /// The tolerance that was exceeded.
        tolerance: Duration,
    },

    /// The body is not a Crisp webhook delivery (a JSON object with an `event` string and a
    /// `data` object), or the data of a known event does not fit its type.
    #[error(
        "webhook body is not a Crisp delivery: {reason}; a delivery is a JSON object with an \
         `event` name and its `data` (and usually `website_id` and `timestamp`): check that \
         the raw request body is passed through unmodified"
    )]
    InvalidDelivery {
        /// What the JSON parser reported.
        reason: String,
    },
}

/// Which side of the receiver's clock a rejected webhook timestamp lies on.
///
/// ```
/// use crisp_api::webhook::{SkewDirection, WebhookError};
///
/// fn clock_is_behind(error: &WebhookError) -> bool {
///     matches!(error, WebhookError::TimestampOutsideWindow { direction: SkewDirection::Future, .. })
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkewDirection {
    /// The timestamp is older than the tolerance allows: a replay, or a delivery held up in
    /// transit.
    Past,
    /// The timestamp is ahead of the receiver's clock by more than the tolerance: usually a
    /// clock problem on one side.
    Future,
}

/// Wraps a JSON error from parsing a delivery body.
pub(crate) fn invalid_delivery(err: serde_json::Error) -> WebhookError {
    WebhookError::InvalidDelivery {
        reason: err.to_string(),
    }
}

//! Receiving Crisp webhooks: signature checks and a replay window.
//!
//! Crisp signs plugin hook deliveries (not website hooks) with the plugin's signature secret.
//! Check a delivery over its raw body bytes, before parsing it:
//!
//! ```
//! use crisp_api::webhook::Verifier;
//! # use std::time::{Duration, UNIX_EPOCH};
//! # let (secret, body) = ("test_secret", b"{}".as_slice());
//! # let mut headers = http::HeaderMap::new();
//! # headers.insert(crisp_api::webhook::TIMESTAMP_HEADER, "1700000000000".parse().unwrap());
//! # headers.insert(crisp_api::webhook::SIGNATURE_HEADER,
//! #     crisp_api::webhook::sign(secret.as_bytes(), "1700000000000", body).parse().unwrap());
//!
//! // Once, at start-up (an empty secret is refused):
//! let verifier = Verifier::new(secret)?;
//! # let verifier = verifier.with_clock(|| UNIX_EPOCH + Duration::from_secs(1_700_000_000));
//!
//! // For every request, with its headers and raw body: the signature, then the timestamp
//! // (within five minutes of the clock, by default).
//! verifier.verify_headers(&headers, body)?;
//! # Ok::<(), crisp_api::webhook::WebhookError>(())
//! ```

#![warn(missing_docs)]

mod error;
mod event;
mod verify;

pub use crate::generated::events::Event;
pub(crate) use error::invalid_delivery;
pub use error::{SkewDirection, WebhookError};
pub use event::Delivery;
pub use verify::{
    ATTEMPT_COUNT_HEADER, DEFAULT_TOLERANCE, SIGNATURE_HEADER, TIMESTAMP_HEADER, Verifier, sign,
    sign_parts, verify,
};

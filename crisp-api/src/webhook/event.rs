//! Parsing a delivery body into a typed [`Event`].

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Verifier, WebhookError, invalid_delivery};
use crate::generated::events::Event;

/// One webhook delivery as Crisp posts it: `{website_id, event, data, timestamp}`.
///
/// ```
/// use crisp_api::webhook::{Delivery, Event};
///
/// let body = br#"{"website_id":"w1","event":"session:set_email","data":{"website_id":"w1",
///     "session_id":"session_1","email":"jane@example.com"},"timestamp":1700000000000}"#;
/// let delivery = Delivery::from_slice(body)?;
/// assert_eq!(delivery.event.name(), "session:set_email");
/// if let Event::SessionSetEmail(data) = &delivery.event {
///     assert_eq!(data.email, "jane@example.com");
/// }
/// # Ok::<(), crisp_api::webhook::WebhookError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Delivery {
    /// The website (workspace) the event happened on.
    pub website_id: Option<String>,
    /// When the event occurred, in Unix milliseconds.
    pub timestamp: Option<i64>,
    /// The event, typed by its name.
    pub event: Event,
}

/// The envelope, with `data` left unparsed until the name has picked its type.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    event: Cow<'a, str>,
    #[serde(borrow)]
    data: &'a RawValue,
    #[serde(default)]
    website_id: Option<String>,
    #[serde(default)]
    timestamp: Option<serde_json::Number>,
}

impl Delivery {
    /// Parses a delivery from the raw request body. Unknown fields are ignored; an event name
    /// this crate does not know gives [`Event::Unknown`], not an error.
    ///
    /// # Errors
    ///
    /// [`WebhookError::InvalidDelivery`] if the body is not a JSON object with an `event`
    /// string and `data`, or if the data of a known event is not an object that fits its type.
    ///
    /// ```
    /// use crisp_api::webhook::{Delivery, Event};
    ///
    /// let delivery = Delivery::from_slice(br#"{"event":"brand:new","data":{"x":1}}"#)?;
    /// assert!(matches!(delivery.event, Event::Unknown { .. }));
    /// assert!(Delivery::from_slice(b"<html>").is_err());
    /// # Ok::<(), crisp_api::webhook::WebhookError>(())
    /// ```
    pub fn from_slice(body: &[u8]) -> Result<Self, WebhookError> {
        let envelope: Envelope<'_> = serde_json::from_slice(body).map_err(invalid_delivery)?;
        let name = envelope.event.as_ref();
        let event = Event::from_parts(name, envelope.data).map_err(|e| {
            let reason = if Event::NAMES.contains(&name) {
                format!("the data of `{name}` does not fit its type: {e}")
            } else {
                format!("the data of the unknown event `{name}` cannot be kept: {e}")
            };
            WebhookError::InvalidDelivery { reason }
        })?;
        Ok(Self {
            website_id: envelope.website_id,
            // Unix milliseconds; a float is truncated rather than refusing the delivery.
            timestamp: envelope
                .timestamp
                .and_then(|n| n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))),
            event,
        })
    }
}

impl Event {
    /// Parses the event out of a raw delivery body, `{website_id, event, data, timestamp}`.
    /// Use [`Delivery::from_slice`] to keep the website and timestamp too.
    ///
    /// ```
    /// use crisp_api::webhook::Event;
    ///
    /// let event = Event::from_slice(br#"{"event":"plugin:new_thing","data":{"x":1}}"#)?;
    /// assert!(event.is_unknown());
    /// assert_eq!(event.name(), "plugin:new_thing");
    /// # Ok::<(), crisp_api::webhook::WebhookError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Delivery::from_slice`].
    pub fn from_slice(body: &[u8]) -> Result<Self, WebhookError> {
        Delivery::from_slice(body).map(|delivery| delivery.event)
    }
}

impl Verifier {
    /// Checks a request's signature and replay window from its headers and raw body, then
    /// parses the body into a [`Delivery`]. Nothing is parsed unless the check passes.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    ///
    /// use crisp_api::webhook::{Event, Verifier, sign, SIGNATURE_HEADER, TIMESTAMP_HEADER};
    ///
    /// let secret = "plugin-signing-secret";
    /// let body = br#"{"website_id":"w1","event":"campaign:dispatched","data":{"website_id":"w1","campaign_id":"c1"},"timestamp":1700000000000}"#;
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert(TIMESTAMP_HEADER, "1700000000000".parse().unwrap());
    /// headers.insert(SIGNATURE_HEADER, sign(secret.as_bytes(), "1700000000000", body).parse().unwrap());
    ///
    /// // Sent at 1700000000000 (Unix ms); received a minute later, by the injected clock.
    /// let verifier = Verifier::new(secret)?
    ///     .with_clock(|| UNIX_EPOCH + Duration::from_secs(1_700_000_060));
    /// let delivery = verifier.verify_and_parse(&headers, body)?;
    /// assert!(matches!(delivery.event, Event::CampaignDispatched(_)));
    /// # Ok::<(), crisp_api::webhook::WebhookError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Verifier::verify_headers`], then as [`Delivery::from_slice`].
    pub fn verify_and_parse(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<Delivery, WebhookError> {
        self.verify_headers(headers, body)?;
        Delivery::from_slice(body)
    }
}

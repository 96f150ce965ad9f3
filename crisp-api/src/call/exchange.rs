//! One HTTP exchange: the [`Request`] sent over the [`Transport`] (its redirects followed or
//! refused there), the facts of the answer, its body read under the size cap, and the decoding
//! into the operation's type or a [`Failure`].

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER};
use serde::de::DeserializeOwned;

use super::envelope::Envelope;
use super::failure::Failure;
use super::request::Request;
use super::transport::{Sent, Transport};
use super::{body, retry};
use crate::types::{ErrorEnvelope, ErrorReason};

/// What one attempt's answer said, for the audit record and the error.
#[derive(Debug, Default)]
pub(crate) struct Facts {
    pub(crate) status: Option<StatusCode>,
    pub(crate) bloom_status: Option<HeaderValue>,
    /// The path Crisp redirected to, when it did (same origin only).
    pub(crate) redirected_to: Option<String>,
}

/// One HTTP exchange: send, note the answer's facts, read its body under the cap, decode it.
pub(crate) async fn attempt<T>(
    transport: &Transport,
    request: &Request,
) -> (Result<Box<T>, Failure>, Facts)
where
    T: DeserializeOwned + Envelope,
{
    let mut facts = Facts::default();
    let Sent {
        mut response,
        redirected_to,
        unfollowed,
    } = match transport.send(request).await {
        Ok(sent) => sent,
        Err(failure) => return (Err(failure), facts),
    };
    let status = response.status();
    facts.status = Some(status);
    let headers = response.headers();
    facts.bloom_status = headers.get(BLOOM_STATUS).cloned();
    facts.redirected_to = redirected_to;
    if let Some(location) = unfollowed {
        // Not followed (another origin, past 5 hops, a write it would turn into a GET, or a
        // 3xx that is no redirect): not a broken connection, and not retried.
        return (Err(Failure::Redirect { location }), facts);
    }
    // Only a 404's URL is kept, for the unknown-route rule.
    let url_of_404 = (status == StatusCode::NOT_FOUND).then(|| response.url().clone());
    let content_type = headers.get(CONTENT_TYPE).cloned();
    let retry_after = if status.is_success() {
        None
    } else {
        retry_after(headers.get(RETRY_AFTER))
    };
    let limit = transport.max_response_bytes();
    let length = response.content_length();
    let too_large = |length| Failure::TooLarge {
        status,
        limit,
        length,
    };
    if length.is_some_and(|length| length > limit as u64) {
        return (Err(too_large(length)), facts);
    }
    let read = if length.is_some() {
        response.bytes().await.map_err(Read::Http)
    } else {
        read_capped(&mut response, limit).await
    };
    let bytes = match read {
        Ok(bytes) => bytes,
        Err(Read::TooLarge) => return (Err(too_large(None)), facts),
        Err(Read::Http(e)) => {
            return (Err(Failure::http(e, || transport.url(request))), facts);
        }
    };
    let answer = Answer {
        status,
        content_type: content_type.as_ref(),
        retry_after,
        bytes: &bytes,
        secrets: transport.secrets(),
    };
    let decoded = answer.decode::<T>();
    match url_of_404 {
        Some(url) => (
            decoded.map_err(|failure| failure.on_404(&url, transport.base_url())),
            facts,
        ),
        None => (decoded, facts),
    }
}

/// Why a body could not be read.
enum Read {
    TooLarge,
    Http(reqwest::Error),
}

/// Reads a body whose length was not announced, refusing it once it passes `limit`.
async fn read_capped(response: &mut reqwest::Response, limit: usize) -> Result<bytes::Bytes, Read> {
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(Read::Http)? {
        if body.len() + chunk.len() > limit {
            return Err(Read::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

const BLOOM_STATUS: HeaderName = HeaderName::from_static("bloom-status");

/// An answer, read whole.
struct Answer<'a> {
    status: StatusCode,
    content_type: Option<&'a HeaderValue>,
    retry_after: Option<Duration>,
    bytes: &'a [u8],
    /// The key and the `Basic` credential, never to be quoted from `bytes`.
    secrets: [&'a str; 2],
}

impl Answer<'_> {
    /// Decodes a 2xx into `T` (an `error: true` envelope is an API error whatever the status),
    /// and anything else into a failure.
    fn decode<T: DeserializeOwned + Envelope>(&self) -> Result<Box<T>, Failure> {
        let status = self.status;
        if status.is_success()
            && let Ok(value) = serde_json::from_slice::<Box<T>>(self.bytes)
        {
            if value.is_error() {
                return Err(Failure::Api {
                    status,
                    reason: ErrorReason::from(value.reason()),
                    message: value.message().map(|m| body::scrub_text(m, &self.secrets)),
                    retry_after: None,
                });
            }
            return Ok(value);
        }
        Err(self.invalid::<T>())
    }

    /// A body that did not decode: an error envelope (on any status), or not the expected JSON.
    ///
    /// The key and the credential are scrubbed from the body before anything is quoted from
    /// it: the excerpt, serde's detail (which quotes a rejected value) and Crisp's message.
    fn invalid<T: DeserializeOwned>(&self) -> Failure {
        let status = self.status;
        let bytes = body::scrub(self.bytes, &self.secrets);
        if let Ok(envelope) = serde_json::from_slice::<ErrorEnvelope>(&bytes)
            && (envelope.error || !status.is_success())
        {
            return Failure::Api {
                status,
                reason: envelope.reason,
                message: envelope.data.and_then(|d| d.message),
                retry_after: self.retry_after,
            };
        }
        let detail = if status.is_success() {
            body::decode_detail::<T>(&bytes)
        } else {
            format!(
                "not a Crisp error envelope ({})",
                body::decode_detail::<ErrorEnvelope>(&bytes)
            )
        };
        Failure::Body {
            status,
            content_type: header_text(self.content_type),
            detail,
            excerpt: body::excerpt(&bytes),
            length: self.bytes.len(),
            retry_after: self.retry_after,
        }
    }
}

pub(crate) fn header_text(value: Option<&HeaderValue>) -> Option<String> {
    value.and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn retry_after(value: Option<&HeaderValue>) -> Option<Duration> {
    retry::parse_retry_after(value?.to_str().ok()?, SystemTime::now())
}

//! Request signatures of Crisp's own AI agent (Hugo), which calls external MCP servers over
//! HTTP and signs each request:
//!
//! ```text
//! X-Crisp-Signature: sha256=<lower-case hex HMAC-SHA256 of "{X-Crisp-Timestamp}.{X-Crisp-Website-Id}.{raw body}">
//! ```
//!
//! with the integration's signing secret, within a replay window of 300 s. `X-Crisp-Session-Id`
//! names the conversation when there is one; it is not signed, so it is only recorded.
//!
//! ```
//! use std::time::{SystemTime, UNIX_EPOCH};
//! use crisp_mcp::hugo::{self, HugoSecret};
//!
//! let secret = HugoSecret::new("integration-secret").unwrap();
//! let now = SystemTime::now();
//! let timestamp = now.duration_since(UNIX_EPOCH).unwrap().as_secs().to_string();
//! let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
//! let mut headers = http::HeaderMap::new();
//! headers.insert(hugo::TIMESTAMP_HEADER, timestamp.parse().unwrap());
//! headers.insert(hugo::WEBSITE_HEADER, "8c842203-7ed8-4e29-a608-7cf78a7d2fcc".parse().unwrap());
//! let signature = hugo::sign("integration-secret", &timestamp, "8c842203-7ed8-4e29-a608-7cf78a7d2fcc", body);
//! headers.insert(hugo::SIGNATURE_HEADER, signature.parse().unwrap());
//!
//! let signed = secret.verify(&headers, body, now).unwrap();
//! assert_eq!(signed.website_id, "8c842203-7ed8-4e29-a608-7cf78a7d2fcc");
//! assert!(secret.verify(&headers, b"{}", now).is_err()); // another body
//! ```

use std::fmt;
use std::time::{Duration, SystemTime};

use crisp_api::webhook::{self, Verifier, WebhookError};
use http::HeaderMap;

/// The signature header: `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "x-crisp-signature";
/// The signed timestamp (Unix seconds; values of 10^11 and above are read as milliseconds).
pub const TIMESTAMP_HEADER: &str = "x-crisp-timestamp";
/// The signed website id: the workspace Hugo acts for.
pub const WEBSITE_HEADER: &str = "x-crisp-website-id";
/// The conversation Hugo is in, when there is one (not signed).
pub const SESSION_HEADER: &str = "x-crisp-session-id";
/// How far a signed timestamp may be from the clock, either way.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(300);

/// The longest website or session id accepted from the headers.
const MAX_ID: usize = 256;

/// The integration's signing secret, keyed once: crisp-api's webhook [`Verifier`] with
/// Hugo's framing and [`REPLAY_WINDOW`]. `Debug` never shows the secret.
#[derive(Clone, Debug)]
pub struct HugoSecret(Verifier);

/// What a verified request says about its origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HugoRequest {
    /// The website the request was signed for (`X-Crisp-Website-Id`).
    pub website_id: String,
    /// The conversation, when Hugo sent one and it looks like an id (`X-Crisp-Session-Id`, not
    /// signed: recorded in the audit, never trusted).
    pub session_id: Option<String>,
}

/// Why a request's signature was refused. The message never holds the secret or a signature.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HugoError {
    /// A header is missing.
    Missing(&'static str),
    /// A header is not what the scheme says.
    Malformed(&'static str),
    /// The signature does not match the body, timestamp and website id.
    Mismatch,
    /// The timestamp is outside the replay window.
    Stale,
    /// A header is given more than once (which value was signed is ambiguous).
    Repeated(&'static str),
}

impl fmt::Display for HugoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing(header) => write!(f, "the {header} header is missing"),
            Self::Malformed(header) => write!(f, "the {header} header is malformed"),
            Self::Repeated(header) => write!(f, "the {header} header is given more than once"),
            Self::Mismatch => f.write_str("the signature does not match the request"),
            Self::Stale => write!(
                f,
                "the timestamp is more than {} s from the server's clock",
                REPLAY_WINDOW.as_secs()
            ),
        }
    }
}

impl std::error::Error for HugoError {}

impl HugoSecret {
    /// The secret; `None` when it is empty, only white space or only zero bytes (anyone could
    /// sign with it).
    pub fn new(secret: impl Into<String>) -> Option<Self> {
        let verifier = Verifier::new(secret.into()).ok()?;
        Some(Self(verifier.with_tolerance(REPLAY_WINDOW)))
    }

    /// Verifies a request: each of Hugo's headers at most once, the signature over the raw
    /// body, in constant time, and the timestamp within [`REPLAY_WINDOW`] of `now`.
    pub fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<HugoRequest, HugoError> {
        for name in [
            SIGNATURE_HEADER,
            TIMESTAMP_HEADER,
            WEBSITE_HEADER,
            SESSION_HEADER,
        ] {
            if headers.get_all(name).iter().nth(1).is_some() {
                return Err(HugoError::Repeated(name));
            }
        }
        let header = |name: &'static str| -> Result<&str, HugoError> {
            headers
                .get(name)
                .ok_or(HugoError::Missing(name))?
                .to_str()
                .map_err(|_| HugoError::Malformed(name))
        };
        let timestamp = header(TIMESTAMP_HEADER)?;
        let website_id = header(WEBSITE_HEADER)?;
        let signature = header(SIGNATURE_HEADER)?;
        let hex = signature
            .strip_prefix("sha256=")
            .ok_or(HugoError::Malformed(SIGNATURE_HEADER))?;
        if website_id.is_empty() || website_id.len() > MAX_ID {
            return Err(HugoError::Malformed(WEBSITE_HEADER));
        }
        self.0
            .clone()
            .with_clock(move || now)
            .verify_parts(timestamp, &signed(timestamp, website_id, body), hex)
            .map_err(|error| match error {
                WebhookError::MalformedHeader { name, .. } if name == webhook::SIGNATURE_HEADER => {
                    HugoError::Malformed(SIGNATURE_HEADER)
                }
                WebhookError::MalformedHeader { .. } => HugoError::Malformed(TIMESTAMP_HEADER),
                WebhookError::TimestampOutsideWindow { .. } => HugoError::Stale,
                _ => HugoError::Mismatch,
            })?;
        let session_id = headers
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|id| looks_like_an_id(id))
            .map(str::to_owned);
        Ok(HugoRequest {
            website_id: website_id.to_owned(),
            session_id,
        })
    }
}

/// The `X-Crisp-Signature` value for a request, as Hugo computes it: for tests and for
/// clients that sign like Hugo.
pub fn sign(secret: &str, timestamp: &str, website_id: &str, body: &[u8]) -> String {
    let signature = webhook::sign_parts(secret.as_bytes(), &signed(timestamp, website_id, body));
    format!("sha256={signature}")
}

/// What Hugo signs: `{timestamp}.{website_id}.{body}`.
fn signed<'a>(timestamp: &'a str, website_id: &'a str, body: &'a [u8]) -> [&'a [u8]; 5] {
    [
        timestamp.as_bytes(),
        b".",
        website_id.as_bytes(),
        b".",
        body,
    ]
}

fn looks_like_an_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    const WEBSITE: &str = "8c842203-7ed8-4e29-a608-7cf78a7d2fcc";

    fn headers(timestamp: &str, website: &str, signature: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(TIMESTAMP_HEADER, timestamp.parse().unwrap());
        headers.insert(WEBSITE_HEADER, website.parse().unwrap());
        headers.insert(SIGNATURE_HEADER, signature.parse().unwrap());
        headers
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_known_answer() {
        // python3 -c "import hmac, hashlib; print(hmac.new(b'secret', b'1700000000.w.{}', hashlib.sha256).hexdigest())"
        assert_eq!(
            sign("secret", "1700000000", "w", b"{}"),
            "sha256=5aeba5e650cf31b7814ae9156c53ec6ef5aa8c6f2d8aef4245265d216222ef83"
        );
    }

    #[test]
    fn verifies_and_refuses_what_it_should() {
        let secret = HugoSecret::new("s3cret").unwrap();
        let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
        let signature = sign("s3cret", "1700000000", WEBSITE, body);
        let good = headers("1700000000", WEBSITE, &signature);
        let now = at(1_700_000_100);
        assert_eq!(secret.verify(&good, body, now).unwrap().website_id, WEBSITE);
        // Upper-case hex is the same signature.
        let upper = headers(
            "1700000000",
            WEBSITE,
            &signature.to_uppercase().replace("SHA256=", "sha256="),
        );
        assert!(secret.verify(&upper, body, now).is_ok());
        // Milliseconds read as milliseconds.
        let ms = sign("s3cret", "1700000000000", WEBSITE, body);
        assert!(
            secret
                .verify(&headers("1700000000000", WEBSITE, &ms), body, now)
                .is_ok()
        );

        let mut tampered = body.to_vec();
        tampered[10] ^= 1;
        assert_eq!(
            secret.verify(&good, &tampered, now),
            Err(HugoError::Mismatch)
        );
        let other = HugoSecret::new("another").unwrap();
        assert_eq!(other.verify(&good, body, now), Err(HugoError::Mismatch));
        let moved = headers("1700000000", "another-website", &signature);
        assert_eq!(secret.verify(&moved, body, now), Err(HugoError::Mismatch));
        assert_eq!(
            secret.verify(&good, body, at(1_700_000_301)),
            Err(HugoError::Stale)
        );
        assert_eq!(
            secret.verify(&good, body, at(1_699_999_699)),
            Err(HugoError::Stale)
        );
        assert!(secret.verify(&good, body, at(1_700_000_300)).is_ok());

        for (name, bad) in [
            (SIGNATURE_HEADER, "c0ffee"),
            (SIGNATURE_HEADER, "md5=00"),
            (SIGNATURE_HEADER, &format!("sha256={}", "zz".repeat(32))),
        ] {
            let mut h = good.clone();
            h.insert(name, bad.parse().unwrap());
            assert_eq!(
                secret.verify(&h, body, now),
                Err(HugoError::Malformed(name))
            );
        }
        for name in [SIGNATURE_HEADER, TIMESTAMP_HEADER, WEBSITE_HEADER] {
            let mut h = good.clone();
            h.remove(name);
            assert_eq!(secret.verify(&h, body, now), Err(HugoError::Missing(name)));
        }
        // A signed timestamp that is not a number is malformed, not a panic.
        let odd = sign("s3cret", "-1", WEBSITE, body);
        assert_eq!(
            secret.verify(&headers("-1", WEBSITE, &odd), body, now),
            Err(HugoError::Malformed(TIMESTAMP_HEADER))
        );
    }

    /// Today's verifier read a repeated header as its first value.
    #[test]
    fn a_repeated_header_is_refused() {
        let secret = HugoSecret::new("s3cret").unwrap();
        let body = b"{}";
        let signature = sign("s3cret", "1700000000", WEBSITE, body);
        let good = headers("1700000000", WEBSITE, &signature);
        let now = at(1_700_000_000);
        assert!(secret.verify(&good, body, now).is_ok());
        for (name, second) in [
            (SIGNATURE_HEADER, signature.as_str()),
            (TIMESTAMP_HEADER, "1700000000"),
            (WEBSITE_HEADER, "another-website"),
            (SESSION_HEADER, "session_a"),
        ] {
            let mut twice = good.clone();
            if name == SESSION_HEADER {
                twice.append(name, "session_b".parse().unwrap());
            }
            twice.append(name, second.parse().unwrap());
            assert_eq!(
                secret.verify(&twice, body, now),
                Err(HugoError::Repeated(name)),
                "{name}"
            );
        }
    }

    #[test]
    fn the_session_id_is_kept_only_when_it_looks_like_one() {
        let secret = HugoSecret::new("s3cret").unwrap();
        let signature = sign("s3cret", "1700000000", WEBSITE, b"");
        let mut h = headers("1700000000", WEBSITE, &signature);
        h.insert(SESSION_HEADER, "session_700c65e1-85e2".parse().unwrap());
        let now = at(1_700_000_000);
        assert_eq!(
            secret.verify(&h, b"", now).unwrap().session_id.as_deref(),
            Some("session_700c65e1-85e2")
        );
        h.insert(SESSION_HEADER, "a b/../c".parse().unwrap());
        assert_eq!(secret.verify(&h, b"", now).unwrap().session_id, None);
    }

    #[test]
    fn blank_secrets_are_refused_and_secrets_stay_out_of_debug() {
        assert!(HugoSecret::new("").is_none());
        assert!(HugoSecret::new(" \n").is_none());
        assert!(HugoSecret::new("\0\0").is_none());
        let secret = HugoSecret::new("do-not-print").unwrap();
        assert!(!format!("{secret:?}").contains("do-not-print"));
    }
}

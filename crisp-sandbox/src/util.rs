//! The small helpers the other modules share, at the bottom of the crate: it uses none of them.
//! The clock, identifiers and random keys.

use std::fmt::Write as _;
use std::io;
use std::time::{SystemTime, UNIX_EPOCH};

/// Unix milliseconds now.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A version-4 UUID made of 122 of these random bits, such as
/// `f47ac10b-58cc-4372-a567-0e02b2c3d479`. `variant` (0 to 3) picks the variant digit
/// (`8`, `9`, `a` or `b`).
pub(crate) fn uuid_v4(bits: u128, variant: usize) -> String {
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-4{}-{}{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        ["8", "9", "a", "b"][variant % 4],
        &hex[17..20],
        &hex[20..32]
    )
}

/// A fresh random UUID, for a record the API creates. An id is not a secret: a fast generator
/// will do.
pub(crate) fn random_uuid() -> String {
    let mut rng = fastrand::Rng::new();
    let bits = rng.u128(..);
    uuid_v4(bits, rng.usize(..4))
}

/// A fresh random key or secret: 256 bits from the operating system's cryptographic generator,
/// as 64 hexadecimal digits.
///
/// # Errors
///
/// When the operating system's generator fails.
pub fn random_key() -> io::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| {
        io::Error::other(format!(
            "the operating system's random generator failed: {e}"
        ))
    })?;
    Ok(bytes.iter().fold(String::with_capacity(64), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    }))
}

/// A URL as it may be logged: user info, query and fragment (where credentials and tokens
/// travel) replaced by `redacted`, such as `https://redacted@hooks.example.com/crisp?redacted`.
pub(crate) fn redacted_url(text: &str) -> String {
    let Ok(mut url) = url::Url::parse(text) else {
        return "(not a URL)".to_owned();
    };
    if !url.username().is_empty() || url.password().is_some() {
        let _ = url.set_password(None);
        let _ = url.set_username("redacted");
    }
    if url.query().is_some() {
        url.set_query(Some("redacted"));
    }
    if url.fragment().is_some() {
        url.set_fragment(Some("redacted"));
    }
    url.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uuid_has_the_version_4_shape() {
        let id = uuid_v4(u128::MAX, 2);
        assert_eq!(id, "ffffffff-ffff-4fff-afff-ffffffffffff");
        let id = random_uuid();
        let parts: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12], "{id}");
        assert_ne!(random_uuid(), random_uuid());
    }

    #[test]
    fn a_key_is_64_hex_digits_from_the_os() {
        let key = random_key().unwrap();
        assert_eq!(key.len(), 64);
        assert!(
            key.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        // The fast generator's state does not decide it.
        fastrand::seed(7);
        let first = random_key().unwrap();
        fastrand::seed(7);
        assert_ne!(first, random_key().unwrap());
    }

    #[test]
    fn a_url_is_logged_without_credentials() {
        assert_eq!(
            redacted_url("https://user:pass@hooks.example.com:8443/crisp?token=abc#key"),
            "https://redacted@hooks.example.com:8443/crisp?redacted#redacted"
        );
        assert_eq!(
            redacted_url("https://:pass@h.example/"),
            "https://redacted@h.example/"
        );
        assert_eq!(
            redacted_url("http://127.0.0.1:9000/hook"),
            "http://127.0.0.1:9000/hook"
        );
        assert_eq!(redacted_url("not a url with secret"), "(not a URL)");
    }
}

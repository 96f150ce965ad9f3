//! Bodies that are not what the operation returns: a short, masked excerpt and a precise
//! reason, never the whole body.

use serde::de::DeserializeOwned;

/// How much of a body an error quotes.
pub(crate) const EXCERPT_BYTES: usize = 200;

/// The default cap on a response body.
pub(crate) const DEFAULT_MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// Words that mark a JSON field as secret: its value is masked in excerpts.
const SECRET_WORDS: [&str; 6] = [
    "key",
    "token",
    "secret",
    "password",
    "authorization",
    "cookie",
];

/// What stands in for a secret in what an error quotes.
const REDACTED: &str = "[redacted]";

/// `body` with every occurrence of each of `secrets` replaced by `[redacted]` (borrowed when
/// none occurs, which is the rule). Empty secrets are skipped.
pub(crate) fn scrub<'b>(body: &'b [u8], secrets: &[&str]) -> std::borrow::Cow<'b, [u8]> {
    let mut out = std::borrow::Cow::Borrowed(body);
    for secret in secrets
        .iter()
        .map(|s| s.as_bytes())
        .filter(|s| !s.is_empty())
    {
        if !out.windows(secret.len()).any(|w| w == secret) {
            continue;
        }
        let mut scrubbed = Vec::with_capacity(out.len());
        let mut rest: &[u8] = &out;
        while let Some(at) = rest.windows(secret.len()).position(|w| w == secret) {
            scrubbed.extend_from_slice(&rest[..at]);
            scrubbed.extend_from_slice(REDACTED.as_bytes());
            rest = &rest[at + secret.len()..];
        }
        scrubbed.extend_from_slice(rest);
        out = std::borrow::Cow::Owned(scrubbed);
    }
    out
}

/// [`scrub`] for text.
pub(crate) fn scrub_text(text: String, secrets: &[&str]) -> String {
    match scrub(text.as_bytes(), secrets) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// Whether a JSON field name looks like it holds a secret.
pub(crate) fn is_secret_field(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|word| name.contains(word))
}

/// The start of `body` as text, at most [`EXCERPT_BYTES`] of it, with the values of
/// secret-looking JSON fields replaced by `[redacted]` and control characters shown as `\n`,
/// `\u{1}`...; `(empty)` for an empty body.
pub(crate) fn excerpt(body: &[u8]) -> String {
    if body.is_empty() {
        return "(empty)".to_owned();
    }
    let masked = mask_secrets(body);
    let text = String::from_utf8_lossy(&masked);
    let mut out = String::with_capacity(EXCERPT_BYTES + 8);
    for c in text.chars() {
        if out.len() >= EXCERPT_BYTES {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Replaces the value of every JSON field whose name looks secret with `"[redacted]"`. Works on
/// JSON-ish text of any validity (including cut off), byte by byte.
fn mask_secrets(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len().min(EXCERPT_BYTES * 2));
    let mut i = 0;
    // The last string seen and whether a `:` followed it (so the next value is its value).
    let mut last_string: Option<(usize, usize)> = None;
    let mut mask_next = false;
    while i < body.len() && out.len() < EXCERPT_BYTES * 2 {
        let b = body[i];
        match b {
            b'"' => {
                let end = string_end(body, i);
                if mask_next {
                    out.extend_from_slice(b"\"[redacted]\"");
                    mask_next = false;
                    last_string = None;
                } else {
                    out.extend_from_slice(&body[i..end]);
                    last_string = Some((i + 1, end.saturating_sub(1).max(i + 1)));
                }
                i = end;
                continue;
            }
            b':' => {
                mask_next = last_string.is_some_and(|(start, end)| {
                    std::str::from_utf8(&body[start..end]).is_ok_and(is_secret_field)
                });
                last_string = None;
                out.push(b);
            }
            b' ' | b'\t' | b'\n' | b'\r' => out.push(b),
            _ if mask_next && (b.is_ascii_alphanumeric() || b == b'-') => {
                // A number, boolean or null value of a secret field.
                while i < body.len()
                    && (body[i].is_ascii_alphanumeric() || b".-+".contains(&body[i]))
                {
                    i += 1;
                }
                out.extend_from_slice(b"\"[redacted]\"");
                mask_next = false;
                continue;
            }
            _ => {
                mask_next = false;
                last_string = None;
                out.push(b);
            }
        }
        i += 1;
    }
    out
}

/// The index just past the string starting at `body[start] == b'"'` (or the end of the body).
fn string_end(body: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < body.len() {
        match body[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    body.len()
}

/// Why `body` does not decode as `T`: the field path, the position and serde's message (with
/// quoted values left out when the field looks secret, since serde quotes what it rejects).
pub(crate) fn decode_detail<T: DeserializeOwned>(body: &[u8]) -> String {
    if body.is_empty() {
        return "the body is empty".to_owned();
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Ok(_) => match deserializer.end() {
            Ok(()) => "it decodes, but not as a success".to_owned(),
            Err(e) => format!(
                "trailing characters at line {} column {}",
                e.line(),
                e.column()
            ),
        },
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.inner();
            let leaf = e
                .path()
                .iter()
                .next_back()
                .map(|segment| segment.to_string())
                .unwrap_or_default();
            let message = if is_secret_field(&leaf) {
                unquote(&inner.to_string())
            } else {
                inner.to_string()
            };
            let what = match inner.classify() {
                serde_json::error::Category::Syntax => "malformed JSON",
                serde_json::error::Category::Eof => "JSON cut short",
                serde_json::error::Category::Data => "JSON of another shape",
                serde_json::error::Category::Io => "unreadable",
            };
            if path == "." {
                format!("{what}: {message}")
            } else {
                format!("{what} at `{path}`: {message}")
            }
        }
    }
}

/// `message` with every `"quoted"` part replaced by `"…"`.
fn unquote(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut inside = false;
    for c in message.chars() {
        if c == '"' {
            if inside {
                out.push_str("…\"");
            } else {
                out.push('"');
            }
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_are_masked_in_excerpts() {
        let body = br#"{"data":[{"user_id":"u1","token":{"identifier":"i","key":"k-9f8e7d6c5b4a"}},{"password": 123456,"api_secret":true,"name":"Ann"}]}"#;
        let text = excerpt(body);
        assert!(!text.contains("k-9f8e7d6c5b4a"), "{text}");
        assert!(!text.contains("123456"), "{text}");
        assert!(text.contains(r#""key":"[redacted]""#), "{text}");
        assert!(text.contains(r#""password": "[redacted]""#), "{text}");
        assert!(text.contains(r#""api_secret":"[redacted]""#), "{text}");
        assert!(text.contains(r#""name":"Ann""#), "{text}");
        // An object value under a secret-looking name is walked into, not dropped.
        assert!(text.contains(r#""identifier":"i""#), "{text}");
    }

    #[test]
    fn scrub_replaces_every_occurrence_and_borrows_when_there_is_none() {
        let body = b"a SECRET b SECRETSECRET c";
        assert_eq!(
            &*scrub(body, &["SECRET", ""]),
            b"a [redacted] b [redacted][redacted] c"
        );
        assert!(matches!(
            scrub(b"nothing here", &["SECRET"]),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(scrub_text("x SECRET".into(), &["SECRET"]), "x [redacted]");
    }

    #[test]
    fn excerpts_are_short_and_printable() {
        let html = format!("<html>\n<body>{}</body></html>", "x".repeat(10_000));
        let text = excerpt(html.as_bytes());
        assert!(text.len() <= EXCERPT_BYTES + 8, "{}", text.len());
        assert!(text.starts_with("<html>\\n<body>xxx"), "{text}");
        assert!(text.ends_with('…'));
        assert_eq!(excerpt(b""), "(empty)");
        assert_eq!(excerpt(b"\"key\":\"cut-off-sec"), "\"key\":\"[redacted]\"");
    }

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Typed {
        data: Inner,
    }

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
        key: u32,
    }

    #[test]
    fn decode_details_name_the_field_and_position() {
        let detail = decode_detail::<Typed>(br#"{"data":{"count":"many","key":1}}"#);
        assert!(
            detail.starts_with("JSON of another shape at `data.count`"),
            "{detail}"
        );
        assert!(detail.contains("many"), "{detail}");
        let secret = decode_detail::<Typed>(br#"{"data":{"count":1,"key":"s3cr3t"}}"#);
        assert!(!secret.contains("s3cr3t"), "{secret}");
        assert!(secret.contains("at `data.key`"), "{secret}");
        assert_eq!(decode_detail::<Typed>(b""), "the body is empty");
        let html = decode_detail::<Typed>(b"<html>");
        assert!(
            html.starts_with("malformed JSON: expected value at line 1 column 1"),
            "{html}"
        );
        let cut = decode_detail::<Typed>(br#"{"data":{"count":1"#);
        assert!(cut.starts_with("JSON cut short"), "{cut}");
    }
}

//! A request as a person reads it before it is sent: the method, the filled path, the query,
//! the body and, for a message, the text as its reader will see it, with every character a
//! reader cannot see escaped. What a confirmation preview ([`preview`](crate::preview)) and the
//! answer to a call held for approval ([`Held`](crate::Held)) show. A leaf but for the tool
//! table.

use std::borrow::Cow;
use std::fmt::Write as _;

use crisp_api::Operation;
use serde_json::{Map, Value, json};
use unicode_general_category::{GeneralCategory, get_general_category};

/// A request as a person reads it before it is sent: the method, the filled path, the query
/// and the body; shown by a confirmation preview and by the answer to a call held for approval
/// ([`Held`](crate::Held)).
pub(crate) struct Wire<'a> {
    pub operation: &'static Operation,
    /// The path, filled and percent-encoded exactly as the client sends it.
    pub path: &'a str,
    pub query: Vec<(&'a str, &'a str)>,
    pub body: Option<&'a Value>,
}

impl Wire<'_> {
    /// The query string as the client encodes it (`a=1&b=x+y`), or `""`.
    fn query_string(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.query.iter().copied())
            .finish()
    }

    /// `{method, path, query, body}`, as the structured preview shows it.
    pub fn shown(&self) -> Value {
        let query: Map<String, Value> = self
            .query
            .iter()
            .map(|(name, value)| ((*name).to_owned(), Value::String((*value).to_owned())))
            .collect();
        json!({
            "method": self.operation.method.as_str(),
            "path": self.path,
            "query": query,
            "body": self.body,
        })
    }

    /// The request as text: `POST /path?query`, the body pretty-printed, for a message the
    /// text as its reader will see it, and the webhook event it fires. Characters a reader
    /// cannot see are escaped ([`visible`]).
    pub fn text(&self) -> String {
        let mut text = format!("{} {}", self.operation.method, visible(self.path, false));
        if !self.query.is_empty() {
            let _ = write!(text, "?{}", visible(&self.query_string(), false));
        }
        if let Some(body) = self.body {
            let pretty = serde_json::to_string_pretty(body).unwrap_or_default();
            let _ = write!(text, "\n{}", visible(&pretty, true));
        }
        if let Some(read) = self.as_read() {
            text.push_str("\n\n");
            text.push_str(&read);
        }
        if let Some(event) = self.operation.webhook {
            let _ = write!(text, "\n\nIt fires the `{event}` webhook event.");
        }
        text
    }

    /// For a message whose content is text: who reads it and the text as they will see it
    /// (each line indented), or `None`.
    fn as_read(&self) -> Option<String> {
        let facts = crate::tools::tool(self.operation.id)?;
        if !facts.message_body {
            return None;
        }
        let body = self.body?;
        let content = body.get("content")?.as_str()?;
        let kind = body.get("type").and_then(Value::as_str).unwrap_or("text");
        let who = if kind == "note" {
            "The operators (not the customer) will read this private note:"
        } else {
            "The customer will see:"
        };
        let mut out = who.to_owned();
        for line in visible(content, true).lines() {
            let _ = write!(out, "\n    {line}");
        }
        Some(out)
    }
}

/// `text` with every character a reader cannot see or that reorders what they see escaped as
/// `\u{...}`: controls (but the new lines of `text`'s own layout when `keep_newlines`),
/// format characters (bidirectional overrides and isolates, zero-width spaces and joiners, tag
/// characters), line and paragraph separators, and unassigned code points.
fn visible(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let hidden = |c: char| {
        !(keep_newlines && c == '\n')
            && matches!(
                get_general_category(c),
                GeneralCategory::Control
                    | GeneralCategory::Format
                    | GeneralCategory::LineSeparator
                    | GeneralCategory::ParagraphSeparator
                    | GeneralCategory::Unassigned
            )
    };
    if !text.chars().any(hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if hidden(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_and_reordering_characters_are_escaped() {
        assert!(matches!(visible("plain café 👍\n", true), Cow::Borrowed(_)));
        assert_eq!(visible("a\u{202e}b", true), "a\\u{202e}b");
        assert_eq!(
            visible(
                "\u{200b}\u{2066}\u{feff}\u{e0041}\u{2028}\u{85}\u{7f}",
                true
            ),
            "\\u{200b}\\u{2066}\\u{feff}\\u{e0041}\\u{2028}\\u{85}\\u{7f}"
        );
        assert_eq!(visible("a\nb\tc", true), "a\nb\\u{9}c");
        assert_eq!(visible("a\nb", false), "a\\u{a}b");
    }
}

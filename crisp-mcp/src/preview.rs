//! The request a call makes, from its validated arguments; its digest (what a confirmation
//! token is bound to); and the preview a call that waits for confirmation answers with.
//!
//! The preview shows what would go on the wire: the path as crisp-api fills it (each id
//! checked and percent-encoded by [`Operation::fill_path`]), the query as the client encodes
//! it, and the body. Control, format (bidirectional overrides, zero-width characters) and
//! separator characters are escaped in the text (`\u{202e}`), so what a person reads is what
//! is sent; the structured content keeps the exact values.

use std::fmt::Write as _;
use std::time::Duration;

use crisp_api::{Effect, Operation, PathError};
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Map, Value, json};

use crate::dispatch::Outgoing;
use crate::hash::{self, Digest};
use crate::table::Location;
use crate::tools::{BODY, CONFIRMATION_TOKEN, Compiled, WEBSITE_ID};
use crate::wire::Wire;

/// A call's request before its ids are checked: each path and query parameter as text, in
/// the spec's order, defaults filled in, and the body.
pub(crate) struct Draft {
    /// The path parameters, `(name, value)`.
    pub ids: Vec<(&'static str, String)>,
    query: Vec<(&'static str, String)>,
    body: Option<Value>,
}

impl Draft {
    /// The request `arguments` (validated, the token taken out) make for `tool`, with
    /// `website` where no `website_id` is given.
    pub fn new(tool: &Compiled, arguments: &Map<String, Value>, website: &str) -> Self {
        let mut ids = Vec::new();
        let mut query = Vec::new();
        for param in tool.facts.params {
            let value = match arguments.get(param.name) {
                Some(value) => Some(text(value)),
                None if param.location == Location::Path && param.name == WEBSITE_ID => {
                    Some(website.to_owned())
                }
                None => tool
                    .defaults
                    .iter()
                    .find(|(name, _)| *name == param.name)
                    .map(|(_, value)| text(value)),
            };
            let Some(value) = value else { continue };
            match param.location {
                Location::Path => ids.push((param.name, value)),
                Location::Query => query.push((param.name, value)),
            }
        }
        Self {
            ids,
            query,
            body: arguments.get(BODY).cloned(),
        }
    }

    /// The request, with its path filled as the client fills it.
    ///
    /// # Errors
    ///
    /// [`PathError`] names the id the client would refuse (empty, `..`, a control
    /// character...).
    pub fn fill(self, operation: &'static Operation) -> Result<Request, PathError> {
        let path = operation.fill_path(self.ids.iter().map(|(n, v)| (*n, v.as_str())))?;
        // Each path parameter is there once (fill_path checked it): put them in path order.
        let mut ids = self.ids;
        ids.sort_by_key(|(name, _)| operation.path_params().position(|p| p == *name));
        Ok(Request {
            operation,
            ids,
            path,
            query: self.query,
            body: self.body,
        })
    }
}

/// The request a call makes, its ids checked.
pub(crate) struct Request {
    pub operation: &'static Operation,
    /// The path parameters, `(name, value)`, in path order.
    pub ids: Vec<(&'static str, String)>,
    /// The path, filled and percent-encoded exactly as the client sends it.
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Value>,
}

impl Request {
    /// The request as a [`Dispatch`](crate::Dispatch) sends it.
    pub fn outgoing(&self) -> Outgoing<'_> {
        Outgoing {
            operation: self.operation,
            ids: &self.ids,
            query: &self.query,
            body: self.body.as_ref(),
            confirmed: false,
        }
    }

    /// SHA-256 of the tool and the exact request, in a canonical form (object keys sorted).
    pub fn digest(&self) -> Digest {
        let mut text = String::new();
        canonical(
            &json!({
                "tool": self.operation.id,
                "method": self.operation.method.as_str(),
                "path": self.path,
                "query": self.query,
                "body": self.body,
            }),
            &mut text,
        );
        hash::sha256(text.as_bytes())
    }

    /// What would go on the wire, for a preview.
    pub fn wire(&self) -> Wire<'_> {
        Wire {
            operation: self.operation,
            path: &self.path,
            query: self.query.iter().map(|(n, v)| (*n, v.as_str())).collect(),
            body: self.body.as_ref(),
        }
    }
}

/// An argument as the text a path or query parameter carries. Integers are checked to be
/// integers before this (no `1.0`, no `1e+30`).
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// JSON with object keys sorted at every level, whatever order the map keeps.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The answer to a call that waits for confirmation: exactly what would be sent, and the token.
pub(crate) fn preview(
    request: &Request,
    effect: Effect,
    token: &str,
    ttl: Duration,
) -> CallToolResult {
    let operation = request.operation;
    let name = operation.id;
    let what = match effect {
        Effect::CustomerVisible => {
            "it would send this request, and what it carries reaches a real person"
        }
        Effect::Irreversible => "it would send this request, which deletes what it names for good",
    };
    let mut text = format!(
        "NOT DONE: `{name}` is {effect} and waits for confirmation. Nothing was sent to Crisp.\n\
         If confirmed, {what}:\n\n{}",
        request.wire().text()
    );
    let _ = write!(
        text,
        "\n\nTo do it, call `{name}` again with exactly the same arguments plus \
         \"{CONFIRMATION_TOKEN}\": \"{token}\" within {} seconds. The token works once.",
        ttl.as_secs()
    );
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(json!({
        "confirmation_required": true,
        "tool": name,
        "effect": effect.as_str(),
        "request": request.wire().shown(),
        "webhook": operation.webhook,
        (CONFIRMATION_TOKEN): token,
        "expires_in_seconds": ttl.as_secs(),
    }));
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let a: Value =
            serde_json::from_str(r#"{"b":1,"a":{"y":[{"d":1,"c":2}],"x":"é"}}"#).unwrap();
        let mut text = String::new();
        canonical(&a, &mut text);
        assert_eq!(text, r#"{"a":{"x":"é","y":[{"c":2,"d":1}]},"b":1}"#);
    }
}

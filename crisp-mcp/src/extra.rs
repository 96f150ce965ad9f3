//! Tools of an embedder's own, beside the generated ones: a gateway's `approval_status`, say.
//! Given to [`Settings::tool`](crate::Settings::tool); listed after the operations' tools;
//! their arguments checked against their input schema by the server (a call that does not fit
//! is refused `invalid_arguments`, without reaching the tool); their output schema listed with
//! the tool error's shape beside it; each call one audit line, as every call.
//!
//! ```
//! use crisp_mcp::{Caller, ExtraTool, Refusal, ToolReply, ToolSpec};
//! use futures::future::BoxFuture;
//! use serde_json::{Map, Value, json};
//!
//! /// Tells the time of the server, in Unix seconds.
//! struct Clock;
//!
//! impl ExtraTool for Clock {
//!     fn spec(&self) -> ToolSpec {
//!         ToolSpec::new("server_time", "The server's clock, in Unix seconds.")
//!             .input_schema(json!({"type": "object", "properties": {}, "additionalProperties": false}))
//!             .output_schema(json!({"type": "object", "required": ["now"], "properties": {"now": {"type": "integer"}}}))
//!     }
//!
//!     fn call<'a>(&'a self, _arguments: Map<String, Value>, _caller: &'a Caller) -> BoxFuture<'a, Result<ToolReply, Refusal>> {
//!         Box::pin(async move {
//!             let now = std::time::SystemTime::now()
//!                 .duration_since(std::time::UNIX_EPOCH)
//!                 .map_err(|_| Refusal::new("clock", "The server's clock is before 1970."))?
//!                 .as_secs();
//!             Ok(ToolReply::new(format!("It is {now}."), json!({"now": now})))
//!         })
//!     }
//! }
//! ```

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use jsonschema::Validator;
use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool, ToolAnnotations};
use serde_json::{Map, Value, json};

use crate::answer::Refusal;
use crate::caller::Caller;

/// How an [`ExtraTool`] is listed.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ToolSpec {
    /// Its name: `[a-z0-9_]`, not the name of a generated tool.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// A human-readable title (by default, the name as words).
    pub title: Option<String>,
    /// The input JSON Schema (2020-12), an object schema. By default: no arguments.
    pub input_schema: Value,
    /// The output JSON Schema of its structured content on success (the server lists it with
    /// the tool error's shape beside it). By default: any object.
    pub output_schema: Value,
    /// Whether it only reads (the MCP annotations `readOnlyHint` and `idempotentHint`). By
    /// default `true`.
    pub read_only: bool,
}

impl ToolSpec {
    /// A read-only tool `name` that does what `description` says, takes no arguments and
    /// answers an object.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            title: None,
            input_schema: json!({"type": "object", "properties": {}, "additionalProperties": false}),
            output_schema: json!({"type": "object"}),
            read_only: true,
        }
    }

    /// The same tool, with this title.
    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// The same tool, with this input schema.
    #[must_use]
    pub fn input_schema(mut self, schema: Value) -> Self {
        self.input_schema = schema;
        self
    }

    /// The same tool, with this output schema.
    #[must_use]
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.output_schema = schema;
        self
    }

    /// The same tool, which changes something (`false`) or only reads (`true`).
    #[must_use]
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }
}

/// What an [`ExtraTool`]'s call answers on success: text for the model and structured content
/// (which fits the tool's output schema).
#[derive(Clone, Debug, PartialEq)]
pub struct ToolReply {
    text: String,
    structured: Value,
}

impl ToolReply {
    /// A reply of `text` and `structured` content.
    pub fn new(text: impl Into<String>, structured: Value) -> Self {
        Self {
            text: text.into(),
            structured,
        }
    }
}

/// A tool of the embedder's own. Object-safe: the server holds an `Arc<dyn ExtraTool>`.
pub trait ExtraTool: Send + Sync + 'static {
    /// How it is listed; read once, when the server is built.
    fn spec(&self) -> ToolSpec;

    /// Runs one call, with `arguments` that fit the input schema, for `caller`. A refusal is
    /// the tool error the agent reads. The audit line of a call that reaches the tool is marked
    /// [`dispatched`](crate::AuditLine::dispatched), as a dispatched call's: the tool is
    /// expected to keep its own record, as a dispatch does.
    fn call<'a>(
        &'a self,
        arguments: Map<String, Value>,
        caller: &'a Caller,
    ) -> BoxFuture<'a, Result<ToolReply, Refusal>>;
}

/// An extra tool as a server runs it: listed, its arguments' validator, the tool.
pub(crate) struct Extra {
    pub tool: Tool,
    pub validator: Validator,
    pub run: Arc<dyn ExtraTool>,
}

impl Extra {
    /// Checks `run`'s spec and compiles its schemas. `taken` says whether a name is taken (by a
    /// generated tool or another extra).
    ///
    /// # Errors
    ///
    /// A name that is empty, not `[a-z0-9_]`, or taken; a schema that is not an object or does
    /// not compile.
    pub fn compile(run: Arc<dyn ExtraTool>, taken: impl Fn(&str) -> bool) -> Result<Self, String> {
        let spec = run.spec();
        let name = spec.name.as_str();
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'))
        {
            return Err(format!(
                "an extra tool is named {name:?}: name it with 1 to 64 of a-z, 0-9 and _"
            ));
        }
        if taken(name) {
            return Err(format!(
                "an extra tool is named `{name}`, as a tool of the server already is: give it \
                 another name"
            ));
        }
        let validator = crate::tools::validator(&spec.input_schema)
            .map_err(|e| format!("extra tool `{name}`: its input schema does not compile: {e}"))?;
        let Value::Object(input) = spec.input_schema else {
            return Err(format!(
                "extra tool `{name}`: its input schema is not an object"
            ));
        };
        let mut output = JsonObject::new();
        output.insert("type".into(), json!("object"));
        output.insert(
            "anyOf".into(),
            json!([spec.output_schema, crate::output::error()]),
        );
        let title = spec.title.unwrap_or_else(|| {
            let words = spec.name.replace('_', " ");
            let mut chars = words.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        });
        let annotations = ToolAnnotations::with_title(&title)
            .read_only(spec.read_only)
            .destructive(false)
            .idempotent(spec.read_only)
            .open_world(false);
        let tool = Tool::new(spec.name.clone(), spec.description, Arc::new(input))
            .with_title(title)
            .with_annotations(annotations)
            .with_raw_output_schema(Arc::new(output));
        Ok(Self {
            tool,
            validator,
            run,
        })
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.tool.name
    }
}

impl ToolReply {
    /// The tool result: the text, and the structured content.
    pub(crate) fn into_result(self) -> CallToolResult {
        let mut result = CallToolResult::success(vec![ContentBlock::text(self.text)]);
        result.structured_content = Some(self.structured);
        result
    }
}

/// The extra tools a [`Settings`](crate::Settings) carries; `Debug` lists their names.
#[derive(Clone, Default)]
pub(crate) struct Extras(pub Vec<Arc<dyn ExtraTool>>);

impl fmt::Debug for Extras {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|tool| tool.spec().name))
            .finish()
    }
}

//! The tool table's types: one MCP tool per operation of the spec, written by
//! `cargo xtask codegen` into `generated/tools.rs` ([`TOOLS`](crate::TOOLS)). A leaf: the
//! generated table imports it, never the reverse.
//!
//! ```
//! use crisp_mcp::{TOOLS, tool};
//!
//! let tool = tool("send_message").expect("a tool per operation");
//! assert!(tool.hints().open_world && !tool.hints().read_only);
//! assert_eq!(tool.operation.scope, "website:conversation:messages");
//! assert_eq!(TOOLS.len(), crisp_api::Operation::ALL.len());
//! ```

use crisp_api::{Access, Operation};

/// What the spec says about one tool beyond its operation's entry in crisp-api's table:
/// everything but the server's own settings (the default website, whether confirmation is on).
#[derive(Debug)]
#[non_exhaustive]
pub struct ToolFacts {
    /// The operation the tool calls, from crisp-api's table (generated from the same spec).
    pub operation: &'static Operation,
    /// What it does, then its scope and access level, the webhook event it fires, its effect
    /// and how it pages.
    pub description: &'static str,
    /// The path and query parameters, in the spec's order: where each argument goes.
    pub params: &'static [Param],
    /// Whether the operation takes a JSON body (the `body` argument).
    pub body: bool,
    /// Whether the body is a message: a `type` and a `content` whose shape depends on it
    /// (`send_message`). The server checks the content against the type, with crisp-api's
    /// [`Content::decode`](crisp_api::types::Content::decode), before a preview or a send.
    pub message_body: bool,
    /// The input JSON Schema (2020-12), as JSON text: the parameters, `body` and, for
    /// customer-visible and irreversible operations, `confirmation_token`.
    pub input_schema: &'static str,
    /// The output JSON Schema (2020-12), as JSON text: the operation's success envelope
    /// `{error, reason, data}` as the spec describes it, opened for what Crisp sends (enums
    /// are open, with their known values in the description, and no value bound is checked).
    /// The server lists it with the shapes of its own answers beside it (a preview, a tool
    /// error).
    pub output_schema: &'static str,
}

impl ToolFacts {
    /// The tool's name: the operation's `operationId` (`list_conversations`).
    pub fn name(&self) -> &'static str {
        self.operation.id
    }

    /// A human-readable title: the name as words (`List conversations`).
    ///
    /// ```
    /// let tool = crisp_mcp::tool("list_conversations").unwrap();
    /// assert_eq!(tool.title(), "List conversations");
    /// ```
    pub fn title(&self) -> String {
        let words = self.name().replace('_', " ");
        let mut chars = words.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => String::new(),
        }
    }

    /// The MCP annotations, from the operation's access, effect and method.
    ///
    /// ```
    /// let tool = crisp_mcp::tool("remove_conversation").unwrap();
    /// assert!(tool.hints().destructive && tool.hints().idempotent);
    /// ```
    pub fn hints(&self) -> Hints {
        let op = self.operation;
        Hints {
            read_only: op.access == Access::Read,
            destructive: op.is_irreversible(),
            idempotent: op.method.is_idempotent(),
            open_world: op.is_customer_visible(),
        }
    }
}

/// MCP tool annotations: hints for clients, which may ignore them (the server enforces what
/// matters: grants and confirmation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Hints {
    /// `readOnlyHint`: the operation only reads (`x-crisp-access: read`).
    pub read_only: bool,
    /// `destructiveHint`: it deletes data for good (`x-crisp-effect: irreversible`).
    pub destructive: bool,
    /// `idempotentHint`: repeating it has no further effect (`GET`, `PUT`, `DELETE`).
    pub idempotent: bool,
    /// `openWorldHint`: it reaches people outside the workspace
    /// (`x-crisp-effect: customer-visible`).
    pub open_world: bool,
}

/// A path or query parameter of a tool's operation.
#[derive(Debug)]
#[non_exhaustive]
pub struct Param {
    /// The parameter's name, which is also the argument's.
    pub name: &'static str,
    /// Where it goes in the request.
    pub location: Location,
}

/// Where a parameter goes in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A segment of the path (`{session_id}`).
    Path,
    /// The query string.
    Query,
}

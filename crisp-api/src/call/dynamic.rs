//! Calling an operation of the table by its id with untyped JSON: for tool servers and
//! gateways that receive arguments as JSON (the MCP server does). It goes through the same
//! pipeline as the typed builders: ids checked, grants, confirmation, budget, retries, audit.

use std::borrow::Cow;

use serde_json::Value;

use super::audit::AuditRecord;
use super::{CallOptions, Pipeline, Request};
use crate::error::Error;
use crate::operation::Operation;
use crate::path::{self, PathError};

/// One call of an operation chosen at run time, with its arguments as text and JSON.
///
/// Made by [`Client::call`](crate::Client::call); the result is Crisp's whole envelope, `{error, reason, data}`, as
/// JSON.
///
/// ```no_run
/// use crisp_api::{Client, Credentials, Operation};
///
/// # async fn run(client: Client) -> Result<(), crisp_api::Error> {
/// let envelope = client
///     .call(&Operation::LIST_CONVERSATIONS)
///     .path("website_id", "8c842203-7ed8-4e29-a608-7cf78a7d2fcc")
///     .path("page_number", "1")
///     .query("filter_not_resolved", "1")
///     .send()
///     .await?;
/// println!("{}", envelope["data"]);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
#[must_use = "call .send() to make the request"]
pub struct DynamicCall<'a> {
    pipeline: &'a Pipeline,
    operation: &'static Operation,
    /// As given: checked, ordered and named by the template when sent.
    path: Vec<(String, String)>,
    query: Vec<(Cow<'static, str>, String)>,
    body: Option<Value>,
    options: CallOptions,
}

impl<'a> DynamicCall<'a> {
    /// A call of `operation` on `pipeline`, with no arguments yet: made by
    /// [`Client::call`](crate::Client::call).
    pub(crate) fn new(pipeline: &'a Pipeline, operation: &'static Operation) -> Self {
        Self {
            pipeline,
            operation,
            path: Vec::new(),
            query: Vec::new(),
            body: None,
            options: CallOptions::default(),
        }
    }
}

impl DynamicCall<'_> {
    /// Sets the path parameter `name` (such as `session_id`) to `value`.
    ///
    /// ```
    /// # use crisp_api::{Client, Credentials, Operation};
    /// # let client = Client::builder(Credentials::plugin("i", "k")).build().unwrap();
    /// let call = client.call(&Operation::GET_CONVERSATION).path("session_id", "session_1");
    /// ```
    pub fn path(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.path.push((name.into(), value.into()));
        self
    }

    /// Adds the query parameter `name` with `value`, as text.
    ///
    /// ```
    /// # use crisp_api::{Client, Credentials, Operation};
    /// # let client = Client::builder(Credentials::plugin("i", "k")).build().unwrap();
    /// let call = client.call(&Operation::LIST_CONVERSATIONS).query("per_page", "50");
    /// ```
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((Cow::Owned(name.into()), value.into()));
        self
    }

    /// Sets the JSON request body.
    ///
    /// ```
    /// # use crisp_api::{Client, Credentials, Operation};
    /// # let client = Client::builder(Credentials::plugin("i", "k")).build().unwrap();
    /// let call = client
    ///     .call(&Operation::CHANGE_CONVERSATION_STATE)
    ///     .body(serde_json::json!({"state": "resolved"}));
    /// ```
    pub fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Lets the retry policy repeat this call even if it is a write that may have reached
    /// Crisp (`true`), or never (`false`), whatever the client's policy says. A repeated
    /// message reaches the customer twice.
    ///
    /// ```
    /// # use crisp_api::{Client, Credentials, Operation};
    /// # let client = Client::builder(Credentials::plugin("i", "k")).build().unwrap();
    /// let call = client.call(&Operation::UPDATE_CONVERSATION_META).retry_writes(true);
    /// ```
    pub fn retry_writes(mut self, yes: bool) -> Self {
        self.options.retry_writes = Some(yes);
        self
    }

    /// Sends it; the result is Crisp's envelope as JSON.
    ///
    /// ```no_run
    /// # use crisp_api::{Client, Operation};
    /// # async fn run(client: Client) -> Result<(), crisp_api::Error> {
    /// let envelope = client
    ///     .call(&Operation::COUNT_VISITORS)
    ///     .path("website_id", "8c842203-7ed8-4e29-a608-7cf78a7d2fcc")
    ///     .send()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send(self) -> Result<Value, Error> {
        self.send_audited().await.0
    }

    /// Sends it, and also returns the call's [`AuditRecord`] (which still goes to the
    /// `tracing` target and the client's `on_audit` callback), for a caller that keeps its
    /// own log per request.
    ///
    /// ```no_run
    /// # use crisp_api::{Client, Operation};
    /// # async fn run(client: Client) {
    /// let (result, record) = client
    ///     .call(&Operation::COUNT_VISITORS)
    ///     .path("website_id", "8c842203-7ed8-4e29-a608-7cf78a7d2fcc")
    ///     .send_audited()
    ///     .await;
    /// println!("{record}");
    /// # }
    /// ```
    pub async fn send_audited(self) -> (Result<Value, Error>, AuditRecord) {
        let Self {
            pipeline,
            operation,
            path,
            query,
            body,
            options,
        } = self;
        let request = path::order(operation.path, path)
            .map_err(|problem| Error::InvalidRequest {
                operation,
                parameter: problem.parameter(),
                problem: match &problem {
                    PathError::Unsafe { parameter, problem } => {
                        format!("`{parameter}` is not a usable id: {problem}")
                    }
                    other => other.to_string(),
                },
            })
            .map(|ids| Request {
                operation,
                ids,
                query,
                body: body.map(|body| body.to_string().into()),
                options,
            });
        pipeline.run::<Value>(operation, request).await
    }
}

//! The types of the generated route facts (`generated/routes.rs` fills them in), and of their
//! join with crisp-api's operations table (method, path, scope, access, webhook event, paging),
//! which `table.rs` makes.

use crisp_api::Operation;

/// What the spec says about one operation, beyond crisp-api's [`Operation`].
#[derive(Debug)]
pub(crate) struct RouteFacts {
    /// The `operationId`, the key into [`Operation::ALL`].
    pub id: &'static str,
    /// Path and query parameters.
    pub params: &'static [Param],
    /// The JSON request body, if the operation takes one.
    pub body: Option<Body>,
    /// The status of a success.
    pub status: u16,
    /// The spec's example of the success response (the whole envelope), as JSON.
    pub example: &'static str,
}

/// A path or query parameter.
#[derive(Debug)]
pub(crate) struct Param {
    pub name: &'static str,
    pub location: Location,
    pub required: bool,
    /// The JSON type a raw string is read as before it is validated.
    pub ty: ParamType,
    /// The parameter's JSON Schema; `$ref`s point into `SCHEMAS`.
    pub schema: &'static str,
}

/// Where a parameter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Location {
    Path,
    Query,
}

/// The JSON type of a parameter. The spec has only strings and integers today.
#[allow(dead_code)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamType {
    String,
    Integer,
    Number,
    Boolean,
}

/// A JSON request body.
#[derive(Debug)]
pub(crate) struct Body {
    pub required: bool,
    /// The body's JSON Schema; `$ref`s point into `SCHEMAS`.
    pub schema: &'static str,
}

/// One operation the sandbox serves: crisp-api's table entry and the sandbox's facts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Route {
    pub op: &'static Operation,
    pub facts: &'static RouteFacts,
}

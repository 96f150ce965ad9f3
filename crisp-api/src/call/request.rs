//! The one shape a call has from its builder to the wire: the typed builders
//! ([`Preparing`](super::param::Preparing)) and [`DynamicCall`](super::dynamic::DynamicCall)
//! both make a [`Request`], the pipeline guards and retries it, and each exchange sends it as it
//! is.

use std::borrow::Cow;

use bytes::Bytes;

use crate::operation::Operation;

/// A call's per-call options, set on its builder.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CallOptions {
    /// Overrides the policy's `retry_writes` for this call.
    pub(crate) retry_writes: Option<bool>,
}

/// One call, ready to send. (No `Debug`: its query and body stay out of every log.)
pub(crate) struct Request {
    /// What is called: its method, path template, scope, access and effect.
    pub(crate) operation: &'static Operation,
    /// `(name, value)` of every path parameter, in path order, each value checked as an id
    /// and not yet percent-encoded. The names are the template's own.
    pub(crate) ids: Vec<(&'static str, String)>,
    /// The query parameters as text, in the order they were set. A typed builder's names are
    /// the spec's (borrowed); a dynamic call's are its caller's.
    pub(crate) query: Vec<(Cow<'static, str>, String)>,
    /// The JSON body, serialised once (each attempt shares it).
    pub(crate) body: Option<Bytes>,
    pub(crate) options: CallOptions,
}

impl Request {
    /// A call of `operation` with no parameters yet, room for `ids` path ids, and no options.
    pub(crate) fn new(operation: &'static Operation, ids: usize) -> Self {
        Self {
            operation,
            ids: Vec::with_capacity(ids),
            query: Vec::new(),
            body: None,
            options: CallOptions::default(),
        }
    }
}

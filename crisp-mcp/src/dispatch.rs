//! The send step of a tool call, pluggable. Everything before it (find the tool, check the
//! arguments, bind the website, prepare, confirm) and after it (the answer, the audit line)
//! is the server's; what sends the prepared request is a [`Dispatch`]: by default a
//! [`crisp_api::Client`] (its grants, budget, retries and audit record apply), or anything
//! that decides first and sends through its own path, such as a gateway that checks an
//! agent's websites, rate and budget and writes its own audit store.
//!
//! ```
//! use crisp_mcp::{Caller, Dispatch, Dispatched, Outgoing, Refusal};
//! use futures::future::BoxFuture;
//!
//! /// Refuses every call on a website other than its own, and sends the rest through a client.
//! struct OneWebsite {
//!     website_id: String,
//!     client: crisp_api::Client,
//! }
//!
//! impl Dispatch for OneWebsite {
//!     fn check(&self, request: &Outgoing<'_>, _caller: &Caller) -> Result<(), Refusal> {
//!         match request.id("website_id") {
//!             Some(website) if website != self.website_id => Err(Refusal::new(
//!                 "website",
//!                 "Refused: this agent works on one website only. Nothing was sent to Crisp.",
//!             )
//!             .with_status(403, "not_allowed")),
//!             _ => Ok(()),
//!         }
//!     }
//!
//!     fn dispatch<'a>(&'a self, request: Outgoing<'a>, caller: &'a Caller) -> BoxFuture<'a, Dispatched> {
//!         Box::pin(async move {
//!             if let Err(refusal) = self.check(&request, caller) {
//!                 return Dispatched::refused(refusal);
//!             }
//!             self.client.dispatch(request, caller).await
//!         })
//!     }
//! }
//! ```

use std::sync::Arc;

use crisp_api::{AuditRecord, Client, Error, Operation};
use futures::future::BoxFuture;
use serde_json::Value;

use crate::answer::Refusal;
use crate::caller::Caller;
use crate::held::Held;

/// A tool call's request, checked, bound to its website and confirmed: what a [`Dispatch`]
/// sends.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Outgoing<'a> {
    /// The operation.
    pub operation: &'static Operation,
    /// The path ids, `(name, value)`, in path order (`website_id` first), each checked as
    /// [`Operation::fill_path`] checks it.
    pub ids: &'a [(&'static str, String)],
    /// The query parameters, `(name, value)`, in the spec's order, as text.
    pub query: &'a [(&'static str, String)],
    /// The JSON body, when the operation takes one and the call gave it.
    pub body: Option<&'a Value>,
    /// Whether the agent confirmed this call with a one-time token (a customer-visible or
    /// irreversible tool, confirmation on). Always `false` in [`Dispatch::check`], which runs
    /// before the confirmation step.
    pub confirmed: bool,
}

impl Outgoing<'_> {
    /// The path id `name`, if the operation's path has it.
    pub fn id(&self, name: &str) -> Option<&str> {
        self.ids
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// How a dispatch ended: Crisp's answer with the client layer's record of the call, or a
/// refusal before anything was sent; and how many requests it sent to Crisp first, to decide.
#[derive(Debug)]
pub struct Dispatched {
    pub(crate) outcome: Outcome,
    pub(crate) lookups: u32,
}

#[derive(Debug)]
pub(crate) enum Outcome {
    Sent {
        result: Result<Value, Error>,
        record: AuditRecord,
    },
    Answered {
        status: u16,
        envelope: Value,
    },
    Refused(Refusal),
    Held(Held),
}

impl Dispatched {
    /// Sent: Crisp's envelope, or the client layer's error, and its [`AuditRecord`] (as
    /// [`DynamicCall::send_audited`](crisp_api::DynamicCall::send_audited) gives them).
    pub fn sent(result: Result<Value, Error>, record: AuditRecord) -> Self {
        Self {
            outcome: Outcome::Sent { result, record },
            lookups: 0,
        }
    }

    /// Sent through a path of the dispatch's own (a gateway's decision path and upstream),
    /// which answered as Crisp answers: the HTTP `status` and Crisp's envelope
    /// `{error, reason, data}`. A 2xx envelope without `error: true` is the tool's result, as a
    /// [`sent`](Self::sent) success is; anything else is a tool error of the shape of Crisp's
    /// errors (`kind: "api"`, the status, Crisp's `reason` and `data.message`). The audit line
    /// records the status and reason, and no attempts: the dispatch's own record counts them.
    pub fn answered(status: u16, envelope: Value) -> Self {
        Self {
            outcome: Outcome::Answered { status, envelope },
            lookups: 0,
        }
    }

    /// Refused before anything was sent: the agent reads `refusal` as a tool error, and the
    /// audit line records it.
    pub fn refused(refusal: Refusal) -> Self {
        Self {
            outcome: Outcome::Refused(refusal),
            lookups: 0,
        }
    }

    /// Not sent: held for a person's approval. The agent reads a tool result (not an error)
    /// saying nothing was sent yet, with the approval id and a preview of exactly the request
    /// `held` describes; the audit line's decision is `awaiting_approval`.
    pub fn held(held: Held) -> Self {
        Self {
            outcome: Outcome::Held(held),
            lookups: 0,
        }
    }

    /// The same outcome, after `n` requests sent to Crisp to decide on the call (such as
    /// reading the conversation to check its inbox): the audit line's `lookups`.
    #[must_use]
    pub fn with_lookups(mut self, n: u32) -> Self {
        self.lookups = n;
        self
    }
}

/// What sends a tool call's request: the last step of a call, after the server has checked,
/// bound and confirmed it. Object-safe: a server holds an `Arc<dyn Dispatch>`.
pub trait Dispatch: Send + Sync + 'static {
    /// Whether the server lists and offers the tool of `operation`, one its grants allow: a
    /// dispatch that would refuse every call of an operation whatever its arguments (a
    /// gateway's agent whose inbox rule no new conversation can meet) hides it. Asked for each
    /// tool when the server is built; a call of a hidden tool is refused (`not_offered`). By
    /// default, every tool the grants allow is offered.
    fn offers(&self, operation: &'static Operation) -> bool {
        let _ = operation;
        true
    }

    /// Whether calls of `operation` are held for a person's approval rather than sent (answered
    /// with [`Dispatched::held`]): such a tool asks for no confirmation token, even with
    /// confirmation on (nothing is sent when it is called: the approval is the one step), and
    /// lists the held answer in its output schema. Asked for each tool when the server is
    /// built. A dispatch may still hold a call of a tool it did not say so for (after its
    /// confirmation), or send one it did. By default, nothing is held.
    fn holds(&self, operation: &'static Operation) -> bool {
        let _ = operation;
        false
    }

    /// Before a preview is made (for a tool that waits for confirmation) or the call is sent:
    /// a refusal here answers at once, so an agent is not asked to confirm a call that would be
    /// refused. [`dispatch`](Self::dispatch) is still called after, and must decide again
    /// (what it depends on may have changed). By default, nothing is refused here.
    ///
    /// # Errors
    ///
    /// The refusal the agent reads.
    fn check(&self, request: &Outgoing<'_>, caller: &Caller) -> Result<(), Refusal> {
        let _ = (request, caller);
        Ok(())
    }

    /// Sends `request` for `caller`, or refuses it.
    fn dispatch<'a>(
        &'a self,
        request: Outgoing<'a>,
        caller: &'a Caller,
    ) -> BoxFuture<'a, Dispatched>;
}

/// The default: through crisp-api's call pipeline (its grants, budget, id checks, retries and
/// audit record).
impl Dispatch for Client {
    fn dispatch<'a>(
        &'a self,
        request: Outgoing<'a>,
        _caller: &'a Caller,
    ) -> BoxFuture<'a, Dispatched> {
        Box::pin(async move {
            let mut call = self.call(request.operation);
            for (name, value) in request.ids {
                call = call.path(*name, value.clone());
            }
            for (name, value) in request.query {
                call = call.query(*name, value.clone());
            }
            if let Some(body) = request.body {
                call = call.body(body.clone());
            }
            let (result, record) = call.send_audited().await;
            Dispatched::sent(result, record)
        })
    }
}

impl<D: Dispatch + ?Sized> Dispatch for Arc<D> {
    fn offers(&self, operation: &'static Operation) -> bool {
        (**self).offers(operation)
    }

    fn holds(&self, operation: &'static Operation) -> bool {
        (**self).holds(operation)
    }

    fn check(&self, request: &Outgoing<'_>, caller: &Caller) -> Result<(), Refusal> {
        (**self).check(request, caller)
    }

    fn dispatch<'a>(
        &'a self,
        request: Outgoing<'a>,
        caller: &'a Caller,
    ) -> BoxFuture<'a, Dispatched> {
        (**self).dispatch(request, caller)
    }
}

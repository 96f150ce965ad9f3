//! What every operation needs and does, from the spec's `x-crisp-*` extensions.
//!
//! The table itself, one constant per method plus [`Operation::ALL`], is generated from
//! `spec/crisp.yaml` into `generated/operations.rs`.
//!
//! ```
//! use crisp_api::{Access, Operation, Paging};
//!
//! let op = Operation::find("send_message").expect("a method of the spec");
//! assert_eq!(op.scope, "website:conversation:messages");
//! assert_eq!(op.access, Access::Write);
//! assert!(op.is_customer_visible());
//!
//! // List routes say how they page, so a caller can walk them.
//! let list = Operation::find("list_conversations").unwrap();
//! assert_eq!(
//!     list.paging,
//!     Some(Paging::PageNumber { page_size: 20, per_page: Some("per_page") })
//! );
//! assert_eq!(op.paging, None);
//!
//! // Every method of the client is in the table, under its own id.
//! assert!(Operation::ALL.iter().all(|op| Operation::find(op.id) == Some(op)));
//! let writes = Operation::ALL.iter().filter(|op| op.is_write()).count();
//! assert!(0 < writes && writes < Operation::ALL.len());
//! ```

use std::fmt;

use crate::path::{self, PathError, PathParams};

/// One method of the Crisp REST API, as the spec describes it.
///
/// ```
/// use crisp_api::{Access, Method, Operation};
///
/// let op = &Operation::REMOVE_CONVERSATION;
/// assert_eq!((op.method, op.path), (Method::Delete, "/website/{website_id}/conversation/{session_id}"));
/// assert_eq!((op.scope, op.access), ("website:conversation:sessions", Access::Write));
/// assert!(op.is_irreversible());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Operation {
    /// The spec's `operationId`, also the name of the client method (`list_conversations`).
    pub id: &'static str,
    /// The HTTP method.
    pub method: Method,
    /// The path template under the base URL (`/website/{website_id}/conversation`).
    pub path: &'static str,
    /// The area of the API (the spec's tag), such as `Conversations`.
    pub tag: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// The plugin scope a token needs, such as `website:conversation:sessions`.
    pub scope: &'static str,
    /// Whether the scope is needed at read or write level.
    pub access: Access,
    /// The webhook event it fires, such as `message:received`, if any.
    pub webhook: Option<&'static str>,
    /// What an agent must know before calling it, if anything.
    pub effect: Option<Effect>,
    /// How it pages, if it is a list route.
    pub paging: Option<Paging>,
}

impl Operation {
    /// The operation with this `operationId`.
    ///
    /// ```
    /// use crisp_api::Operation;
    ///
    /// assert_eq!(Operation::find("send_message"), Some(&Operation::SEND_MESSAGE));
    /// assert_eq!(Operation::find("no_such_method"), None);
    /// ```
    pub fn find(id: &str) -> Option<&'static Operation> {
        Self::ALL.iter().find(|op| op.id == id)
    }

    /// The names of its path parameters, in path order.
    ///
    /// ```
    /// use crisp_api::Operation;
    ///
    /// let names: Vec<_> = Operation::SEND_MESSAGE.path_params().collect();
    /// assert_eq!(names, ["website_id", "session_id"]);
    /// ```
    pub fn path_params(&self) -> PathParams {
        PathParams::new(self.path)
    }

    /// Its path with the ids filled in, exactly as the client sends it (under the base URL):
    /// each id checked (not empty, blank, `.`, `..`, over 256 bytes, nor holding a backslash or
    /// a control character) and percent-encoded as one segment, so `/`, `?`, `#` or `%` in an
    /// id cannot change the route. `ids` are `(name, value)` pairs in any order; every path
    /// parameter must be given once, and nothing else.
    ///
    /// ```
    /// use crisp_api::{Operation, PathError};
    ///
    /// let op = &Operation::GET_CONVERSATION;
    /// let path = op.fill_path([("website_id", "w1"), ("session_id", "session_a/b")])?;
    /// assert_eq!(path, "/website/w1/conversation/session_a%2Fb");
    ///
    /// let refused = op.fill_path([("website_id", "w1"), ("session_id", "..")]).unwrap_err();
    /// assert_eq!(refused.parameter(), Some("session_id"));
    /// # Ok::<(), PathError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`PathError`] names the parameter that is missing or unsafe, or the name that is not a
    /// parameter of this operation.
    pub fn fill_path<'v>(
        &self,
        ids: impl IntoIterator<Item = (&'v str, &'v str)>,
    ) -> Result<String, PathError> {
        let mut out = String::with_capacity(self.path.len() + 64);
        path::fill(&mut out, self.path, ids)?;
        Ok(out)
    }

    /// Whether it changes state in Crisp.
    ///
    /// ```
    /// use crisp_api::Operation;
    ///
    /// assert!(Operation::SEND_MESSAGE.is_write());
    /// assert!(!Operation::LIST_MESSAGES.is_write());
    /// ```
    pub fn is_write(&self) -> bool {
        self.access == Access::Write
    }

    /// Whether it deletes data for good.
    ///
    /// ```
    /// assert!(crisp_api::Operation::REMOVE_PEOPLE_PROFILE.is_irreversible());
    /// ```
    pub fn is_irreversible(&self) -> bool {
        self.effect == Some(Effect::Irreversible)
    }

    /// Whether its result reaches a real person (a message, a campaign).
    ///
    /// ```
    /// assert!(crisp_api::Operation::DISPATCH_CAMPAIGN.is_customer_visible());
    /// ```
    pub fn is_customer_visible(&self) -> bool {
        self.effect == Some(Effect::CustomerVisible)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} {})", self.id, self.method, self.path)
    }
}

/// The access level an operation needs on its scope.
///
/// ```
/// use crisp_api::{Access, Operation};
///
/// assert_eq!(Operation::GET_WEBSITE_SETTINGS.access, Access::Read);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Access {
    /// Read-only.
    Read,
    /// Read and write.
    Write,
}

impl Access {
    /// `read` or `write`, as the spec spells it.
    ///
    /// ```
    /// assert_eq!(crisp_api::Access::Write.as_str(), "write");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an agent must know about an operation before calling it.
///
/// ```
/// use crisp_api::{Effect, Operation};
///
/// assert_eq!(Operation::SEND_MESSAGE.effect, Some(Effect::CustomerVisible));
/// assert_eq!(Operation::GET_CONVERSATION.effect, None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Effect {
    /// It deletes data; there is no undo.
    Irreversible,
    /// Its result reaches a real person, such as a customer receiving a message.
    CustomerVisible,
}

impl Effect {
    /// `irreversible` or `customer-visible`, as the spec spells it.
    ///
    /// ```
    /// assert_eq!(crisp_api::Effect::Irreversible.as_str(), "irreversible");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Irreversible => "irreversible",
            Self::CustomerVisible => "customer-visible",
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a list operation pages through its results (the spec's `x-crisp-paging`). The
/// builders' `stream()` walks it for you.
///
/// ```
/// use crisp_api::{Operation, Paging};
///
/// assert_eq!(Operation::LIST_MESSAGES.paging, Some(Paging::TimestampBefore));
/// assert!(matches!(Operation::LIST_CONVERSATIONS.paging, Some(Paging::PageNumber { .. })));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Paging {
    /// By a `{page_number}` path parameter, from 1, until a page holds fewer than the page
    /// size (or nothing).
    PageNumber {
        /// The route's default page size: a page shorter than this is the last one.
        page_size: u32,
        /// The query parameter that asks for another page size, where the route has one.
        per_page: Option<&'static str>,
    },
    /// Backwards in time: pass the timestamp of the oldest item already held as the
    /// `timestamp_before` query parameter to fetch the batch before it, until a batch is
    /// empty. Crisp sets the batch size.
    TimestampBefore,
}

impl Paging {
    /// `page_number` or `timestamp_before`, as the spec spells the style.
    ///
    /// ```
    /// assert_eq!(crisp_api::Paging::TimestampBefore.style(), "timestamp_before");
    /// ```
    pub fn style(self) -> &'static str {
        match self {
            Self::PageNumber { .. } => "page_number",
            Self::TimestampBefore => "timestamp_before",
        }
    }

    /// The default page size of page-numbered routes; `None` for timestamp paging.
    ///
    /// ```
    /// use crisp_api::Operation;
    ///
    /// assert_eq!(Operation::LIST_CONVERSATIONS.paging.and_then(|p| p.page_size()), Some(20));
    /// ```
    pub fn page_size(self) -> Option<u32> {
        match self {
            Self::PageNumber { page_size, .. } => Some(page_size),
            Self::TimestampBefore => None,
        }
    }
}

impl fmt::Display for Paging {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PageNumber {
                page_size,
                per_page: Some(per_page),
            } => write!(
                f,
                "page_number ({page_size} a page; `{per_page}` changes it)"
            ),
            Self::PageNumber { page_size, .. } => write!(f, "page_number ({page_size} a page)"),
            Self::TimestampBefore => f.write_str("timestamp_before"),
        }
    }
}

/// The HTTP methods the API uses.
///
/// ```
/// use crisp_api::{Method, Operation};
///
/// assert_eq!(Operation::UPDATE_PEOPLE_PROFILE.method, Method::Patch);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Method {
    /// The method's name, upper case.
    ///
    /// ```
    /// assert_eq!(crisp_api::Method::Patch.as_str(), "PATCH");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    /// Whether HTTP defines the method as idempotent (RFC 9110): sending the same request
    /// twice leaves the same state as sending it once. `GET`, `PUT` and `DELETE` are; `POST`
    /// and `PATCH` are not.
    ///
    /// ```
    /// use crisp_api::Method;
    ///
    /// assert!(Method::Put.is_idempotent());
    /// assert!(!Method::Patch.is_idempotent());
    /// ```
    pub fn is_idempotent(self) -> bool {
        matches!(self, Self::Get | Self::Put | Self::Delete)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Method> for http::Method {
    /// The same method as the `http` crate (and so `reqwest` and `axum`) spells it.
    ///
    /// ```
    /// use crisp_api::Method;
    ///
    /// assert_eq!(http::Method::from(Method::Patch), http::Method::PATCH);
    /// ```
    fn from(method: Method) -> Self {
        match method {
            Method::Get => Self::GET,
            Method::Post => Self::POST,
            Method::Put => Self::PUT,
            Method::Patch => Self::PATCH,
            Method::Delete => Self::DELETE,
        }
    }
}

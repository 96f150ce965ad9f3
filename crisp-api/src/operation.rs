//! What every operation needs and does, from the spec's `x-crisp-*` extensions.
//!
//! The table itself, one constant per method plus [`Operation::ALL`], is generated from
//! `spec/crisp.yaml` into `generated/operations.rs`.
//!
//! ```
//! use crisp_api::{Access, Operation};
//!
//! let op = Operation::find("send_message").expect("a method of the spec");
//! assert_eq!(op.scope, "website:conversation:messages");
//! assert_eq!(op.access, Access::Write);
//! assert!(op.is_customer_visible());
//! assert_eq!(Operation::ALL.len(), 30);
//! ```

use std::fmt;

/// One method of the Crisp REST API, as the spec describes it.
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
}

impl Operation {
    /// The operation with this `operationId`.
    pub fn find(id: &str) -> Option<&'static Operation> {
        Self::ALL.iter().find(|op| op.id == id)
    }

    /// Whether it changes state in Crisp.
    pub fn is_write(&self) -> bool {
        self.access == Access::Write
    }

    /// Whether it deletes data for good.
    pub fn is_irreversible(&self) -> bool {
        self.effect == Some(Effect::Irreversible)
    }

    /// Whether its result reaches a real person (a message, a campaign).
    pub fn is_customer_visible(&self) -> bool {
        self.effect == Some(Effect::CustomerVisible)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} {})", self.id, self.method, self.path)
    }
}

/// The access level a scope is granted at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Access {
    /// Read-only.
    Read,
    /// Read and write.
    Write,
}

impl Access {
    /// `read` or `write`, as the spec spells it.
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Effect {
    /// It deletes data; there is no undo.
    Irreversible,
    /// Its result reaches a real person, such as a customer receiving a message.
    CustomerVisible,
}

impl Effect {
    /// `irreversible` or `customer-visible`, as the spec spells it.
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

/// The HTTP methods the API uses.
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
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

//! One problem lint finds in the spec: where it is and what is wrong.

use std::fmt;

/// One problem in the spec: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `operation list_conversations`, `schema Conversation`, `webhook message:send`, ...
    pub place: String,
    /// What is wrong, and what to do where it isn't obvious.
    pub message: String,
}

impl Problem {
    pub(crate) fn new(place: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            place: place.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

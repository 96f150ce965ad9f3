//! The parameters a generated builder holds, and how they become a [`Request`]: path ids
//! checked and as text, query values as text, the body as JSON bytes.

use std::borrow::Cow;
use std::fmt::Display;
use std::num::NonZeroU32;

use serde::Serialize;

use super::request::Request;
use crate::error::Error;
use crate::operation::Operation;

/// A parameter as a builder received it.
#[derive(Clone, Debug, Default)]
pub(crate) enum Param<T> {
    /// Never set.
    #[default]
    Unset,
    /// Set to this value.
    Set(T),
    /// Set to a value that could not be converted to the parameter's type.
    Invalid,
}

impl<T> Param<T> {
    /// From a setter's conversion.
    pub(crate) fn from_conversion<E>(value: Result<T, E>) -> Self {
        value.map_or(Self::Invalid, Self::Set)
    }

    /// The value, if set.
    pub(crate) fn as_set(&self) -> Option<&T> {
        match self {
            Self::Set(value) => Some(value),
            _ => None,
        }
    }
}

/// A path parameter's value as the text that goes in the path.
pub(crate) trait PathText {
    /// The text (not yet percent-encoded).
    fn into_text(self) -> String;
}

impl PathText for String {
    fn into_text(self) -> String {
        self
    }
}

macro_rules! path_text_by_display {
    ($($ty:ty),*) => {
        $(impl PathText for $ty {
            fn into_text(self) -> String {
                self.to_string()
            }
        })*
    };
}

path_text_by_display!(i32, i64, u32, u64, NonZeroU32);

fn not_converted(operation: &'static Operation, name: &'static str) -> Error {
    Error::InvalidRequest {
        operation,
        parameter: Some(name),
        problem: format!("`{name}` could not be converted to its type"),
    }
}

/// Collects a request's parts, refusing the first parameter that is missing or unsafe.
pub(crate) struct Preparing {
    request: Request,
}

impl Preparing {
    /// Starts preparing a call of `operation` with room for `ids` path parameters.
    pub(crate) fn new(operation: &'static Operation, ids: usize) -> Self {
        Self {
            request: Request::new(operation, ids),
        }
    }

    /// A path parameter: required, and checked as an id.
    pub(crate) fn path<T: PathText>(
        mut self,
        name: &'static str,
        value: Param<T>,
    ) -> Result<Self, Error> {
        let operation = self.request.operation;
        let text = match value {
            Param::Set(value) => value.into_text(),
            Param::Unset => {
                return Err(Error::InvalidRequest {
                    operation,
                    parameter: Some(name),
                    problem: format!("`{name}` is required and was not set"),
                });
            }
            Param::Invalid => return Err(not_converted(operation, name)),
        };
        if let Some(problem) = crate::path::id_problem(&text) {
            return Err(Error::InvalidRequest {
                operation,
                parameter: Some(name),
                problem,
            });
        }
        self.request.ids.push((name, text));
        Ok(self)
    }

    /// A query parameter; `required` ones must be set.
    pub(crate) fn query<T: Display>(
        mut self,
        name: &'static str,
        value: Param<T>,
        required: bool,
    ) -> Result<Self, Error> {
        match value {
            Param::Set(value) => {
                self.request
                    .query
                    .push((Cow::Borrowed(name), value.to_string()));
            }
            Param::Unset if required => {
                return Err(Error::InvalidRequest {
                    operation: self.request.operation,
                    parameter: Some(name),
                    problem: format!("`{name}` is required and was not set"),
                });
            }
            Param::Unset => {}
            Param::Invalid => return Err(not_converted(self.request.operation, name)),
        }
        Ok(self)
    }

    /// The JSON body, from the builder of its type (`None`: never set). A body that is not
    /// `required` and was never set is left out.
    pub(crate) fn body<B, T>(
        mut self,
        body: Option<Result<B, String>>,
        required: bool,
    ) -> Result<Self, Error>
    where
        B: Default,
        T: TryFrom<B> + Serialize,
        T::Error: Display,
    {
        let builder = match body {
            None if !required => return Ok(self),
            None => B::default(),
            Some(Ok(builder)) => builder,
            Some(Err(problem)) => return Err(self.invalid_body(problem)),
        };
        let body = T::try_from(builder).map_err(|e| self.invalid_body(e.to_string()))?;
        let json = serde_json::to_vec(&body).map_err(|e| self.invalid_body(e.to_string()))?;
        self.request.body = Some(json.into());
        Ok(self)
    }

    fn invalid_body(&self, problem: String) -> Error {
        Error::InvalidRequest {
            operation: self.request.operation,
            parameter: Some("body"),
            problem: format!("the body is incomplete or invalid: {problem}"),
        }
    }

    /// The request, with the default options (the builder's own are added as it is sent).
    pub(crate) fn done(self) -> Request {
        self.request
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{BlockUpdate, builder};

    fn refused(result: Result<Preparing, Error>) -> (Option<&'static str>, String) {
        match result {
            Err(Error::InvalidRequest {
                parameter, problem, ..
            }) => (parameter, problem),
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn path_parameters_are_required_converted_and_checked() {
        let op = &Operation::GET_CONVERSATION;
        let (parameter, problem) =
            refused(Preparing::new(op, 1).path::<String>("website_id", Param::Unset));
        assert_eq!(parameter, Some("website_id"));
        assert!(problem.contains("required"), "{problem}");
        let (_, problem) =
            refused(Preparing::new(op, 1).path::<String>("website_id", Param::Invalid));
        assert!(problem.contains("could not be converted"), "{problem}");
        let (parameter, _) =
            refused(Preparing::new(op, 1).path("session_id", Param::Set("..".to_owned())));
        assert_eq!(parameter, Some("session_id"));
        let prepared = Preparing::new(op, 2)
            .path("website_id", Param::Set("w".to_owned()))
            .and_then(|p| p.path("fingerprint", Param::Set(NonZeroU32::MIN)))
            .unwrap()
            .done();
        assert_eq!(
            prepared.ids,
            [
                ("website_id", "w".to_owned()),
                ("fingerprint", "1".to_owned())
            ]
        );
    }

    #[test]
    fn query_parameters_are_sent_only_when_set() {
        let op = &Operation::LIST_CONVERSATIONS;
        let prepared = Preparing::new(op, 0)
            .query("per_page", Param::Set(50_i64), false)
            .and_then(|p| p.query::<i64>("filter_unread", Param::Unset, false))
            .unwrap()
            .done();
        assert_eq!(prepared.query, [("per_page".into(), "50".to_owned())]);
        let (parameter, _) =
            refused(Preparing::new(op, 0).query::<i64>("per_page", Param::Invalid, false));
        assert_eq!(parameter, Some("per_page"));
        let (_, problem) =
            refused(Preparing::new(op, 0).query::<i64>("needed", Param::Unset, true));
        assert!(problem.contains("required"), "{problem}");
    }

    #[test]
    fn bodies_are_serialised_once_or_refused_when_incomplete() {
        let op = &Operation::BLOCK_CONVERSATION;
        let block = builder::BlockUpdate::default().blocked(true);
        let prepared = Preparing::new(op, 0)
            .body::<_, BlockUpdate>(Some(Ok(block)), true)
            .unwrap()
            .done();
        assert_eq!(prepared.body.as_deref(), Some(&b"{\"blocked\":true}"[..]));
        let (parameter, problem) =
            refused(Preparing::new(op, 0).body::<builder::BlockUpdate, BlockUpdate>(None, true));
        assert_eq!(parameter, Some("body"));
        assert!(
            problem.contains("blocked"),
            "names the missing field: {problem}"
        );
        let optional = Preparing::new(op, 0)
            .body::<builder::BlockUpdate, BlockUpdate>(None, false)
            .unwrap()
            .done();
        assert!(optional.body.is_none());
    }
}

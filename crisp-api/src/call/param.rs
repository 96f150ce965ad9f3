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

/// What is wrong with one parameter.
enum Problem {
    /// Required, and never set.
    Missing,
    /// Set to a value that could not be converted to its type.
    NotConverted,
    /// Set to an unusable id, or a body that could not be built: why.
    Invalid(String),
}

/// Collects a request's parts, and every parameter that is missing or unsafe on the way:
/// [`done`](Preparing::done) reports them all in one error.
pub(crate) struct Preparing {
    request: Request,
    /// `(parameter, problem)`, in the order the parameters were given.
    problems: Vec<(&'static str, Problem)>,
}

impl Preparing {
    /// Starts preparing a call of `operation` with room for `ids` path parameters.
    pub(crate) fn new(operation: &'static Operation, ids: usize) -> Self {
        Self {
            request: Request::new(operation, ids),
            problems: Vec::new(),
        }
    }

    /// A path parameter: required, and checked as an id.
    pub(crate) fn path<T: PathText>(mut self, name: &'static str, value: Param<T>) -> Self {
        let text = match value {
            Param::Set(value) => value.into_text(),
            Param::Unset => return self.problem(name, Problem::Missing),
            Param::Invalid => return self.problem(name, Problem::NotConverted),
        };
        if let Some(problem) = crate::path::id_problem(&text) {
            return self.problem(
                name,
                Problem::Invalid(format!("is not a usable id: {problem}")),
            );
        }
        self.request.ids.push((name, text));
        self
    }

    /// A query parameter; `required` ones must be set.
    pub(crate) fn query<T: Display>(
        mut self,
        name: &'static str,
        value: Param<T>,
        required: bool,
    ) -> Self {
        match value {
            Param::Set(value) => {
                self.request
                    .query
                    .push((Cow::Borrowed(name), value.to_string()));
                self
            }
            Param::Unset if required => self.problem(name, Problem::Missing),
            Param::Unset => self,
            Param::Invalid => self.problem(name, Problem::NotConverted),
        }
    }

    /// The JSON body, from the builder of its type (`None`: never set). A body that is not
    /// `required` and was never set is left out. One that is required and was never set is
    /// its type's empty value when that is complete (every field optional: `{}`), and else a
    /// problem naming `fields`, the ones its type requires.
    pub(crate) fn body<B, T>(
        mut self,
        body: Option<Result<B, String>>,
        required: bool,
        fields: &[&str],
    ) -> Self
    where
        B: Default,
        T: TryFrom<B> + Serialize,
        T::Error: Display,
    {
        let (builder, set) = match body {
            None if !required => return self,
            None => (B::default(), false),
            Some(Ok(builder)) => (builder, true),
            Some(Err(problem)) => return self.invalid_body(problem),
        };
        let json = T::try_from(builder)
            .map_err(|e| e.to_string())
            .and_then(|body| serde_json::to_vec(&body).map_err(|e| e.to_string()));
        match json {
            Ok(json) => {
                self.request.body = Some(json.into());
                self
            }
            Err(problem) if set => self.invalid_body(problem),
            Err(_) => {
                let problem = format!(
                    "is required and was not set: call `.body(...)` before `.send()`{}",
                    Fields(fields)
                );
                self.problem("body", Problem::Invalid(problem))
            }
        }
    }

    fn invalid_body(self, problem: String) -> Self {
        self.problem(
            "body",
            Problem::Invalid(format!("is incomplete or invalid: {problem}")),
        )
    }

    fn problem(mut self, name: &'static str, problem: Problem) -> Self {
        self.problems.push((name, problem));
        self
    }

    /// The request, with the default options (the builder's own are added as it is sent); or
    /// one [`Error::InvalidRequest`] naming every parameter that is missing or unsafe, the
    /// missing ones together (`` `website_id` and `session_id` are required and were not
    /// set``), with the first parameter it names as its `parameter`.
    pub(crate) fn done(self) -> Result<Request, Error> {
        if self.problems.is_empty() {
            return Ok(self.request);
        }
        let missing: Vec<&str> = self
            .problems
            .iter()
            .filter(|(_, problem)| matches!(problem, Problem::Missing))
            .map(|(name, _)| *name)
            .collect();
        let mut sentences = Vec::new();
        if !missing.is_empty() {
            let verb = if missing.len() == 1 {
                "is required and was not set"
            } else {
                "are required and were not set"
            };
            sentences.push(format!("{} {verb}", Names(&missing)));
        }
        for (name, problem) in &self.problems {
            match problem {
                Problem::Missing => {}
                Problem::NotConverted => {
                    sentences.push(format!("`{name}` could not be converted to its type"));
                }
                Problem::Invalid(why) if *name == "body" => {
                    sentences.push(format!("the body {why}"));
                }
                Problem::Invalid(why) => sentences.push(format!("`{name}` {why}")),
            }
        }
        let parameter = missing
            .first()
            .copied()
            .or_else(|| self.problems.first().map(|(name, _)| *name));
        Err(Error::InvalidRequest {
            operation: self.request.operation,
            parameter,
            problem: sentences.join("; "),
        })
    }
}

/// `` `a` ``, `` `a` and `b` ``, `` `a`, `b` and `c` ``.
struct Names<'a>(&'a [&'a str]);

impl std::fmt::Display for Names<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self.0.len();
        for (i, name) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(if i + 1 == count { " and " } else { ", " })?;
            }
            write!(f, "`{name}`")?;
        }
        Ok(())
    }
}

/// A body's required fields, for the problem of a body never set.
struct Fields<'a>(&'a [&'a str]);

impl std::fmt::Display for Fields<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        write!(f, "; it needs {}", Names(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{BlockUpdate, MarkMessagesRead, builder};

    fn refused(prepared: Preparing) -> (Option<&'static str>, String) {
        match prepared.done() {
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
        assert_eq!(problem, "`website_id` is required and was not set");
        let (_, problem) =
            refused(Preparing::new(op, 1).path::<String>("website_id", Param::Invalid));
        assert_eq!(problem, "`website_id` could not be converted to its type");
        let (parameter, problem) =
            refused(Preparing::new(op, 1).path("session_id", Param::Set("..".to_owned())));
        assert_eq!(parameter, Some("session_id"));
        assert!(
            problem.starts_with("`session_id` is not a usable id: `..` is a relative"),
            "{problem}"
        );
        let prepared = Preparing::new(op, 2)
            .path("website_id", Param::Set("w".to_owned()))
            .path("fingerprint", Param::Set(NonZeroU32::MIN))
            .done()
            .unwrap();
        assert_eq!(
            prepared.ids,
            [
                ("website_id", "w".to_owned()),
                ("fingerprint", "1".to_owned())
            ]
        );
    }

    #[test]
    fn every_problem_is_reported_at_once_the_missing_ones_together() {
        let op = &Operation::SEND_MESSAGE;
        let (parameter, problem) = refused(
            Preparing::new(op, 2)
                .path::<String>("website_id", Param::Unset)
                .path::<String>("session_id", Param::Unset),
        );
        assert_eq!(parameter, Some("website_id"));
        assert_eq!(
            problem,
            "`website_id` and `session_id` are required and were not set"
        );
        let (parameter, problem) = refused(
            Preparing::new(op, 2)
                .path("website_id", Param::Set(String::new()))
                .path::<String>("session_id", Param::Unset)
                .query::<i64>("per_page", Param::Invalid, false)
                .query::<i64>("needed", Param::Unset, true)
                .body::<builder::BlockUpdate, BlockUpdate>(None, true, &["blocked"]),
        );
        assert_eq!(parameter, Some("session_id"), "the first one named");
        assert_eq!(
            problem,
            "`session_id` and `needed` are required and were not set; `website_id` is not a \
             usable id: it is empty; `per_page` could not be converted to its type; the body is \
             required and was not set: call `.body(...)` before `.send()`; it needs `blocked`"
        );
    }

    #[test]
    fn query_parameters_are_sent_only_when_set() {
        let op = &Operation::LIST_CONVERSATIONS;
        let prepared = Preparing::new(op, 0)
            .query("per_page", Param::Set(50_i64), false)
            .query::<i64>("filter_unread", Param::Unset, false)
            .done()
            .unwrap();
        assert_eq!(prepared.query, [("per_page".into(), "50".to_owned())]);
        let (parameter, _) =
            refused(Preparing::new(op, 0).query::<i64>("per_page", Param::Invalid, false));
        assert_eq!(parameter, Some("per_page"));
        let (_, problem) =
            refused(Preparing::new(op, 0).query::<i64>("needed", Param::Unset, true));
        assert_eq!(problem, "`needed` is required and was not set");
    }

    #[test]
    fn bodies_are_serialised_once_or_refused_when_missing_or_incomplete() {
        let op = &Operation::BLOCK_CONVERSATION;
        let block = builder::BlockUpdate::default().blocked(true);
        let prepared = Preparing::new(op, 0)
            .body::<_, BlockUpdate>(Some(Ok(block)), true, &["blocked"])
            .done()
            .unwrap();
        assert_eq!(prepared.body.as_deref(), Some(&b"{\"blocked\":true}"[..]));
        let (parameter, problem) = refused(
            Preparing::new(op, 0).body::<builder::BlockUpdate, BlockUpdate>(
                None,
                true,
                &["blocked"],
            ),
        );
        assert_eq!(parameter, Some("body"));
        assert_eq!(
            problem,
            "the body is required and was not set: call `.body(...)` before `.send()`; it \
             needs `blocked`"
        );
        let (parameter, problem) = refused(
            Preparing::new(op, 0).body::<builder::BlockUpdate, BlockUpdate>(
                Some(Ok(builder::BlockUpdate::default())),
                true,
                &["blocked"],
            ),
        );
        assert_eq!(parameter, Some("body"));
        assert!(
            problem.starts_with("the body is incomplete or invalid: ")
                && problem.contains("blocked"),
            "names the missing field: {problem}"
        );
        let optional = Preparing::new(op, 0)
            .body::<builder::BlockUpdate, BlockUpdate>(None, false, &["blocked"])
            .done()
            .unwrap();
        assert!(optional.body.is_none());
        // A required body whose fields are all optional: its empty value, as before.
        let op = &Operation::MARK_MESSAGES_READ;
        let empty = Preparing::new(op, 0)
            .body::<builder::MarkMessagesRead, MarkMessagesRead>(None, true, &[])
            .done()
            .unwrap();
        assert_eq!(empty.body.as_deref(), Some(&b"{}"[..]));
    }
}

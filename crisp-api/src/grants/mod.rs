//! Least-privilege grants: the plugin scopes a token carries, and at which level.
//!
//! A Crisp plugin token is granted scopes in the Marketplace, each at `read`, `write` or
//! `read-write` level. Give a [`ClientBuilder`](crate::ClientBuilder) the same grants and it
//! refuses, before any network I/O, every operation they do not allow; [`Grants::for_operations`]
//! computes the least set an agent needs, to request exactly that in the Marketplace.
//!
//! ```
//! use crisp_api::{Grants, Level, Operation};
//!
//! let grants: Grants = "website:conversation:sessions=read, website:conversation:messages=read-write"
//!     .parse()?;
//! assert!(grants.allows(&Operation::LIST_CONVERSATIONS));
//! assert!(grants.allows(&Operation::SEND_MESSAGE));
//! assert!(!grants.allows(&Operation::REMOVE_CONVERSATION)); // needs sessions=write
//! assert_eq!(grants.level("website:conversation:messages"), Some(Level::ReadWrite));
//! # Ok::<(), crisp_api::GrantsError>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::operation::{Access, Operation};

/// The level a scope is granted at, as the Crisp Marketplace grants it.
///
/// ```
/// use crisp_api::{Access, Level};
///
/// let level: Level = "read-write".parse()?;
/// assert!(level.allows(Access::Read) && level.allows(Access::Write));
/// # Ok::<(), crisp_api::GrantsError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Level {
    /// Read-only: the scope's `read` operations.
    Read,
    /// Write-only: the scope's `write` operations, not its reads.
    Write,
    /// Both.
    ReadWrite,
}

impl Level {
    /// `read`, `write` or `read-write`.
    ///
    /// ```
    /// assert_eq!(crisp_api::Level::ReadWrite.as_str(), "read-write");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::ReadWrite => "read-write",
        }
    }

    /// Whether this level allows an operation that needs `access`.
    ///
    /// ```
    /// use crisp_api::{Access, Level};
    ///
    /// assert!(Level::ReadWrite.allows(Access::Write));
    /// assert!(!Level::Write.allows(Access::Read));
    /// ```
    pub fn allows(self, access: Access) -> bool {
        matches!(
            (self, access),
            (Self::ReadWrite, _) | (Self::Read, Access::Read) | (Self::Write, Access::Write)
        )
    }

    /// The least level that allows `access`.
    ///
    /// ```
    /// use crisp_api::{Access, Level};
    ///
    /// assert_eq!(Level::of(Access::Read), Level::Read);
    /// ```
    pub fn of(access: Access) -> Self {
        match access {
            Access::Read => Self::Read,
            Access::Write => Self::Write,
        }
    }

    /// The least level that allows everything `self` and `other` allow.
    ///
    /// ```
    /// use crisp_api::Level;
    ///
    /// assert_eq!(Level::Read.union(Level::Write), Level::ReadWrite);
    /// assert_eq!(Level::Read.union(Level::Read), Level::Read);
    /// ```
    pub fn union(self, other: Self) -> Self {
        if self == other { self } else { Self::ReadWrite }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a level must be.
const LEVEL_PROBLEM: &str = "the level must be `read`, `write` or `read-write`";

impl FromStr for Level {
    type Err = GrantsError;

    /// Parses `read`, `write` or `read-write` (also `write-read`, `read+write`, `rw`), in any
    /// case.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "read" | "r" => Ok(Self::Read),
            "write" | "w" => Ok(Self::Write),
            "read-write" | "write-read" | "read+write" | "readwrite" | "rw" => Ok(Self::ReadWrite),
            _ => Err(GrantsError::invalid(text.trim(), LEVEL_PROBLEM)),
        }
    }
}

/// The scopes a token is granted, each with its [`Level`].
///
/// Parse it from the text form `scope=level, scope=level` (commas, semicolons or new lines
/// between entries); [`Display`](fmt::Display) writes the same form back, sorted by scope. A
/// scope listed twice gets the union of its levels. Every scope must be one that an
/// [`Operation`] of the spec uses: a misspelt one is refused with the nearest known scope
/// (`website:conversation:session` -> `website:conversation:sessions`), rather than accepted
/// as a grant that allows nothing. `all` is [`Grants::all`]; `(none)` (what `Display` writes
/// for no grants) allows nothing; an empty or blank text is refused (no grants given).
///
/// ```
/// use crisp_api::{Grants, Operation};
///
/// let needed = Grants::for_operations(&[
///     &Operation::LIST_CONVERSATIONS,
///     &Operation::SEND_MESSAGE,
///     &Operation::CHANGE_CONVERSATION_STATE,
/// ]);
/// assert_eq!(
///     needed.to_string(),
///     "website:conversation:messages=write, website:conversation:sessions=read, \
///      website:conversation:states=write"
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grants {
    scopes: BTreeMap<String, Level>,
}

impl Grants {
    /// Grants that allow nothing.
    ///
    /// ```
    /// assert!(crisp_api::Grants::none().is_empty());
    /// ```
    pub fn none() -> Self {
        Self::default()
    }

    /// Grants that allow every operation of the spec: each scope at the level its operations
    /// need.
    ///
    /// ```
    /// use crisp_api::{Grants, Operation};
    ///
    /// let all = Grants::all();
    /// assert!(Operation::ALL.iter().all(|op| all.allows(op)));
    /// ```
    pub fn all() -> Self {
        Operation::ALL.iter().collect()
    }

    /// The least grants that allow exactly these operations: each scope they use, at the union
    /// of the access levels they need. Print it to know what to request in the Marketplace.
    ///
    /// ```
    /// use crisp_api::{Grants, Level, Operation};
    ///
    /// let grants = Grants::for_operations(&[&Operation::GET_CONVERSATION, &Operation::REMOVE_CONVERSATION]);
    /// assert_eq!(grants.level("website:conversation:sessions"), Some(Level::ReadWrite));
    /// ```
    pub fn for_operations(operations: &[&Operation]) -> Self {
        operations.iter().copied().collect()
    }

    /// Only the `read` part of these grants: every scope granted `read` or `read-write`, at
    /// `read`.
    ///
    /// ```
    /// use crisp_api::{Grants, Operation};
    ///
    /// let read_only = Grants::all().read_only();
    /// assert!(read_only.allows(&Operation::LIST_MESSAGES));
    /// assert!(!read_only.allows(&Operation::SEND_MESSAGE));
    /// ```
    pub fn read_only(&self) -> Self {
        Self {
            scopes: self
                .scopes
                .iter()
                .filter(|(_, level)| level.allows(Access::Read))
                .map(|(scope, _)| (scope.clone(), Level::Read))
                .collect(),
        }
    }

    /// Adds `scope` at `level`; a scope already there gets the union of both levels.
    ///
    /// ```
    /// use crisp_api::{Grants, Level};
    ///
    /// let grants = Grants::none()
    ///     .with("website:visitors", Level::Read)
    ///     .with("website:visitors", Level::Write);
    /// assert_eq!(grants.level("website:visitors"), Some(Level::ReadWrite));
    /// ```
    pub fn with(mut self, scope: impl Into<String>, level: Level) -> Self {
        self.insert(scope, level);
        self
    }

    fn insert(&mut self, scope: impl Into<String>, level: Level) {
        self.scopes
            .entry(scope.into())
            .and_modify(|have| *have = have.union(level))
            .or_insert(level);
    }

    /// The level `scope` is granted at, if it is granted.
    ///
    /// ```
    /// use crisp_api::{Grants, Level};
    ///
    /// let grants: Grants = "website:settings=read".parse().unwrap();
    /// assert_eq!(grants.level("website:settings"), Some(Level::Read));
    /// assert_eq!(grants.level("website:visitors"), None);
    /// ```
    pub fn level(&self, scope: &str) -> Option<Level> {
        self.scopes.get(scope).copied()
    }

    /// Whether these grants allow `operation`: its scope is granted at a level that allows
    /// its access.
    ///
    /// ```
    /// use crisp_api::{Grants, Operation};
    ///
    /// let grants: Grants = "website:conversation:messages=write".parse().unwrap();
    /// assert!(grants.allows(&Operation::SEND_MESSAGE));
    /// assert!(!grants.allows(&Operation::LIST_MESSAGES));
    /// ```
    pub fn allows(&self, operation: &Operation) -> bool {
        self.level(operation.scope)
            .is_some_and(|level| level.allows(operation.access))
    }

    /// The operations of the spec these grants allow, in table order.
    ///
    /// ```
    /// use crisp_api::Grants;
    ///
    /// let grants: Grants = "website:visitors=read".parse().unwrap();
    /// let ids: Vec<_> = grants.allowed_operations().map(|op| op.id).collect();
    /// assert_eq!(ids, ["list_visitors", "count_visitors"]);
    /// ```
    pub fn allowed_operations(&self) -> impl Iterator<Item = &'static Operation> + '_ {
        Operation::ALL.iter().filter(|op| self.allows(op))
    }

    /// Whether no scope is granted.
    ///
    /// ```
    /// assert!("(none)".parse::<crisp_api::Grants>().unwrap().is_empty());
    /// assert!(!"all".parse::<crisp_api::Grants>().unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty()
    }

    /// The granted scopes and their levels, sorted by scope.
    ///
    /// ```
    /// use crisp_api::{Grants, Level};
    ///
    /// let grants: Grants = "website:visitors=read".parse().unwrap();
    /// assert_eq!(grants.iter().collect::<Vec<_>>(), [("website:visitors", Level::Read)]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, Level)> + '_ {
        self.scopes
            .iter()
            .map(|(scope, level)| (scope.as_str(), *level))
    }
}

impl fmt::Display for Grants {
    /// `scope=level, scope=level`, sorted by scope; `(none)` when empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scopes.is_empty() {
            return f.write_str("(none)");
        }
        for (i, (scope, level)) in self.scopes.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{scope}={level}")?;
        }
        Ok(())
    }
}

/// The text that stands for [`Grants::all`].
const ALL: &str = "all";
/// The text that stands for [`Grants::none`] (what `Display` writes for it).
const NONE: &str = "(none)";

impl FromStr for Grants {
    type Err = GrantsError;

    /// Parses `scope=level, ...`, `all` or `(none)`; see [`Grants`].
    ///
    /// ```
    /// use crisp_api::Grants;
    ///
    /// assert_eq!("all".parse::<Grants>()?, Grants::all());
    /// let error = "website:conversation:session=read".parse::<Grants>().unwrap_err();
    /// assert_eq!(error.suggestion(), Some("website:conversation:sessions"));
    /// assert!(" ".parse::<Grants>().unwrap_err().to_string().starts_with("no grants given"));
    /// # Ok::<(), crisp_api::GrantsError>(())
    /// ```
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let no_entry = trimmed
            .split([',', ';', '\n'])
            .all(|entry| entry.trim().is_empty());
        if no_entry {
            return Err(GrantsError::new(
                "",
                format!(
                    "no grants given: list the scopes as `scope=level, ...` (such as \
                     `website:conversation:sessions=read`), or give `{ALL}` for every operation \
                     or `{NONE}` for none"
                ),
            ));
        }
        if trimmed.eq_ignore_ascii_case(ALL) {
            return Ok(Self::all());
        }
        let mut grants = Self::none();
        if trimmed == NONE {
            return Ok(grants);
        }
        for entry in text.split([',', ';', '\n']) {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            let Some((scope, level)) = entry.split_once('=') else {
                return Err(GrantsError::invalid(
                    entry,
                    "each entry is `scope=level`, such as `website:conversation:messages=read-write`",
                ));
            };
            let scope = scope.trim();
            let valid_scope = !scope.is_empty()
                && scope
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_:-".contains(&b));
            if !valid_scope {
                return Err(GrantsError::invalid(
                    entry,
                    "a scope is lower-case words joined by `:`, such as \
                     `website:conversation:sessions`",
                ));
            }
            let level = level
                .parse::<Level>()
                .map_err(|_| GrantsError::invalid(entry, LEVEL_PROBLEM))?;
            if !known_scopes().any(|known| known == scope) {
                return Err(GrantsError::unknown_scope(entry, scope));
            }
            grants.insert(scope, level);
        }
        Ok(grants)
    }
}

/// The scopes of the spec's operations, each once, in table order.
fn known_scopes() -> impl Iterator<Item = &'static str> {
    Operation::ALL.iter().enumerate().filter_map(|(i, op)| {
        let first = Operation::ALL[..i].iter().all(|o| o.scope != op.scope);
        first.then_some(op.scope)
    })
}

/// The known scope nearest to `scope` by edit distance, if it is near enough to be a
/// misspelling (at most a third of its length, and at least 3 edits allowed).
fn nearest_scope(scope: &str) -> Option<&'static str> {
    let allowed = (scope.chars().count() / 3).max(3);
    known_scopes()
        .map(|known| (strsim::levenshtein(scope, known), known))
        .filter(|(distance, _)| *distance <= allowed)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, known)| known)
}

impl<'a> FromIterator<&'a Operation> for Grants {
    /// The least grants that allow these operations, as [`Grants::for_operations`].
    fn from_iter<I: IntoIterator<Item = &'a Operation>>(operations: I) -> Self {
        let mut grants = Self::none();
        for op in operations {
            grants.insert(op.scope, Level::of(op.access));
        }
        grants
    }
}

/// Why a text is not a set of grants: one sentence that names the entry and what to write
/// instead.
///
/// ```
/// let error = "website:settings=admin".parse::<crisp_api::Grants>().unwrap_err();
/// assert_eq!(error.entry(), "website:settings=admin");
/// assert!(error.to_string().contains("read-write"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct GrantsError {
    entry: String,
    message: String,
    suggestion: Option<&'static str>,
}

impl GrantsError {
    fn new(entry: &str, message: String) -> Self {
        Self {
            entry: entry.to_owned(),
            message,
            suggestion: None,
        }
    }

    fn invalid(entry: &str, problem: &str) -> Self {
        Self::new(entry, format!("invalid grant `{entry}`: {problem}"))
    }

    fn unknown_scope(entry: &str, scope: &str) -> Self {
        let suggestion = nearest_scope(scope);
        let advice = match suggestion {
            Some(known) => format!("did you mean `{known}`?"),
            None => format!(
                "use one of the scopes the operations need: {}",
                known_scopes().collect::<Vec<_>>().join(", ")
            ),
        };
        Self {
            entry: entry.to_owned(),
            message: format!(
                "unknown scope `{scope}` in the grant `{entry}`: no operation needs it; {advice}"
            ),
            suggestion,
        }
    }

    /// The entry that could not be read (empty when no grants were given at all).
    ///
    /// ```
    /// let error = "website:visitors".parse::<crisp_api::Grants>().unwrap_err();
    /// assert_eq!(error.entry(), "website:visitors");
    /// ```
    pub fn entry(&self) -> &str {
        &self.entry
    }

    /// For an unknown scope, the known scope it is nearest to, if it looks like a
    /// misspelling of one.
    ///
    /// ```
    /// let error = "website:visitor=read".parse::<crisp_api::Grants>().unwrap_err();
    /// assert_eq!(error.suggestion(), Some("website:visitors"));
    /// ```
    pub fn suggestion(&self) -> Option<&'static str> {
        self.suggestion
    }
}

#[cfg(test)]
mod tests;

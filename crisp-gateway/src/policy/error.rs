//! Why a policy file was refused, and where.

use std::fmt;
use std::ops::Range;

/// A policy file that cannot be used: where (file, line, column, field path) and what is
/// wrong, with what to do.
///
/// Displayed as `gateway.toml:12:8: agents[1].grants: unknown scope ...`. `line` and `column`
/// count from 1; both are 0 when the problem has no place in the text (the file could not be
/// read), and `field` is empty when the problem is not in one field (a TOML syntax error).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct PolicyError {
    /// The file's name as given to [`Policy::parse`](super::Policy::parse).
    pub file: String,
    /// The line, from 1 (0: no place in the text).
    pub line: usize,
    /// The column in characters, from 1 (0: no place in the text).
    pub column: usize,
    /// The field's path, such as `agents[1].key_sha256` (empty: not one field).
    pub field: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        f.write_str(": ")?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

/// The text being read, to turn byte spans into lines and columns.
pub(super) struct Source<'a> {
    pub text: &'a str,
    pub file: &'a str,
}

impl Source<'_> {
    /// An error at byte `offset` of the text.
    pub fn error_at(
        &self,
        offset: usize,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> PolicyError {
        let (line, column) = self.locate(offset);
        PolicyError {
            file: self.file.to_owned(),
            line,
            column,
            field: field.into(),
            message: message.into(),
        }
    }

    /// An error at the start of `span`.
    pub fn error(
        &self,
        span: &Range<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> PolicyError {
        self.error_at(span.start, field, message)
    }

    /// An error at the first place `needle` occurs inside `span` (such as one entry of the
    /// grants string), or at the start of `span`.
    pub fn error_within(
        &self,
        span: &Range<usize>,
        needle: &str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> PolicyError {
        let offset = self
            .text
            .get(span.clone())
            .filter(|_| !needle.is_empty())
            .and_then(|inside| inside.find(needle))
            .map_or(span.start, |at| span.start + at);
        self.error_at(offset, field, message)
    }

    /// 1-based line and column (in characters) of byte `offset`, clamped to the text.
    fn locate(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |at| at + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_lines_and_character_columns() {
        let source = Source {
            text: "a = 1\nné = \"x\"\n",
            file: "f.toml",
        };
        let at = |offset| source.error_at(offset, "", "m");
        assert_eq!((at(0).line, at(0).column), (1, 1));
        assert_eq!((at(6).line, at(6).column), (2, 1));
        // After the two-byte `é`, the column counts characters.
        assert_eq!((at(10).line, at(10).column), (2, 4));
        // Inside a character or past the end: clamped, no panic.
        assert_eq!(at(8).line, 2);
        assert_eq!(at(999).line, 3);
        let e = source.error_at(6, "agents[0].name", "bad");
        assert_eq!(e.to_string(), "f.toml:2:1: agents[0].name: bad");
        let unplaced = PolicyError {
            line: 0,
            column: 0,
            field: String::new(),
            ..e
        };
        assert_eq!(unplaced.to_string(), "f.toml: bad");
    }
}

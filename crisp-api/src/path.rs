//! Path templates and the ids that fill them: the one place that reads a template such as
//! `/website/{website_id}/conversation/{session_id}`, checks an id, and puts it in a path as
//! one percent-encoded segment. The client, `Client::call`, crisp-mcp's previews and the
//! gateway all fill paths here, so what a preview shows is what goes on the wire.
//!
//! A leaf module: it imports nothing else of the crate.

use std::fmt;

/// The longest id accepted in a path. Crisp's ids are UUIDs (`session_<uuid>` is 44 bytes).
pub(crate) const MAX_ID_LEN: usize = 256;

/// What makes `value` unsafe as a path segment, if anything: empty, blank, `.` or `..`,
/// longer than 256 bytes, a backslash or a control character.
pub(crate) fn id_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("it is empty".to_owned());
    }
    if value.starts_with(char::is_whitespace) && value.trim().is_empty() {
        return Some("it is only white space".to_owned());
    }
    if value == "." || value == ".." {
        return Some(format!(
            "`{value}` is a relative path segment that would change the route"
        ));
    }
    if value.len() > MAX_ID_LEN {
        return Some(format!(
            "it is {} bytes long; Crisp's ids are at most {MAX_ID_LEN}",
            value.len()
        ));
    }
    // One pass over the bytes; non-ASCII text (rare in ids) is checked again by character.
    let mut backslash = false;
    let mut control = false;
    let mut ascii = true;
    for &b in value.as_bytes() {
        backslash |= b == b'\\';
        control |= b < 0x20 || b == 0x7f;
        ascii &= b < 0x80;
    }
    if backslash {
        return Some("it holds a backslash, which URL parsers read as `/`".to_owned());
    }
    if control || (!ascii && value.chars().any(char::is_control)) {
        return Some("it holds a control character (such as a new line or tab)".to_owned());
    }
    None
}

/// What a path segment may not hold unencoded (the WHATWG path-segment set, plus `%` and `\`).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'%')
    .add(b'\\');

/// Appends `value` to `out` as one percent-encoded path segment: `/`, `?`, `#` and `%` cannot
/// change the route.
pub(crate) fn push_segment(out: &mut String, value: &str) {
    out.extend(percent_encoding::utf8_percent_encode(value, SEGMENT));
}

/// The names of a path template's parameters, in path order: made by
/// [`Operation::path_params`](crate::Operation::path_params).
///
/// ```
/// use crisp_api::Operation;
///
/// let names: Vec<_> = Operation::GET_MESSAGE.path_params().collect();
/// assert_eq!(names, ["website_id", "session_id", "fingerprint"]);
/// ```
#[derive(Clone, Debug)]
pub struct PathParams {
    rest: &'static str,
}

impl PathParams {
    pub(crate) fn new(template: &'static str) -> Self {
        Self { rest: template }
    }
}

impl Iterator for PathParams {
    type Item = &'static str;

    fn next(&mut self) -> Option<&'static str> {
        let (_, name, rest) = next_param(self.rest)?;
        self.rest = rest;
        Some(name)
    }
}

/// Splits `template` at its first `{name}`: the text before it, the name, the text after it.
fn next_param(template: &'static str) -> Option<(&'static str, &'static str, &'static str)> {
    let open = template.find('{')?;
    let close = template[open..]
        .find('}')
        .map_or(template.len(), |c| open + c);
    Some((
        &template[..open],
        &template[open + 1..close],
        template.get(close + 1..).unwrap_or(""),
    ))
}

/// Fills `template` with `ids` (`(name, value)` in any order), appending to `out`: each
/// value checked ([`id_problem`]) and percent-encoded as one segment. Every parameter must be
/// given once, and nothing else.
pub(crate) fn fill<'v>(
    out: &mut String,
    template: &'static str,
    ids: impl IntoIterator<Item = (&'v str, &'v str)>,
) -> Result<(), PathError> {
    let ids = order(template, ids.into_iter().collect())?;
    write(out, template, &ids);
    Ok(())
}

/// `given` (`(name, value)` in any order) in the template's order and under its names, each
/// value checked ([`id_problem`]). Every parameter must be given once, and nothing else.
pub(crate) fn order<N, V>(
    template: &'static str,
    mut given: Vec<(N, V)>,
) -> Result<Vec<(&'static str, V)>, PathError>
where
    N: AsRef<str>,
    V: AsRef<str>,
{
    let mut ordered = Vec::with_capacity(given.len());
    for name in PathParams::new(template) {
        let Some(index) = given.iter().position(|(n, _)| n.as_ref() == name) else {
            return Err(PathError::Missing { parameter: name });
        };
        let (_, value) = given.swap_remove(index);
        if let Some(problem) = id_problem(value.as_ref()) {
            return Err(PathError::Unsafe {
                parameter: name,
                problem,
            });
        }
        if let Some((twice, _)) = given.iter().find(|(n, _)| n.as_ref() == name) {
            return Err(PathError::Unknown {
                name: format!("{} (given twice)", twice.as_ref()),
            });
        }
        ordered.push((name, value));
    }
    match given.first() {
        Some((name, _)) => Err(PathError::Unknown {
            name: name.as_ref().to_owned(),
        }),
        None => Ok(ordered),
    }
}

/// Appends `template` to `out` with each parameter replaced by its value in `ids` (checked
/// already, by [`order`] or [`id_problem`]) as one percent-encoded segment.
pub(crate) fn write<V: AsRef<str>>(
    out: &mut String,
    template: &'static str,
    ids: &[(&'static str, V)],
) {
    let mut rest = template;
    while let Some((before, name, after)) = next_param(rest) {
        out.push_str(before);
        if let Some((_, value)) = ids.iter().find(|(n, _)| *n == name) {
            push_segment(out, value.as_ref());
        }
        rest = after;
    }
    out.push_str(rest);
}

/// Why a path template could not be filled: see
/// [`Operation::fill_path`](crate::Operation::fill_path).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathError {
    /// A parameter of the template was not given.
    Missing {
        /// The parameter's name.
        parameter: &'static str,
    },
    /// A value is unsafe as a path segment (empty, blank, `.`, `..`, over 256 bytes, a
    /// backslash or a control character).
    Unsafe {
        /// The parameter's name.
        parameter: &'static str,
        /// What is wrong with the value.
        problem: String,
    },
    /// A name that is not a parameter of the template (or one given twice).
    Unknown {
        /// The name given.
        name: String,
    },
}

impl PathError {
    /// The template's parameter at fault, if the fault is one of its parameters.
    pub fn parameter(&self) -> Option<&'static str> {
        match self {
            Self::Missing { parameter } | Self::Unsafe { parameter, .. } => Some(parameter),
            Self::Unknown { .. } => None,
        }
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing { parameter } => write!(f, "`{parameter}` is required and was not set"),
            Self::Unsafe { problem, .. } => f.write_str(problem),
            Self::Unknown { name } => write!(f, "there is no path parameter `{name}`"),
        }
    }
}

impl std::error::Error for PathError {}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "/website/{website_id}/conversation/{session_id}";

    fn filled<'v>(ids: impl IntoIterator<Item = (&'v str, &'v str)>) -> Result<String, PathError> {
        let mut out = String::new();
        fill(&mut out, T, ids).map(|()| out)
    }

    #[test]
    fn params_are_listed_in_path_order() {
        assert_eq!(
            PathParams::new(T).collect::<Vec<_>>(),
            ["website_id", "session_id"]
        );
        assert_eq!(PathParams::new("/plain").count(), 0);
    }

    #[test]
    fn ids_are_checked_and_encoded_as_one_segment() {
        assert_eq!(
            filled([("session_id", "a/b?c#d%"), ("website_id", "w")]).unwrap(),
            "/website/w/conversation/a%2Fb%3Fc%23d%25"
        );
        assert_eq!(
            filled([("website_id", "w")]),
            Err(PathError::Missing {
                parameter: "session_id"
            })
        );
        let unsafe_id = filled([("website_id", "w"), ("session_id", "..")]).unwrap_err();
        assert_eq!(unsafe_id.parameter(), Some("session_id"));
        let extra = filled([("website_id", "w"), ("session_id", "s"), ("x", "1")]).unwrap_err();
        assert_eq!(extra.to_string(), "there is no path parameter `x`");
        let twice = filled([
            ("website_id", "w"),
            ("website_id", "v"),
            ("session_id", "s"),
        ]);
        assert!(matches!(twice, Err(PathError::Unknown { .. })), "{twice:?}");
    }

    #[test]
    fn ids_given_in_any_order_take_the_templates_order_and_names() {
        let given = vec![
            ("session_id".to_owned(), "s".to_owned()),
            ("website_id".to_owned(), "w".to_owned()),
        ];
        let ordered = order(T, given).unwrap();
        assert_eq!(
            ordered,
            [
                ("website_id", "w".to_owned()),
                ("session_id", "s".to_owned())
            ]
        );
        let mut out = String::from("https://x/v1");
        write(&mut out, T, &ordered);
        assert_eq!(out, "https://x/v1/website/w/conversation/s");
    }

    #[test]
    fn unsafe_ids_are_named() {
        for bad in [
            "",
            " ",
            ".",
            "..",
            "a\\b",
            "..\\..",
            "a\nb",
            "a\tb",
            "a\u{7f}",
            "a\u{85}b",
            &"x".repeat(MAX_ID_LEN + 1),
        ] {
            assert!(id_problem(bad).is_some(), "{bad:?}");
        }
        for fine in [
            "session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881",
            "a b",
            "a/b",
            "?x=1",
            "%2e%2e",
            "...",
            "café",
            &"x".repeat(MAX_ID_LEN),
        ] {
            assert_eq!(id_problem(fine), None, "{fine:?}");
        }
    }
}

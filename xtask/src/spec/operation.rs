//! What the model knows of one operation: its method and path, its area (tag), its Crisp
//! extensions (scope, access, webhook, effect, paging), and its path template read into
//! pieces, the one place the template is parsed.

/// The HTTP methods an OpenAPI path item may hold, in the order the spec lists them.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// An OpenAPI tag: one area of the API.
#[derive(Debug, Clone)]
pub struct Tag {
    pub name: String,
    pub description: String,
}

/// One operation and its Crisp extensions.
#[derive(Debug, Clone)]
pub struct Operation {
    pub id: String,
    /// Upper-case HTTP method.
    pub method: String,
    pub path: String,
    pub tag: String,
    pub summary: String,
    pub scope: String,
    pub access: String,
    pub webhook: Option<String>,
    pub effect: Option<String>,
    /// `x-crisp-paging`, on list routes.
    pub paging: Option<Paging>,
}

/// One piece of a path template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathPart<'a> {
    /// Literal text, sent as it is.
    Text(&'a str),
    /// A `{name}` path parameter: its name.
    Param(&'a str),
}

impl Operation {
    /// The path template in pieces, in order: literal text and `{name}` parameters. A `{`
    /// that is never closed is text.
    pub fn path_parts(&self) -> Vec<PathPart<'_>> {
        let mut parts = Vec::new();
        let mut rest = self.path.as_str();
        while let Some(open) = rest.find('{') {
            let Some(len) = rest[open..].find('}') else {
                break;
            };
            if open > 0 {
                parts.push(PathPart::Text(&rest[..open]));
            }
            parts.push(PathPart::Param(&rest[open + 1..open + len]));
            rest = &rest[open + len + 1..];
        }
        if !rest.is_empty() {
            parts.push(PathPart::Text(rest));
        }
        parts
    }

    /// The names of its path parameters, in the order the path template has them.
    pub fn path_params(&self) -> Vec<&str> {
        self.path_parts()
            .into_iter()
            .filter_map(|part| match part {
                PathPart::Param(name) => Some(name),
                PathPart::Text(_) => None,
            })
            .collect()
    }
}

/// How a list operation pages (`x-crisp-paging`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paging {
    /// `{style: page_number, page_size, per_page}`: a `{page_number}` path parameter from 1,
    /// until a page holds fewer than `page_size` items; `per_page` names the query parameter
    /// that changes the page size, where the route has one.
    PageNumber {
        page_size: u32,
        per_page: Option<String>,
    },
    /// `{style: timestamp_before}`: backwards, by the `timestamp_before` query parameter.
    TimestampBefore,
}

impl Paging {
    /// The style as the spec spells it.
    pub fn style(&self) -> &'static str {
        match self {
            Self::PageNumber { .. } => PAGE_NUMBER,
            Self::TimestampBefore => TIMESTAMP_BEFORE,
        }
    }
}

/// The paging style, and the path parameter, of routes paged by page number.
pub const PAGE_NUMBER: &str = "page_number";
/// The paging style, and the query parameter, of routes paged backwards by timestamp.
pub const TIMESTAMP_BEFORE: &str = "timestamp_before";

#[cfg(test)]
mod tests {
    use super::*;

    fn operation(path: &str) -> Operation {
        Operation {
            id: "op".into(),
            method: "GET".into(),
            path: path.into(),
            tag: String::new(),
            summary: String::new(),
            scope: String::new(),
            access: String::new(),
            webhook: None,
            effect: None,
            paging: None,
        }
    }

    #[test]
    fn a_path_template_is_read_into_text_and_parameters_in_order() {
        let op = operation("/website/{website_id}/conversation/{session_id}/messages");
        assert_eq!(
            op.path_parts(),
            [
                PathPart::Text("/website/"),
                PathPart::Param("website_id"),
                PathPart::Text("/conversation/"),
                PathPart::Param("session_id"),
                PathPart::Text("/messages"),
            ]
        );
        assert_eq!(op.path_params(), ["website_id", "session_id"]);
        let op = operation("/{a}{b}");
        assert_eq!(op.path_params(), ["a", "b"]);
        assert_eq!(
            operation("/plugins").path_parts(),
            [PathPart::Text("/plugins")]
        );
    }

    #[test]
    fn an_unclosed_brace_is_text() {
        let op = operation("/a/{id}/b/{oops");
        assert_eq!(
            op.path_parts(),
            [
                PathPart::Text("/a/"),
                PathPart::Param("id"),
                PathPart::Text("/b/{oops"),
            ]
        );
        assert_eq!(op.path_params(), ["id"]);
    }
}

//! Which operation a method and path are: a matcher built, when the gateway starts, from the
//! generated table of operations ([`Operation::ALL`]), so an operation added to the spec is
//! served with no hand edit.
//!
//! A path matches a template when it has as many segments and every literal segment is equal;
//! when several templates match (`/people/profile/{people_id}` and a literal at that place,
//! say), the one with the most literal segments wins. The ids are the segments at the
//! template's parameters, percent-decoded (so `%2F` is a `/` inside one id, never a new
//! segment), then checked as crisp-api checks them ([`Operation::fill_path`]: not empty, `.`,
//! `..`, over 256 bytes, nor holding a backslash or a control character).

use crisp_api::{Method, Operation};
use percent_encoding::percent_decode_str;

use crate::refusal::Refusal;

/// The routes of Crisp's REST API v1, from a table of operations.
#[derive(Debug, Clone)]
pub struct Routes {
    routes: Vec<Route>,
}

#[derive(Debug, Clone)]
struct Route {
    operation: &'static Operation,
    segments: Vec<Segment>,
    literals: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment {
    Literal(&'static str),
    Param(&'static str),
}

/// An operation and the ids its path carries, in path order.
pub type Matched = (&'static Operation, Vec<(&'static str, String)>);

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

impl Routes {
    /// The routes of every operation of the spec ([`Operation::ALL`]).
    pub fn new() -> Self {
        Self::of(Operation::ALL)
    }

    /// The routes of `operations`.
    pub fn of(operations: &'static [Operation]) -> Self {
        let routes = operations
            .iter()
            .map(|operation| {
                let segments: Vec<Segment> = operation
                    .path
                    .trim_start_matches('/')
                    .split('/')
                    .map(|segment| {
                        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                            Some(name) => Segment::Param(name),
                            None => Segment::Literal(segment),
                        }
                    })
                    .collect();
                let literals = segments
                    .iter()
                    .filter(|s| matches!(s, Segment::Literal(_)))
                    .count();
                Route {
                    operation,
                    segments,
                    literals,
                }
            })
            .collect();
        Self { routes }
    }

    /// The operation `method` and `path` (under `/v1`, starting with `/`, still
    /// percent-encoded) are, with its ids.
    ///
    /// ```
    /// use crisp_gateway::rest::Routes;
    ///
    /// let routes = Routes::new();
    /// let (op, ids) = routes.find(&http::Method::GET, "/website/w1/conversation/session_a%2Fb")?;
    /// assert_eq!(op.id, "get_conversation");
    /// assert_eq!(ids, [("website_id", "w1".to_owned()), ("session_id", "session_a/b".to_owned())]);
    /// assert_eq!(routes.find(&http::Method::GET, "/website/w1/nothing").unwrap_err().status, 404);
    /// assert_eq!(routes.find(&http::Method::GET, "/website/w1/conversation/%2E%2E").unwrap_err().status, 400);
    /// # Ok::<(), crisp_gateway::refusal::Refusal>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A 404 [`Refusal`] (rule `route`) when no operation has this method and path; a 400
    /// (rule `request`) when an id is not UTF-8 once decoded, or is refused by
    /// [`Operation::fill_path`].
    pub fn find(&self, method: &http::Method, path: &str) -> Result<Matched, Refusal> {
        let not_found = || Refusal::route(method.as_str(), path);
        let method = crisp_method(method).ok_or_else(not_found)?;
        let segments: Vec<&str> = match path.strip_prefix('/') {
            Some(rest) => rest.split('/').collect(),
            None => return Err(not_found()),
        };
        let route = self
            .routes
            .iter()
            .filter(|route| route.operation.method == method && matches(route, &segments))
            .max_by_key(|route| route.literals)
            .ok_or_else(not_found)?;
        let mut ids = Vec::with_capacity(route.segments.len() - route.literals);
        for (segment, raw) in route.segments.iter().zip(&segments) {
            if let Segment::Param(name) = segment {
                let value = percent_decode_str(raw).decode_utf8().map_err(|_| {
                    Refusal::request(format!(
                        "the path id `{name}` is not UTF-8 text once percent-decoded: send the \
                         id as Crisp gave it"
                    ))
                })?;
                ids.push((*name, value.into_owned()));
            }
        }
        let operation = route.operation;
        operation
            .fill_path(ids.iter().map(|(name, value)| (*name, value.as_str())))
            .map_err(|error| {
                let name = error.parameter().unwrap_or("id");
                Refusal::request(format!(
                    "the path id `{name}` of {} is refused: {error}",
                    operation.id
                ))
            })?;
        Ok((operation, ids))
    }
}

fn matches(route: &Route, segments: &[&str]) -> bool {
    route.segments.len() == segments.len()
        && route
            .segments
            .iter()
            .zip(segments)
            .all(|(template, segment)| match template {
                Segment::Literal(literal) => literal == segment,
                Segment::Param(_) => true,
            })
}

/// The API's method for an HTTP method (`HEAD`, `OPTIONS` and others have no operation).
fn crisp_method(method: &http::Method) -> Option<Method> {
    Some(match *method {
        http::Method::GET => Method::Get,
        http::Method::POST => Method::Post,
        http::Method::PUT => Method::Put,
        http::Method::PATCH => Method::Patch,
        http::Method::DELETE => Method::Delete,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation's own path, with sample ids, is found as that operation: no two
    /// templates of one method are ambiguous.
    #[test]
    fn every_operation_is_found_by_its_own_path() {
        let routes = Routes::new();
        for operation in Operation::ALL {
            let ids: Vec<(&str, String)> = operation
                .path_params()
                .map(|name| (name, format!("{name}-1")))
                .collect();
            let path = operation
                .fill_path(ids.iter().map(|(n, v)| (*n, v.as_str())))
                .unwrap();
            let method = http::Method::from(operation.method);
            let (found, found_ids) = routes.find(&method, &path).unwrap();
            assert_eq!(found.id, operation.id, "{path}");
            let expected: Vec<(&str, String)> = ids;
            assert_eq!(found_ids, expected, "{path}");
        }
    }

    #[test]
    fn unknown_methods_paths_and_unsafe_ids_are_refused() {
        let routes = Routes::new();
        let get = http::Method::GET;
        for path in [
            "",
            "/",
            "/website",
            "/website/w1",
            "/website/w1/settings/extra",
        ] {
            assert_eq!(routes.find(&get, path).unwrap_err().status, 404, "{path}");
        }
        let head = routes.find(&http::Method::HEAD, "/website/w1/settings");
        assert_eq!(head.unwrap_err().status, 404);
        let post = routes.find(&http::Method::POST, "/website/w1/settings");
        assert_eq!(
            post.unwrap_err().status,
            404,
            "a method the path has no operation for"
        );
        for path in [
            "/website/../settings",
            "/website/%2e%2e/settings",
            "/website//settings",
            "/website/%5C/settings",
            "/website/%FF/settings",
            "/website/a%00b/settings",
        ] {
            let refused = routes.find(&get, path).unwrap_err();
            assert_eq!(
                (refused.status, refused.reason),
                (400, "invalid_data"),
                "{path}"
            );
            assert!(
                refused.message.contains("website_id"),
                "{}",
                refused.message
            );
        }
    }
}

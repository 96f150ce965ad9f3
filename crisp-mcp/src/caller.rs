//! Who is calling a tool: the MCP client's name, the transport, the HTTP session and a
//! verified Hugo signature, for the audit line, the website binding and whose pending
//! confirmations a preview counts against.

use crate::hugo::HugoRequest;

/// Marks a request served without a session (see
/// [`HttpSettings::stateless`](crate::http::HttpSettings::stateless)): the server reads the
/// client's name from its `User-Agent`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stateless;

/// The longest MCP client name kept (in bytes, cut on a character boundary); the audit line
/// keeps fewer still.
pub const MAX_CLIENT_NAME: usize = 128;

/// Who is calling: for the audit, for the website a Hugo-signed request is bound to, and for
/// whose pending confirmations a preview counts against.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Caller {
    /// The MCP client's name (at most [`MAX_CLIENT_NAME`] bytes).
    pub client: Option<String>,
    /// `stdio` or `http`.
    pub transport: &'static str,
    /// The verified Hugo signature of an HTTP request, if it had one.
    pub hugo: Option<HugoRequest>,
    /// The MCP session over HTTP (`Mcp-Session-Id`), if there is one.
    pub session: Option<String>,
}

impl Caller {
    /// A caller on `transport` (`stdio` or `http`), with the client's name if known (cut to
    /// [`MAX_CLIENT_NAME`] bytes).
    pub fn new(transport: &'static str, client: Option<String>) -> Self {
        Self {
            client: client.map(|name| cut_bytes(name, MAX_CLIENT_NAME)),
            transport,
            hugo: None,
            session: None,
        }
    }

    /// The same caller, from a request Hugo signed.
    #[must_use]
    pub fn with_hugo(mut self, hugo: Option<HugoRequest>) -> Self {
        self.hugo = hugo;
        self
    }

    /// The same caller, in the HTTP session `session`.
    #[must_use]
    pub fn with_session(mut self, session: Option<String>) -> Self {
        self.session = session.map(|id| cut_bytes(id, MAX_CLIENT_NAME));
        self
    }

    /// Whose pending confirmations a preview counts against: the website Hugo signed for,
    /// else the HTTP session, else the transport (a stdio server has one client).
    pub(crate) fn confirmation_key(&self) -> String {
        match (&self.hugo, &self.session) {
            (Some(hugo), _) => format!("hugo:{}", hugo.website_id),
            (None, Some(session)) => format!("session:{session}"),
            (None, None) => self.transport.to_owned(),
        }
    }
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn cut_bytes(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_names_are_cut_on_a_character_boundary() {
        let caller = Caller::new("http", Some("é".repeat(MAX_CLIENT_NAME)));
        let name = caller.client.unwrap();
        assert!(name.len() <= MAX_CLIENT_NAME && name.len() >= MAX_CLIENT_NAME - 1);
        assert!(name.chars().all(|c| c == 'é'));
    }

    #[test]
    fn pending_confirmations_count_against_the_website_then_the_session() {
        let stdio = Caller::new("stdio", None);
        assert_eq!(stdio.confirmation_key(), "stdio");
        let session = Caller::new("http", None).with_session(Some("s1".into()));
        assert_eq!(session.confirmation_key(), "session:s1");
        let hugo = session.with_hugo(Some(HugoRequest {
            website_id: "w1".into(),
            session_id: None,
        }));
        assert_eq!(hugo.confirmation_key(), "hugo:w1");
    }
}

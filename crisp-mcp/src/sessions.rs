//! Caps on streamable HTTP sessions, in total and per client, so that opening sessions cannot
//! grow the process without bound (each lives until it is ended or has been idle for rmcp's
//! keep-alive, 300 s, and keeps its `initialize` parameters).
//!
//! rmcp 3.11's session manager has no cap (its `SessionConfig` bounds a session's channel, its
//! idle time and its wait for `initialize`, not how many there are), so this module wraps its
//! [`LocalSessionManager`]. The HTTP guard reserves a place for the client before a request
//! that may open a session reaches rmcp ([`Sessions::reserve`]: refused when the client or
//! the server is full); rmcp's `create_session`, run within that request, turns the
//! reservation into the session; `close_session` (an HTTP `DELETE`, or the session ending
//! idle) frees it. A reservation that opened nothing is freed when the request ends.
//!
//! A session belongs to whoever opened it: the SHA-256 of the bearer token its `initialize`
//! carried (or none). A request in the session with another token is not let in
//! ([`Sessions::may_use`]), so one principal cannot use another's session (and its server's
//! tools) by learning its id.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Mutex, MutexGuard};

use crate::hash::{self, Digest};

use futures::Stream;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::SessionManager;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::{EventStore, ServerSseMessage, SessionId};

/// How many sessions the server holds at most, all clients together.
pub const DEFAULT_MAX_SESSIONS: usize = 256;
/// How many sessions one client holds at most.
pub const DEFAULT_MAX_SESSIONS_PER_CLIENT: usize = 32;

/// Which cap a new session would pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Full {
    /// The server holds its maximum of sessions.
    Server(usize),
    /// This client holds its maximum of sessions.
    Client(usize),
}

/// The sessions open and being opened, by client.
pub(crate) struct Sessions {
    max: usize,
    max_per_client: usize,
    state: Mutex<State>,
}

/// Who holds an open session: the client it counts against, and the digest of the bearer
/// token that opened it.
struct Holder {
    client: Arc<str>,
    owner: Option<Digest>,
}

#[derive(Default)]
struct State {
    /// Open sessions, and who holds each.
    open: HashMap<SessionId, Holder>,
    /// Places reserved by requests in flight that may open a session, by client.
    reserved: HashMap<Arc<str>, usize>,
}

impl State {
    fn held_by(&self, client: &str) -> usize {
        let open = self.open.values().filter(|h| &*h.client == client).count();
        open + self.reserved.get(client).copied().unwrap_or(0)
    }

    fn total(&self) -> usize {
        self.open.len() + self.reserved.values().sum::<usize>()
    }

    fn unreserve(&mut self, client: &str) {
        if let Some(count) = self.reserved.get_mut(client) {
            *count -= 1;
            if *count == 0 {
                self.reserved.remove(client);
            }
        }
    }
}

impl Sessions {
    /// At most `max` sessions, and `max_per_client` for one client.
    pub fn new(max: usize, max_per_client: usize) -> Arc<Self> {
        Arc::new(Self {
            max,
            max_per_client,
            state: Mutex::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// Reserves a place for one more session of `client`, opened with the bearer token whose
    /// digest is `owner`.
    ///
    /// # Errors
    ///
    /// [`Full`] when the client or the server already holds its maximum.
    pub fn reserve(self: &Arc<Self>, client: &str, owner: Option<Digest>) -> Result<Ticket, Full> {
        let mut state = self.lock();
        if state.held_by(client) >= self.max_per_client {
            return Err(Full::Client(self.max_per_client));
        }
        if state.total() >= self.max {
            return Err(Full::Server(self.max));
        }
        let client: Arc<str> = Arc::from(client);
        *state.reserved.entry(Arc::clone(&client)).or_default() += 1;
        Ok(Ticket {
            sessions: Arc::clone(self),
            client,
            owner,
            used: AtomicBool::new(false),
        })
    }

    /// Whether a request with the bearer token whose digest is `presented` may use session
    /// `id`: the token that opened it (compared in constant time), or none for a session
    /// opened without one. A session this does not know (ended, or never opened) is let
    /// through, for rmcp to answer 404.
    pub fn may_use(&self, id: &str, presented: Option<&Digest>) -> bool {
        let state = self.lock();
        let Some(holder) = state.open.get(id) else {
            return true;
        };
        match (&holder.owner, presented) {
            (None, None) => true,
            (Some(owner), Some(presented)) => hash::same(owner, presented),
            _ => false,
        }
    }

    /// How many sessions are open or being opened.
    #[cfg(test)]
    fn total(&self) -> usize {
        self.lock().total()
    }

    /// A session opened without a reservation (not through the HTTP guard): counted under
    /// no client.
    fn open_unreserved(&self, id: &SessionId) {
        let holder = Holder {
            client: Arc::from(""),
            owner: None,
        };
        self.lock().open.insert(id.clone(), holder);
    }

    fn close(&self, id: &SessionId) {
        self.lock().open.remove(id);
    }
}

/// A reserved place for one session; freed on drop unless a session took it.
pub(crate) struct Ticket {
    sessions: Arc<Sessions>,
    client: Arc<str>,
    owner: Option<Digest>,
    used: AtomicBool,
}

impl Ticket {
    /// The session `id` takes the reserved place (once; a second session is unreserved).
    fn open(&self, id: &SessionId) {
        if self.used.swap(true, Ordering::AcqRel) {
            self.sessions.open_unreserved(id);
            return;
        }
        let mut state = self.sessions.lock();
        state.unreserve(&self.client);
        let holder = Holder {
            client: Arc::clone(&self.client),
            owner: self.owner,
        };
        state.open.insert(id.clone(), holder);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.used.load(Ordering::Acquire) {
            self.sessions.lock().unreserve(&self.client);
        }
    }
}

tokio::task_local! {
    /// The reservation of the request being served, for `create_session` to take.
    static TICKET: Ticket;
}

/// Runs `request` (the rest of the HTTP stack) with `ticket` for a session it may open.
pub(crate) async fn with_ticket<F: Future>(ticket: Ticket, request: F) -> F::Output {
    TICKET.scope(ticket, request).await
}

/// rmcp's in-memory session manager, its sessions counted in [`Sessions`].
pub(crate) struct Capped {
    inner: LocalSessionManager,
    sessions: Arc<Sessions>,
}

impl Capped {
    /// rmcp's default session manager, counted in `sessions`.
    pub fn new(sessions: Arc<Sessions>) -> Self {
        Self {
            inner: LocalSessionManager::default(),
            sessions,
        }
    }
}

type Inner = LocalSessionManager;

impl SessionManager for Capped {
    type Error = <Inner as SessionManager>::Error;
    type Transport = <Inner as SessionManager>::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        let (id, transport) = self.inner.create_session().await?;
        if TICKET.try_with(|ticket| ticket.open(&id)).is_err() {
            self.sessions.open_unreserved(&id);
        }
        Ok((id, transport))
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        self.inner.initialize_session(id, message).await
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        self.inner.has_session(id).await
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        let closed = self.inner.close_session(id).await;
        self.sessions.close(id);
        closed
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.create_stream(id, message).await
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), Self::Error> {
        self.inner.accept_message(id, message).await
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.create_standalone_stream(id).await
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.resume(id, last_event_id).await
    }

    // `restore_session` keeps the trait's default (not supported): no session store is
    // configured, and every session is opened through `create_session`, where it is counted.

    fn event_store(&self) -> Option<Arc<dyn EventStore>> {
        self.inner.event_store()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_reserved_taken_and_freed() {
        let sessions = Sessions::new(3, 2);
        let a1 = sessions.reserve("a", None).unwrap();
        let a2 = sessions.reserve("a", None).unwrap();
        assert_eq!(sessions.reserve("a", None).err(), Some(Full::Client(2)));
        let b1 = sessions.reserve("b", None).unwrap();
        assert_eq!(sessions.reserve("c", None).err(), Some(Full::Server(3)));

        // A reservation that opened nothing is freed with the request.
        drop(a2);
        assert_eq!(sessions.total(), 2);
        let id: SessionId = Arc::from("session-1");
        a1.open(&id);
        drop(a1);
        assert_eq!(sessions.total(), 2, "the open session keeps its place");
        assert_eq!(sessions.reserve("a", None).map(drop), Ok(()));
        drop(b1);
        sessions.close(&id);
        assert_eq!(sessions.total(), 0);
    }

    #[test]
    fn a_session_is_used_only_with_the_token_that_opened_it() {
        let sessions = Sessions::new(8, 8);
        let (alice, bob) = (hash::sha256(b"alice"), hash::sha256(b"bob"));
        let id: SessionId = Arc::from("session-a");
        sessions.reserve("peer", Some(alice)).unwrap().open(&id);
        assert!(sessions.may_use("session-a", Some(&alice)));
        assert!(!sessions.may_use("session-a", Some(&bob)));
        assert!(!sessions.may_use("session-a", None));
        let open: SessionId = Arc::from("session-open");
        sessions.reserve("peer", None).unwrap().open(&open);
        assert!(sessions.may_use("session-open", None));
        assert!(!sessions.may_use("session-open", Some(&alice)));
        assert!(
            sessions.may_use("no-such-session", Some(&bob)),
            "rmcp answers 404"
        );
    }
}

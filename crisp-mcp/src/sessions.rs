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

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Mutex, MutexGuard};

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

#[derive(Default)]
struct State {
    /// Open sessions, and the client each belongs to.
    open: HashMap<SessionId, Arc<str>>,
    /// Places reserved by requests in flight that may open a session, by client.
    reserved: HashMap<Arc<str>, usize>,
}

impl State {
    fn held_by(&self, client: &str) -> usize {
        let open = self.open.values().filter(|c| &***c == client).count();
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

    /// Reserves a place for one more session of `client`.
    ///
    /// # Errors
    ///
    /// [`Full`] when the client or the server already holds its maximum.
    pub fn reserve(self: &Arc<Self>, client: &str) -> Result<Ticket, Full> {
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
            used: AtomicBool::new(false),
        })
    }

    /// How many sessions are open or being opened.
    #[cfg(test)]
    fn total(&self) -> usize {
        self.lock().total()
    }

    /// A session opened without a reservation (not through the HTTP guard): counted under
    /// no client.
    fn open_unreserved(&self, id: &SessionId) {
        self.lock().open.insert(id.clone(), Arc::from(""));
    }

    fn close(&self, id: &SessionId) {
        self.lock().open.remove(id);
    }
}

/// A reserved place for one session; freed on drop unless a session took it.
pub(crate) struct Ticket {
    sessions: Arc<Sessions>,
    client: Arc<str>,
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
        state.open.insert(id.clone(), Arc::clone(&self.client));
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
        let a1 = sessions.reserve("a").unwrap();
        let a2 = sessions.reserve("a").unwrap();
        assert_eq!(sessions.reserve("a").err(), Some(Full::Client(2)));
        let b1 = sessions.reserve("b").unwrap();
        assert_eq!(sessions.reserve("c").err(), Some(Full::Server(3)));

        // A reservation that opened nothing is freed with the request.
        drop(a2);
        assert_eq!(sessions.total(), 2);
        let id: SessionId = Arc::from("session-1");
        a1.open(&id);
        drop(a1);
        assert_eq!(sessions.total(), 2, "the open session keeps its place");
        assert_eq!(sessions.reserve("a").map(drop), Ok(()));
        drop(b1);
        sessions.close(&id);
        assert_eq!(sessions.total(), 0);
    }
}

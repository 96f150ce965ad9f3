//! The policy's revisions in a store that replicas share ([`PolicyRevisions`], through
//! [`Store::revisions`](super::Store::revisions)): the policy a replica puts in force is
//! written here, and the other replicas are told at once and load it (see
//! [`policy_sync`](crate::policy_sync)). A store of one process (SQLite) keeps none.

use futures::future::BoxFuture;

use super::error::StoreError;

/// One revision of the policy: the whole text of the file that was put in force, validated
/// before it was written.
#[derive(Clone, PartialEq, Eq)]
pub struct Revision {
    /// Its number: each revision's is larger than the one before.
    pub revision: i64,
    /// The policy file's text.
    pub text: String,
    /// Where it came from (the replica's policy file), for the operator.
    pub source: String,
    /// When it was written (Unix milliseconds, the writing replica's clock).
    pub published_ms: i64,
}

impl std::fmt::Debug for Revision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The text is the operator's policy: its length only, not its content, in logs.
        f.debug_struct("Revision")
            .field("revision", &self.revision)
            .field("source", &self.source)
            .field("published_ms", &self.published_ms)
            .field("text_len", &self.text.len())
            .finish()
    }
}

/// The policy's revisions, shared by replicas.
pub trait PolicyRevisions: Send + Sync {
    /// Writes `text` as the newest revision and tells every replica watching
    /// ([`watch`](Self::watch)), in one transaction; returns its number.
    fn publish<'a>(
        &'a self,
        text: &'a str,
        source: &'a str,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<i64, StoreError>>;

    /// The newest revision, if any was written.
    fn latest(&self) -> BoxFuture<'_, Result<Option<Revision>, StoreError>>;

    /// Starts watching for new revisions (a connection of its own, held while it lives).
    fn watch(&self) -> BoxFuture<'_, Result<Box<dyn RevisionWatch>, StoreError>>;
}

/// A watch on the policy's revisions ([`PolicyRevisions::watch`]).
pub trait RevisionWatch: Send {
    /// Waits until the newest revision may have changed: `Some(n)` when revision `n` was
    /// announced, `None` when the watch lost its connection and got it back (announcements in
    /// between are lost: read [`PolicyRevisions::latest`]).
    fn changed(&mut self) -> BoxFuture<'_, Result<Option<i64>, StoreError>>;
}

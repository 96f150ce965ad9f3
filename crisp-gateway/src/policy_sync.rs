//! One policy for every replica: [`PolicySync`] keeps a gateway's policy in step with the
//! revisions in a shared store ([`PolicyRevisions`], PostgreSQL).
//!
//! - **Reload** (SIGHUP, `crisp-gateway reload`) on one replica: it re-reads its policy file,
//!   validates it, puts it in force, and writes it to the store as a new revision, which
//!   `NOTIFY`s every replica in the same transaction.
//! - **The others** `LISTEN`: on a notification (or after their watch lost its connection and got
//!   it back), they read the newest revision and put it in force, validated as a file is. A
//!   revision they refuse (a bad text, or one this binary does not understand) is logged and the
//!   policy in force stays.
//! - **At start**, with `--policy FILE` on a store that has revisions, **the newer wins**: the
//!   store's newest revision when it was written after the file was last modified (another
//!   replica was reloaded since this file was written: a replica restarted with a stale file
//!   joins the others' policy), the file otherwise (it is then written as the new revision: a
//!   restart with an edited file is a reload for every replica). The same text is no new
//!   revision. Clocks: the file's time is its host's, the revision's its writer's; hosts whose
//!   clocks disagree by more than the time between two edits may choose wrongly (keep them in
//!   sync, as the daily counters need anyway).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use crate::gateway::Gateway;
use crate::policy::Policy;
use crate::store::{PolicyRevisions, Revision, RevisionWatch, StoreError, now_ms, unix_ms};

/// How long a replica waits before watching again after its watch failed.
const WATCH_AGAIN: Duration = Duration::from_secs(1);

/// A gateway's policy kept in step with the store's revisions. See the [module docs](self).
pub struct PolicySync {
    gateway: Arc<Gateway>,
    file: PathBuf,
    /// The revision in force here (0: none yet). Held across a publish or a catch-up, so the
    /// two never interleave.
    current: Mutex<i64>,
}

impl std::fmt::Debug for PolicySync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicySync")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl PolicySync {
    /// Settles the policy of a replica starting with the policy file `file` (already loaded
    /// into `gateway`): the newer of the file and the store's newest revision (see the
    /// [module docs](self)). `None` when the gateway's store keeps no revisions (SQLite).
    ///
    /// # Errors
    /// The store cannot be read or written, or the file cannot be read again: one sentence.
    pub async fn start(gateway: Arc<Gateway>, file: &Path) -> Result<Option<Arc<Self>>, String> {
        if gateway.store().revisions().is_none() {
            return Ok(None);
        }
        let sync = Arc::new(Self {
            gateway,
            file: file.to_owned(),
            current: Mutex::new(0),
        });
        let text = read(file)?;
        let latest = sync.latest().await.map_err(|e| e.to_string())?;
        let mut current = sync.current.lock().await;
        match latest {
            Some(latest) if latest.text == text => *current = latest.revision,
            Some(latest) if latest.published_ms > modified_ms(file) => {
                *current = latest.revision;
                sync.put_in_force(&latest, "at start: newer than the policy file");
            }
            _ => {
                *current = sync.publish(&text).await?;
                tracing::info!(
                    revision = *current,
                    file = %file.display(),
                    "the policy file is the replicas' policy: written to the store"
                );
            }
        }
        drop(current);
        Ok(Some(sync))
    }

    /// The store's revisions ([`start`](Self::start) made sure it keeps them).
    fn revisions(&self) -> Result<&dyn PolicyRevisions, StoreError> {
        self.gateway
            .store()
            .revisions()
            .ok_or_else(|| StoreError::Failed {
                action: "reading the policy's revisions",
                detail: "this store keeps none (only PostgreSQL does)".to_owned(),
            })
    }

    async fn latest(&self) -> Result<Option<Revision>, StoreError> {
        self.revisions()?.latest().await
    }

    async fn watch(&self) -> Result<Box<dyn RevisionWatch>, StoreError> {
        self.revisions()?.watch().await
    }

    /// Re-reads the policy file: a valid one is put in force here and written to the store,
    /// from which every other replica loads it; a refused one is logged and the policy in force
    /// stays (here and elsewhere).
    pub async fn reload(&self) {
        let text = match read(&self.file) {
            Ok(text) => text,
            Err(error) => {
                tracing::error!(%error, "the policy was not reloaded: the policy in force stays");
                return;
            }
        };
        let policy = match Policy::parse(&text, &self.file.display().to_string()) {
            Ok(policy) => policy,
            Err(error) => {
                tracing::error!(
                    %error,
                    "the policy was not reloaded: the file is refused, and the policy in force \
                     stays"
                );
                return;
            }
        };
        let mut current = self.current.lock().await;
        let agents = policy.agents().len();
        self.gateway.reload(policy);
        match self.publish(&text).await {
            Ok(revision) => {
                *current = revision;
                tracing::info!(
                    file = %self.file.display(),
                    agents,
                    revision,
                    "policy reloaded, and written to the store for the other replicas"
                );
            }
            Err(error) => tracing::error!(
                %error,
                "the policy was reloaded here but not written to the store: the other replicas \
                 keep theirs (reload again once the store is back)"
            ),
        }
    }

    /// Watches the store's revisions until the task is aborted, putting each new one in
    /// force. A failed watch is logged and started again.
    pub async fn listen(self: Arc<Self>) {
        loop {
            match self.watch().await {
                Ok(mut watch) => {
                    // A revision written while this replica was not yet watching.
                    self.catch_up().await;
                    loop {
                        match watch.changed().await {
                            Ok(_) => self.catch_up().await,
                            Err(error) => {
                                tracing::warn!(%error, "the watch on the policy's revisions failed");
                                break;
                            }
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot watch the policy's revisions; trying again");
                }
            }
            tokio::time::sleep(WATCH_AGAIN).await;
        }
    }

    /// Puts the store's newest revision in force if it is newer than the one in force here.
    async fn catch_up(&self) {
        let mut current = self.current.lock().await;
        match self.latest().await {
            Ok(Some(latest)) if latest.revision > *current => {
                // Refused or not, it is the store's newest: not tried again.
                *current = latest.revision;
                self.put_in_force(&latest, "written by another replica");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "the policy's newest revision cannot be read"),
        }
    }

    /// Validates `revision` and puts it in force, or logs why not (the policy in force stays).
    fn put_in_force(&self, revision: &Revision, why: &str) {
        let name = format!(
            "policy revision {} ({})",
            revision.revision, revision.source
        );
        match Policy::parse(&revision.text, &name) {
            Ok(policy) => {
                let agents = policy.agents().len();
                self.gateway.reload(policy);
                tracing::info!(
                    revision = revision.revision,
                    source = %revision.source,
                    agents,
                    "{why}: the store's policy revision is in force"
                );
            }
            Err(error) => tracing::error!(
                %error,
                revision = revision.revision,
                "the store's policy revision is refused: the policy in force stays"
            ),
        }
    }

    async fn publish(&self, text: &str) -> Result<i64, String> {
        self.revisions()
            .map_err(|e| e.to_string())?
            .publish(text, &self.file.display().to_string(), now_ms())
            .await
            .map_err(|e| e.to_string())
    }
}

fn read(file: &Path) -> Result<String, String> {
    std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read the policy file {} ({e})", file.display()))
}

/// When `file` was last modified (Unix milliseconds; 0 when the system cannot say, so the
/// store's revision wins).
fn modified_ms(file: &Path) -> i64 {
    std::fs::metadata(file)
        .and_then(|m| m.modified())
        .map_or(0, unix_ms)
}

//! [`AuditLog`]: every request's audit row, written off the request path.
//!
//! [`record`](AuditLog::record) puts a row on a bounded queue and returns at once; one writer
//! task takes rows off it in batches (up to [`AuditConfig::batch_rows`] rows, or what arrived
//! within [`AuditConfig::batch_wait`] of the first) and writes each batch in one transaction, so
//! a call costs no disk sync of its own.
//!
//! Nothing is dropped silently:
//! - a batch that fails to be written is kept and retried (backing off), and
//!   [`is_writable`](AuditLog::is_writable) turns false until a write succeeds: the gateway then
//!   refuses new calls (503) rather than make calls it cannot log;
//! - when the queue is full (the store is down or slower than the traffic), `record` says so and
//!   the caller refuses the call;
//! - [`flush`](AuditLog::flush) returns once every row recorded before it is written, and
//!   [`shutdown`](AuditLog::shutdown) writes everything queued before it returns, or says how
//!   many rows it could not write.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::store::{AuditRow, Store, StoreError};

/// The most an audit row keeps of a text from outside (a client's `User-Agent`, Crisp's
/// `reason`), in bytes.
const OUTSIDE_TEXT_MAX: usize = 200;

/// `text` as an audit row keeps it: its first [`OUTSIDE_TEXT_MAX`] bytes, cut at a character
/// boundary.
pub(crate) fn kept_text(text: &str) -> String {
    truncate(text, OUTSIDE_TEXT_MAX).to_owned()
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// How the [`AuditLog`] queues and batches. [`Default`] suits the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditConfig {
    /// Rows that may wait for the writer; past this, [`AuditLog::record`] refuses. Default
    /// 32,768 (a few megabytes; seconds of traffic at the gateway's rate).
    pub capacity: usize,
    /// Rows written in one transaction at most. Default 512.
    pub batch_rows: usize,
    /// How long the writer waits, after a batch's first row, for more rows to join it. Default
    /// 20 ms.
    pub batch_wait: Duration,
    /// The wait before retrying a failed batch; it doubles with each failure in a row, up to
    /// [`max_retry_wait`](Self::max_retry_wait). Default 100 ms.
    pub retry_wait: Duration,
    /// The longest wait between retries. Default 5 s.
    pub max_retry_wait: Duration,
    /// At shutdown, how many failed writes in a row make the writer give up on the rows still
    /// queued (and [`AuditLog::shutdown`] report them). Default 5.
    pub shutdown_attempts: u32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            capacity: 32_768,
            batch_rows: 512,
            batch_wait: Duration::from_millis(20),
            retry_wait: Duration::from_millis(100),
            max_retry_wait: Duration::from_secs(5),
            shutdown_attempts: 5,
        }
    }
}

/// What the [`AuditLog`] could not do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditError {
    /// The queue is full: the row was not taken. Refuse the call (503).
    Full {
        /// The queue's capacity ([`AuditConfig::capacity`]).
        capacity: usize,
    },
    /// The log has been shut down: the row was not taken.
    Closed,
    /// At shutdown the store still could not be written: these rows were not.
    Unwritten {
        /// How many rows were lost.
        rows: usize,
        /// The store's last error.
        error: StoreError,
    },
    /// The writer task ended abnormally (a bug): what was queued may not have been written.
    WriterStopped {
        /// What the runtime said.
        detail: String,
    },
}

impl fmt::Display for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full { capacity } => write!(
                f,
                "the audit queue is full ({capacity} rows wait for the store): the store is down \
                 or slower than the traffic; calls are refused until it catches up"
            ),
            Self::Closed => write!(
                f,
                "the audit log is shut down: no more calls can be logged, so none are made"
            ),
            Self::Unwritten { rows, error } => write!(
                f,
                "{rows} audit rows could not be written before shutdown: {error}"
            ),
            Self::WriterStopped { detail } => write!(
                f,
                "the audit writer stopped unexpectedly ({detail}): rows queued may not be \
                 written; restart the gateway"
            ),
        }
    }
}

impl std::error::Error for AuditError {}

// Nearly every message is a row: boxing it would add an allocation per call to spare the rare
// flush a few hundred bytes of queue slot.
#[allow(clippy::large_enum_variant)]
enum Message {
    Row(AuditRow),
    Flush(oneshot::Sender<Result<(), AuditError>>),
}

/// The audit log (see the [module docs](self)). Share it by reference or `Arc`.
#[derive(Debug)]
pub struct AuditLog {
    queue: mpsc::Sender<Message>,
    /// Wakes the writer out of a batch's wait for a flush (rows never wake it: see `collect`).
    flush_now: Arc<Notify>,
    capacity: usize,
    writable: watch::Receiver<bool>,
    closing: watch::Sender<bool>,
    writer: Mutex<Option<JoinHandle<Result<(), AuditError>>>>,
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Row(_) => "Row",
            Self::Flush(_) => "Flush",
        })
    }
}

impl AuditLog {
    /// Starts the writer task on the current Tokio runtime, writing to `store`.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn start(store: Arc<dyn Store>, config: AuditConfig) -> Self {
        let capacity = config.capacity.max(1);
        let (queue, receiver) = mpsc::channel(capacity);
        let (writable_tx, writable) = watch::channel(true);
        let (closing, closing_rx) = watch::channel(false);
        let flush_now = Arc::new(Notify::new());
        let writer = Writer {
            flush_now: Arc::clone(&flush_now),
            store,
            queue: receiver,
            closing: closing_rx,
            closing_seen: false,
            open: true,
            writable: writable_tx,
            batch_rows: config.batch_rows.max(1),
            config,
            batch: Vec::new(),
            flushers: Vec::new(),
            failures: 0,
        };
        Self {
            queue,
            flush_now,
            capacity,
            writable,
            closing,
            writer: Mutex::new(Some(tokio::spawn(writer.run()))),
        }
    }

    /// Queues a row for the writer and returns at once (never waits for the store).
    ///
    /// # Errors
    /// [`AuditError::Full`] when the queue is full and [`AuditError::Closed`] after shutdown:
    /// the row was not taken, and the call it describes must be refused.
    pub fn record(&self, row: AuditRow) -> Result<(), AuditError> {
        self.queue.try_send(Message::Row(row)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => AuditError::Full {
                capacity: self.capacity,
            },
            mpsc::error::TrySendError::Closed(_) => AuditError::Closed,
        })
    }

    /// Takes a place on the queue for a row to come, and returns at once: the gateway takes it
    /// before it sends a call upstream, so that the call's row can always be recorded once the
    /// answer is in (a call is never made that its row could not follow).
    ///
    /// # Errors
    /// [`AuditError::Full`] when the queue is full and [`AuditError::Closed`] after shutdown:
    /// refuse the call.
    pub fn reserve(&self) -> Result<AuditSlot, AuditError> {
        self.queue
            .clone()
            .try_reserve_owned()
            .map(AuditSlot)
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => AuditError::Full {
                    capacity: self.capacity,
                },
                mpsc::error::TrySendError::Closed(_) => AuditError::Closed,
            })
    }

    /// Whether the last write succeeded: false from a failed batch until a later write
    /// succeeds (the gateway refuses new calls meanwhile), and false after shutdown.
    pub fn is_writable(&self) -> bool {
        *self.writable.borrow()
    }

    /// A receiver of [`is_writable`](Self::is_writable)'s changes (a health endpoint, or a test
    /// that waits for one).
    pub fn watch_writable(&self) -> watch::Receiver<bool> {
        self.writable.clone()
    }

    /// Rows waiting for the writer now.
    pub fn queued(&self) -> usize {
        self.capacity - self.queue.capacity()
    }

    /// Waits until every row recorded before this call is written. While the store cannot be
    /// written this waits for it to recover: bound it with a timeout where that matters.
    ///
    /// # Errors
    /// [`AuditError::Closed`] after shutdown; [`AuditError::Unwritten`] when shutdown gave up
    /// on the rows this flush waited for.
    pub async fn flush(&self) -> Result<(), AuditError> {
        let (done, answer) = oneshot::channel();
        self.queue
            .send(Message::Flush(done))
            .await
            .map_err(|_| AuditError::Closed)?;
        self.flush_now.notify_one();
        answer.await.unwrap_or(Err(AuditError::Closed))
    }

    /// Stops taking rows, writes every row queued, and returns when the writer is done. While
    /// the store cannot be written it retries [`AuditConfig::shutdown_attempts`] times in a row
    /// before giving up. Only the first call waits; later ones return at once.
    ///
    /// # Errors
    /// [`AuditError::Unwritten`] with the rows that could not be written;
    /// [`AuditError::WriterStopped`] if the writer task ended abnormally.
    pub async fn shutdown(&self) -> Result<(), AuditError> {
        self.closing.send_replace(true);
        let writer = self.writer.lock().map_or(None, |mut w| w.take());
        match writer {
            None => Ok(()),
            Some(handle) => handle.await.unwrap_or_else(|e| {
                Err(AuditError::WriterStopped {
                    detail: e.to_string(),
                })
            }),
        }
    }
}

/// A place on the [`AuditLog`]'s queue, taken by [`AuditLog::reserve`]: recording into it
/// cannot fail. Dropped unused, the place is given back. Shutdown waits for the rows of the
/// places still held.
#[derive(Debug)]
pub struct AuditSlot(mpsc::OwnedPermit<Message>);

impl AuditSlot {
    /// Queues `row` in this place, for the writer.
    pub fn record(self, row: AuditRow) {
        self.0.send(Message::Row(row));
    }
}

/// What ended a batch's wait.
enum Woken {
    Closing,
    Flush,
    Deadline,
}

/// The one task that writes: see the [module docs](self).
struct Writer {
    store: Arc<dyn Store>,
    queue: mpsc::Receiver<Message>,
    closing: watch::Receiver<bool>,
    flush_now: Arc<Notify>,
    /// Shutdown was asked for and the queue is closed to new rows.
    closing_seen: bool,
    /// The queue may still hold messages (false once it is closed and empty).
    open: bool,
    writable: watch::Sender<bool>,
    config: AuditConfig,
    batch_rows: usize,
    /// The rows of the next write (kept across failed writes).
    batch: Vec<AuditRow>,
    /// Flushes waiting for `batch` to be written.
    flushers: Vec<oneshot::Sender<Result<(), AuditError>>>,
    /// Failed writes in a row.
    failures: u32,
}

impl Writer {
    async fn run(mut self) -> Result<(), AuditError> {
        let result = self.write_until_closed().await;
        self.writable.send_replace(false);
        result
    }

    async fn write_until_closed(&mut self) -> Result<(), AuditError> {
        loop {
            self.collect().await;
            if self.batch.is_empty() {
                self.answer_flushers(&Ok(()));
                if !self.open {
                    return Ok(());
                }
                continue;
            }
            match self.store.write_audit(&self.batch).await {
                Ok(()) => {
                    if self.failures > 0 {
                        tracing::info!(
                            target: "crisp_gateway::audit",
                            failures = self.failures,
                            "the audit store is writable again"
                        );
                    }
                    self.batch.clear();
                    self.failures = 0;
                    self.writable
                        .send_if_modified(|w| !std::mem::replace(w, true));
                    self.answer_flushers(&Ok(()));
                }
                Err(error) => {
                    self.failures += 1;
                    self.writable.send_if_modified(std::mem::take);
                    tracing::warn!(
                        target: "crisp_gateway::audit",
                        rows = self.batch.len(),
                        failures = self.failures,
                        %error,
                        "audit rows not written: kept and retried; new calls are refused meanwhile"
                    );
                    if self.closing_seen && self.failures >= self.config.shutdown_attempts {
                        return Err(self.give_up(error));
                    }
                }
            }
        }
    }

    /// Fills `batch` (and `flushers`) for the next write. Idle, it waits for the first message
    /// without a deadline; then it gathers until the batch is full, a flush asks for a write,
    /// the queue is closed and empty, or the batch's wait is over. While it waits it does not
    /// listen to the queue (rows arriving do not wake it: a call's row costs no wake-up of the
    /// writer), only to shutdown and to flushes; it takes what arrived when the wait ends. After
    /// a failed write the wait is the retry's backoff, which only a new flush cuts short (the
    /// flushes already waiting wait for the retry: a failing store is never retried in a tight
    /// loop).
    async fn collect(&mut self) {
        if self.batch.is_empty() && self.flushers.is_empty() && self.open {
            self.receive().await;
        }
        let retrying = self.failures > 0;
        let deadline = Instant::now()
            + if retrying {
                self.retry_wait()
            } else {
                self.config.batch_wait
            };
        let waiting = if retrying { self.flushers.len() } else { 0 };
        loop {
            self.drain();
            let room = self.open && self.batch.len() < self.batch_rows;
            let asked = self.flushers.len() > waiting;
            if asked || (!retrying && !room) {
                return;
            }
            let woken = tokio::select! {
                biased;
                _ = self.closing.wait_for(|closing| *closing), if !self.closing_seen => {
                    Woken::Closing
                }
                () = self.flush_now.notified() => Woken::Flush,
                () = tokio::time::sleep_until(deadline) => Woken::Deadline,
            };
            match woken {
                // Rows recorded before the close are still in the queue and are drained;
                // later ones are refused with `Closed`.
                Woken::Closing => self.close_queue(),
                Woken::Flush => {}
                Woken::Deadline => {
                    self.drain();
                    return;
                }
            }
        }
    }

    /// Takes one message, waiting for it (or notices shutdown).
    async fn receive(&mut self) {
        let message = tokio::select! {
            biased;
            _ = self.closing.wait_for(|closing| *closing), if !self.closing_seen => None,
            message = self.queue.recv() => Some(message),
        };
        match message {
            None => self.close_queue(),
            Some(message) => self.take(message),
        }
    }

    /// Shutdown was asked for: the queue takes no more rows (those in it are still drained).
    fn close_queue(&mut self) {
        self.closing_seen = true;
        self.queue.close();
    }

    /// Takes every message already queued, while the batch has room.
    fn drain(&mut self) {
        while self.open && self.batch.len() < self.batch_rows {
            match self.queue.try_recv() {
                Ok(message) => self.take(Some(message)),
                Err(mpsc::error::TryRecvError::Empty) => return,
                Err(mpsc::error::TryRecvError::Disconnected) => self.take(None),
            }
        }
    }

    fn take(&mut self, message: Option<Message>) {
        match message {
            Some(Message::Row(row)) => self.batch.push(row),
            Some(Message::Flush(done)) => self.flushers.push(done),
            None => self.open = false,
        }
    }

    fn retry_wait(&self) -> Duration {
        let doublings = self.failures.saturating_sub(1).min(16);
        self.config
            .retry_wait
            .saturating_mul(1 << doublings)
            .min(self.config.max_retry_wait)
    }

    fn answer_flushers(&mut self, answer: &Result<(), AuditError>) {
        for done in self.flushers.drain(..) {
            // A flush whose caller has gone needs no answer.
            let _ = done.send(answer.clone());
        }
    }

    /// Shutdown with a store that stays unwritable: count and report what is lost.
    fn give_up(&mut self, error: StoreError) -> AuditError {
        let mut rows = std::mem::take(&mut self.batch).len();
        while let Ok(message) = self.queue.try_recv() {
            match message {
                Message::Row(_) => rows += 1,
                Message::Flush(done) => self.flushers.push(done),
            }
        }
        let lost = AuditError::Unwritten { rows, error };
        tracing::error!(
            target: "crisp_gateway::audit",
            error = %lost,
            "giving up on audit rows at shutdown"
        );
        self.answer_flushers(&Err(lost.clone()));
        lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_outside_texts_are_cut_on_a_character() {
        assert_eq!(truncate("abc", 10), "abc");
        assert_eq!(truncate("aé", 2), "a");
        assert_eq!(truncate("abcdef", 3), "abc");
        assert_eq!(kept_text(&"é".repeat(150)).len(), 200);
    }
}

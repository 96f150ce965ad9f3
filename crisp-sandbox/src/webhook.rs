//! Webhook deliveries: every event a call fires is posted, signed as Crisp signs plugin hooks,
//! to each registered endpoint (one, or several: the replicas of a receiver), and retried with
//! backoff while the endpoint fails. A delivery can also be posted once more after it was
//! delivered ([`Sandbox::set_webhook_repeat`](crate::Sandbox::set_webhook_repeat)), as Crisp
//! does when it did not see the answer in time: a receiver must handle each event once.
//!
//! The API call that fired an event never waits for it: the delivery joins a bounded queue,
//! from which a fixed number of senders post, each attempt within a timeout. A delivery fired
//! while the queue is full is dropped, counted and logged, so an endpoint that never answers
//! holds at most [`WebhookLimits::concurrency`] connections, whatever the API is asked to do.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crisp_api::types::SecretString;
use crisp_api::webhook::{ATTEMPT_COUNT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};

use crate::util::{now_ms, redacted_url};

/// How many delivery records the sandbox keeps (the oldest are dropped first).
const KEPT_RECORDS: usize = 1000;

/// How a failed delivery is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookRetry {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// The wait after the first failure; it doubles after each further failure.
    pub initial_backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
    /// How long one attempt may take before it counts as failed.
    pub timeout: Duration,
}

impl Default for WebhookRetry {
    /// 6 attempts, waiting 1 s, 2 s, 4 s, 8 s and 16 s between them; 10 s per attempt.
    fn default() -> Self {
        Self {
            max_attempts: 6,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
        }
    }
}

impl WebhookRetry {
    /// The wait before attempt `attempt + 1`, after `attempt` failed attempts.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// How many deliveries may wait, and how many may be in progress at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookLimits {
    /// Deliveries waiting for a sender (at least 1). One fired while this many wait is dropped:
    /// never attempted, recorded with `dropped`, counted by
    /// [`Sandbox::dropped_deliveries`](crate::Sandbox::dropped_deliveries) and logged as a
    /// warning.
    pub queue: usize,
    /// Deliveries in progress at once, each with at most one connection open (at least 1). A
    /// delivery keeps its sender through its retries and their waits.
    pub concurrency: usize,
}

impl Default for WebhookLimits {
    /// 1,024 waiting, 8 in progress.
    fn default() -> Self {
        Self {
            queue: 1024,
            concurrency: 8,
        }
    }
}

/// One webhook delivery, as far as it has gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryRecord {
    /// The delivery's number, counting from 1 in the order events were fired.
    pub id: u64,
    /// The event name, such as `message:received`.
    pub event: String,
    /// The endpoint it is posted to, with its user info and query redacted (they may hold
    /// credentials).
    pub url: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// The status of the last attempt, if the endpoint answered at all.
    pub last_status: Option<u16>,
    /// Whether an attempt got a 2xx answer.
    pub delivered: bool,
    /// Whether the sandbox stopped trying without success (a dropped delivery too).
    pub gave_up: bool,
    /// Whether it was dropped without an attempt, because the queue was full.
    pub dropped: bool,
    /// The delivery body, exactly as posted and signed.
    pub body: String,
}

/// Where deliveries go.
#[derive(Clone)]
struct Endpoint {
    url: String,
    /// The URL as it may be logged and recorded.
    redacted: String,
    secret: SecretString,
}

impl Endpoint {
    fn new(url: String, secret: SecretString) -> Self {
        Self {
            redacted: redacted_url(&url),
            url,
            secret,
        }
    }
}

/// One delivery to make.
struct Job {
    id: u64,
    endpoint: Endpoint,
    body: String,
    /// Post it once more after it is delivered.
    repeat: bool,
}

/// The delivery records, newest last, at most [`KEPT_RECORDS`].
#[derive(Default)]
struct Records(Mutex<VecDeque<DeliveryRecord>>);

impl Records {
    /// Records a new delivery and gives its id.
    fn push(&self, event: &str, url: &str, body: &str) -> u64 {
        let mut records = self.0.lock();
        let id = records.back().map_or(1, |r| r.id + 1);
        if records.len() >= KEPT_RECORDS {
            records.pop_front();
        }
        records.push_back(DeliveryRecord {
            id,
            event: event.to_owned(),
            url: url.to_owned(),
            attempts: 0,
            last_status: None,
            delivered: false,
            gave_up: false,
            dropped: false,
            body: body.to_owned(),
        });
        id
    }

    fn update(&self, id: u64, change: impl FnOnce(&mut DeliveryRecord)) {
        let mut records = self.0.lock();
        if let Some(record) = records.iter_mut().rev().find(|r| r.id == id) {
            change(record);
        }
    }
}

pub(crate) struct Webhooks {
    endpoints: Mutex<Vec<Endpoint>>,
    /// Every n-th event is posted once more after it is delivered.
    repeat: Mutex<Option<NonZeroU32>>,
    /// Events fired so far, to pick those repeated.
    events: AtomicU64,
    secret: SecretString,
    records: Arc<Records>,
    queue: mpsc::Sender<Job>,
    queue_size: usize,
    dropped: AtomicU64,
}

impl Webhooks {
    /// The deliveries of a sandbox, with their senders started on the current runtime.
    pub fn new(
        secret: SecretString,
        urls: Vec<String>,
        retry: WebhookRetry,
        limits: WebhookLimits,
        repeat: Option<NonZeroU32>,
    ) -> Self {
        let endpoints = urls
            .into_iter()
            .map(|url| Endpoint::new(url, secret.clone()))
            .collect();
        let records = Arc::new(Records::default());
        let queue_size = limits.queue.max(1);
        let (queue, jobs) = mpsc::channel(queue_size);
        let client = reqwest::Client::builder()
            .timeout(retry.timeout)
            .build()
            .unwrap_or_default();
        let retry = WebhookRetry {
            max_attempts: retry.max_attempts.max(1),
            ..retry
        };
        tokio::spawn(send(
            jobs,
            limits.concurrency.max(1),
            client,
            retry,
            Arc::clone(&records),
        ));
        Self {
            endpoints: Mutex::new(endpoints),
            repeat: Mutex::new(repeat),
            events: AtomicU64::new(0),
            secret,
            records,
            queue,
            queue_size,
            dropped: AtomicU64::new(0),
        }
    }

    /// Registers the endpoint, in place of any other (or, with `None`, removes them all);
    /// `secret` replaces the signing secret for it when given.
    pub fn set_endpoint(&self, url: Option<String>, secret: Option<SecretString>) {
        let endpoint =
            url.map(|url| Endpoint::new(url, secret.unwrap_or_else(|| self.secret.clone())));
        *self.endpoints.lock() = endpoint.into_iter().collect();
    }

    /// Registers these endpoints, in place of any other: each event is posted to every one,
    /// signed with the sandbox's secret.
    pub fn set_endpoints(&self, urls: Vec<String>) {
        *self.endpoints.lock() = urls
            .into_iter()
            .map(|url| Endpoint::new(url, self.secret.clone()))
            .collect();
    }

    /// Posts every `every`-th event once more after it is delivered (`None`: never).
    pub fn set_repeat(&self, every: Option<NonZeroU32>) {
        *self.repeat.lock() = every;
    }

    /// Every delivery so far, oldest first.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.records.0.lock().iter().cloned().collect()
    }

    /// How many deliveries were dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Queues `event` for each registered endpoint, the same body to each; drops a delivery if
    /// the queue is full. Never waits.
    pub fn deliver(&self, website_id: &str, event: &str, data: Value) {
        let endpoints = self.endpoints.lock().clone();
        if endpoints.is_empty() {
            return;
        }
        let body = json!({
            "website_id": website_id,
            "event": event,
            "data": data,
            "timestamp": now_ms(),
        })
        .to_string();
        let fired = self.events.fetch_add(1, Ordering::Relaxed) + 1;
        let repeat = self
            .repeat
            .lock()
            .is_some_and(|every| fired.is_multiple_of(u64::from(every.get())));
        for endpoint in endpoints {
            self.queue_one(event, endpoint, body.clone(), repeat);
        }
    }

    fn queue_one(&self, event: &str, endpoint: Endpoint, body: String, repeat: bool) {
        let id = self.records.push(event, &endpoint.redacted, &body);
        let job = Job {
            id,
            endpoint,
            body,
            repeat,
        };
        if self.queue.try_send(job).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            self.records.update(id, |record| {
                record.dropped = true;
                record.gave_up = true;
            });
            tracing::warn!(
                event,
                delivery = id,
                dropped,
                "webhook delivery dropped: {} deliveries are already waiting for a slow or \
                 unreachable endpoint",
                self.queue_size
            );
        }
    }
}

/// Takes deliveries off the queue, at most `concurrency` in progress at once, until the queue
/// is closed (the sandbox is gone).
async fn send(
    mut jobs: mpsc::Receiver<Job>,
    concurrency: usize,
    client: reqwest::Client,
    retry: WebhookRetry,
    records: Arc<Records>,
) {
    let senders = Arc::new(Semaphore::new(concurrency));
    loop {
        // A sender first, then a job: what waits stays in the bounded queue.
        let Ok(sender) = Arc::clone(&senders).acquire_owned().await else {
            return;
        };
        let Some(job) = jobs.recv().await else {
            return;
        };
        let client = client.clone();
        let records = Arc::clone(&records);
        tokio::spawn(async move {
            post_with_retries(&client, job, retry, &records).await;
            drop(sender);
        });
    }
}

async fn post_with_retries(
    client: &reqwest::Client,
    Job {
        id,
        endpoint,
        body,
        repeat,
    }: Job,
    retry: WebhookRetry,
    records: &Records,
) {
    let url = &endpoint.redacted;
    for attempt in 1..=retry.max_attempts {
        let result = post(client, &endpoint, &body, attempt, retry.max_attempts).await;
        let status = result.as_ref().ok().map(|r| r.status().as_u16());
        let delivered = status.is_some_and(|s| (200..300).contains(&s));
        let last = attempt == retry.max_attempts;
        records.update(id, |record| {
            record.attempts = attempt;
            record.last_status = status;
            record.delivered = delivered;
            record.gave_up = !delivered && last;
        });
        match result {
            Ok(_) if delivered => {
                tracing::debug!(%url, attempt, "webhook delivered");
                if repeat {
                    // Posted once more, as Crisp does when it missed the answer; never retried.
                    let again = post(client, &endpoint, &body, attempt + 1, retry.max_attempts)
                        .await
                        .ok()
                        .map(|r| r.status().as_u16());
                    records.update(id, |record| {
                        record.attempts = attempt + 1;
                        record.last_status = again;
                    });
                    tracing::debug!(%url, status = ?again, "webhook delivery repeated");
                }
                return;
            }
            Ok(response) => {
                let status = response.status().as_u16();
                tracing::info!(%url, attempt, status, "webhook delivery failed");
            }
            Err(error) => {
                // reqwest's message would name the URL as it is.
                let error = error.without_url();
                tracing::info!(%url, attempt, %error, "webhook delivery failed");
            }
        }
        if !last {
            tokio::time::sleep(retry.backoff(attempt)).await;
        }
    }
}

/// One attempt: the body posted to the endpoint, signed now.
async fn post(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    body: &str,
    attempt: u32,
    limit: u32,
) -> reqwest::Result<reqwest::Response> {
    let timestamp = now_ms().to_string();
    let signature = sign(
        endpoint.secret.expose_secret().as_bytes(),
        &timestamp,
        body.as_bytes(),
    );
    client
        .post(&endpoint.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .header(TIMESTAMP_HEADER, &timestamp)
        .header(ATTEMPT_COUNT_HEADER, attempt.to_string())
        .header("x-delivery-attempt-limit", limit.to_string())
        .header("x-crisp-hook-origin", "plugin/sandbox crisp-sandbox local")
        .body(body.to_owned())
        .send()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = WebhookRetry {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(1),
        };
        let waits: Vec<u128> = (1..=5).map(|a| policy.backoff(a).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 500, 500]);
    }
}

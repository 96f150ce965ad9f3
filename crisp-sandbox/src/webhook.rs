//! Webhook deliveries: every event a call fires is posted, signed as Crisp signs plugin hooks,
//! to the registered endpoint, and retried with backoff while the endpoint fails. Deliveries
//! run on their own tasks: the API call that fired the event never waits for them.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use crisp_api::types::SecretString;
use crisp_api::webhook::{ATTEMPT_COUNT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use serde::Serialize;
use serde_json::{Value, json};

use parking_lot::Mutex;

use crate::util::now_ms;

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

/// One webhook delivery, as far as it has gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryRecord {
    /// The delivery's number, counting from 1 in the order events were fired.
    pub id: u64,
    /// The event name, such as `message:received`.
    pub event: String,
    /// The endpoint it is posted to.
    pub url: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// The status of the last attempt, if the endpoint answered at all.
    pub last_status: Option<u16>,
    /// Whether an attempt got a 2xx answer.
    pub delivered: bool,
    /// Whether the sandbox stopped trying without success.
    pub gave_up: bool,
    /// The delivery body, exactly as posted and signed.
    pub body: String,
}

/// Where deliveries go.
#[derive(Clone)]
struct Endpoint {
    url: String,
    secret: SecretString,
}

pub(crate) struct Webhooks {
    endpoint: Mutex<Option<Endpoint>>,
    secret: SecretString,
    client: reqwest::Client,
    retry: WebhookRetry,
    records: Arc<Mutex<VecDeque<DeliveryRecord>>>,
}

impl Webhooks {
    pub fn new(secret: SecretString, url: Option<String>, retry: WebhookRetry) -> Self {
        let endpoint = url.map(|url| Endpoint {
            url,
            secret: secret.clone(),
        });
        Self {
            endpoint: Mutex::new(endpoint),
            secret,
            client: reqwest::Client::builder()
                .timeout(retry.timeout)
                .build()
                .unwrap_or_default(),
            retry: WebhookRetry {
                max_attempts: retry.max_attempts.max(1),
                ..retry
            },
            records: Arc::new(Mutex::new(VecDeque::new())),
        }
    }

    /// Registers (or, with `None`, removes) the endpoint; `secret` replaces the signing secret
    /// for it when given.
    pub fn set_endpoint(&self, url: Option<String>, secret: Option<SecretString>) {
        let endpoint = url.map(|url| Endpoint {
            url,
            secret: secret.unwrap_or_else(|| self.secret.clone()),
        });
        *self.endpoint.lock() = endpoint;
    }

    /// Every delivery so far, oldest first.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.records.lock().iter().cloned().collect()
    }

    /// Posts `event` to the endpoint, if one is registered, on a task of its own.
    pub fn deliver(&self, website_id: &str, event: &str, data: Value) {
        let Some(endpoint) = self.endpoint.lock().clone() else {
            return;
        };
        let body = json!({
            "website_id": website_id,
            "event": event,
            "data": data,
            "timestamp": now_ms(),
        })
        .to_string();
        let id = {
            let mut records = self.records.lock();
            let id = records.back().map_or(1, |r| r.id + 1);
            if records.len() >= KEPT_RECORDS {
                records.pop_front();
            }
            records.push_back(DeliveryRecord {
                id,
                event: event.to_owned(),
                url: endpoint.url.clone(),
                attempts: 0,
                last_status: None,
                delivered: false,
                gave_up: false,
                body: body.clone(),
            });
            id
        };
        tokio::spawn(post_with_retries(
            self.client.clone(),
            endpoint,
            id,
            body,
            self.retry,
            Arc::clone(&self.records),
        ));
    }
}

async fn post_with_retries(
    client: reqwest::Client,
    endpoint: Endpoint,
    id: u64,
    body: String,
    retry: WebhookRetry,
    records: Arc<Mutex<VecDeque<DeliveryRecord>>>,
) {
    let update = |change: &dyn Fn(&mut DeliveryRecord)| {
        let mut records = records.lock();
        if let Some(record) = records.iter_mut().rev().find(|r| r.id == id) {
            change(record);
        }
    };
    for attempt in 1..=retry.max_attempts {
        let timestamp = now_ms().to_string();
        let signature = sign(
            endpoint.secret.expose_secret().as_bytes(),
            &timestamp,
            body.as_bytes(),
        );
        let result = client
            .post(&endpoint.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(TIMESTAMP_HEADER, &timestamp)
            .header(ATTEMPT_COUNT_HEADER, attempt.to_string())
            .header("x-delivery-attempt-limit", retry.max_attempts.to_string())
            .header("x-crisp-hook-origin", "plugin/sandbox crisp-sandbox local")
            .body(body.clone())
            .send()
            .await;
        let status = result.as_ref().ok().map(|r| r.status().as_u16());
        let delivered = status.is_some_and(|s| (200..300).contains(&s));
        let last = attempt == retry.max_attempts;
        update(&|record| {
            record.attempts = attempt;
            record.last_status = status;
            record.delivered = delivered;
            record.gave_up = !delivered && last;
        });
        match &result {
            Ok(_) if delivered => {
                tracing::debug!(url = %endpoint.url, attempt, "webhook delivered");
                return;
            }
            Ok(response) => {
                tracing::info!(url = %endpoint.url, attempt, status = response.status().as_u16(), "webhook delivery failed");
            }
            Err(error) => {
                tracing::info!(url = %endpoint.url, attempt, error = %error, "webhook delivery failed");
            }
        }
        if !last {
            tokio::time::sleep(retry.backoff(attempt)).await;
        }
    }
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

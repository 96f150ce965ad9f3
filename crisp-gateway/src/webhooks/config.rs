//! How a replica delivers webhook events to agents ([`DeliveryConfig`]): attempts, backoff,
//! timeouts, polling and concurrency. A leaf: the other webhook modules read it.

use std::time::Duration;

/// How much longer than an attempt's timeout a lease lasts: the time to record its outcome.
pub const LEASE_MARGIN: Duration = Duration::from_secs(5);

/// How deliveries are made and retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// Attempts in all, the first included (at least 1); then the row is marked failed.
    pub attempts: u32,
    /// The wait after the first failed attempt; it doubles after each further one.
    pub backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
    /// How long one attempt may take (connecting, sending, the agent's answer).
    pub timeout: Duration,
    /// How often a replica looks for due rows it was not woken for.
    pub poll: Duration,
    /// Attempts in flight at once, per replica (at least 1).
    pub concurrency: usize,
}

impl Default for DeliveryConfig {
    /// 12 attempts, waiting 5 s, 10 s, 20 s ... up to an hour between them (about 2.4 hours in
    /// all); 10 s per attempt; a look every second; 16 at once.
    fn default() -> Self {
        Self {
            attempts: 12,
            backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(3600),
            timeout: Duration::from_secs(10),
            poll: Duration::from_secs(1),
            concurrency: 16,
        }
    }
}

impl DeliveryConfig {
    /// The wait before the attempt after attempt number `attempt` (from 1) failed.
    ///
    /// ```
    /// use std::time::Duration;
    /// use crisp_gateway::webhooks::DeliveryConfig;
    ///
    /// let config = DeliveryConfig { backoff: Duration::from_secs(5), max_backoff: Duration::from_secs(30), ..DeliveryConfig::default() };
    /// let waits: Vec<u64> = (1..=5).map(|a| config.wait_after(a).as_secs()).collect();
    /// assert_eq!(waits, [5, 10, 20, 30, 30]);
    /// ```
    pub fn wait_after(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(31));
        self.backoff.saturating_mul(factor).min(self.max_backoff)
    }

    /// How long a claimed row is leased: an attempt's timeout and [`LEASE_MARGIN`].
    pub fn lease(&self) -> Duration {
        self.timeout.saturating_add(LEASE_MARGIN)
    }
}

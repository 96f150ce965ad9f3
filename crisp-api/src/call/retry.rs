//! Whether to send a failed request again, and when: a pure decision from how the attempt ended,
//! what the operation is (read or write, its effect) and the [`RetryPolicy`].
//!
//! A repeat is automatic only where it is harmless: reads, `PUT` and `DELETE` (repeating them
//! lands in the same state), and any request that provably never reached Crisp (the connection
//! failed) or that Crisp refused without acting (429, 420). A `POST` or `PATCH` that may have
//! reached Crisp is never repeated unless the caller opted in: a message sent twice reaches the
//! customer twice.

use std::time::{Duration, SystemTime};

use crate::operation::Operation;

/// When and how often a client sends a request again.
///
/// The default: up to 3 attempts, exponential backoff from 500 ms (capped at 8 s) with full
/// jitter, at most 30 s in all, `Retry-After` honoured up to 60 s, and writes that may have
/// reached Crisp never repeated.
///
/// ```
/// use std::time::Duration;
/// use crisp_api::{Client, Credentials, RetryPolicy};
///
/// let client = Client::builder(Credentials::plugin("identifier", "key"))
///     .retry(RetryPolicy::default().max_attempts(5).max_total(Duration::from_secs(60)))
///     .build()?;
/// # Ok::<(), crisp_api::BuildError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub(crate) max_attempts: u32,
    pub(crate) initial_delay: Duration,
    pub(crate) max_delay: Duration,
    pub(crate) max_total: Duration,
    pub(crate) max_retry_after: Duration,
    pub(crate) retry_writes: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_total: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
            retry_writes: false,
        }
    }
}

impl RetryPolicy {
    /// Never send a request twice: one attempt, whatever happens.
    ///
    /// ```
    /// use crisp_api::RetryPolicy;
    ///
    /// assert_eq!(RetryPolicy::never(), RetryPolicy::default().max_attempts(1));
    /// ```
    pub fn never() -> Self {
        Self::default().max_attempts(1)
    }

    /// At most `attempts` requests per call, the first included (at least 1).
    ///
    /// ```
    /// let policy = crisp_api::RetryPolicy::default().max_attempts(4);
    /// ```
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The backoff's first delay; each next one doubles, up to [`max_delay`](Self::max_delay).
    /// The wait is a uniformly random share of it (full jitter).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let policy = crisp_api::RetryPolicy::default().initial_delay(Duration::from_millis(100));
    /// ```
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// The cap on one backoff delay.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let policy = crisp_api::RetryPolicy::default().max_delay(Duration::from_secs(2));
    /// ```
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The cap on a whole call, attempts and waits included: no retry starts if its wait would
    /// end later than this after the call began.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let policy = crisp_api::RetryPolicy::default().max_total(Duration::from_secs(10));
    /// ```
    pub fn max_total(mut self, total: Duration) -> Self {
        self.max_total = total;
        self
    }

    /// The longest `Retry-After` the client waits for; when Crisp asks for longer, the call
    /// ends with [`Error::RateLimited`](crate::Error::RateLimited) carrying the wait, so the
    /// caller can schedule it.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let policy = crisp_api::RetryPolicy::default().max_retry_after(Duration::from_secs(5));
    /// ```
    pub fn max_retry_after(mut self, wait: Duration) -> Self {
        self.max_retry_after = wait;
        self
    }

    /// Also repeat `POST` and `PATCH` requests that may have reached Crisp (after a timeout, a
    /// broken connection or a 502/503/504). Off by default: such a repeat can act twice, and a
    /// message can reach the customer twice. Individual calls can opt in with their builder's
    /// `retry_writes(true)` instead.
    ///
    /// ```
    /// let policy = crisp_api::RetryPolicy::default().retry_writes(true);
    /// ```
    pub fn retry_writes(mut self, yes: bool) -> Self {
        self.retry_writes = yes;
        self
    }

    /// The ceilings of the backoff delays, one per retry, from the maintained `backon` crate
    /// (exponential, factor 2, capped); the jitter is applied on top by [`decide`].
    pub(crate) fn ceilings(&self) -> backon::ExponentialBackoff {
        use backon::BackoffBuilder;
        backon::ExponentialBuilder::new()
            .with_min_delay(self.initial_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .with_max_times(self.max_attempts.saturating_sub(1) as usize)
            .build()
    }
}

/// How a failed attempt ended, as far as repeating it goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// 429 or 420: Crisp's limiter refused without acting.
    RateLimited { retry_after: Option<Duration> },
    /// 502, 503 or 504: a proxy, or an overloaded Crisp; a write may or may not have happened.
    Transient { retry_after: Option<Duration> },
    /// The connection failed before the request was sent: Crisp never saw it.
    NotSent,
    /// A timeout or a broken connection after the request may have been sent.
    MaybeSent,
    /// Anything else: the same request would get the same answer.
    Final,
}

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Wait this long, then send again.
    Retry(Duration),
    /// Give the failure to the caller.
    Stop,
}

/// Whether repeating `operation` lands in the same state: reads, `PUT` and `DELETE`, unless
/// it reaches a customer.
pub(crate) fn is_repeatable(operation: &Operation) -> bool {
    operation.method.is_idempotent() && !operation.is_customer_visible()
}

/// The inputs of one decision.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Attempted<'a> {
    pub(crate) policy: &'a RetryPolicy,
    pub(crate) operation: &'a Operation,
    /// The caller's per-call opt-in to repeating writes, if given.
    pub(crate) retry_writes: Option<bool>,
    pub(crate) class: Class,
    /// Attempts made so far, the failed one included.
    pub(crate) attempts: u32,
    /// Time since the call began.
    pub(crate) elapsed: Duration,
    /// The backoff ceiling for the next wait; `None` when the backoff is exhausted.
    pub(crate) ceiling: Option<Duration>,
    /// A uniform random number in `[0, 1)`: full jitter takes this share of the ceiling.
    pub(crate) jitter: f64,
}

/// Decides whether to send again after a failed attempt.
pub(crate) fn decide(a: Attempted<'_>) -> Decision {
    if a.attempts >= a.policy.max_attempts {
        return Decision::Stop;
    }
    let writes_ok = a.retry_writes.unwrap_or(a.policy.retry_writes);
    let repeatable = is_repeatable(a.operation) || writes_ok;
    let backoff = || a.ceiling.map(|c| c.mul_f64(a.jitter.clamp(0.0, 1.0)));
    let wait = match a.class {
        Class::Final => return Decision::Stop,
        Class::RateLimited {
            retry_after: Some(wait),
        } => {
            if wait > a.policy.max_retry_after {
                return Decision::Stop;
            }
            Some(wait)
        }
        Class::RateLimited { retry_after: None } | Class::NotSent => backoff(),
        Class::Transient { retry_after } if repeatable => match retry_after {
            Some(wait) if wait > a.policy.max_retry_after => return Decision::Stop,
            Some(wait) => Some(wait),
            None => backoff(),
        },
        Class::MaybeSent if repeatable => backoff(),
        Class::Transient { .. } | Class::MaybeSent => return Decision::Stop,
    };
    match wait {
        Some(wait) if a.elapsed.saturating_add(wait) <= a.policy.max_total => Decision::Retry(wait),
        _ => Decision::Stop,
    }
}

/// Reads a `Retry-After` value: seconds, or an HTTP date (the wait until then). Unreadable
/// values count as absent.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(operation: &Operation, class: Class, attempts: u32) -> Attempted<'_> {
        static POLICY: std::sync::OnceLock<RetryPolicy> = std::sync::OnceLock::new();
        Attempted {
            policy: POLICY.get_or_init(RetryPolicy::default),
            operation,
            retry_writes: None,
            class,
            attempts,
            elapsed: Duration::ZERO,
            ceiling: Some(Duration::from_secs(2)),
            jitter: 0.25,
        }
    }

    const SENT_WRITES: [Class; 3] = [
        Class::MaybeSent,
        Class::Transient { retry_after: None },
        Class::Transient {
            retry_after: Some(Duration::from_secs(1)),
        },
    ];

    #[test]
    fn writes_that_may_have_reached_crisp_are_not_repeated() {
        for op in [
            &Operation::SEND_MESSAGE,
            &Operation::CREATE_CONVERSATION,
            &Operation::UPDATE_PEOPLE_PROFILE,
            &Operation::DISPATCH_CAMPAIGN,
        ] {
            for class in SENT_WRITES {
                assert_eq!(
                    decide(attempt(op, class, 1)),
                    Decision::Stop,
                    "{} {class:?}",
                    op.id
                );
            }
        }
    }

    #[test]
    fn opting_in_repeats_writes_per_call_or_per_client() {
        let per_call = Attempted {
            retry_writes: Some(true),
            ..attempt(&Operation::SEND_MESSAGE, Class::MaybeSent, 1)
        };
        assert_eq!(
            decide(per_call),
            Decision::Retry(Duration::from_millis(500))
        );
        let policy = RetryPolicy::default().retry_writes(true);
        let per_client = Attempted {
            policy: &policy,
            ..attempt(&Operation::SEND_MESSAGE, Class::MaybeSent, 1)
        };
        assert_eq!(
            decide(per_client),
            Decision::Retry(Duration::from_millis(500))
        );
        // A per-call `false` wins over the client's `true`.
        let vetoed = Attempted {
            retry_writes: Some(false),
            ..per_client
        };
        assert_eq!(decide(vetoed), Decision::Stop);
    }

    #[test]
    fn reads_puts_and_deletes_are_repeated() {
        for op in [
            &Operation::GET_CONVERSATION,
            &Operation::SAVE_PEOPLE_PROFILE,
            &Operation::REMOVE_CONVERSATION,
        ] {
            for class in SENT_WRITES {
                assert!(
                    matches!(decide(attempt(op, class, 1)), Decision::Retry(_)),
                    "{} {class:?}",
                    op.id
                );
            }
        }
    }

    #[test]
    fn rate_limits_and_refused_connections_are_repeated_for_any_operation() {
        let after = Class::RateLimited {
            retry_after: Some(Duration::from_secs(1)),
        };
        assert_eq!(
            decide(attempt(&Operation::SEND_MESSAGE, after, 1)),
            Decision::Retry(Duration::from_secs(1))
        );
        let no_header = Class::RateLimited { retry_after: None };
        assert_eq!(
            decide(attempt(&Operation::SEND_MESSAGE, no_header, 1)),
            Decision::Retry(Duration::from_millis(500)),
            "full jitter: a quarter of the 2 s ceiling"
        );
        assert_eq!(
            decide(attempt(&Operation::SEND_MESSAGE, Class::NotSent, 2)),
            Decision::Retry(Duration::from_millis(500))
        );
    }

    #[test]
    fn attempts_total_time_and_long_retry_after_are_bounded() {
        let op = &Operation::GET_CONVERSATION;
        assert_eq!(decide(attempt(op, Class::NotSent, 3)), Decision::Stop);
        let late = Attempted {
            elapsed: Duration::from_millis(29_600),
            ..attempt(op, Class::NotSent, 1)
        };
        assert_eq!(
            decide(late),
            Decision::Stop,
            "the wait would end after 30 s"
        );
        let long = Class::RateLimited {
            retry_after: Some(Duration::from_secs(3600)),
        };
        assert_eq!(decide(attempt(op, long, 1)), Decision::Stop);
        let exhausted = Attempted {
            ceiling: None,
            ..attempt(op, Class::NotSent, 1)
        };
        assert_eq!(decide(exhausted), Decision::Stop);
        assert_eq!(decide(attempt(op, Class::Final, 1)), Decision::Stop);
        let never = RetryPolicy::never();
        let once = Attempted {
            policy: &never,
            ..attempt(op, Class::NotSent, 1)
        };
        assert_eq!(decide(once), Decision::Stop);
    }

    #[test]
    fn the_backoff_doubles_up_to_its_cap() {
        let policy = RetryPolicy::default().max_attempts(6);
        let ceilings: Vec<_> = policy.ceilings().collect();
        assert_eq!(
            ceilings,
            [500, 1000, 2000, 4000, 8000].map(Duration::from_millis)
        );
        assert_eq!(RetryPolicy::never().ceilings().count(), 0);
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }
}

//! Each agent's rate in a store that replicas share ([`SharedRates`], through
//! [`Store::rates`](super::Store::rates)), so that two replicas let through, together, what one
//! would. A store of one process (SQLite) keeps none: the gateway limits rates in memory
//! ([`RateLimits`](crate::rate::RateLimits)).

use std::time::Duration;

use futures::future::BoxFuture;

use super::error::StoreError;

/// The per-agent rate, shared by replicas: a GCRA (the same algorithm as the in-memory
/// limiter) whose state is one row per agent, moved on atomically.
pub trait SharedRates: Send + Sync {
    /// Takes one call from `agent`'s rate of `count` calls per `window` (a burst of `count`
    /// at once, then one per `window / count`): `Ok(None)` when it passes, `Ok(Some(wait))`
    /// when it is refused, `wait` being the time until a call would pass. A refused call takes
    /// nothing.
    fn take_rate<'a>(
        &'a self,
        agent: &'a str,
        count: u32,
        window: Duration,
    ) -> BoxFuture<'a, Result<Option<Duration>, StoreError>>;
}

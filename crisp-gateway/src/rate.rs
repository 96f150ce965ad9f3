//! The per-agent rate limit, in memory: a GCRA (`governor`) per agent, keyed by agent name.
//!
//! Each agent has its own [`Rate`], so each has its own direct limiter (governor's keyed
//! limiter shares one quota between keys). A limiter is made on an agent's first call and
//! remade when its rate changes (a reload); [`RateLimits::retain`] forgets agents a reload
//! removed. A refused call takes nothing from the limit. The answer is Ok or a 429
//! [`Refusal`] with the wait until the next call would pass.
//!
//! The state is per process: the daily budget and quota are the counters that survive a restart
//! and are shared between replicas (they live in the store).

use std::collections::HashMap;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use parking_lot::RwLock;

use crate::policy::{Agent, Per, Policy, Rate};
use crate::refusal::Refusal;

type Limiter<C> = RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;

struct Entry<C: Clock> {
    rate: Rate,
    limiter: Arc<Limiter<C>>,
}

/// The rate limiters of all agents.
///
/// ```
/// use crisp_gateway::policy::Policy;
/// use crisp_gateway::rate::RateLimits;
///
/// let policy = Policy::parse(r#"
/// [[agents]]
/// name = "triage"
/// key_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
/// grants = "website:visitors=read"
/// websites = ["*"]
/// rate = "2/hour"
/// "#, "gateway.toml").unwrap();
/// let agent = &policy.agents()[0];
/// let limits = RateLimits::new();
/// assert!(limits.check(agent).is_ok() && limits.check(agent).is_ok());
/// let refused = limits.check(agent).unwrap_err();
/// assert_eq!(refused.status, 429);
/// assert!(refused.retry_after.unwrap() > 1000); // about half an hour
/// ```
pub struct RateLimits<C: Clock = DefaultClock> {
    clock: C,
    limiters: RwLock<HashMap<String, Entry<C>>>,
}

impl RateLimits<DefaultClock> {
    /// Limiters on the real (monotonic) clock.
    pub fn new() -> Self {
        Self::with_clock(DefaultClock::default())
    }
}

impl Default for RateLimits<DefaultClock> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Clock + Clone> RateLimits<C> {
    /// Limiters on `clock` (tests pass governor's `FakeRelativeClock` and advance it).
    pub fn with_clock(clock: C) -> Self {
        Self {
            clock,
            limiters: RwLock::new(HashMap::new()),
        }
    }

    /// Takes one request from `agent`'s rate, if it has one.
    ///
    /// # Errors
    ///
    /// A 429 [`Refusal`] (rule `rate`) with `retry_after`: the whole seconds until a call would
    /// pass.
    pub fn check(&self, agent: &Agent) -> Result<(), Refusal> {
        let Some(rate) = agent.rate else {
            return Ok(());
        };
        let limiter = self.limiter(&agent.name, rate);
        limiter.check().map_err(|not_until| {
            Refusal::rate(
                &agent.name,
                rate,
                not_until.wait_time_from(self.clock.now()),
            )
        })
    }

    /// Forgets the limiters of agents that are not in `policy` (after a reload).
    pub fn retain(&self, policy: &Policy) {
        self.limiters
            .write()
            .retain(|name, _| policy.agent(name).is_some());
    }

    /// How many agents have a limiter.
    pub fn len(&self) -> usize {
        self.limiters.read().len()
    }

    /// Whether no agent has a limiter yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The agent's limiter at `rate`: the one it has, or a new one (first call, or the rate
    /// changed).
    fn limiter(&self, name: &str, rate: Rate) -> Arc<Limiter<C>> {
        if let Some(entry) = self.limiters.read().get(name)
            && entry.rate == rate
        {
            return Arc::clone(&entry.limiter);
        }
        let mut limiters = self.limiters.write();
        match limiters.get(name) {
            Some(entry) if entry.rate == rate => Arc::clone(&entry.limiter),
            _ => {
                let limiter = Arc::new(RateLimiter::direct_with_clock(
                    quota(rate),
                    self.clock.clone(),
                ));
                limiters.insert(
                    name.to_owned(),
                    Entry {
                        rate,
                        limiter: Arc::clone(&limiter),
                    },
                );
                limiter
            }
        }
    }
}

/// The GCRA quota of a rate: bursts of up to `count`, one more every `per / count`.
fn quota(rate: Rate) -> Quota {
    match rate.per() {
        Per::Second => Quota::per_second(rate.count()),
        Per::Minute => Quota::per_minute(rate.count()),
        Per::Hour => Quota::per_hour(rate.count()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use governor::clock::FakeRelativeClock;

    use super::*;
    use crate::policy::{KeyHash, Websites};
    use crate::refusal::Rule;

    fn agent(name: &str, rate: Option<&str>) -> Agent {
        let mut agent = Agent::new(
            name,
            KeyHash::of(name.as_bytes()),
            "website:visitors=read".parse().unwrap(),
            Websites::Any,
        );
        agent.rate = rate.map(|r| r.parse().unwrap());
        agent
    }

    #[test]
    fn a_burst_of_the_rate_passes_then_the_next_waits_its_share() {
        let clock = FakeRelativeClock::default();
        let limits = RateLimits::with_clock(clock.clone());
        let five = agent("five", Some("5/second"));
        for _ in 0..5 {
            limits.check(&five).unwrap();
        }
        let refused = limits.check(&five).unwrap_err();
        assert_eq!(refused.rule, Rule::Rate);
        assert_eq!(refused.retry_after, Some(1)); // 200 ms, rounded up
        assert!(refused.message.contains("5/second"), "{}", refused.message);
        clock.advance(Duration::from_millis(200));
        limits.check(&five).unwrap();
        assert!(limits.check(&five).is_err());
    }

    #[test]
    fn agents_are_limited_apart_and_without_a_rate_not_at_all() {
        let clock = FakeRelativeClock::default();
        let limits = RateLimits::with_clock(clock.clone());
        let a = agent("a", Some("1/hour"));
        let b = agent("b", Some("1/hour"));
        let free = agent("free", None);
        limits.check(&a).unwrap();
        let refused = limits.check(&a).unwrap_err();
        assert_eq!(refused.retry_after, Some(3600));
        limits.check(&b).unwrap();
        for _ in 0..1000 {
            limits.check(&free).unwrap();
        }
        assert_eq!(limits.len(), 2);
    }

    #[test]
    fn a_changed_rate_takes_effect_and_removed_agents_are_forgotten() {
        let clock = FakeRelativeClock::default();
        let limits = RateLimits::with_clock(clock);
        let slow = agent("a", Some("1/hour"));
        limits.check(&slow).unwrap();
        assert!(limits.check(&slow).is_err());
        let faster = agent("a", Some("3/hour"));
        limits.check(&faster).unwrap();
        limits.check(&faster).unwrap();
        let text = agent("other", None).to_toml();
        limits.retain(&Policy::parse(&text, "t.toml").unwrap());
        assert!(limits.is_empty());
    }
}

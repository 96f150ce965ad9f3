//! The daily budget and the token's quota, counted in the store with leases.
//!
//! Every request upstream is counted in the store, which is what survives a restart and what
//! replicas share. Taking one request at a time would cost each call a round trip to the store
//! (with SQLite, a hop to its thread and a commit: more than the rest of the call together). So
//! an agent takes a *lease*: several requests at once, in one atomic take of both counters, then
//! handed out to its calls from memory. The store's counts are therefore never below what was
//! sent, and a limit is never passed:
//!
//! - a lease is sized from the room left after the previous take (1/32 of it, at most
//!   [`MAX_LEASE`]): near a limit, leases are of one request, and the last request of a budget
//!   or a quota is taken exactly;
//! - a take refused for a lease of several is tried again for one;
//! - what a lease did not use is given back at shutdown and on reload (a crash leaves it counted:
//!   the safe side);
//! - a lease belongs to one UTC day.
//!
//! With a store that replicas share ([`Store::shared`], PostgreSQL), there are no leases: each
//! call takes its one request in the store (one atomic statement), because a lease held unused
//! by one replica would strand requests that another one is refused, and two replicas must
//! spend a budget or the quota exactly.
//!
//! The price: while the gateway runs, `usage` shows the leases' requests as spent, and another
//! agent may be refused the last requests of the quota that a lease holds unused (at most
//! [`MAX_LEASE`] − 1 per agent, and only while more than 32 times that is left).

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;

use crate::policy::Agent;
use crate::refusal::Refusal;
use crate::store::{Store, Take, Taken, utc_day};

/// The largest lease: 16 requests.
pub const MAX_LEASE: u64 = 16;

const DAY_MS: i64 = 86_400_000;

/// An agent's lease.
#[derive(Debug, Clone, Copy)]
struct Lease {
    day: u32,
    /// Requests taken in the store and not yet handed out.
    left: u64,
    /// How many to take next time.
    next: u64,
}

/// The leases of every agent (see the [module docs](self)).
#[derive(Debug, Default)]
pub(super) struct Counters {
    leases: Mutex<HashMap<String, Lease>>,
}

impl Counters {
    /// Takes one request from `agent`'s daily budget and the token's `quota`, on the UTC day of
    /// `now_ms`: from its lease, or from the store.
    pub(super) async fn take(
        &self,
        store: &dyn Store,
        agent: &Agent,
        quota: u64,
        now_ms: i64,
    ) -> Result<(), Refusal> {
        let day = utc_day(now_ms);
        let mut n = {
            let mut leases = self.leases.lock();
            match leases.get_mut(&agent.name) {
                Some(lease) if lease.day == day && lease.left > 0 => {
                    lease.left -= 1;
                    return Ok(());
                }
                Some(lease) if lease.day == day => lease.next,
                _ => 1,
            }
        };
        loop {
            let take = Take {
                day,
                agent: agent.name.clone(),
                agent_limit: agent.daily_budget,
                quota_limit: Some(quota),
                n,
            };
            let taken = store.take(take).await.map_err(|error| {
                tracing::error!(%error, "the daily counters cannot be taken from: calls are refused");
                Refusal::store()
            })?;
            match taken {
                Taken::Taken {
                    agent_used,
                    quota_used,
                } => {
                    let room = agent
                        .daily_budget
                        .map_or(u64::MAX, |limit| limit.saturating_sub(agent_used))
                        .min(quota.saturating_sub(quota_used));
                    let mut leases = self.leases.lock();
                    let lease = leases.entry(agent.name.clone()).or_insert(Lease {
                        day,
                        left: 0,
                        next: 1,
                    });
                    if lease.day != day {
                        *lease = Lease {
                            day,
                            left: 0,
                            next: 1,
                        };
                    }
                    lease.left += n - 1;
                    let largest = if store.shared() { 1 } else { MAX_LEASE };
                    lease.next = (room / 32).clamp(1, largest);
                    return Ok(());
                }
                Taken::BudgetSpent { .. } | Taken::QuotaSpent { .. } if n > 1 => n = 1,
                Taken::BudgetSpent { limit } => {
                    self.shrink(&agent.name, day);
                    return Err(Refusal::budget(&agent.name, limit, until_midnight(now_ms)));
                }
                Taken::QuotaSpent { limit } => {
                    self.shrink(&agent.name, day);
                    return Err(Refusal::quota(limit, until_midnight(now_ms)));
                }
            }
        }
    }

    /// After a refusal: the next lease is of one request.
    fn shrink(&self, agent: &str, day: u32) {
        if let Some(lease) = self.leases.lock().get_mut(agent)
            && lease.day == day
        {
            lease.next = 1;
        }
    }

    /// The requests each agent's lease of `day` holds unused (taken in the store, not sent).
    pub(super) fn unused(&self, day: u32) -> Vec<(String, u64)> {
        self.leases
            .lock()
            .iter()
            .filter(|(_, lease)| lease.day == day && lease.left > 0)
            .map(|(name, lease)| (name.clone(), lease.left))
            .collect()
    }

    /// Gives back to the store what the leases of the agents `which` says did not use
    /// (all, at shutdown; the changed ones, on reload), and forgets those leases.
    pub(super) async fn give_back(&self, store: &dyn Store, which: impl Fn(&str) -> bool) {
        let unused: Vec<(String, Lease)> = {
            let mut leases = self.leases.lock();
            let names: Vec<String> = leases.keys().filter(|n| which(n)).cloned().collect();
            names
                .into_iter()
                .filter_map(|name| leases.remove(&name).map(|lease| (name, lease)))
                .collect()
        };
        for (agent, lease) in unused {
            if lease.left == 0 {
                continue;
            }
            if let Err(error) = store.give_back(lease.day, &agent, lease.left).await {
                tracing::warn!(%error, agent, unused = lease.left, "an unused lease stays counted");
            }
        }
    }
}

/// The time from `now_ms` to the next midnight UTC, when the daily counters renew.
pub(super) fn until_midnight(now_ms: i64) -> Duration {
    let left = DAY_MS - now_ms.rem_euclid(DAY_MS);
    Duration::from_millis(u64::try_from(left).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_renew_at_midnight_utc() {
        assert_eq!(until_midnight(0), Duration::from_secs(86_400));
        assert_eq!(until_midnight(DAY_MS - 1_000), Duration::from_secs(1));
        assert_eq!(
            until_midnight(5 * DAY_MS + 1),
            Duration::from_millis(86_399_999)
        );
    }
}

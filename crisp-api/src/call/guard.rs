//! Decisions made before any I/O: do the grants allow the operation, does the confirmation
//! callback agree, is there budget left today. (Whether the path ids are safe is decided where
//! paths are filled, in [`crate::path`].)
//!
//! Each check is a pure function of its inputs (and, for the budget, of a clock), so unit tests
//! need no HTTP.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::Error;
use crate::grants::Grants;
use crate::operation::Operation;

/// Refuses `operation` if `grants` (when set) do not allow it.
pub(crate) fn grants(grants: Option<&Grants>, operation: &'static Operation) -> Result<(), Error> {
    match grants {
        Some(grants) if !grants.allows(operation) => Err(Error::NotGranted {
            operation,
            scope: operation.scope,
            needed: operation.access,
            granted: grants.level(operation.scope),
        }),
        _ => Ok(()),
    }
}

/// What a confirmation callback is asked about: an operation that reaches a customer or cannot
/// be undone, and the ids it acts on. It never holds the token, a query or a body.
///
/// ```
/// use crisp_api::{Client, Credentials, Effect};
///
/// let client = Client::builder(Credentials::plugin("identifier", "key"))
///     .confirm(|request| {
///         eprintln!("allow {request}?");
///         // Allow messages, refuse deletions.
///         request.operation().effect == Some(Effect::CustomerVisible)
///     })
///     .build()?;
/// # Ok::<(), crisp_api::BuildError>(())
/// ```
#[derive(Debug)]
pub struct Confirmation<'a> {
    operation: &'static Operation,
    path_ids: &'a [(&'static str, String)],
}

impl<'a> Confirmation<'a> {
    pub(crate) fn new(
        operation: &'static Operation,
        path_ids: &'a [(&'static str, String)],
    ) -> Self {
        Self {
            operation,
            path_ids,
        }
    }

    /// The operation about to be called; its [`effect`](Operation::effect) says why it is
    /// asked.
    ///
    /// ```
    /// use crisp_api::Operation;
    /// # use crisp_api::Confirmation;
    /// # fn check(request: &Confirmation<'_>) {
    /// if request.operation().is_irreversible() { /* ask a person */ }
    /// # }
    /// ```
    pub fn operation(&self) -> &'static Operation {
        self.operation
    }

    /// The path parameters, `(name, value)`, in path order: the ids the call acts on.
    ///
    /// ```
    /// # use crisp_api::Confirmation;
    /// # fn check(request: &Confirmation<'_>) {
    /// for (name, value) in request.path_ids() {
    ///     println!("{name} = {value}");
    /// }
    /// # }
    /// ```
    pub fn path_ids(&self) -> impl Iterator<Item = (&'static str, &'a str)> + 'a {
        self.path_ids
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
    }

    /// The value of the path parameter `name`, such as `session_id`.
    ///
    /// ```
    /// # use crisp_api::Confirmation;
    /// # fn check(request: &Confirmation<'_>) -> bool {
    /// request.path_id("session_id") == Some("session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881")
    /// # }
    /// ```
    pub fn path_id(&self, name: &str) -> Option<&'a str> {
        self.path_ids
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, value)| value.as_str())
    }
}

impl fmt::Display for Confirmation<'_> {
    /// `send_message (customer-visible) on website_id=..., session_id=...`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.operation.id)?;
        if let Some(effect) = self.operation.effect {
            write!(f, " ({effect})")?;
        }
        for (i, (name, value)) in self.path_ids.iter().enumerate() {
            f.write_str(if i == 0 { " on " } else { ", " })?;
            write!(f, "{name}={value}")?;
        }
        Ok(())
    }
}

/// The confirmation callback a client holds.
pub(crate) type ConfirmFn = dyn Fn(&Confirmation<'_>) -> bool + Send + Sync;

/// Asks `confirm` (when set) before an operation with an effect; refuses on no.
pub(crate) fn confirm(
    confirm: Option<&ConfirmFn>,
    operation: &'static Operation,
    path_ids: &[(&'static str, String)],
) -> Result<(), Error> {
    match confirm {
        Some(confirm) if operation.effect.is_some() => {
            if confirm(&Confirmation::new(operation, path_ids)) {
                Ok(())
            } else {
                Err(Error::NotConfirmed { operation })
            }
        }
        _ => Ok(()),
    }
}

/// Where a budget reads the time; tests move it.
pub(crate) type Clock = fn() -> SystemTime;

const DAY: u64 = 24 * 60 * 60;

/// A daily request budget: counts requests (every attempt) per UTC day.
pub(crate) struct Budget {
    limit: u32,
    clock: Clock,
    /// The UTC day number and the requests counted on it.
    state: Mutex<(u64, u32)>,
}

/// How much of a client's daily budget is used.
///
/// ```
/// use crisp_api::{Client, Credentials};
///
/// let client = Client::builder(Credentials::plugin("identifier", "key"))
///     .daily_budget(1_000)
///     .build()?;
/// let budget = client.budget().expect("a budget is set");
/// assert_eq!((budget.limit, budget.used, budget.remaining), (1_000, 0, 1_000));
/// # Ok::<(), crisp_api::BuildError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BudgetStatus {
    /// Requests allowed per UTC day.
    pub limit: u32,
    /// Requests made today (retries included).
    pub used: u32,
    /// Requests left today.
    pub remaining: u32,
    /// Time until the next UTC day starts the count again.
    pub resets_in: Duration,
}

impl Budget {
    pub(crate) fn new(limit: u32, clock: Clock) -> Self {
        Self {
            limit,
            clock,
            state: Mutex::new((0, 0)),
        }
    }

    fn now(&self) -> (u64, Duration) {
        let since_epoch = (self.clock)()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let secs = since_epoch.as_secs();
        let next_day = (secs / DAY + 1) * DAY;
        (secs / DAY, Duration::from_secs(next_day) - since_epoch)
    }

    /// Counts one request, or refuses when today's budget is spent.
    pub(crate) fn take(&self, operation: &'static Operation) -> Result<(), Error> {
        let (today, resets_in) = self.now();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.0 != today {
            *state = (today, 0);
        }
        if state.1 >= self.limit {
            return Err(Error::BudgetSpent {
                operation,
                limit: self.limit,
                resets_in,
            });
        }
        state.1 += 1;
        Ok(())
    }

    pub(crate) fn status(&self) -> BudgetStatus {
        let (today, resets_in) = self.now();
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let used = if state.0 == today { state.1 } else { 0 };
        BudgetStatus {
            limit: self.limit,
            used,
            remaining: self.limit.saturating_sub(used),
            resets_in,
        }
    }
}

impl fmt::Debug for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.status();
        write!(f, "Budget({}/{} used today)", status.used, status.limit)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;
    use crate::grants::Level;
    use crate::operation::Access;

    #[test]
    fn grants_refuse_naming_the_scope_and_level() {
        let read: Grants = "website:conversation:sessions=read".parse().unwrap();
        assert!(grants(Some(&read), &Operation::LIST_CONVERSATIONS).is_ok());
        assert!(grants(None, &Operation::REMOVE_CONVERSATION).is_ok());
        match grants(Some(&read), &Operation::REMOVE_CONVERSATION) {
            Err(Error::NotGranted {
                scope,
                needed,
                granted,
                ..
            }) => {
                assert_eq!(scope, "website:conversation:sessions");
                assert_eq!(needed, Access::Write);
                assert_eq!(granted, Some(Level::Read));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn confirmation_is_asked_only_for_operations_with_an_effect() {
        static ASKED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let asked = &ASKED;
        let no = |request: &Confirmation<'_>| {
            ASKED.fetch_add(1, Ordering::SeqCst);
            assert_eq!(request.path_id("session_id"), Some("s"));
            false
        };
        let ids = [
            ("website_id", "w".to_owned()),
            ("session_id", "s".to_owned()),
        ];
        assert!(confirm(Some(&no), &Operation::GET_CONVERSATION, &ids).is_ok());
        assert_eq!(asked.load(Ordering::SeqCst), 0);
        assert!(matches!(
            confirm(Some(&no), &Operation::SEND_MESSAGE, &ids),
            Err(Error::NotConfirmed { .. })
        ));
        assert!(matches!(
            confirm(Some(&no), &Operation::REMOVE_CONVERSATION, &ids),
            Err(Error::NotConfirmed { .. })
        ));
        assert_eq!(asked.load(Ordering::SeqCst), 2);
        assert!(confirm(None, &Operation::REMOVE_CONVERSATION, &ids).is_ok());
        assert_eq!(
            Confirmation::new(&Operation::SEND_MESSAGE, &ids).to_string(),
            "send_message (customer-visible) on website_id=w, session_id=s"
        );
    }

    static NOW: AtomicU64 = AtomicU64::new(0);

    fn fake_clock() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW.load(Ordering::SeqCst))
    }

    #[test]
    fn the_budget_counts_per_utc_day() {
        // 2026-11-25 23:59:00 UTC
        NOW.store(20_417 * DAY + DAY - 60, Ordering::SeqCst);
        let budget = Budget::new(2, fake_clock);
        assert!(budget.take(&Operation::GET_CONVERSATION).is_ok());
        assert!(budget.take(&Operation::GET_CONVERSATION).is_ok());
        match budget.take(&Operation::SEND_MESSAGE) {
            Err(Error::BudgetSpent {
                limit, resets_in, ..
            }) => {
                assert_eq!(limit, 2);
                assert_eq!(resets_in, Duration::from_secs(60));
            }
            other => panic!("{other:?}"),
        }
        let status = budget.status();
        assert_eq!((status.used, status.remaining), (2, 0));
        // Midnight UTC: a new day, a new count.
        NOW.store(20_418 * DAY, Ordering::SeqCst);
        assert_eq!(budget.status().used, 0);
        assert!(budget.take(&Operation::GET_CONVERSATION).is_ok());
        assert_eq!(budget.status().used, 1);
        assert_eq!(budget.status().resets_in, Duration::from_secs(DAY));
    }
}

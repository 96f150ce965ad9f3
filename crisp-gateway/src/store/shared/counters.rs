//! What both stores share of the daily counters: the statements that are the same SQL on both
//! backends (a take's own statement differs: see each backend's `TAKE`), and the reading of a
//! day's usage.

use super::to_u64;
use crate::store::error::StoreError;
use crate::store::types::Usage;

/// Creates the two counters of a take, on day `$1` (the agent `$2`'s and the token's), at zero
/// where missing (the day's first take).
pub(in crate::store) const CREATE_BOTH: &str = "INSERT INTO counters (day, kind, name, used) \
     VALUES ($1, 'agent', $2, 0), ($1, 'token', '', 0) \
     ON CONFLICT (day, kind, name) DO NOTHING";

/// Raises both counters of day `$1` (the agent `$2`'s and the token's) by `$3`, creating them
/// where missing: one statement, both or neither. The rows are locked in the order of the list,
/// the agent's first, as PostgreSQL's take locks them.
pub(in crate::store) const ADD_BOTH: &str = "INSERT INTO counters (day, kind, name, used) \
     VALUES ($1, 'agent', $2, $3), ($1, 'token', '', $3) \
     ON CONFLICT (day, kind, name) DO UPDATE SET used = counters.used + excluded.used";

/// The day `$1`'s counters (kind, name, used): the token's, and each agent's that was used.
pub(in crate::store) const USAGE: &str = "SELECT kind, name, used FROM counters \
     WHERE day = $1 AND (kind = 'token' OR used > 0) ORDER BY kind, name";

/// The rows of [`USAGE`] for `day` as its [`Usage`].
///
/// # Errors
/// A negative count: the row is corrupt.
pub(in crate::store) fn usage(
    day: u32,
    counts: Vec<(String, String, i64)>,
) -> Result<Usage, StoreError> {
    let mut usage = Usage {
        day,
        ..Usage::default()
    };
    for (kind, name, used) in counts {
        if kind == "token" {
            usage.quota_used = to_u64(used, "the token's daily count")?;
        } else {
            usage
                .agents
                .push((name, to_u64(used, "an agent's daily count")?));
        }
    }
    Ok(usage)
}

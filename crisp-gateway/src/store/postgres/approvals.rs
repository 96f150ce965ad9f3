//! [`ApprovalStore`](crate::store::ApprovalStore) on PostgreSQL, stamped by `approval_store!` (the
//! shared SQL of `store/approvals.rs`): each transition in one transaction with its audit row. Under READ COMMITTED a conditional `UPDATE` of a row
//! another transaction is updating waits for it, then re-checks its `WHERE` on the row as that
//! one committed it: of two replicas approving one proposal at once, the second finds it no
//! longer `pending` and changes nothing.

use super::PostgresStore;
use crate::store::shared::approvals::approval_store;

approval_store! {
    store: PostgresStore,
    database: ::sqlx::Postgres,
    connection: ::sqlx::PgConnection,
    writer: pool,
    reader: pool,
}

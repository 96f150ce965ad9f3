//! [`ApprovalStore`](crate::store::ApprovalStore) on SQLite, stamped by `approval_store!` (the
//! shared SQL of `store/approvals.rs`): each transition in one transaction with its audit row.
//! SQLite has one writer at a time (this pool's one connection in the process, the file's lock
//! across processes such as `crisp-gateway approvals approve` beside a running gateway), so a
//! conditional `UPDATE` sees every earlier commit.

use super::SqliteStore;
use crate::store::shared::approvals::approval_store;

approval_store! {
    store: SqliteStore,
    database: ::sqlx::Sqlite,
    connection: ::sqlx::SqliteConnection,
    writer: writer,
    reader: reader,
}

//! The MCP front's confirmation tokens on SQLite
//! ([`ConfirmationStore`](crate::store::ConfirmationStore) for [`SqliteStore`]), stamped by
//! `confirmation_store!`.

use super::SqliteStore;
use crate::store::shared::confirmations::confirmation_store;

confirmation_store! { store: SqliteStore, writer: writer }

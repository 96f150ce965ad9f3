//! The MCP front's confirmation tokens on PostgreSQL
//! ([`ConfirmationStore`](crate::store::ConfirmationStore) for [`PostgresStore`]), stamped by
//! `confirmation_store!`.

use super::PostgresStore;
use crate::store::shared::confirmations::confirmation_store;

confirmation_store! { store: PostgresStore, writer: pool }

//! The gateway's store on SQLite and on PostgreSQL (a real cluster, started by the test): the
//! same behaviour tests run on both backends (`behaviour`), each through the `Arc<dyn Store>`
//! that `store::open` gives; what only one backend has is tested beside them.
//!
//! The PostgreSQL tests need the server's binaries (`apt-get install postgresql`);
//! `CRISP_SKIP_POSTGRES=1` skips them. See `tests/support/postgres.rs`.

#[path = "../support/postgres.rs"]
mod cluster;

mod approvals;
mod backend;
mod behaviour;
mod confirmations;
mod outbox;
mod postgres;
mod shared;
mod sqlite;

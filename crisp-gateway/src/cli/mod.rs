//! The subcommands: `run` (the server, the default), `check FILE`, `agents add NAME`, `audit`,
//! `reload` and `approvals list|approve|deny`. Each takes its parsed arguments; `main.rs` holds the argument parsing.

pub mod agents;
pub mod approvals;
pub mod audit;
pub mod check;
pub mod pid;
pub mod reload;
pub mod run;

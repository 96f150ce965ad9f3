//! The subcommands: `run` (the server, the default), `check FILE`, `agents add NAME`, `audit`
//! and `reload`. Each takes its parsed arguments; `main.rs` holds the argument parsing.

pub mod agents;
pub mod audit;
pub mod check;
pub mod pid;
pub mod reload;
pub mod run;

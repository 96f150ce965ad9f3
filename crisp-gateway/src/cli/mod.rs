//! The subcommands that are not the server: `check FILE`, `agents add NAME` and `audit`. Each
//! takes its parsed arguments and writes to the writers it is given (or to stdout), so that
//! tests can read what it printed; `main.rs` holds the argument parsing.

pub mod agents;
pub mod audit;
pub mod check;

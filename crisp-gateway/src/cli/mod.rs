//! The subcommands that are not the server: `check FILE` and `agents add NAME`. Each takes
//! its parsed arguments and writes to the writers it is given, so that tests can read what it
//! printed; `main.rs` holds the argument parsing.

pub mod agents;
pub mod check;

//! The subcommands' logic, one module each; `main.rs` parses the command line and calls them.

pub mod audit;

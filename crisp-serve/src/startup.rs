//! The two ends of a binary's `main`: logging to stderr, and the exit code.

use std::io::IsTerminal as _;
use std::process::ExitCode;

/// Sends `tracing` events to stderr: colours only when stderr is a terminal, filtered by
/// `RUST_LOG` when it is set and valid, else by `default_filter` (such as
/// `"crisp_sandbox=info"`). stdout stays free for the binary's own output.
///
/// Does nothing if a global subscriber is already set.
pub fn tracing_to_stderr(default_filter: &str) {
    tracing_to_stderr_capped(default_filter, &[]);
}

/// [`tracing_to_stderr`], with some targets never logged below a level whatever `RUST_LOG`
/// says: for libraries that log what must not reach a log (crisp-mcp caps `rmcp` at `warn`,
/// because below it rmcp logs tool results, which carry confirmation tokens).
///
/// ```
/// crisp_serve::tracing_to_stderr_capped("my_server=info", &[("noisy_lib", tracing::Level::WARN)]);
/// ```
pub fn tracing_to_stderr_capped(default_filter: &str, caps: &[(&str, tracing::Level)]) {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;

    let asked = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let capped = caps.iter().fold(
        Targets::new().with_default(LevelFilter::TRACE),
        |targets, (target, level)| targets.with_target(*target, LevelFilter::from_level(*level)),
    );
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_filter(capped)
        .with_filter(asked);
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// The end of `main`: success, or `<binary>: <message>` on stderr and a failure exit code.
pub fn exit(binary: &str, result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{}", failure_line(binary, &message));
            ExitCode::FAILURE
        }
    }
}

/// The line [`exit`] prints for a failure.
///
/// ```
/// assert_eq!(
///     crisp_serve::failure_line("crisp-sandbox", "--tier: unknown tier `robot`"),
///     "crisp-sandbox: --tier: unknown tier `robot`"
/// );
/// ```
pub fn failure_line(binary: &str, message: &str) -> String {
    format!("{binary}: {message}")
}

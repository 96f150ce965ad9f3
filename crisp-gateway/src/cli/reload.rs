//! `crisp-gateway reload [--data DIR]`: asks the gateway serving a data directory to re-read
//! its policy file, with `SIGHUP` (sent to the pid in the directory's locked pid file only, see
//! [`pid`](mod@super::pid)). The gateway logs whether it took the new policy; a file it refuses
//! leaves the policy in force as it was.

use std::path::PathBuf;

use super::pid;

/// The arguments of `crisp-gateway reload`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct Args {
    /// The running gateway's data directory (the one it was started with).
    #[arg(long, value_name = "DIR", default_value = "./.crisp-gateway")]
    pub data: PathBuf,
}

/// Sends `SIGHUP` to the gateway serving `args.data`; returns what to tell the user.
///
/// # Errors
/// No gateway serves the directory, or the signal cannot be sent (another user's process).
pub fn run(args: &Args) -> Result<String, String> {
    let pid = pid::running(&args.data)?;
    hangup(pid)?;
    Ok(format!(
        "asked the gateway (pid {pid}) to re-read its policy: its log says whether it took it \
         (a file it refuses leaves the policy in force as it was)"
    ))
}

#[cfg(unix)]
fn hangup(pid: u32) -> Result<(), String> {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    let raw = i32::try_from(pid).map_err(|_| format!("{pid} is not a process id"))?;
    kill(Pid::from_raw(raw), Signal::SIGHUP)
        .map_err(|e| format!("cannot signal the gateway (pid {pid}): {e}"))
}

#[cfg(not(unix))]
fn hangup(_pid: u32) -> Result<(), String> {
    Err(
        "reload signals the gateway with SIGHUP, which this system does not have: restart the \
         gateway instead"
            .to_owned(),
    )
}

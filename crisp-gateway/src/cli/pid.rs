//! The pid file in the data directory: which process serves a data directory. The gateway
//! holds an exclusive lock on it while it runs, so that `crisp-gateway reload` signals only a
//! running gateway (a file left by one that stopped, whose pid may now be another process's,
//! is not locked, and is never signalled) and a second gateway cannot start on the same data.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

/// The pid file's name inside the data directory (`--data`).
pub const PID_FILE: &str = "gateway.pid";

/// The running gateway's claim on its data directory: the pid file, locked. Release it on
/// shutdown (dropped, the lock is released too, and the file is left).
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    // Holds the lock while it lives.
    _file: File,
}

impl PidFile {
    /// Claims `dir` for this process: locks its pid file (creating it) and writes this
    /// process's id in it.
    ///
    /// # Errors
    /// Another process holds the lock (another gateway serves `dir`), or the file cannot be
    /// written.
    pub fn claim(dir: &Path) -> Result<Self, String> {
        let path = dir.join(PID_FILE);
        let cannot =
            |e: std::io::Error| format!("cannot write the pid file {}: {e}", path.display());
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(cannot)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let pid = read_pid(&mut file).map_or_else(|| "?".to_owned(), |p| p.to_string());
                return Err(format!(
                    "another crisp-gateway (pid {pid}) is serving the data directory {}: stop it \
                     first, or give this one another --data",
                    dir.display()
                ));
            }
            Err(TryLockError::Error(e)) => return Err(cannot(e)),
        }
        file.set_len(0).map_err(cannot)?;
        writeln!(file, "{}", std::process::id()).map_err(cannot)?;
        file.flush().map_err(cannot)?;
        Ok(Self { path, _file: file })
    }

    /// Removes the pid file and releases the lock (a clean shutdown).
    pub fn release(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The pid of the gateway serving `dir`.
///
/// # Errors
/// No gateway serves `dir`: no pid file, or one that no running gateway holds (said so), or a
/// pid file that holds no pid.
pub fn running(dir: &Path) -> Result<u32, String> {
    let path = dir.join(PID_FILE);
    let not_running = |why: &str| {
        format!(
            "no crisp-gateway is running with --data {} ({why}): start one, or give the --data \
             directory it was started with",
            dir.display()
        )
    };
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(not_running(&format!("there is no {PID_FILE}")));
        }
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    match file.try_lock_shared() {
        // Nobody holds it: the gateway that wrote it has stopped.
        Ok(()) => Err(not_running(&format!(
            "its {PID_FILE} is left from a gateway that stopped"
        ))),
        Err(TryLockError::WouldBlock) => {
            read_pid(&mut file).ok_or_else(|| format!("{} holds no process id", path.display()))
        }
        Err(TryLockError::Error(e)) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claimed_directory_is_running_and_cannot_be_claimed_twice() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            running(dir.path())
                .unwrap_err()
                .contains("there is no gateway.pid")
        );
        let claim = PidFile::claim(dir.path()).unwrap();
        assert_eq!(running(dir.path()), Ok(std::process::id()));
        let second = PidFile::claim(dir.path()).unwrap_err();
        assert!(second.contains("another crisp-gateway"), "{second}");
        drop(claim);
        // Left behind, unlocked: not a running gateway.
        assert!(
            running(dir.path())
                .unwrap_err()
                .contains("left from a gateway that stopped")
        );
        PidFile::claim(dir.path()).unwrap().release();
        assert!(!dir.path().join(PID_FILE).exists());
    }
}

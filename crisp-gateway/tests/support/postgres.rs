//! A throwaway PostgreSQL cluster for the store's tests and bench: real PostgreSQL, never a
//! mock, started from the installed server binaries into a temp directory and reached over a
//! Unix socket in that directory only (no TCP port: nothing to collide with, nothing on the
//! network).
//!
//! - One cluster per test binary ([`Cluster::shared`], a `OnceLock`), one database per test
//!   ([`Cluster::create_database`]), so a suite pays for `initdb` once.
//! - The binaries: `$CRISP_POSTGRES_BIN` if set, else `pg_config --bindir`, else the newest
//!   `/usr/lib/postgresql/*/bin` (Debian's layout), else `initdb` on the `PATH`. Missing, the
//!   tests fail with one sentence saying to install them (`apt-get install postgresql`), unless
//!   `CRISP_SKIP_POSTGRES=1` is set: then the PostgreSQL tests say they were skipped and pass.
//! - As root, `initdb` and `postgres` refuse to run. The cluster is then run as an unprivileged
//!   user: `$CRISP_POSTGRES_USER` if set, else `postgres` (which Debian's package creates), else
//!   `nobody`. The temp directory is handed to that user (`chown`), and the server's processes
//!   get its uid and gid through `std::os::unix::process::CommandExt` (no `su`/`runuser`, no
//!   unsafe code); root still reaches the socket. As any other user, the cluster runs as that
//!   user.
//! - Stopping: a `static` is never dropped, so the server is not stopped by a destructor. A
//!   watchdog shell, run as the cluster's user, waits on a pipe whose other end only this
//!   process holds: when the process ends, however it ends (a panic, an abort, a kill), the
//!   kernel closes it, and the watchdog stops the server (fast shutdown) and removes the
//!   directory. Dropping a [`Cluster`] (the bench's) does the same at once and waits for it.
//! - Speed over durability in tests: `fsync`, `synchronous_commit` and `full_page_writes` are
//!   off (a crash loses the cluster, which is thrown away anyway); the store's SQL is the same.
//!   The bench chooses its own settings ([`Cluster::start_with`]).

#![allow(dead_code)]

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sqlx::Connection as _;

/// The database superuser `initdb` creates (trusted on the socket: no password).
const SUPERUSER: &str = "crisp";
/// The socket's port number (its file name: `.s.PGSQL.5432`; no TCP port is opened).
const PORT: u16 = 5432;
/// How long the server may take to start before the helper gives up (a guard against a hang,
/// not an assertion: a healthy start takes well under a second).
const START_GUARD: Duration = Duration::from_secs(60);

/// What the watchdog runs (as the cluster's user): `$1` the directory, `$2` the server's pid.
/// `read` returns when this process closes its end of stdin (at exit, or on drop).
const WATCHDOG: &str = r#"read -r _ || :
kill -INT "$2" 2>/dev/null
i=0
while [ -e "$1/data/postmaster.pid" ] && [ "$i" -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
rm -rf "$1""#;

/// A running throwaway cluster. See the [module docs](self).
pub struct Cluster {
    dir: PathBuf,
    postgres: Child,
    watchdog: Child,
    /// This process's end of the watchdog's stdin: closing it stops the cluster.
    stop: Option<ChildStdin>,
}

static SHARED: OnceLock<Result<Cluster, String>> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);

impl Cluster {
    /// The test binary's cluster, started on first use; `None` when `CRISP_SKIP_POSTGRES=1`
    /// asks to skip the PostgreSQL tests (said once on stderr).
    ///
    /// # Panics
    /// When the PostgreSQL binaries are not installed (saying how to install them), or the
    /// cluster cannot be started (with the server's log): the test fails.
    pub fn shared() -> Option<&'static Cluster> {
        if skip_requested() {
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                // Straight to stderr: the test harness captures `eprintln!` of passing tests.
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped: the PostgreSQL store tests (CRISP_SKIP_POSTGRES=1)"
                );
            });
            return None;
        }
        match SHARED.get_or_init(Cluster::start) {
            Ok(cluster) => Some(cluster),
            Err(error) => panic!("{error}"),
        }
    }

    /// Starts a cluster of its own, tuned for tests (nothing is flushed to disk).
    ///
    /// # Errors
    /// The binaries are missing (one sentence saying to install them), or `initdb` or the
    /// server failed (with their output).
    pub fn start() -> Result<Cluster, String> {
        Cluster::start_with(&[
            "fsync=off",
            "synchronous_commit=off",
            "full_page_writes=off",
        ])
    }

    /// Starts a cluster of its own with these server settings (`name=value`, as `-c` takes
    /// them) beside the helper's own (a Unix socket only, 300 connections).
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub fn start_with(settings: &[&str]) -> Result<Cluster, String> {
        let bin = find_binaries()?;
        let dir = tempfile::Builder::new()
            .prefix("crisp-pg-")
            .tempdir()
            .map_err(|e| format!("cannot create a temp dir for PostgreSQL: {e}"))?
            .keep();
        let owner = Owner::for_dir(&dir)?;
        let data = dir.join("data");

        let initdb = owner
            .command(&bin.join("initdb"), &dir)
            .arg("--pgdata")
            .arg(&data)
            .args(["--username", SUPERUSER, "--auth", "trust"])
            .args(["--encoding", "UTF8", "--locale", "C", "--no-sync"])
            .output()
            .map_err(|e| format!("cannot run {}: {e}", bin.join("initdb").display()))?;
        if !initdb.status.success() {
            let _ = fs::remove_dir_all(&dir);
            return Err(format!(
                "initdb failed ({}): {}{}",
                initdb.status,
                String::from_utf8_lossy(&initdb.stdout),
                String::from_utf8_lossy(&initdb.stderr)
            ));
        }

        let log_path = dir.join("postgres.log");
        let log = fs::File::create(&log_path)
            .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
        let log_err = log
            .try_clone()
            .map_err(|e| format!("cannot share the server's log file: {e}"))?;
        let postgres = owner
            .command(&bin.join("postgres"), &dir)
            .arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(&dir)
            .args(["-p", &PORT.to_string()])
            .args(["-c", "listen_addresses=", "-c", "max_connections=300"])
            .args(settings.iter().flat_map(|setting| ["-c", setting]))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", bin.join("postgres").display()))?;
        let mut watchdog = owner
            .command(Path::new("/bin/sh"), &dir)
            .args(["-c", WATCHDOG, "crisp-pg-watchdog"])
            .arg(&dir)
            .arg(postgres.id().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the cluster's watchdog (/bin/sh): {e}"))?;
        let stop = watchdog.stdin.take();
        let mut cluster = Cluster {
            dir,
            postgres,
            watchdog,
            stop,
        };
        cluster.wait_until_ready(&bin, &log_path)?;
        Ok(cluster)
    }

    /// Creates a new, empty database and returns its URL.
    ///
    /// # Panics
    /// When the cluster refuses (the test fails).
    pub async fn create_database(&self) -> String {
        let name = format!(
            "store_{}_{}",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = sqlx::PgConnection::connect(&self.url("postgres"))
            .await
            .expect("the test cluster takes connections");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("the test cluster creates a database");
        let _ = admin.close().await;
        self.url(&name)
    }

    /// The server's process id (its backends are its children: the bench reads their CPU).
    pub fn pid(&self) -> u32 {
        self.postgres.id()
    }

    /// The URL of `database` on this cluster (over its socket, as the superuser).
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@localhost:{PORT}/{database}?host={}",
            self.dir.display()
        )
    }

    fn wait_until_ready(&mut self, bin: &Path, log: &Path) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.postgres.try_wait() {
                return Err(format!(
                    "the PostgreSQL server stopped ({status}) before taking connections: {}",
                    fs::read_to_string(log).unwrap_or_default()
                ));
            }
            let ready = Command::new(bin.join("pg_isready"))
                .arg("-h")
                .arg(&self.dir)
                .args([
                    "-p",
                    &PORT.to_string(),
                    "-U",
                    SUPERUSER,
                    "-d",
                    "postgres",
                    "-q",
                ])
                .status()
                .map_err(|e| format!("cannot run {}: {e}", bin.join("pg_isready").display()))?;
            if ready.success() {
                return Ok(());
            }
            if started.elapsed() > START_GUARD {
                return Err(format!(
                    "the PostgreSQL server took no connection within {START_GUARD:?}: {}",
                    fs::read_to_string(log).unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Closing the pipe wakes the watchdog: it stops the server and removes the directory.
        drop(self.stop.take());
        let _ = self.watchdog.wait();
        let _ = self.postgres.wait();
    }
}

/// Who runs the cluster: this process's user, or (as root) an unprivileged one that is given
/// the directory.
struct Owner {
    ids: Option<(u32, u32)>,
}

impl Owner {
    fn for_dir(dir: &Path) -> Result<Owner, String> {
        // A directory this process just created belongs to its effective user.
        let root = fs::metadata(dir)
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .uid()
            == 0;
        if !root {
            return Ok(Owner { ids: None });
        }
        let names = match std::env::var("CRISP_POSTGRES_USER") {
            Ok(name) if !name.is_empty() => vec![name],
            _ => vec!["postgres".to_owned(), "nobody".to_owned()],
        };
        let (uid, gid) = names
            .iter()
            .find_map(|name| user_ids(name))
            .ok_or_else(|| {
                format!(
                    "running as root, the PostgreSQL test cluster needs an unprivileged user to \
                     run as (initdb refuses root), and none of {names:?} exists: create one \
                     (`useradd --system postgres`) or name one in CRISP_POSTGRES_USER"
                )
            })?;
        std::os::unix::fs::chown(dir, Some(uid), Some(gid))
            .map_err(|e| format!("cannot give {} to uid {uid}: {e}", dir.display()))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot set the mode of {}: {e}", dir.display()))?;
        Ok(Owner {
            ids: Some((uid, gid)),
        })
    }

    /// `program`, run in `dir` (the server's user may not read this process's working
    /// directory), as the cluster's user.
    fn command(&self, program: &Path, dir: &Path) -> Command {
        let mut command = Command::new(program);
        command.current_dir(dir);
        if let Some((uid, gid)) = self.ids {
            // std drops the supplementary groups too when root changes user.
            command.uid(uid).gid(gid);
        }
        command
    }
}

/// The uid and gid of `name`, from `/etc/passwd`.
fn user_ids(name: &str) -> Option<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() < 4 || fields[0] != name {
            return None;
        }
        Some((fields[2].parse().ok()?, fields[3].parse().ok()?))
    })
}

fn skip_requested() -> bool {
    std::env::var("CRISP_SKIP_POSTGRES").is_ok_and(|v| v == "1")
}

/// The directory that holds `initdb`, `postgres` and `pg_isready`.
fn find_binaries() -> Result<PathBuf, String> {
    let complete = |dir: &Path| {
        ["initdb", "postgres", "pg_isready"]
            .iter()
            .all(|b| dir.join(b).is_file())
    };
    if let Some(dir) = std::env::var_os("CRISP_POSTGRES_BIN") {
        let dir = PathBuf::from(dir);
        return if complete(&dir) {
            Ok(dir)
        } else {
            Err(format!(
                "CRISP_POSTGRES_BIN={} does not hold initdb, postgres and pg_isready",
                dir.display()
            ))
        };
    }
    let mut candidates = Vec::new();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        candidates.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    }
    // Debian's layout: one directory per major version, the newest first.
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
    candidates.extend(versions.into_iter().map(|(_, dir)| dir));
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if let Ok(initdb) = fs::canonicalize(dir.join("initdb"))
            && let Some(parent) = initdb.parent()
        {
            candidates.push(parent.to_path_buf());
        }
    }
    candidates
        .into_iter()
        .find(|dir| complete(dir))
        .ok_or_else(|| {
            "the PostgreSQL server binaries (initdb, postgres) are not installed: install them \
         (`apt-get install postgresql`), or set CRISP_SKIP_POSTGRES=1 to skip the PostgreSQL \
         store tests"
                .to_owned()
        })
}

//! One policy for two gateway replicas (the binary, two processes) on one PostgreSQL database:
//! a reload on one reaches the other (a revoked agent is refused by both), a bad revision is
//! refused and the policy in force kept, a replica starting with a stale file joins the store's
//! policy and one starting with a newer file gives it to the others, and a replica refuses a
//! schema newer than it knows. Needs PostgreSQL's binaries (`CRISP_SKIP_POSTGRES=1` skips it).

#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crisp_gateway::policy::KeyHash;
use crisp_sandbox::Sandbox;
use nix::sys::signal::Signal;
use sqlx::Connection as _;

#[path = "support/postgres.rs"]
mod cluster;
#[path = "support/replicas.rs"]
mod replicas;

use replicas::{Replica, wait_until};

fn key(name: &str) -> String {
    format!("{name}-key-0123456789abcdef0123456789")
}

fn policy(website: &str, names: &[&str]) -> String {
    names
        .iter()
        .map(|name| {
            format!(
                "[[agents]]\nname = \"{name}\"\nkey_sha256 = \"{}\"\n\
                 grants = \"website:settings=read\"\nwebsites = [\"{website}\"]\n\n",
                KeyHash::of(key(name).as_bytes())
            )
        })
        .collect()
}

/// The status `agent` gets from `replica` for one read.
async fn status(replica: &Replica, agent: &str, website: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/website/{website}/settings", replica.base_url))
        .basic_auth(agent, Some(key(agent)))
        .send()
        .await
        .expect("the replica answers")
        .status()
        .as_u16()
}

struct Setup {
    dir: tempfile::TempDir,
    sandbox: Sandbox,
    database: String,
    file: PathBuf,
}

impl Setup {
    async fn new(names: &[&str]) -> Option<Self> {
        let cluster = cluster::Cluster::shared()?;
        let database = cluster.create_database().await;
        let sandbox = Sandbox::start().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gateway.toml");
        std::fs::write(&file, policy(sandbox.website_id(), names)).unwrap();
        Some(Self {
            dir,
            sandbox,
            database,
            file,
        })
    }

    fn replica(&self, name: &str, file: &Path) -> Replica {
        Replica::start(
            &self.dir.path().join(name),
            file,
            &self.database,
            &self.sandbox,
            &[],
        )
    }

    fn website(&self) -> &str {
        self.sandbox.website_id()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_revoked_on_one_replica_is_refused_by_both() {
    let Some(setup) = Setup::new(&["kept", "revoked"]).await else {
        return;
    };
    let a = setup.replica("a", &setup.file);
    let b = setup.replica("b", &setup.file);
    let website = setup.website();
    for replica in [&a, &b] {
        assert_eq!(status(replica, "revoked", website).await, 200);
    }

    // The file changes under A only (B's copy stays as it was), and A is reloaded.
    let a_file = setup.dir.path().join("a.toml");
    std::fs::write(&a_file, policy(website, &["kept"])).unwrap();
    std::fs::rename(&a_file, &setup.file).unwrap();
    let reloaded = Instant::now();
    a.signal(Signal::SIGHUP);
    wait_until("A refusing the revoked agent", async || {
        status(&a, "revoked", website).await == 401
    })
    .await;
    wait_until("B refusing the revoked agent", async || {
        status(&b, "revoked", website).await == 401
    })
    .await;
    // Not an assertion (no test asserts a time): the figure for docs/gateway.md.
    eprintln!(
        "revoked on both replicas {:?} after A's SIGHUP",
        reloaded.elapsed()
    );
    for replica in [&a, &b] {
        assert_eq!(status(replica, "kept", website).await, 200);
    }
    assert!(
        b.stderr().contains("written by another replica"),
        "{}",
        b.stderr()
    );
    a.stop();
    b.stop();
    setup.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_revision_is_refused_and_the_policy_in_force_kept() {
    let Some(setup) = Setup::new(&["kept", "other"]).await else {
        return;
    };
    let a = setup.replica("a", &setup.file);
    let website = setup.website();

    // A revision that is no policy, written by something that is not a gateway.
    let mut db = sqlx::PgConnection::connect(&setup.database).await.unwrap();
    sqlx::query(
        "WITH r AS (INSERT INTO policy_revisions (text, source, published_ms) \
         VALUES ('[[agents]]\nname = 42', 'by hand', 0) RETURNING revision) \
         SELECT pg_notify('crisp_gateway_policy', revision::text) FROM r",
    )
    .execute(&mut db)
    .await
    .unwrap();
    wait_until("A refusing the bad revision", async || {
        a.stderr().contains("revision is refused")
    })
    .await;
    assert_eq!(status(&a, "kept", website).await, 200);
    assert_eq!(status(&a, "other", website).await, 200);

    // A good one after it is taken.
    let text = policy(website, &["kept"]);
    sqlx::query(
        "WITH r AS (INSERT INTO policy_revisions (text, source, published_ms) \
         VALUES ($1, 'by hand', 0) RETURNING revision) \
         SELECT pg_notify('crisp_gateway_policy', revision::text) FROM r",
    )
    .bind(&text)
    .execute(&mut db)
    .await
    .unwrap();
    wait_until("A taking the good revision", async || {
        status(&a, "other", website).await == 401
    })
    .await;
    assert_eq!(status(&a, "kept", website).await, 200);
    db.close().await.unwrap();
    a.stop();
    setup.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_start_the_newer_of_the_file_and_the_stores_revision_wins() {
    let Some(setup) = Setup::new(&["first"]).await else {
        return;
    };
    let website = setup.website();
    let a = setup.replica("a", &setup.file);

    // A stale file (last modified an hour ago) names another agent: B joins the store's policy.
    let stale = setup.dir.path().join("stale.toml");
    std::fs::write(&stale, policy(website, &["stale"])).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    let b = setup.replica("b", &stale);
    assert_eq!(status(&b, "first", website).await, 200);
    assert_eq!(status(&b, "stale", website).await, 401);

    // A file written after the store's revision: C starts with it, and A and B follow.
    let newer = setup.dir.path().join("newer.toml");
    std::fs::write(&newer, policy(website, &["newer"])).unwrap();
    let c = setup.replica("c", &newer);
    assert_eq!(status(&c, "newer", website).await, 200);
    for replica in [&a, &b] {
        wait_until("a replica following C's file", async || {
            status(replica, "newer", website).await == 200
        })
        .await;
        assert_eq!(status(replica, "first", website).await, 401);
    }
    a.stop();
    b.stop();
    c.stop();
    setup.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_refuses_a_schema_newer_than_it_knows() {
    let Some(setup) = Setup::new(&["first"]).await else {
        return;
    };
    // A replica migrates the database, then a newer crisp-gateway adds a migration.
    setup.replica("a", &setup.file).stop();
    let mut db = sqlx::PgConnection::connect(&setup.database).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', true, '\\x00', 0)",
    )
    .execute(&mut db)
    .await
    .unwrap();
    db.close().await.unwrap();

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_crisp-gateway"))
        .args(["--port", "0", "--data"])
        .arg(setup.dir.path().join("b"))
        .arg("--policy")
        .arg(&setup.file)
        .args(["--database", &setup.database])
        .env("CRISP_IDENTIFIER", setup.sandbox.identifier())
        .env("CRISP_KEY", setup.sandbox.key())
        .env("CRISP_TIER", "plugin")
        .env("CRISP_BASE_URL", setup.sandbox.base_url())
        .env_remove("CRISP_GATEWAY_DATABASE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "it never started serving");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("9999"), "{stderr}");
    setup.sandbox.shutdown().await;
}

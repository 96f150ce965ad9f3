//! Approvals across two gateway replicas (the binary, two processes) on one PostgreSQL
//! database: a proposal made on one is seen on the other; approved by three reviewers at once
//! (three `approvals approve` processes), it is sent once; approved on replica A's dashboard
//! while replica B's approve form is posted twice (the admin token set, people signed in), it
//! is sent once and the losers are told so on their page; a reviewer killed between claiming
//! the send and hearing Crisp's answer leaves it to the replicas, which never send it again and
//! mark it `unknown_outcome`. Needs PostgreSQL's binaries (`CRISP_SKIP_POSTGRES=1` skips it).

#![cfg(unix)]

use std::io::Read as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crisp_gateway::policy::KeyHash;
use crisp_gateway::store::{self, ApprovalState, AuditFilter, Store};
use crisp_sandbox::Sandbox;
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};

#[path = "support/postgres.rs"]
mod cluster;
#[path = "support/replicas.rs"]
mod replicas;
mod support;

use replicas::{Replica, wait_until};
use support::approvals::copies;
use support::person::{Person, form_post};

const KEY: &str = "reply-key-0123456789abcdef0123456789";
const ADMIN: &str = "admin-token-0123456789abcdef";

struct Setup {
    dir: tempfile::TempDir,
    sandbox: Sandbox,
    database: String,
    file: PathBuf,
    session: String,
    a: Replica,
    b: Replica,
}

impl Setup {
    /// Two replicas with the environment variables `env` set too (such as the admin token).
    async fn new(env: &[(&str, &str)]) -> Option<Self> {
        let cluster = cluster::Cluster::shared()?;
        let database = cluster.create_database().await;
        let sandbox = Sandbox::start().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gateway.toml");
        std::fs::write(
            &file,
            format!(
                "[[agents]]\nname = \"reply\"\nkey_sha256 = \"{}\"\n\
                 grants = \"website:conversation:messages=write, \
                 website:conversation:sessions=read\"\nwebsites = [\"{}\"]\n\
                 approve = [\"send_message\"]\n",
                KeyHash::of(KEY.as_bytes()),
                sandbox.website_id()
            ),
        )
        .unwrap();
        // Sends claimed more than 300 ms ago are stale: the replicas settle them that soon.
        let stale = ["--approval-send-stale-ms", "300"];
        let start = |name: &str| {
            Replica::start_with(
                &dir.path().join(name),
                &file,
                &database,
                &sandbox,
                &stale,
                env,
            )
        };
        let (a, b) = (start("a"), start("b"));
        let session = sandbox.fixtures().conversations[0]["session_id"]
            .as_str()
            .unwrap()
            .to_owned();
        Some(Self {
            dir,
            sandbox,
            database,
            file,
            session,
            a,
            b,
        })
    }

    /// The agent proposes `text` on `replica`: the approval's id.
    async fn propose(&self, replica: &Replica, text: &str) -> String {
        let answer = reqwest::Client::new()
            .post(format!(
                "{}/website/{}/conversation/{}/message",
                replica.base_url,
                self.sandbox.website_id(),
                self.session
            ))
            .basic_auth("reply", Some(KEY))
            .json(&json!({"type": "text", "from": "operator", "origin": "chat", "content": text}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 202);
        let envelope: Value = answer.json().await.unwrap();
        envelope["data"]["approval_id"].as_str().unwrap().to_owned()
    }

    /// The approval's status, as the agent reads it on `replica`.
    async fn status(&self, replica: &Replica, id: &str) -> String {
        self.approval(replica, id).await["status"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The approval, as the agent reads it on `replica`: the status answer's `data`.
    async fn approval(&self, replica: &Replica, id: &str) -> Value {
        let mut answer: Value = reqwest::Client::new()
            .get(format!("{}/_gateway/approvals/{id}", replica.base_url))
            .basic_auth("reply", Some(KEY))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["data"].take()
    }

    /// `crisp-gateway approvals approve ID` as `reviewer`, sending to `upstream`.
    fn approve(&self, id: &str, reviewer: &str, upstream: &str) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_crisp-gateway"));
        for variable in crisp_api::env::VARIABLES {
            command.env_remove(variable);
        }
        command
            .args(["approvals", "approve", id, "--as", reviewer, "--policy"])
            .arg(&self.file)
            .args(["--database", &self.database, "--data"])
            .arg(self.dir.path().join(reviewer))
            .env_remove("CRISP_GATEWAY_DATABASE")
            .env("CRISP_IDENTIFIER", self.sandbox.identifier())
            .env("CRISP_KEY", self.sandbox.key())
            .env("CRISP_TIER", "plugin")
            .env("CRISP_BASE_URL", upstream)
            .stdin(Stdio::null());
        command
    }

    /// How many messages of the session, read from the sandbox directly, say `text`.
    async fn copies(&self, text: &str) -> usize {
        copies(&self.sandbox, &self.session, text).await
    }

    /// The audit rows with `decision`, as `crisp-gateway audit --database --json` lists them.
    fn audit(&self, decision: &str) -> Vec<Value> {
        let listed = Command::new(env!("CARGO_BIN_EXE_crisp-gateway"))
            .args(["audit", "--json", "--decision", decision, "--database"])
            .arg(&self.database)
            .arg("--data")
            .arg(self.dir.path())
            .env_remove("CRISP_GATEWAY_DATABASE")
            .output()
            .unwrap();
        assert!(listed.status.success(), "{listed:?}");
        String::from_utf8(listed.stdout)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    async fn store(&self) -> Arc<dyn Store> {
        store::open_read_only(Path::new("/nonexistent"), Some(&self.database))
            .await
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approved_by_three_reviewers_at_once_it_is_sent_once() {
    let Some(setup) = Setup::new(&[]).await else {
        return;
    };
    let text = "One copy, whoever approves.";
    let id = setup.propose(&setup.a, text).await;
    assert_eq!(setup.status(&setup.b, &id).await, "pending");

    let before = setup.sandbox.api_requests();
    let mut reviewers: Vec<_> = ["alice", "bob", "carol"]
        .into_iter()
        .map(|name| {
            setup
                .approve(&id, name, setup.sandbox.base_url())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = reviewers
        .drain(..)
        .map(|child| child.wait_with_output().unwrap())
        .collect();
    let approved = outputs.iter().filter(|o| o.status.success()).count();
    assert_eq!(approved, 1, "{outputs:?}");
    assert_eq!(setup.sandbox.api_requests() - before, 1, "one request left");
    assert_eq!(setup.copies(text).await, 1);
    for replica in [&setup.a, &setup.b] {
        assert_eq!(setup.status(replica, &id).await, "approved");
    }
    let store = setup.store().await;
    let sent = store
        .query_audit(&AuditFilter {
            decision: Some("sent".into()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(sent.len(), 1);
    store.close().await;
    setup.a.stop();
    setup.b.stop();
    setup.sandbox.shutdown().await;
}

/// `name`, signed in with the admin token to `replica`'s dashboard (which asks for it first).
async fn signed_in(replica: &Replica, name: &str) -> Person {
    let mut person = Person::at(replica.base_url.trim_end_matches("/v1"));
    let unsigned = person.get("/approvals").await;
    assert_eq!(unsigned.status, StatusCode::SEE_OTHER);
    assert_eq!(unsigned.headers[LOCATION], "/sign-in");
    let signed = person
        .post("/sign-in", &[("token", ADMIN), ("name", name)])
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.text);
    person
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approved_on_one_dashboard_and_twice_on_the_others_at_once_it_is_sent_once() {
    let Some(setup) = Setup::new(&[("CRISP_GATEWAY_ADMIN_TOKEN", ADMIN)]).await else {
        return;
    };
    let text = "One copy, whichever page approves.";
    let id = setup.propose(&setup.a, text).await;
    let mut ana = signed_in(&setup.a, "Ana").await;
    let mut bo = signed_in(&setup.b, "Bo").await;
    let mut forms = Vec::new();
    for person in [&mut ana, &mut bo] {
        let page = person.get("/approvals").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.text.contains(&format!("data-approval=\"{id}\"")),
            "{}",
            page.text
        );
        forms.push((
            person.base.clone(),
            person.cookie.clone().unwrap(),
            Person::csrf(&page),
        ));
    }

    // Ana approves on replica A while Bo's approve form on replica B is posted twice (a double
    // click): three POSTs in flight together.
    let before = setup.sandbox.api_requests();
    let post = |(base, cookie, csrf): &(String, String, String)| {
        let form = [
            ("id", id.as_str()),
            ("verdict", "approve"),
            ("csrf", csrf.as_str()),
        ];
        form_post(&ana.http, &format!("{base}/approvals/review"), &form)
            .header("Cookie", cookie)
            .send()
    };
    let (first, second, third) = tokio::join!(post(&forms[0]), post(&forms[1]), post(&forms[1]));
    for answer in [first, second, third] {
        let answer = answer.unwrap();
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
        assert_eq!(answer.headers()[LOCATION], "/approvals");
    }

    // One send reached the sandbox.
    assert_eq!(setup.sandbox.api_requests() - before, 1, "one request left");
    assert_eq!(setup.copies(text).await, 1);
    for replica in [&setup.a, &setup.b] {
        let approval = setup.approval(replica, &id).await;
        assert_eq!(approval["status"], "approved", "{approval}");
        assert_eq!(approval["answer"]["status"], 200, "{approval}");
        assert_eq!(approval["answer"]["error"], false, "{approval}");
        assert_eq!(approval["answer"]["reason"], "dispatched", "{approval}");
    }
    // One `sent` row (the database holds this one proposal), after one `approved` row, by
    // whoever won.
    let sent = setup.audit("sent");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["operation"], "send_message", "{sent:?}");
    assert_eq!(sent[0]["front"], "dashboard", "{sent:?}");
    let approved = setup.audit("approved");
    assert_eq!(approved.len(), 1, "{approved:?}");
    let winner = approved[0]["client"].as_str().unwrap().to_owned();
    assert_eq!(sent[0]["client"], winner.as_str(), "{sent:?}");

    // The losers are told so on the page (each session shows its last answer).
    let answered = "Crisp answered 200";
    let lost = format!("already approved by {winner}");
    let ana_page = ana.get("/approvals").await;
    let bo_page = bo.get("/approvals").await;
    for page in [&ana_page, &bo_page] {
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(
            !page.text.contains(&format!("data-approval=\"{id}\"")),
            "{}",
            page.text
        );
    }
    match winner.as_str() {
        "Ana" => {
            assert!(ana_page.text.contains(answered), "{}", ana_page.text);
            assert!(bo_page.text.contains(&lost), "{}", bo_page.text);
        }
        "Bo" => {
            assert!(ana_page.text.contains(&lost), "{}", ana_page.text);
            assert!(
                bo_page.text.contains(answered) || bo_page.text.contains(&lost),
                "{}",
                bo_page.text
            );
        }
        other => panic!("approved by {other}"),
    }
    setup.a.stop();
    setup.b.stop();
    setup.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_whose_sender_was_killed_is_never_sent_again_and_its_outcome_is_unknown() {
    let Some(setup) = Setup::new(&[]).await else {
        return;
    };
    let text = "Maybe sent, never twice.";
    let id = setup.propose(&setup.a, text).await;

    // An upstream that takes the request and never answers: the reviewer is killed while its
    // send is claimed and in flight.
    let hole = TcpListener::bind("127.0.0.1:0").unwrap();
    let upstream = format!("http://{}/v1", hole.local_addr().unwrap());
    let taken = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&taken);
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in hole.incoming() {
            let mut stream = stream.unwrap();
            let mut first = [0u8; 1];
            if stream.read(&mut first).unwrap_or(0) == 1 {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            held.push(stream);
        }
    });
    let before = setup.sandbox.api_requests();
    let mut reviewer = setup
        .approve(&id, "alice", &upstream)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let store = setup.store().await;
    let approvals = store.approvals().unwrap();
    wait_until("the send claimed and in flight", async || {
        let approval = approvals.approval(&id).await.unwrap().unwrap();
        approval.state == ApprovalState::Sending && taken.load(Ordering::SeqCst) == 1
    })
    .await;
    reviewer.kill().unwrap();
    reviewer.wait().unwrap();

    // The replicas' sweep holds it stale: unknown_outcome, in the row and for the agent.
    wait_until("the send marked unknown_outcome", async || {
        let approval = approvals.approval(&id).await.unwrap().unwrap();
        approval.state == ApprovalState::UnknownOutcome
    })
    .await;
    for replica in [&setup.a, &setup.b] {
        assert_eq!(setup.status(replica, &id).await, "unknown_outcome");
    }
    // Approved again, from another reviewer: refused, nothing sent.
    let again = setup
        .approve(&id, "bob", setup.sandbox.base_url())
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("unknown outcome"),
        "{again:?}"
    );
    assert_eq!(taken.load(Ordering::SeqCst), 1, "one request ever left");
    assert_eq!(setup.sandbox.api_requests(), before, "none reached Crisp");
    assert_eq!(setup.copies(text).await, 0);
    let rows = store.query_audit(&AuditFilter::default()).await.unwrap();
    let steps: Vec<&str> = rows
        .iter()
        .rev()
        .filter(|r| r.operation.as_deref() == Some("send_message"))
        .map(|r| r.decision.as_str())
        .collect();
    assert_eq!(
        steps,
        ["proposed", "approved", "unknown_outcome"],
        "{rows:?}"
    );
    store.close().await;
    setup.a.stop();
    setup.b.stop();
    setup.sandbox.shutdown().await;
}

//! What the REST front refuses, each with Crisp's error envelope, one audit row, and nothing
//! sent upstream: unknown and revoked keys, a Basic header that is not base64, bodies over the
//! limit, malformed JSON, ids of `..`, an agent's key in the query, a parameter given twice,
//! unknown routes; and every call while the audit store cannot be written (503).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crisp_api::{Client, Credentials, Tier};
use crisp_gateway::audit::AuditLog;
use crisp_gateway::policy::Policy;
use crisp_gateway::store::{
    AuditFilter, AuditRow, HourCount, SQLITE_FILE, SqliteStore, Store, StoreError, Take, Taken,
    Usage,
};
use crisp_gateway::upstream::Upstream;
use crisp_gateway::{Gateway, server};
use futures::future::BoxFuture;
use serde_json::Value;
use support::{Harness, TestAgent, http, policy_text, quick_audit, surely};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const WEBSITE: &str = crisp_sandbox::demo::WEBSITE_ID;
const GRANTS: &str = "website:conversation:sessions=read-write, website:conversation:messages=read-write, website:settings=read";

/// Status and body of an answer, checked to be Crisp's error envelope.
async fn envelope(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(body["error"], true, "{body}");
    (
        status,
        body["reason"].as_str().unwrap().to_owned(),
        body["data"]["message"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn credentials_that_name_no_agent_are_refused_and_a_revoked_key_stops_at_once() {
    let kept = TestAgent::new("kept", GRANTS, WEBSITE);
    let gone = TestAgent::new("gone", GRANTS, WEBSITE);
    let harness = Harness::start(&policy_text("", &[&kept, &gone])).await;
    let url = format!("{}/website/{WEBSITE}/settings", harness.base_url);
    let get = |authorization: Option<String>| {
        let mut request = http().get(&url);
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        request.send()
    };
    let mut wrong = gone.clone();
    wrong.key.push('x');
    let mut stranger = gone.clone();
    stranger.name = "stranger".to_owned();
    for (authorization, words) in [
        (None, "no credentials"),
        (Some(wrong.basic()), "unknown agent or wrong key"),
        (Some(stranger.basic()), "unknown agent or wrong key"),
        (Some("Basic not*base64!".to_owned()), "not base64"),
        (Some("Basic dHJpYWdl".to_owned()), "no `:`"),
        (
            Some(format!("Token {}", gone.key)),
            "neither Basic nor Bearer",
        ),
    ] {
        let (status, reason, message) = envelope(get(authorization.clone()).await.unwrap()).await;
        assert_eq!(
            (status, reason.as_str()),
            (401, "invalid_session"),
            "{authorization:?}"
        );
        assert!(message.contains(words), "{authorization:?}: {message}");
        assert!(!message.contains(&gone.key), "{message}");
    }
    assert_eq!(get(Some(gone.basic())).await.unwrap().status(), 200);

    // The policy without `gone`: its key stops working with the next request.
    harness
        .gateway
        .reload(Policy::parse(&policy_text("", &[&kept]), "t.toml").unwrap());
    let (status, _, _) = envelope(get(Some(gone.basic())).await.unwrap()).await;
    assert_eq!(status, 401);
    assert_eq!(get(Some(kept.basic())).await.unwrap().status(), 200);

    assert_eq!(
        harness.sandbox.api_requests(),
        2,
        "only the two allowed calls"
    );
    let rows = harness.rows().await;
    assert_eq!(rows.len(), 9, "one row per request");
    let unauthenticated: Vec<_> = rows
        .iter()
        .filter(|r| r.why.as_deref() == Some("auth"))
        .collect();
    assert_eq!(unauthenticated.len(), 7);
    assert!(
        unauthenticated
            .iter()
            .all(|r| r.agent.is_none() && r.status == Some(401))
    );
    // A revoked key is recognisable in the audit by its key id, never by the key.
    let gone_id = crisp_gateway::policy::KeyHash::of(gone.key.as_bytes()).key_id();
    assert_eq!(rows[1].key_id.as_deref(), Some(gone_id.as_str()));
    harness.stop().await;
}

#[tokio::test]
async fn malformed_requests_are_refused_with_crisps_envelope_and_nothing_is_sent() {
    let agent = TestAgent::new("agent", GRANTS, WEBSITE);
    let harness = Harness::start(&policy_text("", &[&agent])).await;
    let base = &harness.base_url;
    let session = crisp_sandbox::demo::SESSION_ID;
    let message_url = format!("{base}/website/{WEBSITE}/conversation/{session}/message");
    let authorized = |request: reqwest::RequestBuilder| {
        request
            .header("Authorization", agent.basic())
            .header("X-Crisp-Tier", "plugin")
            .send()
    };

    // Bodies: over the limit (announced, and sent chunked with no length), and not JSON.
    let huge = format!(
        "{{\"content\": \"{}\"}}",
        "x".repeat(crisp_gateway::rest::BODY_LIMIT)
    );
    let announced = authorized(http().post(&message_url).body(huge.clone()))
        .await
        .unwrap();
    assert_eq!(envelope(announced).await.0, 413);
    let chunks = futures::stream::iter(
        huge.into_bytes()
            .chunks(64 * 1024)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let chunked = authorized(
        http()
            .post(&message_url)
            .body(reqwest::Body::wrap_stream(chunks)),
    )
    .await
    .unwrap();
    let (status, reason, message) = envelope(chunked).await;
    assert_eq!((status, reason.as_str()), (413, "invalid_data"));
    assert!(message.contains("1048576 bytes"), "{message}");
    let (status, reason, message) = envelope(
        authorized(http().post(&message_url).body("{\"type\": \"text\","))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, reason.as_str()), (400, "invalid_data"));
    assert!(message.contains("not JSON"), "{message}");

    // Ids: `..` and other unsafe ids, encoded (sent raw: an HTTP client would resolve `%2E%2E`
    // as a dot segment before sending).
    for path in [
        format!("/v1/website/{WEBSITE}/conversation/%2E%2E"),
        format!("/v1/website/{WEBSITE}/conversation/%2e%2e/state"),
        format!("/v1/website/{WEBSITE}/conversation/../state"),
        format!("/v1/website/{WEBSITE}/conversation/a%00b"),
        "/v1/website/%2E%2E/settings".to_owned(),
    ] {
        let answer = raw(harness.addr, &agent, &path).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{path}: {answer}");
        assert!(answer.contains("\"invalid_data\""), "{answer}");
        assert!(answer.contains("path id"), "{answer}");
    }
    let list = format!("{base}/website/{WEBSITE}/conversations/1");
    let (status, _, message) = envelope(
        authorized(http().get(format!("{list}?per_page=20&per_page=50")))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        message.contains("`per_page` is given more than once"),
        "{message}"
    );
    let leaked = format!("{list}?search_query={}", agent.key);
    let (status, _, message) = envelope(authorized(http().get(leaked)).await.unwrap()).await;
    assert_eq!(status, 400);
    assert!(message.contains("carries a credential") && !message.contains(&agent.key));
    let token = format!("{list}?access_token=anything");
    assert_eq!(
        envelope(authorized(http().get(token)).await.unwrap())
            .await
            .0,
        400
    );

    // Routes: none, a method the path has no operation for, outside /v1.
    for (method, url) in [
        (
            reqwest::Method::GET,
            format!("{base}/website/{WEBSITE}/nothing"),
        ),
        (
            reqwest::Method::DELETE,
            format!("{base}/website/{WEBSITE}/settings"),
        ),
        (
            reqwest::Method::GET,
            format!("http://{}/elsewhere", harness.addr),
        ),
    ] {
        let (status, reason, _) =
            envelope(authorized(http().request(method, &url)).await.unwrap()).await;
        assert_eq!((status, reason.as_str()), (404, "not_found"), "{url}");
    }

    assert_eq!(
        harness.sandbox.api_requests(),
        0,
        "nothing refused reached the sandbox"
    );
    let rows = harness.rows().await;
    assert_eq!(rows.len(), 14, "one row per request");
    assert!(
        rows.iter()
            .all(|r| r.decision == "refused" && r.upstream_requests == 0)
    );
    assert!(rows.iter().all(|r| r.agent.as_deref() == Some("agent")));
    harness.stop().await;
}

/// A GET of `path` sent as raw HTTP/1.1, as a client that does not normalise paths sends it;
/// the whole answer.
async fn raw(addr: std::net::SocketAddr, agent: &TestAgent, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: gateway\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
        agent.basic()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

/// A store whose audit writes fail while `failing` is set.
struct Flaky {
    inner: SqliteStore,
    failing: Arc<AtomicBool>,
}

impl Store for Flaky {
    fn take(&self, take: Take) -> BoxFuture<'_, Result<Taken, StoreError>> {
        self.inner.take(take)
    }
    fn add<'a>(
        &'a self,
        day: u32,
        agent: &'a str,
        n: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.inner.add(day, agent, n)
    }
    fn give_back<'a>(
        &'a self,
        day: u32,
        agent: &'a str,
        n: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.inner.give_back(day, agent, n)
    }
    fn write_audit<'a>(&'a self, rows: &'a [AuditRow]) -> BoxFuture<'a, Result<(), StoreError>> {
        if self.failing.load(Ordering::SeqCst) {
            return Box::pin(async {
                Err(StoreError::Failed {
                    action: "writing audit rows",
                    detail: "disk full (test)".to_owned(),
                })
            });
        }
        self.inner.write_audit(rows)
    }
    fn query_audit<'a>(
        &'a self,
        filter: &'a AuditFilter,
    ) -> BoxFuture<'a, Result<Vec<AuditRow>, StoreError>> {
        self.inner.query_audit(filter)
    }
    fn usage(&self, day: u32) -> BoxFuture<'_, Result<Usage, StoreError>> {
        self.inner.usage(day)
    }

    fn requests_per_hour(
        &self,
        since_ms: i64,
    ) -> BoxFuture<'_, Result<Vec<HourCount>, StoreError>> {
        self.inner.requests_per_hour(since_ms)
    }
}

#[tokio::test]
async fn while_the_audit_store_cannot_be_written_calls_are_refused_with_503_and_not_sent() {
    let sandbox = crisp_sandbox::Sandbox::start().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let agent = TestAgent::new("agent", GRANTS, WEBSITE);
    let sqlite = SqliteStore::open(data.path().join(SQLITE_FILE))
        .await
        .unwrap();
    let failing = Arc::new(AtomicBool::new(false));
    let store: Arc<dyn Store> = Arc::new(Flaky {
        inner: sqlite.clone(),
        failing: Arc::clone(&failing),
    });
    let audit = AuditLog::start(Arc::clone(&store), quick_audit());
    let client = Client::builder(sandbox.credentials())
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    let policy = Policy::parse(&policy_text("", &[&agent]), "t.toml").unwrap();
    let gateway = Arc::new(Gateway::new(policy, store, audit, Upstream::new(client)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/v1/website/{WEBSITE}/settings",
        listener.local_addr().unwrap()
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::serve(
        listener,
        Arc::clone(&gateway),
        crisp_gateway::dashboard::Dashboard::default(),
        crisp_serve::Limits::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let get = || {
        http()
            .get(&url)
            .header("Authorization", agent.basic())
            .send()
    };

    assert_eq!(get().await.unwrap().status(), 200);
    surely("the first row", gateway.audit().flush())
        .await
        .unwrap();
    failing.store(true, Ordering::SeqCst);
    // This call is made; writing its row fails, and the log says it cannot write.
    assert_eq!(get().await.unwrap().status(), 200);
    let mut writable = gateway.audit().watch_writable();
    surely("the failed write", writable.wait_for(|w| !*w))
        .await
        .unwrap();
    let before = sandbox.api_requests();
    let (status, reason, message) = envelope(get().await.unwrap()).await;
    assert_eq!((status, reason.as_str()), (503, "unavailable"));
    assert!(message.contains("cannot write its audit log"), "{message}");
    assert_eq!(sandbox.api_requests(), before, "nothing is sent unrecorded");

    // Writable again: the rows kept meanwhile are written, and calls are made again.
    failing.store(false, Ordering::SeqCst);
    surely("the recovery", writable.wait_for(|w| *w))
        .await
        .unwrap();
    assert_eq!(get().await.unwrap().status(), 200);
    let _ = stop.send(());
    server.await.unwrap();
    gateway.audit().shutdown().await.unwrap();
    let rows = sqlite.query_audit(&AuditFilter::default()).await.unwrap();
    let statuses: Vec<_> = rows.iter().map(|r| r.status.unwrap()).collect();
    assert_eq!(statuses, [200, 503, 200, 200], "newest first, none lost");
    assert_eq!(rows[1].why.as_deref(), Some("store"));
}

#[tokio::test]
async fn the_tier_header_is_accepted_and_ignored() {
    let agent = TestAgent::new("agent", GRANTS, WEBSITE);
    let harness = Harness::start(&policy_text("", &[&agent])).await;
    for tier in [Tier::Plugin, Tier::User, Tier::Website] {
        let client = Client::builder(Credentials::new(tier, &agent.name, &agent.key))
            .base_url(&harness.base_url)
            .build()
            .unwrap();
        client
            .get_website_settings()
            .website_id(WEBSITE)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{tier:?}: {e}"));
    }
    harness.stop().await;
}

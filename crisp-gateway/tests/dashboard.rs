//! The dashboard over real HTTP: who may see it (loopback without an admin token, sign-in with
//! one, anywhere), sessions and CSRF, the security headers, escaping, and the pages' content
//! (agents and usage, the audit log's filters, pages and export, approvals through a desk).

mod support;

use std::io::Write as _;
use std::net::{IpAddr, UdpSocket};
use std::sync::Arc;

use crisp_gateway::dashboard::{
    AdminToken, ApprovalDesk, Dashboard, PendingApproval, Review, Verdict,
};
use crisp_gateway::store::{AuditRow, Store as _};
use crisp_sandbox::demo::WEBSITE_ID as WEBSITE;
use futures::future::BoxFuture;
use parking_lot::Mutex;
use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use support::person::{Person, form_post};
use support::{Harness, TestAgent, policy_text};

const ADMIN: &str = "admin-token-5c1f9e27d4b84a0f";
const READ: &str = "website:settings=read, website:conversation:sessions=read";

fn agents() -> (TestAgent, TestAgent) {
    (
        TestAgent::new("triage", READ, WEBSITE).with("daily_budget = 500"),
        TestAgent::new("reply", READ, WEBSITE).with("rate = \"60/minute\""),
    )
}

fn policy() -> String {
    let (triage, reply) = agents();
    policy_text("daily_quota = 1000", &[&triage, &reply])
}

/// An address of this machine that is not loopback, if it has one.
fn outward_address() -> Option<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    // A UDP "connect" sends nothing: it only picks the interface a packet would leave by.
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

async fn rest_get(harness: &Harness, agent: &TestAgent, path: &str, user_agent: &str) {
    let response = support::http()
        .get(format!("{}/website/{WEBSITE}{path}", harness.base_url))
        .header("Authorization", agent.basic())
        .header("User-Agent", user_agent)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_admin_token_loopback_gets_the_pages_with_the_security_headers() {
    let harness = Harness::start(&policy()).await;
    let mut person = Person::at(&format!("http://{}", harness.addr));

    let page = person.get("/").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("data-agent=\"triage\""));
    assert!(page.text.contains("data-agent=\"reply\""));
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.headers["x-content-type-options"], "nosniff");
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    let cookie = page.headers[SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("crisp_gateway_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Max-Age=43200", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP on loopback: {cookie}"
    );
    // Its value is 256 random bits.
    assert_eq!(
        person.cookie.as_ref().unwrap().len(),
        "crisp_gateway_session=".len() + 64
    );

    // The session is kept: no new cookie on the next page.
    let audit = person.get("/audit").await;
    assert_eq!(audit.status, StatusCode::OK);
    assert!(audit.headers.get(SET_COOKIE).is_none());
    let css = person.get("/assets/dashboard.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );

    // No sign-in without a token: the form sends back to the pages.
    let sign_in = person.get("/sign-in").await;
    assert_eq!(sign_in.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_admin_token_other_peers_and_proxied_requests_are_refused() {
    // Proxied: a request that came through a proxy on this machine is not loopback's.
    let harness = Harness::start(&policy()).await;
    let proxied = support::http()
        .get(format!("http://{}/", harness.addr))
        .header("X-Forwarded-For", "203.0.113.7")
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), StatusCode::FORBIDDEN);
    let text = proxied.text().await.unwrap();
    assert!(text.contains("set CRISP_GATEWAY_ADMIN_TOKEN"), "{text}");
    // The REST front is not the dashboard's: it still answers there.
    assert_eq!(
        support::http()
            .get(format!("{}/website/{WEBSITE}/settings", harness.base_url))
            .header("X-Forwarded-For", "203.0.113.7")
            .header("Authorization", agents().0.basic())
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    // DNS rebinding: a page of another site, its name resolved to 127.0.0.1, in the person's
    // own browser.
    let rebound = support::http()
        .get(format!("http://{}/", harness.addr))
        .header("Host", format!("evil.example:{}", harness.addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), StatusCode::FORBIDDEN);
    assert!(rebound.headers().get(SET_COOKIE).is_none());
    let text = rebound.text().await.unwrap();
    assert!(text.contains("localhost, 127.0.0.1 or [::1]"), "{text}");
    let named = support::http()
        .get(format!("http://localhost:{}/", harness.addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        named.status(),
        StatusCode::OK,
        "localhost is loopback's name"
    );

    // Another peer: the gateway listening on every address, reached by this machine's outward
    // address.
    let Some(outward) = outward_address() else {
        // Straight to stderr: the test harness captures `eprintln!` of passing tests.
        let _ = writeln!(
            std::io::stderr(),
            "skipped: this machine has no address but loopback"
        );
        return;
    };
    let harness = Harness::with_dashboard(&policy(), Dashboard::default(), "0.0.0.0:0").await;
    let url = format!("http://{outward}:{}/", harness.addr.port());
    let refused = support::http().get(&url).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN, "from {outward}");
    assert!(refused.headers().get(SET_COOKIE).is_none());
    let text = refused.text().await.unwrap();
    assert!(
        text.contains("served only to this machine (loopback)"),
        "{text}"
    );
    assert!(!text.contains("data-agent"), "no page content: {text}");
    // Loopback on the same listener is served.
    let local = format!("http://127.0.0.1:{}/", harness.addr.port());
    assert_eq!(
        support::http().get(&local).send().await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_admin_token_a_wrong_one_is_refused_and_the_right_one_opens_a_session_anywhere() {
    let bind = if outward_address().is_some() {
        "0.0.0.0:0"
    } else {
        "127.0.0.1:0"
    };
    let dashboard = Dashboard::new(Some(AdminToken::new(ADMIN).unwrap()));
    let harness = Harness::with_dashboard(&policy(), dashboard, bind).await;
    let host = outward_address().map_or_else(|| "127.0.0.1".to_owned(), |ip| ip.to_string());
    let mut person = Person::at(&format!("http://{host}:{}", harness.addr.port()));

    // No session: to the sign-in page, which never holds the token.
    let page = person.get("/").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.headers[LOCATION], "/sign-in");
    let form = person.get("/sign-in").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.text.contains("name=\"token\""));
    assert!(person.get("/audit/export").await.status == StatusCode::SEE_OTHER);

    let wrong = person
        .post(
            "/sign-in",
            &[("token", "admin-token-0000000000000000"), ("name", "Eve")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.headers.get(SET_COOKIE).is_none());
    assert!(
        wrong.text.contains("not the gateway's admin token"),
        "{}",
        wrong.text
    );
    assert_eq!(person.get("/").await.status, StatusCode::SEE_OTHER);

    let right = person
        .post("/sign-in", &[("token", ADMIN), ("name", "Ana")])
        .await;
    assert_eq!(right.status, StatusCode::SEE_OTHER, "{}", right.text);
    assert_eq!(right.headers[LOCATION], "/");
    let page = person.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("data-agent=\"triage\""));
    assert!(page.text.contains("Ana"), "the reviewer's name is shown");
    assert!(!page.text.contains(ADMIN), "the token is never in a page");

    // Behind a TLS proxy, the cookie is Secure.
    let url = format!("http://127.0.0.1:{}/sign-in", harness.addr.port());
    let behind = form_post(&person.http, &url, &[("token", ADMIN)])
        .header("X-Forwarded-Proto", "https")
        .send()
        .await
        .unwrap();
    let cookie = behind.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.contains("; Secure"), "{cookie}");

    // Signing out ends the session.
    let csrf = Person::csrf(&page);
    let out = person.post("/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(person.get("/").await.status, StatusCode::SEE_OTHER);

    // The refused sign-in is one audit row, without either token.
    let rows = harness.rows().await;
    let refused: Vec<&AuditRow> = rows
        .iter()
        .filter(|r| r.front == "dashboard" && r.why.as_deref() == Some("sign_in"))
        .collect();
    assert_eq!(refused.len(), 1, "{rows:#?}");
    assert_eq!(refused[0].status, Some(401));
    let all = format!("{rows:?}");
    assert!(
        !all.contains(ADMIN) && !all.contains("admin-token-0000"),
        "{all}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_without_its_sessions_csrf_token_is_refused_and_recorded() {
    let desk = Arc::new(Desk::default());
    let dashboard = Dashboard::default().with_approvals(desk.clone());
    let harness = Harness::with_dashboard(&policy(), dashboard, "127.0.0.1:0").await;
    let base = format!("http://{}", harness.addr);
    let mut ana = Person::at(&base);
    let mut bob = Person::at(&base);
    let ana_page = ana.get("/approvals").await;
    let bob_page = bob.get("/approvals").await;
    let (ana_csrf, bob_csrf) = (Person::csrf(&ana_page), Person::csrf(&bob_page));
    assert_ne!(ana_csrf, bob_csrf);

    let review = |csrf: &str| {
        vec![
            ("id", "ap_1".to_owned()),
            ("verdict", "deny".to_owned()),
            ("csrf", csrf.to_owned()),
        ]
    };
    for (csrf, what) in [("", "no token"), (bob_csrf.as_str(), "another session's")] {
        let form = review(csrf);
        let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let page = ana.post("/approvals/review", &form).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{what}");
        assert!(page.text.contains("nothing was changed"), "{}", page.text);
    }
    // A form another site's page sent, even with the right token.
    let url = format!("{base}/approvals/review");
    let form = [
        ("id", "ap_1"),
        ("verdict", "deny"),
        ("csrf", ana_csrf.as_str()),
    ];
    let cross = form_post(&ana.http, &url, &form)
        .header("Cookie", ana.cookie.clone().unwrap())
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let sibling = form_post(&ana.http, &url, &form)
        .header("Cookie", ana.cookie.clone().unwrap())
        .header("Origin", "null")
        .header("Sec-Fetch-Site", "same-site")
        .send()
        .await
        .unwrap();
    assert_eq!(
        sibling.status(),
        StatusCode::FORBIDDEN,
        "another port of this host"
    );
    assert!(desk.reviews.lock().is_empty(), "nothing was decided");
    // Signing out is a form too.
    assert_eq!(
        ana.post("/sign-out", &[]).await.status,
        StatusCode::FORBIDDEN
    );

    // With its own token, it goes through; as a browser sends it under `no-referrer` too.
    let ok = form_post(&ana.http, &url, &form)
        .header("Cookie", ana.cookie.clone().unwrap())
        .header("Origin", "null")
        .header("Sec-Fetch-Site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(desk.reviews.lock().len(), 1);

    let rows = harness.rows().await;
    let csrf_rows = rows
        .iter()
        .filter(|r| r.front == "dashboard" && r.why.as_deref() == Some("csrf"))
        .count();
    assert_eq!(csrf_rows, 5, "{rows:#?}");
    let all = format!("{rows:?}");
    assert!(!all.contains(&ana_csrf) && !all.contains(&bob_csrf));
}

/// An approval desk that keeps what it is told.
#[derive(Default)]
struct Desk {
    reviews: Mutex<Vec<Review>>,
}

impl ApprovalDesk for Desk {
    fn pending(&self, now_ms: i64) -> BoxFuture<'_, Result<Vec<PendingApproval>, String>> {
        Box::pin(async move {
            if !self.reviews.lock().is_empty() {
                return Ok(Vec::new());
            }
            Ok(vec![PendingApproval {
                id: "ap_1".into(),
                agent: "reply".into(),
                operation: "send_message".into(),
                method: "POST".into(),
                path: format!("/website/{WEBSITE}/conversation/session_1/message"),
                query: Vec::new(),
                body: Some(json!({
                    "type": "text",
                    "from": "operator",
                    "origin": "chat",
                    "content": "<script>alert(1)</script> Your refund is on its way."
                })),
                created_ms: now_ms - 60_000,
                expires_ms: now_ms + 3_600_000,
            }])
        })
    }

    fn review<'a>(&'a self, review: &'a Review) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            self.reviews.lock().push(review.clone());
            Ok(format!("{} was {:?}d.", review.id, review.verdict).to_lowercase())
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_show_what_would_be_sent_escaped_and_are_decided_through_the_desk() {
    let desk = Arc::new(Desk::default());
    let dashboard = Dashboard::default().with_approvals(desk.clone());
    let harness = Harness::with_dashboard(&policy(), dashboard, "127.0.0.1:0").await;
    let mut person = Person::at(&format!("http://{}", harness.addr));

    let page = person.get("/approvals").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("data-approval=\"ap_1\""));
    assert!(page.text.contains(&format!(
        "POST /website/{WEBSITE}/conversation/session_1/message"
    )));
    // The text as the customer will see it, and the body pretty-printed, both as text.
    assert!(
        !page.text.contains("<script>alert(1)</script>"),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains("&lt;script&gt;alert(1)&lt;/script&gt; Your refund is on its way.")
    );
    assert!(
        page.text.contains("\n  &quot;type&quot;: &quot;text&quot;"),
        "pretty-printed: {}",
        page.text
    );

    let csrf = Person::csrf(&page);
    let done = person
        .post(
            "/approvals/review",
            &[
                ("id", "ap_1"),
                ("verdict", "approve"),
                ("note", "<b>checked</b>"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let reviews = desk.reviews.lock().clone();
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].verdict, Verdict::Approve);
    assert_eq!(reviews[0].note.as_deref(), Some("<b>checked</b>"));
    assert_eq!(reviews[0].reviewer, "this machine (loopback)");

    // The desk's answer is shown once, and nothing waits any more.
    let after = person.get("/approvals").await;
    assert!(after.text.contains("ap_1 was approved."), "{}", after.text);
    assert!(after.text.contains("Nothing waits for approval."));
    assert!(!person.get("/approvals").await.text.contains("was approved"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agents_page_shows_rules_usage_and_requests_per_hour() {
    let harness = Harness::start(&policy()).await;
    let (triage, reply) = agents();
    for _ in 0..2 {
        rest_get(&harness, &triage, "/settings", "test").await;
    }
    rest_get(&harness, &reply, "/settings", "test").await;
    harness.rows().await;

    let mut person = Person::at(&format!("http://{}", harness.addr));
    let page = person.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    let card = |name: &str| {
        let at = page.text.find(&format!("data-agent=\"{name}\"")).unwrap();
        let end = page.text[at..].find("</article>").unwrap();
        page.text[at..at + end].to_owned()
    };
    let triage_card = card("triage");
    assert!(triage_card.contains("2 of 500 requests"), "{triage_card}");
    assert!(
        triage_card.contains("website:settings=read"),
        "{triage_card}"
    );
    assert!(triage_card.contains(WEBSITE));
    let reply_card = card("reply");
    assert!(
        reply_card.contains("1 request (no daily budget)"),
        "{reply_card}"
    );
    assert!(reply_card.contains("60/minute"), "{reply_card}");
    assert!(page.text.contains("3 of 1000"), "the token's quota");
    // The chart: a bar per agent this hour, with its count.
    assert!(page.text.contains("<svg class=\"chart\""));
    assert!(page.text.contains("triage: 2 request(s)"), "{}", page.text);
    assert!(page.text.contains("reply: 1 request(s)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_filters_pages_escapes_and_exports_json_lines() {
    let harness = Harness::start(&policy()).await;
    let (triage, reply) = agents();
    rest_get(&harness, &triage, "/settings", "<script>alert(1)</script>").await;
    rest_get(&harness, &reply, "/settings", "test").await;
    harness.rows().await;
    // 60 more rows of triage's, older, to page through.
    let model = harness.rows().await[0].clone();
    let mut rows = Vec::new();
    for i in 0..60 {
        let mut row = model.clone();
        row.at_ms = 1_767_225_600_000 + i;
        row.agent = Some("triage".into());
        row.client = Some("older".into());
        rows.push(row);
    }
    harness.sqlite.write_audit(&rows).await.unwrap();

    let mut person = Person::at(&format!("http://{}", harness.addr));
    let all = person.get("/audit").await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(all.text.matches("<details class=\"row\"").count(), 50);
    assert!(all.text.contains("rel=\"next\""));
    assert!(!all.text.contains("rel=\"prev\""));
    // A user agent (a value an agent chose) is shown as text.
    assert!(!all.text.contains("<script>alert(1)</script>"));
    assert!(all.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));

    let second = person.get("/audit?page=1").await;
    assert_eq!(second.text.matches("<details class=\"row\"").count(), 12);
    assert!(!second.text.contains("rel=\"next\""));

    let replies = person.get("/audit?agent=reply").await;
    assert_eq!(replies.text.matches("<details class=\"row\"").count(), 1);
    assert_eq!(replies.text.matches("data-agent=\"reply\"").count(), 1);
    assert!(
        !replies
            .text
            .contains("<details class=\"row\" data-agent=\"triage\"")
    );

    let window = "/audit?agent=triage&since=2026-01-01T00:00&until=2026-01-01T00:00:00.030Z";
    let since = person.get(window).await;
    assert_eq!(since.text.matches("<details class=\"row\"").count(), 30);
    let bad = person.get("/audit?decision=maybe").await;
    assert!(bad.text.contains("There is no decision"), "{}", bad.text);

    let export = person.get("/audit/export?agent=triage").await;
    assert_eq!(export.status, StatusCode::OK);
    assert!(
        export.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let lines: Vec<Value> = export
        .text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 61);
    assert!(lines.iter().all(|line| line["agent"] == "triage"));
    assert_eq!(
        lines[0]["client"], "<script>alert(1)</script>",
        "JSON keeps the value"
    );
    assert_eq!(lines[0]["ids"]["website_id"], WEBSITE);
}

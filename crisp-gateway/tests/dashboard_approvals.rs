//! The dashboard's approvals page on the gateway's own approvals, the sandbox upstream: a
//! `send_message` proposed on the REST front is shown with exactly what would be sent (its text
//! as the customer will see it, escaped); approved on the page, the sandbox has it once, and a
//! second approval sends nothing; another, denied with a note, reads denied with that note in
//! the agent's status call; each step is an audit row with the reviewer's name.

mod support;

use reqwest::StatusCode;
use support::approvals::{MESSAGES, copies, propose, status_of};
use support::person::Person;
use support::{Harness, TestAgent, policy_text};

const HTML_TEXT: &str = "<script>alert(1)</script><b>Your refund</b> is on its way.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proposal_is_read_approved_once_and_another_denied_with_a_note_on_the_page() {
    let website = crisp_sandbox::demo::WEBSITE_ID;
    let reply = TestAgent::new("reply", MESSAGES, website).with("approve = [\"send_message\"]");
    let harness = Harness::start(&policy_text("", &[&reply])).await;
    let session = support::conversations(&harness.sandbox)[0].session.clone();
    let to_send = propose(&harness, &reply, &session, HTML_TEXT).await;
    let to_deny = propose(&harness, &reply, &session, "Too curt.").await;

    let mut person = Person::at(&format!("http://{}", harness.addr));
    let agents = person.get("/").await;
    assert!(
        agents
            .text
            .contains("<dt>Approved first</dt><dd><code>send_message</code></dd>"),
        "{}",
        agents.text
    );
    let page = person.get("/approvals").await;
    assert_eq!(page.status, StatusCode::OK);
    for id in [&to_send, &to_deny] {
        assert!(
            page.text.contains(&format!("data-approval=\"{id}\"")),
            "{id}"
        );
    }
    assert!(page.text.contains(&format!(
        "POST /website/{website}/conversation/{session}/message"
    )));
    assert!(!page.text.contains("<script>alert(1)</script>"));
    assert!(page.text.contains(
        "<pre class=\"customer-text\">&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;Your refund&lt;/b&gt; is on its way.</pre>"
    ), "{}", page.text);
    let csrf = Person::csrf(&page);

    let approve = [
        ("id", to_send.as_str()),
        ("verdict", "approve"),
        ("csrf", csrf.as_str()),
    ];
    assert_eq!(
        person.post("/approvals/review", &approve).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(copies(&harness.sandbox, &session, HTML_TEXT).await, 1);
    let after = person.get("/approvals").await;
    assert!(after.text.contains("Crisp answered 200"), "{}", after.text);
    assert!(!after.text.contains(&format!("data-approval=\"{to_send}\"")));
    // Approved again (a second tab, a double click): nothing more is sent, and the page says so.
    person.post("/approvals/review", &approve).await;
    assert_eq!(copies(&harness.sandbox, &session, HTML_TEXT).await, 1);
    let again = person.get("/approvals").await;
    assert!(again.text.contains("already approved"), "{}", again.text);

    let deny = [
        ("id", to_deny.as_str()),
        ("verdict", "deny"),
        ("note", "Add a greeting, please."),
        ("csrf", csrf.as_str()),
    ];
    person.post("/approvals/review", &deny).await;
    let (_, status) = status_of(&harness, &reply, &to_deny).await;
    assert_eq!(status["data"]["status"], "denied", "{status}");
    assert_eq!(status["data"]["note"], "Add a greeting, please.");
    assert_eq!(copies(&harness.sandbox, &session, "Too curt.").await, 0);
    assert!(
        person
            .get("/approvals")
            .await
            .text
            .contains("Nothing waits for approval.")
    );

    // The proposal, the approval and the send: three rows, the reviewer's on the dashboard.
    let rows = harness.rows().await;
    let of = |decision: &str| rows.iter().filter(|r| r.decision == decision).count();
    assert_eq!(
        (of("proposed"), of("approved"), of("sent"), of("denied")),
        (2, 1, 1, 1)
    );
    let approved = rows.iter().find(|r| r.decision == "approved").unwrap();
    assert_eq!(approved.front, "dashboard", "{approved:?}");
}

//! Approvals on the REST front, the sandbox as the upstream: a call the agent may only propose
//! is answered 202 `pending_approval` and reaches nothing; its status is the agent's own; a
//! person's approval sends exactly the stored request once (the sandbox's request counter and
//! the conversation's messages prove it), even when approved many times at once from two
//! gateways on one store; a denial's note reaches the agent; an expired proposal cannot be
//! approved; a send left claimed by a gateway that stopped is never sent again; the budget is
//! charged on approval only.

mod support;

use std::sync::Arc;

use crisp_gateway::gateway::ReviewError;
use crisp_gateway::store::{
    ApprovalState, AuditFilter, Decision, SQLITE_FILE, SqliteStore, Step, Store,
};
use crisp_gateway::{Gateway, Reviewer};
use serde_json::{Value, json};
use support::approvals::{MESSAGES, alice, copies, now_ms, propose, send, status_of, text_message};
use support::{Harness, TestAgent, policy_text, surely};

fn reply_agent(website: &str) -> TestAgent {
    TestAgent::new("reply", MESSAGES, website).with("approve = [\"send_message\"]")
}

/// A session of the sandbox's workspace.
fn session(harness: &Harness) -> String {
    support::conversations(&harness.sandbox)[0].session.clone()
}

async fn decisions(harness: &Harness) -> Vec<String> {
    let mut rows = harness.rows().await;
    rows.reverse();
    rows.into_iter().map(|row| row.decision).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proposed_message_waits_unsent_and_is_sent_once_on_approval() {
    let website = crisp_sandbox::demo::WEBSITE_ID;
    let reply = reply_agent(website);
    let other = TestAgent::new("other", MESSAGES, website).with("approve = [\"send_*\"]");
    let harness = Harness::start(&policy_text("", &[&reply, &other])).await;
    let session = session(&harness);
    let text = "Your refund was approved <b>today</b>.";
    let before = harness.sandbox.api_requests();

    let (status, envelope) = send(&harness, &reply, &session, text).await;
    assert_eq!(status, 202, "{envelope}");
    assert_eq!(envelope["error"], false);
    assert_eq!(envelope["reason"], "pending_approval");
    let id = envelope["data"]["approval_id"].as_str().unwrap().to_owned();
    assert_eq!(
        envelope["data"]["status_url"],
        format!("/v1/_gateway/approvals/{id}")
    );
    assert_eq!(harness.sandbox.api_requests(), before, "nothing was sent");
    assert_eq!(copies(&harness.sandbox, &session, text).await, 0);

    let (status, pending) = status_of(&harness, &reply, &id).await;
    assert_eq!(status, 200, "{pending}");
    assert_eq!(pending["data"]["status"], "pending");
    assert_eq!(pending["data"]["answer"], Value::Null);
    // Another agent's key, or an id that is not one: the same 404.
    for (agent, id) in [
        (&other, id.as_str()),
        (&reply, "0123456789abcdef0123456789abcdef"),
    ] {
        let (status, answer) = status_of(&harness, agent, id).await;
        assert_eq!(status, 404, "{answer}");
        assert_eq!(answer["reason"], "not_found");
    }

    let sent = surely(
        "the approval",
        harness.gateway.approve(&id, &alice(), None, now_ms()),
    )
    .await
    .expect("approved and sent");
    assert_eq!(sent.approval.state, ApprovalState::Sent);
    assert!(sent.outcome.is_success(), "{:?}", sent.outcome);
    assert_eq!(copies(&harness.sandbox, &session, text).await, 1);

    let (_, approved) = status_of(&harness, &reply, &id).await;
    assert_eq!(approved["data"]["status"], "approved", "{approved}");
    assert_eq!(approved["data"]["answer"]["status"], 200);
    assert_eq!(approved["data"]["answer"]["error"], false);
    assert_eq!(
        approved["data"]["answer"]["reason"],
        sent.outcome.envelope()["reason"]
    );
    // Approving again sends nothing.
    let again = harness.gateway.approve(&id, &alice(), None, now_ms()).await;
    assert!(
        matches!(
            again,
            Err(ReviewError::Decided {
                state: ApprovalState::Sent,
                ..
            })
        ),
        "{again:?}"
    );
    assert_eq!(copies(&harness.sandbox, &session, text).await, 1);

    let steps: Vec<String> = decisions(&harness)
        .await
        .into_iter()
        .filter(|d| ["proposed", "approved", "sent"].contains(&d.as_str()))
        .collect();
    assert_eq!(steps, ["proposed", "approved", "sent"]);
    let rows = harness.rows().await;
    let sent_row = rows.iter().find(|r| r.decision == "sent").unwrap();
    assert_eq!(sent_row.agent.as_deref(), Some("reply"));
    assert_eq!(sent_row.client.as_deref(), Some("alice"));
    assert_eq!(sent_row.status, Some(200));
    assert!(
        rows.iter()
            .all(|r| r.error.as_deref().is_none_or(|e| !e.contains(text))),
        "no body in the audit"
    );
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_approvals_at_once_from_two_gateways_send_once() {
    let reply = reply_agent(crisp_sandbox::demo::WEBSITE_ID);
    let text = policy_text("", &[&reply]);
    let harness = Harness::start(&text).await;
    let session = session(&harness);
    let message = "One copy only, please.";
    let id = propose(&harness, &reply, &session, message).await;

    // A second gateway (another process, or a replica) on the same store and upstream.
    let sqlite = SqliteStore::open(harness.data.path().join(SQLITE_FILE))
        .await
        .unwrap();
    let store: Arc<dyn Store> = Arc::new(sqlite.clone());
    let audit = crisp_gateway::audit::AuditLog::start(Arc::clone(&store), support::quick_audit());
    let client = crisp_api::Client::builder(harness.sandbox.credentials())
        .base_url(harness.sandbox.base_url())
        .build()
        .unwrap();
    let second = Arc::new(Gateway::new(
        crisp_gateway::policy::Policy::parse(&text, "test.toml").unwrap(),
        store,
        audit,
        crisp_gateway::upstream::Upstream::new(client),
    ));
    let before = harness.sandbox.api_requests();

    let gateways = [Arc::clone(&harness.gateway), Arc::clone(&second)];
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let gateway = Arc::clone(&gateways[i % 2]);
            let id = id.clone();
            tokio::spawn(async move {
                let reviewer = Reviewer::new(format!("reviewer{i}"), "test");
                gateway.approve(&id, &reviewer, None, now_ms()).await
            })
        })
        .collect();
    let mut sent = 0;
    for task in tasks {
        match surely("an approval", task).await.unwrap() {
            Ok(_) => sent += 1,
            Err(ReviewError::Decided { .. }) => {}
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(sent, 1);
    assert_eq!(
        harness.sandbox.api_requests(),
        before + 1,
        "one request left"
    );
    assert_eq!(copies(&harness.sandbox, &session, message).await, 1);

    // The requests taken for the approvals that lost were given back: one is counted.
    second.close().await.unwrap();
    sqlite.close().await;
    let usage = harness.settled_usage().await;
    assert_eq!(usage.agent("reply"), 1);
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pile_of_proposals_leaves_the_budget_untouched_until_approved() {
    let reply = reply_agent(crisp_sandbox::demo::WEBSITE_ID).with("daily_budget = 2");
    let harness = Harness::start(&policy_text("", &[&reply])).await;
    let session = session(&harness);
    let mut ids = Vec::new();
    for n in 0..6 {
        ids.push(propose(&harness, &reply, &session, &format!("proposal {n}")).await);
    }
    let usage = harness.settled_usage().await;
    assert_eq!((usage.agent("reply"), usage.quota_used), (0, 0));

    for id in &ids[..2] {
        harness
            .gateway
            .approve(id, &alice(), None, now_ms())
            .await
            .expect("within the budget");
    }
    assert_eq!(harness.settled_usage().await.agent("reply"), 2);
    // The budget is spent: the third approval is refused now and stays pending, unsent.
    let before = harness.sandbox.api_requests();
    let third = harness
        .gateway
        .approve(&ids[2], &alice(), None, now_ms())
        .await;
    assert!(
        matches!(&third, Err(ReviewError::Refused { status: 429, .. })),
        "{third:?}"
    );
    assert_eq!(harness.sandbox.api_requests(), before);
    let (_, pending) = status_of(&harness, &reply, &ids[2]).await;
    assert_eq!(pending["data"]["status"], "pending");
    assert_eq!(copies(&harness.sandbox, &session, "proposal 2").await, 0);
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denial_and_its_note_reach_the_agent_and_nothing_is_sent() {
    let reply = reply_agent(crisp_sandbox::demo::WEBSITE_ID);
    let harness = Harness::start(&policy_text("", &[&reply])).await;
    let session = session(&harness);
    let id = propose(&harness, &reply, &session, "A curt answer.").await;
    let before = harness.sandbox.api_requests();

    let note = "Too curt for a VIP: apologise first.";
    let denied = harness
        .gateway
        .deny(&id, &alice(), Some(note.to_owned()), now_ms())
        .await
        .unwrap();
    assert_eq!(denied.state, ApprovalState::Denied);
    let (status, answer) = status_of(&harness, &reply, &id).await;
    assert_eq!(status, 200);
    assert_eq!(answer["data"]["status"], "denied", "{answer}");
    assert_eq!(answer["data"]["note"], note);
    assert!(
        answer["data"].get("decided_by").is_none(),
        "who reviewed is not the agent's"
    );

    let late = harness.gateway.approve(&id, &alice(), None, now_ms()).await;
    assert!(
        matches!(
            late,
            Err(ReviewError::Decided {
                state: ApprovalState::Denied,
                ..
            })
        ),
        "{late:?}"
    );
    assert_eq!(harness.sandbox.api_requests(), before);
    assert_eq!(
        copies(&harness.sandbox, &session, "A curt answer.").await,
        0
    );
    assert!(decisions(&harness).await.contains(&"denied".to_owned()));
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_proposal_cannot_be_approved() {
    let reply = reply_agent(crisp_sandbox::demo::WEBSITE_ID);
    let harness = Harness::start(&policy_text("approval_ttl = \"30m\"", &[&reply])).await;
    let session = session(&harness);
    let (_, envelope) = send(&harness, &reply, &session, "Too late.").await;
    let id = envelope["data"]["approval_id"].as_str().unwrap().to_owned();
    let expires = envelope["data"]["expires_at"].as_i64().unwrap();
    let created = now_ms();
    assert!(
        expires > created && expires <= created + 30 * 60_000,
        "{envelope}"
    );
    let before = harness.sandbox.api_requests();

    // A reviewer who comes back at (or after) the expiry.
    let late = harness.gateway.approve(&id, &alice(), None, expires).await;
    assert!(matches!(late, Err(ReviewError::Expired { .. })), "{late:?}");
    let deny = harness.gateway.deny(&id, &alice(), None, expires + 1).await;
    assert!(matches!(deny, Err(ReviewError::Expired { .. })), "{deny:?}");
    assert_eq!(harness.sandbox.api_requests(), before);
    let (_, answer) = status_of(&harness, &reply, &id).await;
    assert_eq!(answer["data"]["status"], "expired", "{answer}");
    // Expired for good: an approval "now" (before the expiry) does not revive it.
    let now = harness.gateway.approve(&id, &alice(), None, now_ms()).await;
    assert!(now.is_err(), "{now:?}");
    assert_eq!(harness.sandbox.api_requests(), before);
    let expired_rows = decisions(&harness)
        .await
        .into_iter()
        .filter(|d| d == "expired")
        .count();
    assert_eq!(expired_rows, 1);
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_claimed_before_a_restart_is_never_sent_again() {
    let reply = reply_agent(crisp_sandbox::demo::WEBSITE_ID);
    let text = policy_text("", &[&reply]);
    let harness = Harness::start(&text).await;
    let session = session(&harness);
    let id = propose(&harness, &reply, &session, "Maybe sent.").await;
    // A gateway claimed the send (the committed state change) eleven minutes ago, then
    // stopped before recording what Crisp answered: whether the request left is not known.
    let claimed_at = now_ms() - 11 * 60_000;
    let claim = Decision {
        id: id.clone(),
        approve: true,
        by: "alice".into(),
        note: None,
        step: Step {
            at_ms: claimed_at,
            front: "test".into(),
            ..Step::default()
        },
    };
    let claimed = harness
        .sqlite
        .approvals()
        .unwrap()
        .decide_approval(&claim)
        .await
        .unwrap()
        .expect("claimed");
    assert_eq!(claimed.state, ApprovalState::Sending);
    let (sandbox, data) = harness.stop().await;
    let before = sandbox.api_requests();

    // A new gateway on the same store: its start-up sweep marks it unknown_outcome.
    let harness = Harness::on(sandbox, data, &text).await;
    let swept = harness
        .gateway
        .sweep_approvals(now_ms(), "gateway")
        .await
        .unwrap();
    assert_eq!(swept.len(), 1);
    assert_eq!(swept[0].state, ApprovalState::UnknownOutcome);
    let (_, answer) = status_of(&harness, &reply, &id).await;
    assert_eq!(answer["data"]["status"], "unknown_outcome", "{answer}");
    let again = harness.gateway.approve(&id, &alice(), None, now_ms()).await;
    assert!(
        matches!(
            again,
            Err(ReviewError::Decided {
                state: ApprovalState::UnknownOutcome,
                ..
            })
        ),
        "{again:?}"
    );
    assert_eq!(harness.sandbox.api_requests(), before, "never sent again");
    assert_eq!(copies(&harness.sandbox, &session, "Maybe sent.").await, 0);
    let filter = AuditFilter {
        decision: Some("unknown_outcome".into()),
        ..AuditFilter::default()
    };
    assert_eq!(harness.sqlite.query_audit(&filter).await.unwrap().len(), 1);
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mcp_front_proposes_and_reads_through_the_same_gateway_calls() {
    use crisp_gateway::{Front, Incoming, Lookup, Outcome};

    let website = crisp_sandbox::demo::WEBSITE_ID;
    let reply = reply_agent(website);
    let reader = TestAgent::new("reader", MESSAGES, website);
    let harness = Harness::start(&policy_text("", &[&reply, &reader])).await;
    let session = session(&harness);
    let policy = harness.gateway.policy();
    let agent = policy.agent("reply").unwrap();
    assert!(agent.has_approvals());
    assert!(!policy.agent("reader").unwrap().has_approvals());
    let before = harness.sandbox.api_requests();

    // What the MCP dispatch hands in for a `send_message` tool call.
    let mut incoming = Incoming::new(Front::Mcp, &crisp_api::Operation::SEND_MESSAGE);
    incoming.client = Some("claude-desktop".into());
    incoming.ids = vec![
        ("website_id", website.to_owned()),
        ("session_id", session.clone()),
    ];
    incoming.body = Some(text_message("Proposed over MCP"));
    let Outcome::Proposed(proposal) = harness.gateway.handle(agent, incoming).await else {
        panic!("a call the agent may only propose is proposed");
    };
    assert_eq!(harness.sandbox.api_requests(), before);
    assert_eq!(
        proposal.request(),
        Some(json!({
            "method": "POST",
            "path": format!("/website/{website}/conversation/{session}/message"),
            "query": [],
            "body": text_message("Proposed over MCP"),
        }))
    );
    assert!(
        proposal.message().contains("nothing was sent"),
        "{}",
        proposal.message()
    );

    // Its `approval_status` tool.
    let lookup = Lookup::new(Front::Mcp, proposal.approval_id.clone());
    let Outcome::Answered {
        status, envelope, ..
    } = harness.gateway.approval_status(agent, lookup).await
    else {
        panic!("the agent reads its approval");
    };
    assert_eq!(status, 200);
    assert_eq!(envelope["data"]["status"], "pending");
    // The same id, by another agent: not found.
    let lookup = Lookup::new(Front::Mcp, proposal.approval_id.clone());
    let other = harness
        .gateway
        .approval_status(policy.agent("reader").unwrap(), lookup)
        .await;
    assert_eq!(other.status(), 404);

    let rows = harness.rows().await;
    assert!(rows.iter().all(|r| r.front == "mcp"), "{rows:?}");
    let proposed = rows.iter().find(|r| r.decision == "proposed").unwrap();
    assert_eq!(proposed.client.as_deref(), Some("claude-desktop"));
    harness.stop().await;
}

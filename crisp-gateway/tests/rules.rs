//! Resource rules and shared counters, through the REST front with the sandbox as the upstream:
//! a reply to a conversation in another inbox or assigned to another operator is refused;
//! `list_conversations` returns only allowed conversations, over every page; two agents with
//! different grants and rules, 50 requests at once, each see exactly their own data, with one
//! audit row per request; the token's shared quota is never exceeded.

mod support;

use std::collections::BTreeSet;

use crisp_api::Error;
use crisp_api::types::{ErrorReason, NewMessage};
use futures::TryStreamExt;
use futures::future::join_all;
use serde_json::Value;
use support::{
    Conversation, Harness, INBOX, OPERATOR, TestAgent, conversations, http, policy_text,
};

const WEBSITE: &str = crisp_sandbox::demo::WEBSITE_ID;
const SESSIONS_READ: &str = "website:conversation:sessions=read";
const REPLY: &str = "website:conversation:sessions=read, website:conversation:messages=read-write";

fn refused_by(result: Result<impl std::fmt::Debug, Error>, rule_words: &str) {
    match result {
        Err(Error::Api {
            status,
            reason: ErrorReason::NotAllowed,
            message: Some(message),
            ..
        }) => {
            assert_eq!(status.as_u16(), 403);
            assert!(message.contains(rule_words), "{message}");
        }
        other => panic!("not refused: {other:?}"),
    }
}

#[tokio::test]
async fn a_reply_in_another_inbox_or_to_another_operators_conversation_is_refused() {
    let boxed = TestAgent::new("boxed", REPLY, WEBSITE).with(&format!("inboxes = [{INBOX:?}]"));
    let mine =
        TestAgent::new("mine", REPLY, WEBSITE).with(&format!("assigned_to = [{OPERATOR:?}]"));
    let harness = Harness::start(&policy_text("", &[&boxed, &mine])).await;
    let all = conversations(&harness.sandbox);
    let pick = |f: &dyn Fn(&Conversation) -> bool| {
        all.iter()
            .find(|c| f(c))
            .map(|c| c.session.clone())
            .unwrap()
    };
    let in_inbox = pick(&|c| c.inbox.as_deref() == Some(INBOX));
    let no_inbox = pick(&|c| c.inbox.is_none());
    let ours = pick(&|c| c.assigned.as_deref() == Some(OPERATOR));
    let theirs = pick(&|c| c.assigned.is_some() && c.assigned.as_deref() != Some(OPERATOR));

    let reply = |agent: &TestAgent, session: &str| {
        let client = harness.client(agent);
        let session = session.to_owned();
        async move {
            client
                .send_message()
                .website_id(WEBSITE)
                .session_id(session.as_str())
                .body(NewMessage::text("On it!"))
                .send()
                .await
        }
    };
    reply(&boxed, &in_inbox)
        .await
        .expect("a reply in its inbox");
    let before = harness.sandbox.api_requests();
    refused_by(reply(&boxed, &no_inbox).await, "in no inbox");
    // The conversation was read to check it (one request), and nothing was sent.
    assert_eq!(harness.sandbox.api_requests(), before + 1);
    let messages = |session: &str| {
        harness
            .sandbox
            .fixtures()
            .conversations
            .iter()
            .find(|c| c["session_id"] == session)
            .map(|c| c["messages"].as_array().unwrap().len())
            .unwrap()
    };
    let count = messages(&no_inbox);
    refused_by(reply(&boxed, &no_inbox).await, "in no inbox");
    assert_eq!(messages(&no_inbox), count);

    reply(&mine, &ours)
        .await
        .expect("a reply to its operator's conversation");
    refused_by(reply(&mine, &theirs).await, "assigned to");

    let rows = harness.rows().await;
    let refused: Vec<_> = rows.iter().filter(|r| r.decision == "refused").collect();
    assert_eq!(refused.len(), 3);
    let why: BTreeSet<_> = refused.iter().filter_map(|r| r.why.as_deref()).collect();
    assert_eq!(why, BTreeSet::from(["assignee", "inbox"]));
    // The second refusal of the same conversation used the cached facts: no read.
    let reads: Vec<u32> = rows
        .iter()
        .filter(|r| r.why.as_deref() == Some("inbox"))
        .map(|r| r.upstream_requests)
        .collect();
    assert_eq!(reads, [0, 1], "newest first");
    harness.stop().await;
}

#[tokio::test]
async fn list_conversations_returns_only_allowed_conversations_over_every_page() {
    let boxed =
        TestAgent::new("boxed", SESSIONS_READ, WEBSITE).with(&format!("inboxes = [{INBOX:?}]"));
    let mine = TestAgent::new("mine", SESSIONS_READ, WEBSITE)
        .with(&format!("assigned_to = [{OPERATOR:?}]"));
    let two = TestAgent::new("two", SESSIONS_READ, WEBSITE)
        .with(&format!("inboxes = [{INBOX:?}, \"another-inbox\"]"));
    // The demo, with more conversations in the inbox and assigned to the operator, so that
    // each agent's list spans pages.
    let mut fixtures = crisp_sandbox::Fixtures::demo();
    for (i, conversation) in fixtures.conversations.iter_mut().enumerate() {
        if i % 2 == 0 {
            conversation["inbox_id"] = INBOX.into();
        }
        if i % 3 != 2 {
            conversation["assigned"] = serde_json::json!({ "user_id": OPERATOR });
        }
    }
    let sandbox = crisp_sandbox::Sandbox::builder()
        .fixtures(fixtures)
        .start()
        .await
        .unwrap();
    let text = policy_text("", &[&boxed, &mine, &two]);
    let harness = Harness::on(sandbox, tempfile::tempdir().unwrap(), &text).await;
    let all = conversations(&harness.sandbox);

    let listed = |agent: &TestAgent| {
        let client = harness.client(agent);
        async move {
            let items: Vec<_> = client
                .list_conversations()
                .website_id(WEBSITE)
                .include_empty(1)
                .per_page(20)
                .stream()
                .try_collect()
                .await
                .unwrap();
            items
                .iter()
                .map(|c| c.session_id.to_string())
                .collect::<BTreeSet<String>>()
        }
    };
    let expected = |f: &dyn Fn(&Conversation) -> bool| {
        all.iter()
            .filter(|c| f(c))
            .map(|c| c.session.clone())
            .collect::<BTreeSet<_>>()
    };
    let in_inbox = expected(&|c| c.inbox.as_deref() == Some(INBOX));
    let assigned = expected(&|c| c.assigned.as_deref() == Some(OPERATOR));
    assert!(
        in_inbox.len() > 20,
        "the inbox's list spans pages: {}",
        in_inbox.len()
    );
    assert!(
        assigned.len() > 20,
        "the operator's list spans pages: {}",
        assigned.len()
    );
    assert!(in_inbox != assigned && in_inbox.len() < all.len());
    assert_eq!(listed(&boxed).await, in_inbox);
    assert_eq!(listed(&mine).await, assigned);

    // Two inboxes: the agent names the one it lists; any other is refused.
    let client = harness.client(&two);
    let page = |inbox: Option<&str>| {
        let mut request = client
            .list_conversations()
            .website_id(WEBSITE)
            .page_number(1);
        if let Some(inbox) = inbox {
            request = request.filter_inbox_id(inbox);
        }
        request.send()
    };
    refused_by(page(None).await, "pass `filter_inbox_id` as one of");
    refused_by(
        page(Some("not-mine")).await,
        "`filter_inbox_id` is `not-mine`",
    );
    let named = page(Some(INBOX)).await.unwrap();
    assert!(
        named
            .data
            .iter()
            .all(|c| c.inbox_id.as_deref() == Some(INBOX))
    );
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agents_fifty_requests_at_once_each_see_their_own_data_one_row_each() {
    let boxed =
        TestAgent::new("boxed", SESSIONS_READ, WEBSITE).with(&format!("inboxes = [{INBOX:?}]"));
    let mine =
        TestAgent::new("mine", REPLY, WEBSITE).with(&format!("assigned_to = [{OPERATOR:?}]"));
    let harness = Harness::start(&policy_text("", &[&boxed, &mine])).await;
    let all = conversations(&harness.sandbox);

    // 25 requests each: lists of every page, and reads of conversations in and out of bounds.
    let mut requests = Vec::new();
    for i in 0..50 {
        let agent = if i % 2 == 0 { &boxed } else { &mine };
        let path = match i % 5 {
            0..=2 => format!(
                "/website/{WEBSITE}/conversations/{}?include_empty=1",
                1 + i % 3
            ),
            _ => format!(
                "/website/{WEBSITE}/conversation/{}",
                all[i % all.len()].session
            ),
        };
        requests.push((agent.clone(), path));
    }
    let answers = join_all(requests.iter().map(|(agent, path)| {
        let url = format!("{}{path}", harness.base_url);
        async move {
            let answer = http()
                .get(url)
                .header("Authorization", agent.basic())
                .send()
                .await
                .unwrap();
            let status = answer.status().as_u16();
            (status, answer.json::<Value>().await.unwrap())
        }
    }))
    .await;

    let allowed = |agent: &str, conversation: &Value| match agent {
        "boxed" => conversation["inbox_id"] == INBOX,
        _ => conversation["assigned"]["user_id"] == OPERATOR,
    };
    let (mut expected_allowed, mut expected_refused) = (0, 0);
    for ((agent, path), (status, body)) in requests.iter().zip(&answers) {
        if path.contains("/conversations/") {
            assert_eq!(*status, 200, "{path}: {body}");
            let items = body["data"].as_array().unwrap();
            assert!(
                items.iter().all(|c| allowed(&agent.name, c)),
                "{}: {body}",
                agent.name
            );
            expected_allowed += 1;
        } else {
            let session = path.rsplit('/').next().unwrap();
            let found = all.iter().find(|c| c.session == session).unwrap();
            let (inbox, assignee) = (&found.inbox, &found.assigned);
            let may = match agent.name.as_str() {
                "boxed" => inbox.as_deref() == Some(INBOX),
                _ => assignee.as_deref() == Some(OPERATOR),
            };
            if may {
                assert_eq!(*status, 200, "{path}: {body}");
                assert!(allowed(&agent.name, &body["data"]));
                expected_allowed += 1;
            } else {
                assert_eq!(*status, 403, "{path}: {body}");
                assert_eq!(body["reason"], "not_allowed");
                expected_refused += 1;
            }
        }
    }
    assert!(expected_refused > 0 && expected_allowed > 0);

    let rows = harness.rows().await;
    assert_eq!(rows.len(), 50, "one row per request");
    for name in ["boxed", "mine"] {
        let theirs = rows.iter().filter(|r| r.agent.as_deref() == Some(name));
        assert_eq!(theirs.count(), 25, "{name}");
    }
    let refused = rows.iter().filter(|r| r.decision == "refused").count();
    assert_eq!(refused, expected_refused);
    assert_eq!(rows.len() - refused, expected_allowed);
    // Every upstream request is in a row: the calls and the conversation reads.
    let spent: u64 = rows.iter().map(|r| u64::from(r.upstream_requests)).sum();
    assert_eq!(spent, harness.sandbox.api_requests());
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_quota_is_never_exceeded_by_concurrent_agents() {
    let a = TestAgent::new("a", SESSIONS_READ, WEBSITE);
    let b = TestAgent::new("b", SESSIONS_READ, WEBSITE);
    let harness = Harness::start(&policy_text("daily_quota = 20", &[&a, &b])).await;
    let url = format!(
        "{}/website/{WEBSITE}/conversation/{}",
        harness.base_url,
        crisp_sandbox::demo::SESSION_ID
    );
    let statuses = join_all((0..50).map(|i| {
        let agent = if i % 2 == 0 { &a } else { &b };
        let request = http().get(&url).header("Authorization", agent.basic());
        async move { request.send().await.unwrap().status().as_u16() }
    }))
    .await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 20);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 30);
    assert_eq!(harness.sandbox.api_requests(), 20);
    let usage = harness.settled_usage().await;
    assert_eq!(usage.quota_used, 20);
    let rows = harness.rows().await;
    assert_eq!(rows.len(), 50);
    assert_eq!(
        rows.iter()
            .filter(|r| r.why.as_deref() == Some("quota"))
            .count(),
        30
    );
    harness.stop().await;
}

#[tokio::test]
async fn retries_upstream_are_counted_in_the_row_and_the_counters() {
    let agent = TestAgent::new("agent", SESSIONS_READ, WEBSITE);
    let harness = Harness::start(&policy_text("", &[&agent])).await;
    // Half the sandbox's answers are a proxy's 502: crisp-api retries the reads.
    harness
        .sandbox
        .set_faults(Some(crisp_sandbox::Faults {
            bad_gateway: 0.5,
            seed: 7,
            ..crisp_sandbox::Faults::default()
        }))
        .unwrap();
    let url = format!(
        "{}/website/{WEBSITE}/conversation/{}",
        harness.base_url,
        crisp_sandbox::demo::SESSION_ID
    );
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let answer = http()
            .get(&url)
            .header("Authorization", agent.basic())
            .send()
            .await;
        statuses.push(answer.unwrap().status().as_u16());
    }
    assert!(statuses.contains(&200), "{statuses:?}");
    let rows = harness.rows().await;
    assert!(rows.iter().any(|r| r.attempts > 1), "some call was retried");
    assert!(rows.iter().all(|r| r.attempts == r.upstream_requests));
    // A call whose every attempt failed answers 502, Crisp's envelope saying so.
    for (row, status) in rows.iter().rev().zip(&statuses) {
        assert_eq!(row.status, Some(*status));
        if *status != 200 {
            assert_eq!(*status, 502);
            assert_eq!(row.outcome.as_deref(), Some("failed"));
        }
    }
    let spent: u64 = rows.iter().map(|r| u64::from(r.upstream_requests)).sum();
    assert_eq!(spent, harness.sandbox.api_requests());
    let usage = harness.settled_usage().await;
    assert_eq!(usage.quota_used, spent, "retries are counted too");
    assert_eq!(usage.agent("agent"), spent);
    harness.stop().await;
}

#[tokio::test]
async fn leases_keep_a_budget_exact_and_unused_ones_are_given_back() {
    let agent = TestAgent::new("agent", SESSIONS_READ, WEBSITE).with("daily_budget = 100");
    let harness = Harness::start(&policy_text("", &[&agent])).await;
    let url = format!(
        "{}/website/{WEBSITE}/conversation/{}",
        harness.base_url,
        crisp_sandbox::demo::SESSION_ID
    );
    let day = crisp_gateway::store::utc_day(chrono::Utc::now().timestamp_millis());
    let mut statuses = Vec::new();
    let mut leased = false;
    for sent in 1..=120_u64 {
        let answer = http()
            .get(&url)
            .header("Authorization", agent.basic())
            .send()
            .await;
        statuses.push(answer.unwrap().status().as_u16());
        // The store never counts less than was sent, and more while a lease is held.
        let counted = harness
            .gateway
            .store()
            .usage(day)
            .await
            .unwrap()
            .agent("agent");
        assert!(
            counted >= sent.min(100),
            "{counted} counted after {sent} sent"
        );
        leased |= counted > sent;
    }
    assert!(leased, "leases of several requests were taken");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 100);
    assert!(statuses[100..].iter().all(|s| *s == 429));
    assert_eq!(harness.sandbox.api_requests(), 100);
    harness.gateway.give_back_leases().await;
    let usage = harness.gateway.store().usage(day).await.unwrap();
    assert_eq!((usage.agent("agent"), usage.quota_used), (100, 100));
    harness.stop().await;
}

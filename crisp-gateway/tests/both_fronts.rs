//! Two agents with different grants and resource rules, each on BOTH fronts at once (REST with
//! HTTP Basic, MCP with its Bearer key): 50 audited requests in flight together, with `tools/list`
//! calls beside them. Each agent sees exactly its own tools and data; the audit has exactly one
//! row per request with the right agent, front and decision; the shared daily quota, smaller
//! than what the requests would spend, is never exceeded, and no refused call reaches the
//! sandbox.

mod support;

use std::collections::BTreeMap;

use crisp_gateway::decide::effective_operations;
use crisp_gateway::policy::Policy;
use futures::future::join_all;
use serde_json::{Value, json};
use support::mcp::{self, Mcp, error, is_error, structured};
use support::{
    Conversation, Harness, INBOX, OPERATOR, TestAgent, conversations, http, policy_text, surely,
};

const WEBSITE: &str = crisp_sandbox::demo::WEBSITE_ID;
const SESSIONS_READ: &str = "website:conversation:sessions=read";
const REPLY: &str = "website:conversation:sessions=read, website:conversation:messages=read-write";
/// The token's quota: less than the 50 requests spend, so some are refused by it.
const QUOTA: u64 = 40;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Via {
    Rest,
    Mcp,
}

impl Via {
    fn front(self) -> &'static str {
        match self {
            Self::Rest => "rest",
            Self::Mcp => "mcp",
        }
    }
}

/// What one request asks.
#[derive(Clone, Debug)]
enum Ask {
    List(u32),
    Get(Conversation),
    Send(Conversation),
}

impl Ask {
    fn operation(&self) -> &'static str {
        match self {
            Self::List(_) => "list_conversations",
            Self::Get(_) => "get_conversation",
            Self::Send(_) => "send_message",
        }
    }
}

/// What one request got: the HTTP status (REST) or the tool error's code (MCP), and the
/// conversations it was shown.
#[derive(Debug)]
struct Got {
    /// `None` when the call worked; the refusal's rule otherwise (on REST, from the status:
    /// `quota` for a 429, `rule` for a 403 whose rule the request's expectation names).
    refused: Option<String>,
    shown: Vec<Value>,
}

/// Whether `agent` may see `conversation` by its rules.
fn may_see(agent: &str, conversation: &Value) -> bool {
    match agent {
        "triage" => conversation["inbox_id"] == INBOX,
        _ => conversation["assigned"]["user_id"] == OPERATOR,
    }
}

/// The rule that refuses `ask` by `agent` on `via`, if one does (the quota aside).
fn expected_rule(agent: &str, via: Via, ask: &Ask) -> Option<&'static str> {
    match (agent, ask) {
        (_, Ask::List(_)) => None,
        ("triage", Ask::Get(c)) => (c.inbox.as_deref() != Some(INBOX)).then_some("inbox"),
        (_, Ask::Get(c)) | (_, Ask::Send(c)) if agent == "reply" => {
            (c.assigned.as_deref() != Some(OPERATOR)).then_some("assignee")
        }
        // triage may not send: REST's grants rule; not among its MCP tools at all.
        (_, Ask::Send(_)) => Some(match via {
            Via::Rest => "grants",
            Via::Mcp => "not_granted",
        }),
        _ => unreachable!(),
    }
}

fn message_body() -> Value {
    json!({"type": "text", "from": "operator", "origin": "chat", "content": "Both fronts at once"})
}

async fn over_rest(harness: &Harness, agent: &TestAgent, ask: &Ask, rule: Option<&str>) -> Got {
    let base = format!("{}/website/{WEBSITE}", harness.base_url);
    let request = match ask {
        Ask::List(page) => http().get(format!("{base}/conversations/{page}")),
        Ask::Get(c) => http().get(format!("{base}/conversation/{}", c.session)),
        Ask::Send(c) => http()
            .post(format!("{base}/conversation/{}/message", c.session))
            .json(&message_body()),
    };
    let answer = request
        .header("Authorization", agent.basic())
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let body: Value = answer.json().await.unwrap();
    match status {
        200..=202 => Got {
            refused: None,
            shown: shown(ask, &body["data"]),
        },
        403 => {
            assert_eq!(body["reason"], "not_allowed", "{body}");
            Got {
                refused: Some(rule.unwrap_or("unexpected 403").to_owned()),
                shown: Vec::new(),
            }
        }
        429 => {
            assert_eq!(body["reason"], "rate_limited", "{body}");
            Got {
                refused: Some("quota".to_owned()),
                shown: Vec::new(),
            }
        }
        other => panic!("{} {ask:?}: {other} {body}", agent.name),
    }
}

async fn over_mcp(session: &Mcp, ask: &Ask) -> Got {
    let result = match ask {
        Ask::List(page) => {
            session
                .call("list_conversations", json!({"page_number": page}))
                .await
        }
        Ask::Get(c) => {
            session
                .call("get_conversation", json!({"session_id": c.session}))
                .await
        }
        Ask::Send(c) => {
            session
                .call(
                    "send_message",
                    json!({"session_id": c.session, "body": message_body()}),
                )
                .await
        }
    };
    if is_error(&result) {
        let code = error(&result)["code"].as_str().unwrap().to_owned();
        assert!(structured(&result).get("data").is_none(), "{result}");
        return Got {
            refused: Some(code),
            shown: Vec::new(),
        };
    }
    Got {
        refused: None,
        shown: shown(ask, &structured(&result)["data"]),
    }
}

/// The conversations an answer's `data` shows.
fn shown(ask: &Ask, data: &Value) -> Vec<Value> {
    match ask {
        Ask::List(_) => data.as_array().unwrap().clone(),
        Ask::Get(_) => vec![data.clone()],
        Ask::Send(_) => Vec::new(),
    }
}

fn expected_tools(policy: &str, name: &str) -> Vec<String> {
    let policy = Policy::parse(policy, "test.toml").unwrap();
    effective_operations(policy.agent(name).unwrap())
        .map(|op| op.id.to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agents_on_both_fronts_fifty_requests_at_once() {
    let triage =
        TestAgent::new("triage", SESSIONS_READ, WEBSITE).with(&format!("inboxes = [{INBOX:?}]"));
    let reply = TestAgent::new("reply", REPLY, WEBSITE)
        .with(&format!("assigned_to = [{OPERATOR:?}]"))
        .with("confirm = \"never\"");
    let text = policy_text(&format!("daily_quota = {QUOTA}"), &[&triage, &reply]);
    let harness = Harness::start(&text).await;
    let url = mcp::url(&harness);
    let sessions = [
        Mcp::open(&url, &triage.key, "triage-bot").await,
        Mcp::open(&url, &reply.key, "reply-bot").await,
    ];
    let agents = [&triage, &reply];
    let tools = [
        expected_tools(&text, "triage"),
        expected_tools(&text, "reply"),
    ];
    assert_ne!(tools[0], tools[1]);
    assert!(tools[1].contains(&"send_message".to_owned()));
    assert!(!tools[0].contains(&"send_message".to_owned()));

    // 50 requests: each agent on each front (i % 4), asking a list, a read or a send (i % 5),
    // of conversations in and out of its rules (every other one in them).
    let all = conversations(&harness.sandbox);
    let (inside, outside): (Vec<Vec<Conversation>>, Vec<Vec<Conversation>>) = agents
        .iter()
        .map(|agent| {
            let may = |c: &&Conversation| match agent.name.as_str() {
                "triage" => c.inbox.as_deref() == Some(INBOX),
                _ => c.assigned.as_deref() == Some(OPERATOR),
            };
            let inside: Vec<Conversation> = all.iter().filter(may).cloned().collect();
            let outside = all.iter().filter(|c| !may(c)).cloned().collect();
            (inside, outside)
        })
        .unzip();
    let requests: Vec<(usize, Via, Ask)> = (0..50)
        .map(|i| {
            let who = i % 4 / 2;
            let via = if i % 2 == 0 { Via::Rest } else { Via::Mcp };
            let pool = if i / 5 % 2 == 0 {
                &inside[who]
            } else {
                &outside[who]
            };
            let conversation = pool[i % pool.len()].clone();
            let ask = match i % 5 {
                0 | 1 => Ask::List(1 + u32::try_from(i % 3).unwrap()),
                2 | 3 => Ask::Get(conversation),
                _ => Ask::Send(conversation),
            };
            (who, via, ask)
        })
        .collect();
    let calls = join_all(requests.iter().map(|(who, via, ask)| {
        let (harness, sessions) = (&harness, &sessions);
        let agent = agents[*who];
        let rule = expected_rule(&agent.name, *via, ask);
        async move {
            match via {
                Via::Rest => over_rest(harness, agent, ask, rule).await,
                Via::Mcp => over_mcp(&sessions[*who], ask).await,
            }
        }
    }));
    // Tool lists asked while the calls are in flight.
    let lists = join_all((0..6).map(|i| sessions[i % 2].tool_names()));
    let (got, listed) = surely("the 50 requests", async { tokio::join!(calls, lists) }).await;

    for (i, names) in listed.iter().enumerate() {
        assert_eq!(names, &tools[i % 2], "{}'s tools", agents[i % 2].name);
    }
    // Each answer is what the rules say, or the quota's refusal; data only the agent's own.
    let mut expected_rows: BTreeMap<(String, &str, &str, String, Option<String>), usize> =
        BTreeMap::new();
    let (mut worked, mut by_quota) = ([0; 2], 0);
    for ((who, via, ask), got) in requests.iter().zip(&got) {
        let name = &agents[*who].name;
        let rule = expected_rule(name, *via, ask);
        match got.refused.as_deref() {
            Some("quota") => by_quota += 1,
            refused => assert_eq!(refused, rule, "{name} {via:?} {ask:?}"),
        }
        if got.refused.is_none() {
            worked[*who] += 1;
        }
        for conversation in &got.shown {
            assert!(may_see(name, conversation), "{name} saw {conversation}");
        }
        let decision = if got.refused.is_some() {
            "refused"
        } else {
            "allowed"
        };
        *expected_rows
            .entry((
                name.clone(),
                via.front(),
                ask.operation(),
                decision.to_owned(),
                got.refused.clone(),
            ))
            .or_default() += 1;
    }
    assert!(worked.iter().all(|n| *n > 0), "{worked:?}");
    assert!(by_quota > 0, "the quota bit");

    // One row per request, with its agent, front, operation and decision.
    let rows = harness.rows().await;
    assert_eq!(rows.len(), 50, "one row per request");
    let mut found: BTreeMap<(String, &str, &str, String, Option<String>), usize> = BTreeMap::new();
    for row in &rows {
        let front = if row.front == "rest" { "rest" } else { "mcp" };
        assert_eq!(row.front, front);
        let operation = ["list_conversations", "get_conversation", "send_message"]
            .into_iter()
            .find(|op| row.operation.as_deref() == Some(*op))
            .unwrap_or_else(|| panic!("{row:?}"));
        *found
            .entry((
                row.agent.clone().unwrap(),
                front,
                operation,
                row.decision.clone(),
                row.why.clone(),
            ))
            .or_default() += 1;
        if row.front == "mcp" {
            let client = format!("{}-bot", row.agent.as_deref().unwrap());
            assert_eq!(row.client.as_deref(), Some(client.as_str()));
        }
    }
    assert_eq!(found, expected_rows);

    // The quota: never exceeded; every upstream request is in a row and counted.
    let spent: u64 = rows.iter().map(|r| u64::from(r.upstream_requests)).sum();
    assert_eq!(spent, harness.sandbox.api_requests());
    assert!(spent <= QUOTA, "{spent} upstream requests");
    let usage = harness.settled_usage().await;
    assert_eq!(usage.quota_used, spent);
    assert_eq!(usage.agent("triage") + usage.agent("reply"), spent);
    harness.stop().await;
}

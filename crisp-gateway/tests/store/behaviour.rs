//! What every store does, tested on each backend (`on_both_backends!`): counters taken
//! atomically by several replicas at once, both or neither, per day, surviving a restart; audit
//! rows written in batches and read back by filter, through indexes; schemas refused when a
//! newer gateway wrote them.

use std::collections::BTreeSet;
use std::sync::Arc;

use crisp_gateway::store::{
    AuditFilter, AuditRow, HourCount, PostgresStore, SqliteStore, Store, StoreError, Take, Taken,
    Usage,
};

use crate::backend::{Backend, Db, on_both_backends};

on_both_backends!(
    concurrent_takes_from_several_replicas_on_a_budget_of_n_give_exactly_n,
    concurrent_takes_of_several_agents_from_several_replicas_never_pass_the_quota,
    concurrent_takes_and_adds_from_several_replicas_all_count,
    a_take_raises_both_counters_or_neither,
    the_last_unit_of_a_budget_and_a_quota_is_taken_whole,
    add_counts_past_the_limits_and_takes_then_refuse,
    a_lease_taken_whole_is_given_back_in_part_never_below_zero,
    counters_are_per_day_and_survive_a_restart,
    audit_rows_are_written_in_batches_and_read_back_newest_first,
    a_batch_larger_than_one_statement_is_written_whole,
    audit_rows_are_paged_and_bounded_in_time,
    requests_are_counted_per_agent_and_hour,
    the_audit_queries_use_the_indexes,
    a_store_written_by_a_newer_gateway_is_refused,
    a_read_only_open_reads_what_the_gateway_wrote_and_never_writes,
);

const DAY: u32 = 20_454;

/// How many stores take from one database at once in the concurrency tests.
const REPLICAS: usize = 3;

fn take(agent: &str, agent_limit: Option<u64>, quota_limit: Option<u64>) -> Take {
    Take {
        day: DAY,
        agent: agent.to_owned(),
        agent_limit,
        quota_limit,
        n: 1,
    }
}

/// Runs `takes` concurrently, spread over `stores` in turn, and returns every answer.
async fn take_concurrently(stores: &[Arc<dyn Store>], takes: Vec<Take>) -> Vec<Taken> {
    let tasks: Vec<_> = takes
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let store = Arc::clone(&stores[i % stores.len()]);
            tokio::spawn(async move { store.take(t).await })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("no panic").expect("the take succeeds"));
    }
    answers
}

async fn concurrent_takes_from_several_replicas_on_a_budget_of_n_give_exactly_n(db: Db) {
    let stores = db.replicas(REPLICAS).await;
    // The day's first takes, all at once: the counters are created by the race.
    let answers = take_concurrently(
        &stores,
        (0..200).map(|_| take("triage", Some(50), None)).collect(),
    )
    .await;

    let given: BTreeSet<u64> = answers
        .iter()
        .filter_map(|a| match a {
            Taken::Taken { agent_used, .. } => Some(*agent_used),
            _ => None,
        })
        .collect();
    let spent = answers
        .iter()
        .filter(|a| **a == Taken::BudgetSpent { limit: 50 })
        .count();
    // Each unit of the budget went to exactly one take.
    assert_eq!(given, (1..=50).collect::<BTreeSet<_>>());
    assert_eq!(spent, 150);
    let usage = stores[0].usage(DAY).await.unwrap();
    assert_eq!(usage.agent("triage"), 50);
    assert_eq!(usage.quota_used, 50);
}

async fn concurrent_takes_of_several_agents_from_several_replicas_never_pass_the_quota(db: Db) {
    let stores = db.replicas(REPLICAS).await;
    let takes = (0..240)
        .map(|i| take(["a", "b", "c", "d"][i % 4], None, Some(60)))
        .collect();
    let answers = take_concurrently(&stores, takes).await;

    let given: BTreeSet<u64> = answers
        .iter()
        .filter_map(|a| match a {
            Taken::Taken { quota_used, .. } => Some(*quota_used),
            _ => None,
        })
        .collect();
    assert_eq!(given, (1..=60).collect::<BTreeSet<_>>());
    assert_eq!(
        answers
            .iter()
            .filter(|a| **a == Taken::QuotaSpent { limit: 60 })
            .count(),
        180
    );
    let usage = stores[1].usage(DAY).await.unwrap();
    assert_eq!(usage.quota_used, 60);
    let per_agent: u64 = usage.agents.iter().map(|(_, used)| used).sum();
    assert_eq!(per_agent, 60, "{usage:?}");
}

/// Takes and adds of several agents interleaved on several replicas (each locks the agent's
/// counter and the token's): none waits forever on another, and every one counts.
async fn concurrent_takes_and_adds_from_several_replicas_all_count(db: Db) {
    let stores = db.replicas(REPLICAS).await;
    let tasks: Vec<_> = (0..150)
        .map(|i| {
            let store = Arc::clone(&stores[i % REPLICAS]);
            let agent = ["a", "b", "c"][i % 3];
            tokio::spawn(async move {
                if i % 2 == 0 {
                    store.add(DAY, agent, 2).await.map(|()| 2)
                } else {
                    let taken = store.take(take(agent, None, None)).await?;
                    assert!(matches!(taken, Taken::Taken { .. }), "{taken:?}");
                    Ok(1)
                }
            })
        })
        .collect();
    let mut counted = 0;
    for task in tasks {
        counted += task.await.expect("no panic").expect("the call succeeds");
    }
    assert_eq!(counted, 75 * 2 + 75);
    let usage = stores[2].usage(DAY).await.unwrap();
    assert_eq!(usage.quota_used, counted);
    assert_eq!(
        usage.agents,
        vec![("a".into(), 75), ("b".into(), 75), ("c".into(), 75)]
    );
}

async fn a_take_raises_both_counters_or_neither(db: Db) {
    let store = db.open().await;
    // The quota is spent first: the agent's count is not raised alone.
    assert_eq!(
        store.take(take("a", Some(10), Some(1))).await.unwrap(),
        Taken::Taken {
            agent_used: 1,
            quota_used: 1
        }
    );
    assert_eq!(
        store.take(take("a", Some(10), Some(1))).await.unwrap(),
        Taken::QuotaSpent { limit: 1 }
    );
    assert_eq!(store.usage(DAY).await.unwrap().agent("a"), 1);

    // The budget is spent first: the quota is not touched.
    assert_eq!(
        store.take(take("b", Some(0), Some(100))).await.unwrap(),
        Taken::BudgetSpent { limit: 0 }
    );
    // More than the whole budget at once, on a fresh counter: refused, nothing counted.
    let mut big = take("c", Some(3), None);
    big.n = 4;
    assert_eq!(
        store.take(big).await.unwrap(),
        Taken::BudgetSpent { limit: 3 }
    );
    let usage = store.usage(DAY).await.unwrap();
    assert_eq!(
        usage,
        Usage {
            day: DAY,
            agents: vec![("a".to_owned(), 1)],
            quota_used: 1,
        }
    );
}

async fn the_last_unit_of_a_budget_and_a_quota_is_taken_whole(db: Db) {
    let store = db.open().await;
    // Both limits are reached by this very take: both counters are raised, not one.
    assert_eq!(
        store.take(take("a", Some(1), Some(1))).await.unwrap(),
        Taken::Taken {
            agent_used: 1,
            quota_used: 1
        }
    );
    assert_eq!(
        store.take(take("a", Some(1), Some(1))).await.unwrap(),
        Taken::BudgetSpent { limit: 1 }
    );
    assert_eq!(
        store.take(take("b", Some(1), Some(1))).await.unwrap(),
        Taken::QuotaSpent { limit: 1 }
    );
    let usage = store.usage(DAY).await.unwrap();
    assert_eq!((usage.agent("a"), usage.agent("b")), (1, 0));
    assert_eq!(usage.quota_used, 1);
}

async fn add_counts_past_the_limits_and_takes_then_refuse(db: Db) {
    let store = db.open().await;
    store.take(take("a", Some(2), Some(5))).await.unwrap();
    store.add(DAY, "a", 3).await.unwrap();
    let usage = store.usage(DAY).await.unwrap();
    assert_eq!((usage.agent("a"), usage.quota_used), (4, 4));
    assert_eq!(
        store.take(take("a", Some(2), Some(5))).await.unwrap(),
        Taken::BudgetSpent { limit: 2 }
    );
    // A counter that does not exist yet is created by `add`.
    store.add(DAY, "b", 1).await.unwrap();
    assert_eq!(store.usage(DAY).await.unwrap().quota_used, 5);
    assert_eq!(
        store.take(take("b", None, Some(5))).await.unwrap(),
        Taken::QuotaSpent { limit: 5 }
    );
}

async fn a_lease_taken_whole_is_given_back_in_part_never_below_zero(db: Db) {
    let store = db.open().await;
    let lease = Take {
        n: 16,
        ..take("a", Some(20), Some(100))
    };
    assert_eq!(
        store.take(lease.clone()).await.unwrap(),
        Taken::Taken {
            agent_used: 16,
            quota_used: 16
        }
    );
    // A second lease of 16 would pass the budget of 20: refused whole.
    assert_eq!(
        store.take(lease).await.unwrap(),
        Taken::BudgetSpent { limit: 20 }
    );
    store.give_back(DAY, "a", 10).await.unwrap();
    let usage = store.usage(DAY).await.unwrap();
    assert_eq!((usage.agent("a"), usage.quota_used), (6, 6));
    store.give_back(DAY, "a", 50).await.unwrap();
    let usage = store.usage(DAY).await.unwrap();
    assert_eq!((usage.agent("a"), usage.quota_used), (0, 0));
}

async fn counters_are_per_day_and_survive_a_restart(db: Db) {
    let store = db.open().await;
    for _ in 0..3 {
        store.take(take("a", Some(3), None)).await.unwrap();
    }
    store.close().await;
    assert!(
        store.usage(DAY).await.is_err(),
        "a closed store answers no more"
    );

    let store = db.open().await;
    assert_eq!(store.usage(DAY).await.unwrap().agent("a"), 3);
    assert_eq!(
        store.take(take("a", Some(3), None)).await.unwrap(),
        Taken::BudgetSpent { limit: 3 }
    );
    // The next day starts from zero.
    let mut tomorrow = take("a", Some(3), None);
    tomorrow.day = DAY + 1;
    assert_eq!(
        store.take(tomorrow).await.unwrap(),
        Taken::Taken {
            agent_used: 1,
            quota_used: 1
        }
    );
    assert_eq!(store.usage(DAY + 1).await.unwrap().agent("a"), 1);
    assert_eq!(store.usage(DAY).await.unwrap().agent("a"), 3);
}

pub fn row(at_ms: i64, agent: &str, operation: &str, decision: &str) -> AuditRow {
    AuditRow {
        at_ms,
        agent: Some(agent.to_owned()),
        key_id: Some("9f86d081".to_owned()),
        front: "rest".to_owned(),
        client: Some("node-crisp-api/11.3.0".to_owned()),
        operation: Some(operation.to_owned()),
        method: Some("GET".to_owned()),
        path_ids: vec![
            (
                "website_id".to_owned(),
                "8c842203-7ed8-4e29-a608-7cf78a7d2fcc".to_owned(),
            ),
            ("session_id".to_owned(), "session_700c65e1".to_owned()),
        ],
        decision: decision.to_owned(),
        why: (decision == "refused").then(|| "grants".to_owned()),
        outcome: (decision == "allowed").then(|| "succeeded".to_owned()),
        status: Some(if decision == "refused" { 403 } else { 200 }),
        reason: Some(
            if decision == "refused" {
                "not_allowed"
            } else {
                "resolved"
            }
            .to_owned(),
        ),
        error: None,
        attempts: 1,
        upstream_requests: 2,
        latency_us: 1_234,
    }
}

async fn audit_rows_are_written_in_batches_and_read_back_newest_first(db: Db) {
    let store = db.open().await;
    let mut rows = vec![
        row(1_000, "triage", "list_conversations", "allowed"),
        row(2_000, "reply", "send_message", "refused"),
        row(3_000, "triage", "get_conversation", "allowed"),
        row(3_000, "reply", "send_message", "allowed"),
    ];
    rows[0].agent = None;
    rows[0].key_id = None;
    rows[0].client = None;
    rows[0].status = None;
    rows[0].path_ids.clear();
    rows[1].error = Some("upstream said no: \"quoted\", 'single', \\ and ünïcode".to_owned());
    rows[1].latency_us = u64::from(u32::MAX) + 7;
    rows[1].attempts = u32::MAX;
    store.write_audit(&rows).await.unwrap();
    store.write_audit(&[]).await.unwrap();

    let all = store.query_audit(&AuditFilter::default()).await.unwrap();
    // Newest first; of two rows at the same millisecond, the later written first.
    let expected: Vec<AuditRow> = rows.iter().rev().cloned().collect();
    assert_eq!(all, expected);

    let only = |filter: AuditFilter| {
        let store = Arc::clone(&store);
        async move {
            store
                .query_audit(&filter)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.at_ms)
                .collect::<Vec<_>>()
        }
    };
    let by_agent = AuditFilter {
        agent: Some("reply".into()),
        ..AuditFilter::default()
    };
    assert_eq!(only(by_agent).await, [3_000, 2_000]);
    let by_operation = AuditFilter {
        operation: Some("send_message".into()),
        ..AuditFilter::default()
    };
    assert_eq!(only(by_operation).await, [3_000, 2_000]);
    let refused = AuditFilter {
        decision: Some("refused".into()),
        ..AuditFilter::default()
    };
    assert_eq!(only(refused).await, [2_000]);
    let since = AuditFilter {
        since_ms: Some(2_000),
        limit: Some(2),
        ..AuditFilter::default()
    };
    assert_eq!(only(since).await, [3_000, 3_000]);
    let everything = AuditFilter {
        agent: Some("triage".into()),
        operation: Some("get_conversation".into()),
        decision: Some("allowed".into()),
        since_ms: Some(3_000),
        limit: Some(10),
        ..AuditFilter::default()
    };
    assert_eq!(only(everything).await, [3_000]);
    let nobody = AuditFilter {
        agent: Some("nobody".into()),
        ..AuditFilter::default()
    };
    assert_eq!(only(nobody).await, Vec::<i64>::new());
}

async fn audit_rows_are_paged_and_bounded_in_time(db: Db) {
    let store = db.open().await;
    let rows: Vec<AuditRow> = (1..=7)
        .map(|i| row(i * 1_000, "triage", "list_conversations", "allowed"))
        .collect();
    store.write_audit(&rows).await.unwrap();
    let times = |filter: AuditFilter| {
        let store = Arc::clone(&store);
        async move {
            let rows = store.query_audit(&filter).await.unwrap();
            rows.into_iter().map(|r| r.at_ms).collect::<Vec<_>>()
        }
    };
    let page = |offset| AuditFilter {
        limit: Some(3),
        offset: Some(offset),
        ..AuditFilter::default()
    };
    assert_eq!(times(page(0)).await, [7_000, 6_000, 5_000]);
    assert_eq!(times(page(3)).await, [4_000, 3_000, 2_000]);
    assert_eq!(times(page(6)).await, [1_000]);
    assert_eq!(times(page(9)).await, Vec::<i64>::new());
    // An offset without a limit: every row after it.
    let skip_five = AuditFilter {
        offset: Some(5),
        ..AuditFilter::default()
    };
    assert_eq!(times(skip_five).await, [2_000, 1_000]);
    // `until_ms` is exclusive, `since_ms` inclusive.
    let window = AuditFilter {
        since_ms: Some(2_000),
        until_ms: Some(5_000),
        ..AuditFilter::default()
    };
    assert_eq!(times(window).await, [4_000, 3_000, 2_000]);
}

async fn requests_are_counted_per_agent_and_hour(db: Db) {
    const HOUR: i64 = 3_600_000;
    let store = db.open().await;
    let base = 490_000 * HOUR; // an hour's start (2025-11-24T16:00:00Z)
    let mut rows = vec![
        // Before the window: not counted.
        row(base - 1, "triage", "list_conversations", "allowed"),
        // The window starts at the hour of `since` (base + 10 min): this hour counts whole.
        row(base, "triage", "list_conversations", "allowed"),
        row(base + 59 * 60_000, "triage", "get_conversation", "refused"),
        row(base + HOUR, "reply", "send_message", "allowed"),
        row(
            base + 3 * HOUR + 5,
            "triage",
            "list_conversations",
            "allowed",
        ),
    ];
    // A request no agent could be named for (no credentials) is no agent's.
    let mut anonymous = row(base + 2, "x", "list_conversations", "refused");
    anonymous.agent = None;
    rows.push(anonymous);
    store.write_audit(&rows).await.unwrap();

    let hours = store.requests_per_hour(base + 10 * 60_000).await.unwrap();
    let count = |agent: &str, hour: i64, requests: u64| HourCount {
        agent: agent.to_owned(),
        hour: base / HOUR + hour,
        requests,
    };
    assert_eq!(
        hours,
        [
            count("reply", 1, 1),
            count("triage", 0, 2),
            count("triage", 3, 1),
        ]
    );
    assert_eq!(
        store.requests_per_hour(base + 4 * HOUR).await.unwrap(),
        Vec::<HourCount>::new()
    );
}

async fn a_batch_larger_than_one_statement_is_written_whole(db: Db) {
    let store = db.open().await;
    let rows: Vec<AuditRow> = (0..1_201)
        .map(|i| row(i, "triage", "list_conversations", "allowed"))
        .collect();
    store.write_audit(&rows).await.unwrap();
    let read = store.query_audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(read.len(), 1_201);
    assert_eq!(read.first().map(|r| r.at_ms), Some(1_200));
    assert_eq!(read.last().map(|r| r.at_ms), Some(0));
}

async fn the_audit_queries_use_the_indexes(db: Db) {
    let store = db.open().await;
    store
        .write_audit(&[row(1, "a", "list_conversations", "allowed")])
        .await
        .unwrap();
    for (column, index) in [
        ("agent", "audit_agent_at"),
        ("operation", "audit_operation_at"),
        ("decision", "audit_decision_at"),
    ] {
        let plan = db
            .plan(&format!(
                "SELECT * FROM audit WHERE {column} = 'x' ORDER BY at_ms DESC, id DESC LIMIT 10"
            ))
            .await;
        assert!(
            plan.iter().any(|line| line.contains(index)) && !db.sorts(&plan),
            "{column}: {plan:?}"
        );
    }
    let plan = db
        .plan("SELECT * FROM audit WHERE at_ms >= 5 ORDER BY at_ms DESC, id DESC")
        .await;
    assert!(
        plan.iter().any(|line| line.contains("audit_at")) && !db.sorts(&plan),
        "{plan:?}"
    );
}

async fn a_store_written_by_a_newer_gateway_is_refused(db: Db) {
    let store = db.open().await;
    store
        .write_audit(&[row(1, "a", "list_conversations", "allowed")])
        .await
        .unwrap();
    store.close().await;
    let (checksum, known) = match db.backend {
        Backend::Sqlite => ("x'00'", SqliteStore::schema_version()),
        Backend::Postgres => ("'\\x00'::bytea", PostgresStore::schema_version()),
    };
    db.execute(&format!(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (999999, 'from the future', TRUE, {checksum}, 0)"
    ))
    .await;

    for result in [db.try_open().await, db.try_open_read_only().await] {
        let Err(error) = result else {
            panic!("a store with a newer schema was opened");
        };
        assert_eq!(
            error,
            StoreError::SchemaTooNew {
                store: db.location(),
                found: 999_999,
                known
            }
        );
        assert!(error.to_string().contains("newer crisp-gateway"), "{error}");
    }
}

async fn a_read_only_open_reads_what_the_gateway_wrote_and_never_writes(db: Db) {
    let gateway = db.open().await;
    gateway
        .write_audit(&[row(1, "a", "list_conversations", "allowed")])
        .await
        .unwrap();
    gateway.take(take("a", None, None)).await.unwrap();

    let reader = db.try_open_read_only().await.expect("a read-only open");
    let rows = reader.query_audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(reader.usage(DAY).await.unwrap().agent("a"), 1);
    let error = reader
        .write_audit(&[row(2, "a", "list_conversations", "allowed")])
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Failed { .. }), "{error:?}");
    assert!(reader.take(take("a", None, None)).await.is_err());
    assert!(reader.add(DAY, "a", 1).await.is_err());
    reader.close().await;

    assert_eq!(
        gateway
            .query_audit(&AuditFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(gateway.usage(DAY).await.unwrap().agent("a"), 1);
}

//! The SQLite store on a real file: atomic counters under concurrency, the audit table and its
//! queries, the schema checks at open.

use std::collections::BTreeSet;
use std::sync::Arc;

use crisp_gateway::store::{
    AuditFilter, AuditRow, SqliteStore, Store, StoreError, Take, Taken, Usage,
};
use sqlx::Connection as _;

const DAY: u32 = 20_454;

async fn new_store() -> (tempfile::TempDir, Arc<SqliteStore>) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = SqliteStore::open(dir.path().join("gateway.sqlite"))
        .await
        .expect("a new store opens");
    (dir, Arc::new(store))
}

fn take(agent: &str, agent_limit: Option<u64>, quota_limit: Option<u64>) -> Take {
    Take {
        day: DAY,
        agent: agent.to_owned(),
        agent_limit,
        quota_limit,
        n: 1,
    }
}

/// Runs `takes` concurrently on a multi-threaded runtime and returns every answer.
async fn take_concurrently(store: &Arc<SqliteStore>, takes: Vec<Take>) -> Vec<Taken> {
    let tasks: Vec<_> = takes
        .into_iter()
        .map(|t| {
            let store = Arc::clone(store);
            tokio::spawn(async move { store.take(t).await })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("no panic").expect("the take succeeds"));
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_takes_on_a_budget_of_n_give_exactly_n() {
    let (_dir, store) = new_store().await;
    let answers = take_concurrently(
        &store,
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
    let usage = store.usage(DAY).await.unwrap();
    assert_eq!(usage.agent("triage"), 50);
    assert_eq!(usage.quota_used, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_takes_of_several_agents_never_pass_the_quota() {
    let (_dir, store) = new_store().await;
    let takes = (0..240)
        .map(|i| take(["a", "b", "c", "d"][i % 4], None, Some(60)))
        .collect();
    let answers = take_concurrently(&store, takes).await;

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
    let usage = store.usage(DAY).await.unwrap();
    assert_eq!(usage.quota_used, 60);
    let per_agent: u64 = usage.agents.iter().map(|(_, used)| used).sum();
    assert_eq!(per_agent, 60, "{usage:?}");
}

#[tokio::test]
async fn a_take_raises_both_counters_or_neither() {
    let (_dir, store) = new_store().await;
    // The quota is spent first: the agent's count, raised in the same transaction, is undone.
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

#[tokio::test]
async fn the_last_unit_of_a_budget_and_a_quota_is_taken_whole() {
    let (_dir, store) = new_store().await;
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

#[tokio::test]
async fn add_counts_past_the_limits_and_takes_then_refuse() {
    let (_dir, store) = new_store().await;
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

#[tokio::test]
async fn a_lease_taken_whole_is_given_back_in_part_never_below_zero() {
    let (_dir, store) = new_store().await;
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

#[tokio::test]
async fn counters_are_per_day_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("gateway.sqlite");
    let store = SqliteStore::open(&path).await.unwrap();
    for _ in 0..3 {
        store.take(take("a", Some(3), None)).await.unwrap();
    }
    store.close().await;

    let store = SqliteStore::open(&path).await.unwrap();
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
}

fn row(at_ms: i64, agent: &str, operation: &str, decision: &str) -> AuditRow {
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

#[tokio::test]
async fn audit_rows_are_written_in_batches_and_read_back_newest_first() {
    let (_dir, store) = new_store().await;
    let mut rows = vec![
        row(1_000, "triage", "list_conversations", "allowed"),
        row(2_000, "reply", "send_message", "refused"),
        row(3_000, "triage", "get_conversation", "allowed"),
        row(3_000, "reply", "send_message", "allowed"),
    ];
    rows[0].agent = None;
    rows[0].key_id = None;
    rows[0].status = None;
    rows[0].path_ids.clear();
    rows[1].error = Some("upstream said no".to_owned());
    rows[1].latency_us = u64::from(u32::MAX) + 7;
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
    };
    assert_eq!(only(everything).await, [3_000]);
}

#[tokio::test]
async fn a_batch_larger_than_one_statement_is_written_whole() {
    let (_dir, store) = new_store().await;
    let rows: Vec<AuditRow> = (0..1_201)
        .map(|i| row(i, "triage", "list_conversations", "allowed"))
        .collect();
    store.write_audit(&rows).await.unwrap();
    let read = store.query_audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(read.len(), 1_201);
    assert_eq!(read.first().map(|r| r.at_ms), Some(1_200));
    assert_eq!(read.last().map(|r| r.at_ms), Some(0));
}

#[tokio::test]
async fn the_audit_queries_use_the_indexes() {
    let (dir, store) = new_store().await;
    store
        .write_audit(&[row(1, "a", "list_conversations", "allowed")])
        .await
        .unwrap();
    let mut db = sqlx::SqliteConnection::connect(&format!(
        "sqlite://{}",
        dir.path().join("gateway.sqlite").display()
    ))
    .await
    .unwrap();
    for (column, index) in [
        ("agent", "audit_agent_at"),
        ("operation", "audit_operation_at"),
        ("decision", "audit_decision_at"),
    ] {
        let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "EXPLAIN QUERY PLAN SELECT * FROM audit WHERE {column} = 'x' \
             ORDER BY at_ms DESC, id DESC LIMIT 10"
        )))
        .fetch_all(&mut db)
        .await
        .unwrap();
        let plan: Vec<&str> = plan.iter().map(|(.., detail)| detail.as_str()).collect();
        assert!(
            plan.iter().any(|d| d.contains(index))
                && !plan.iter().any(|d| d.contains("TEMP B-TREE")),
            "{column}: {plan:?}"
        );
    }
    let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(
        "EXPLAIN QUERY PLAN SELECT * FROM audit WHERE at_ms >= 5 ORDER BY at_ms DESC, id DESC",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert!(
        plan.iter().any(|(.., d)| d.contains("audit_at")),
        "{plan:?}"
    );
}

#[tokio::test]
async fn a_store_written_by_a_newer_gateway_is_refused_and_left_untouched() {
    let (dir, store) = new_store().await;
    store.close().await;
    let path = dir.path().join("gateway.sqlite");
    let mut db = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (999999, 'from the future', TRUE, x'00', 0)",
    )
    .execute(&mut db)
    .await
    .unwrap();
    db.close().await.unwrap();

    let known = SqliteStore::schema_version();
    for result in [
        SqliteStore::open(&path).await,
        SqliteStore::open_read_only(&path).await,
    ] {
        let error = result.unwrap_err();
        assert_eq!(
            error,
            StoreError::SchemaTooNew {
                path: path.clone(),
                found: 999_999,
                known
            }
        );
        assert!(error.to_string().contains("newer crisp-gateway"), "{error}");
    }
}

#[tokio::test]
async fn read_only_opens_need_a_store_and_never_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.sqlite");
    assert_eq!(
        SqliteStore::open_read_only(&path).await.unwrap_err(),
        StoreError::Missing { path: path.clone() }
    );
    assert!(!path.exists(), "a read-only open creates nothing");

    // Beside a gateway that has the store open and writes to it.
    let gateway = SqliteStore::open(&path).await.unwrap();
    gateway
        .write_audit(&[row(1, "a", "list_conversations", "allowed")])
        .await
        .unwrap();
    let reader = SqliteStore::open_read_only(&path).await.unwrap();
    assert_eq!(
        reader
            .query_audit(&AuditFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
    let error = reader
        .write_audit(&[row(2, "a", "list_conversations", "allowed")])
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Failed { .. }), "{error:?}");
    assert!(reader.take(take("a", None, None)).await.is_err());
    reader.close().await;

    // And after the gateway closed it (its write-ahead log folded back into the file).
    gateway.close().await;
    let reader = SqliteStore::open_read_only(&path).await.unwrap();
    assert_eq!(
        reader
            .query_audit(&AuditFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_refused_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.sqlite");
    std::fs::write(&path, vec![b'x'; 4096]).unwrap();
    for result in [
        SqliteStore::open(&path).await,
        SqliteStore::open_read_only(&path).await,
    ] {
        let error = result.unwrap_err();
        assert!(matches!(error, StoreError::Open { .. }), "{error:?}");
        assert!(
            error.to_string().contains(&path.display().to_string()),
            "{error}"
        );
    }
}

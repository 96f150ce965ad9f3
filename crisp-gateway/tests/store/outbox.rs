//! The webhook fan-out's shared state, on each backend (`on_both_backends!`): an event's key
//! inserted once whatever the number of replicas inserting it at once, with its deliveries in
//! the same transaction; due rows claimed with a lease by exactly one replica, taken over by
//! another once the lease runs out, the outcome recorded only under the lease in force; expired
//! keys and old rows cleaned up. Time is passed in (`now_ms`), so nothing here waits.

use std::collections::BTreeMap;
use std::sync::Arc;

use crisp_gateway::store::Store;
use crisp_gateway::store::outbox::{
    Claim, Claimed, DeliveryState, FINISHED_KEPT_MS, Finish, NewDelivery, NewEvent, OutboxEntry,
};

use crate::backend::{Db, on_both_backends};

on_both_backends!(
    an_event_enqueued_by_several_replicas_at_once_is_inserted_once,
    due_rows_claimed_by_several_replicas_at_once_go_each_to_one,
    a_lease_that_runs_out_leaves_the_row_to_another_and_the_old_holder_records_nothing,
    retries_wait_until_due_and_the_last_attempt_fails_the_row,
    expired_keys_and_old_finished_rows_are_cleaned_up,
);

const T0: i64 = 1_765_000_000_000;
const LEASE_MS: i64 = 15_000;

fn event(key: &str, agents: &[&str]) -> NewEvent {
    NewEvent {
        key: key.to_owned(),
        event: "message:send".to_owned(),
        received_at_ms: T0,
        expires_at_ms: T0 + 86_400_000,
        website_id: Some("w1".to_owned()),
        session_id: Some("s1".to_owned()),
        body: format!(r#"{{"event":"message:send","key":"{key}"}}"#),
        deliveries: agents
            .iter()
            .map(|agent| NewDelivery {
                webhook_id: format!("msg_{key}_{agent}"),
                agent: (*agent).to_owned(),
            })
            .collect(),
    }
}

fn claim(now_ms: i64, lease: &str, limit: u32) -> Claim {
    Claim {
        now_ms,
        lease_until_ms: now_ms + LEASE_MS,
        lease: lease.to_owned(),
        limit,
    }
}

async fn claim_on(store: &Arc<dyn Store>, claim: &Claim) -> Vec<Claimed> {
    store.outbox().unwrap().claim(claim).await.unwrap()
}

async fn rows(store: &Arc<dyn Store>) -> BTreeMap<String, OutboxEntry> {
    let entries = store.outbox().unwrap().deliveries(1000).await.unwrap();
    entries
        .into_iter()
        .map(|e| (e.webhook_id.clone(), e))
        .collect()
}

async fn an_event_enqueued_by_several_replicas_at_once_is_inserted_once(db: Db) {
    let stores = db.replicas(3).await;
    // Ten events, each enqueued 6 times at once (twice per replica): Crisp's retries and the
    // same delivery reaching every replica.
    let mut tasks = Vec::new();
    for n in 0..10 {
        for copy in 0..6 {
            let store = Arc::clone(&stores[copy % stores.len()]);
            let event = event(&format!("k{n}"), &["triage", "reply"]);
            tasks.push(tokio::spawn(async move {
                let inserted = store.outbox().unwrap().enqueue(&event).await.unwrap();
                (event.key, inserted)
            }));
        }
    }
    let mut firsts: BTreeMap<String, usize> = BTreeMap::new();
    for task in tasks {
        let (key, inserted) = task.await.unwrap();
        *firsts.entry(key).or_default() += usize::from(inserted);
    }
    assert_eq!(firsts.len(), 10);
    assert!(firsts.values().all(|n| *n == 1), "{firsts:?}");

    let outbox = stores[1].outbox().unwrap();
    assert!(outbox.seen("k3").await.unwrap());
    assert!(!outbox.seen("k10").await.unwrap());
    let pending = rows(&stores[2]).await;
    assert_eq!(pending.len(), 20, "one row per (event, agent)");
    assert!(
        pending
            .values()
            .all(|r| r.state == DeliveryState::Pending && r.attempts == 0)
    );
    // An event no agent may see still records its key: a retry of it is not checked again.
    assert!(outbox.enqueue(&event("lonely", &[])).await.unwrap());
    assert!(!outbox.enqueue(&event("lonely", &["triage"])).await.unwrap());
    assert_eq!(rows(&stores[0]).await.len(), 20);
}

async fn due_rows_claimed_by_several_replicas_at_once_go_each_to_one(db: Db) {
    let stores = db.replicas(3).await;
    let agents: Vec<String> = (0..30).map(|n| format!("agent-{n}")).collect();
    let names: Vec<&str> = agents.iter().map(String::as_str).collect();
    assert!(
        stores[0]
            .outbox()
            .unwrap()
            .enqueue(&event("k", &names))
            .await
            .unwrap()
    );
    // Nothing is due before the event was received.
    assert!(
        claim_on(&stores[0], &claim(T0 - 1, "early", 100))
            .await
            .is_empty()
    );

    let mut tasks = Vec::new();
    for n in 0..12 {
        let store = Arc::clone(&stores[n % stores.len()]);
        tasks.push(tokio::spawn(async move {
            let lease = format!("lease-{n}");
            let claimed = claim_on(&store, &claim(T0, &lease, 4)).await;
            (lease, claimed)
        }));
    }
    let mut holders: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for task in tasks {
        let (lease, claimed) = task.await.unwrap();
        assert!(claimed.len() <= 4);
        for row in claimed {
            assert_eq!(row.attempt, 1);
            holders.entry(row.id).or_default().push(lease.clone());
        }
    }
    assert_eq!(holders.len(), 30, "every row claimed: {holders:?}");
    assert!(holders.values().all(|h| h.len() == 1), "{holders:?}");
    // Leased: no claim takes them again before the lease's end.
    assert!(
        claim_on(&stores[1], &claim(T0 + LEASE_MS - 1, "again", 100))
            .await
            .is_empty()
    );
}

async fn a_lease_that_runs_out_leaves_the_row_to_another_and_the_old_holder_records_nothing(
    db: Db,
) {
    let [a, b]: [Arc<dyn Store>; 2] = db.replicas(2).await.try_into().ok().unwrap();
    a.outbox()
        .unwrap()
        .enqueue(&event("k", &["triage"]))
        .await
        .unwrap();
    let first = claim_on(&a, &claim(T0, "a-lease", 10)).await;
    assert_eq!(first.len(), 1);
    let row = &first[0];
    assert_eq!(
        (row.agent.as_str(), row.event.as_str(), row.attempt),
        ("triage", "message:send", 1)
    );
    assert_eq!(row.website_id.as_deref(), Some("w1"));
    assert_eq!(row.session_id.as_deref(), Some("s1"));
    assert!(row.body.contains("\"k\""));

    // Replica A stops mid-attempt. Once the lease is over, B takes the row: its second attempt.
    let taken_over = claim_on(&b, &claim(T0 + LEASE_MS, "b-lease", 10)).await;
    assert_eq!(taken_over.len(), 1);
    assert_eq!(
        (taken_over[0].id, taken_over[0].attempt),
        (row.id, 2),
        "the same row, one more attempt"
    );
    // A comes back with its outcome: refused, the row is B's.
    let late = a
        .outbox()
        .unwrap()
        .finish(
            row.id,
            "a-lease",
            T0 + LEASE_MS + 1,
            &Finish::Delivered { status: 200 },
        )
        .await
        .unwrap();
    assert!(!late);
    assert_eq!(rows(&a).await["msg_k_triage"].state, DeliveryState::Pending);
    // B's outcome is recorded, once.
    let outbox = b.outbox().unwrap();
    let done = Finish::Delivered { status: 204 };
    assert!(
        outbox
            .finish(row.id, "b-lease", T0 + LEASE_MS + 2, &done)
            .await
            .unwrap()
    );
    assert!(
        !outbox
            .finish(row.id, "b-lease", T0 + LEASE_MS + 3, &done)
            .await
            .unwrap()
    );
    let entry = &rows(&b).await["msg_k_triage"];
    assert_eq!(
        (entry.state, entry.attempts, entry.last_status),
        (DeliveryState::Delivered, 2, Some(204))
    );
    // Delivered rows are never claimed again.
    assert!(
        claim_on(&a, &claim(T0 + 10 * LEASE_MS, "later", 10))
            .await
            .is_empty()
    );
}

async fn retries_wait_until_due_and_the_last_attempt_fails_the_row(db: Db) {
    let store = db.open().await;
    let outbox = store.outbox().unwrap();
    outbox.enqueue(&event("k", &["triage"])).await.unwrap();
    let row = claim_on(&store, &claim(T0, "l1", 1)).await.remove(0);
    let retry = Finish::Retry {
        at_ms: T0 + 5_000,
        status: Some(503),
        error: "the agent answered 503".to_owned(),
    };
    assert!(outbox.finish(row.id, "l1", T0 + 10, &retry).await.unwrap());
    let entry = &rows(&store).await["msg_k_triage"];
    assert_eq!(
        (entry.state, entry.next_at_ms, entry.last_status),
        (DeliveryState::Pending, T0 + 5_000, Some(503))
    );
    assert_eq!(entry.last_error.as_deref(), Some("the agent answered 503"));
    // Not before it is due: then it is, whatever lease it had.
    assert!(
        claim_on(&store, &claim(T0 + 4_999, "l2", 1))
            .await
            .is_empty()
    );
    let row = claim_on(&store, &claim(T0 + 5_000, "l2", 1))
        .await
        .remove(0);
    assert_eq!(row.attempt, 2);
    let failed = Finish::Failed {
        status: None,
        error: "connection refused".to_owned(),
    };
    assert!(
        outbox
            .finish(row.id, "l2", T0 + 5_010, &failed)
            .await
            .unwrap()
    );
    let entry = &rows(&store).await["msg_k_triage"];
    assert_eq!((entry.state, entry.attempts), (DeliveryState::Failed, 2));
    assert_eq!(entry.last_error.as_deref(), Some("connection refused"));
    assert!(
        claim_on(&store, &claim(T0 + 1_000_000, "l3", 1))
            .await
            .is_empty()
    );
}

async fn expired_keys_and_old_finished_rows_are_cleaned_up(db: Db) {
    let store = db.open().await;
    let outbox = store.outbox().unwrap();
    let mut early = event("early", &["triage"]);
    early.expires_at_ms = T0 + 1_000;
    outbox.enqueue(&early).await.unwrap();
    outbox.enqueue(&event("late", &["triage"])).await.unwrap();
    // The first row delivered at T0 + 100; the second still pending.
    let claimed = claim_on(&store, &claim(T0, "l", 1)).await.remove(0);
    assert_eq!(claimed.webhook_id, "msg_early_triage");
    let done = Finish::Delivered { status: 200 };
    assert!(
        outbox
            .finish(claimed.id, "l", T0 + 100, &done)
            .await
            .unwrap()
    );

    // Nothing is old yet.
    assert_eq!(outbox.cleanup(T0 + 1_000).await.unwrap().keys, 0);
    // The first key expired: it goes, and the same event would be fanned out again.
    let cleaned = outbox.cleanup(T0 + 1_001).await.unwrap();
    assert_eq!((cleaned.keys, cleaned.rows), (1, 0));
    assert!(!outbox.seen("early").await.unwrap());
    assert!(outbox.seen("late").await.unwrap());
    // The delivered row goes a day after it finished; the pending one never does.
    let cleaned = outbox.cleanup(T0 + 101 + FINISHED_KEPT_MS).await.unwrap();
    assert_eq!(cleaned.rows, 1);
    let left: Vec<String> = rows(&store).await.into_keys().collect();
    assert_eq!(left, ["msg_late_triage"]);
}

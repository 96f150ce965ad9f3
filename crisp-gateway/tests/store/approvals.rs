//! Approvals in the store, on each backend (`on_both_backends!`): a proposal round-trips whole;
//! of several replicas approving one proposal at once exactly one claims its send; an expired
//! proposal cannot be decided; a send left claimed (its sender stopped) is marked
//! `unknown_outcome` by a sweep, and never finished afterwards; each step is one audit row.

use std::sync::Arc;

use crisp_gateway::store::{
    Approval, ApprovalFilter, ApprovalState, ApprovalStore, AuditFilter, Decision, Finish, Step,
    Store, Sweep,
};
use serde_json::json;

use crate::backend::{Db, on_both_backends};

on_both_backends!(
    a_proposal_is_stored_whole_and_listed_newest_first,
    of_replicas_approving_one_proposal_at_once_exactly_one_claims_the_send,
    an_expired_proposal_cannot_be_approved_or_denied,
    a_send_left_claimed_becomes_unknown_outcome_and_is_never_finished,
);

const T0: i64 = 1_767_225_600_000;
const HOUR: i64 = 3_600_000;

fn id(n: u8) -> String {
    format!("{n:032x}")
}

fn proposal(n: u8, created_ms: i64) -> Approval {
    let mut approval = Approval::pending(id(n), "reply".into(), created_ms, created_ms + HOUR);
    approval.key_id = Some("9f86d081".into());
    approval.front = "rest".into();
    approval.client = Some("node-crisp-api/11.3.0".into());
    approval.operation = "send_message".into();
    approval.method = "POST".into();
    approval.path_ids = vec![
        (
            "website_id".into(),
            "8c842203-7ed8-4e29-a608-7cf78a7d2fcc".into(),
        ),
        ("session_id".into(), "session_700c65e1".into()),
    ];
    approval.query = vec![("a".into(), "1".into()), ("a".into(), "2 & é".into())];
    approval.body = Some(json!({"type": "text", "from": "operator", "origin": "chat",
        "content": "Hello <b>there</b> \u{1F600}", "fingerprint": 9_007_199_254_740_993_u64}));
    approval
}

fn approvals(store: &Arc<dyn Store>) -> &dyn ApprovalStore {
    store.approvals().expect("both backends keep approvals")
}

fn decision(n: u8, approve: bool, by: &str, at_ms: i64) -> Decision {
    Decision {
        id: id(n),
        approve,
        by: by.into(),
        note: Some(format!("{by} says so")),
        step: Step {
            at_ms,
            front: "cli".into(),
            client: Some(by.into()),
            ..Step::default()
        },
    }
}

async fn rows(store: &Arc<dyn Store>, decision: &str) -> usize {
    let filter = AuditFilter {
        decision: Some(decision.into()),
        ..AuditFilter::default()
    };
    store.query_audit(&filter).await.unwrap().len()
}

async fn a_proposal_is_stored_whole_and_listed_newest_first(db: Db) {
    let store = db.open().await;
    let first = proposal(1, T0);
    let second = proposal(2, T0 + 1);
    approvals(&store).create_approval(&first).await.unwrap();
    approvals(&store).create_approval(&second).await.unwrap();
    assert_eq!(
        approvals(&store).approval(&id(1)).await.unwrap(),
        Some(first)
    );
    assert_eq!(approvals(&store).approval(&id(9)).await.unwrap(), None);

    let all = approvals(&store)
        .list_approvals(&ApprovalFilter::default())
        .await
        .unwrap();
    let ids: Vec<_> = all.iter().map(|a| a.id.clone()).collect();
    assert_eq!(ids, [id(2), id(1)]);
    // The same id twice is refused: a proposal is never overwritten.
    assert!(approvals(&store).create_approval(&second).await.is_err());

    approvals(&store)
        .decide_approval(&decision(2, false, "alice", T0 + 2))
        .await
        .unwrap()
        .expect("pending: denied");
    let pending = ApprovalFilter {
        state: Some(ApprovalState::Pending),
        ..ApprovalFilter::default()
    };
    let listed = approvals(&store).list_approvals(&pending).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, id(1));
}

async fn of_replicas_approving_one_proposal_at_once_exactly_one_claims_the_send(db: Db) {
    let stores = db.replicas(3).await;
    approvals(&stores[0])
        .create_approval(&proposal(1, T0))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let store = Arc::clone(&stores[i % stores.len()]);
            tokio::spawn(async move {
                let by = format!("reviewer{i}");
                // Half approve, half deny: still exactly one decision is taken.
                let decision = decision(1, i % 2 == 0, &by, T0 + 10);
                approvals(&store).decide_approval(&decision).await
            })
        })
        .collect();
    let mut taken = Vec::new();
    for task in tasks {
        if let Some(approval) = task.await.unwrap().expect("the store answers") {
            taken.push(approval);
        }
    }
    assert_eq!(taken.len(), 1, "{taken:?}");
    let winner = &taken[0];
    let stored = approvals(&stores[1])
        .approval(&id(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&stored, winner);
    assert_eq!(stored.decided_by, winner.decided_by);
    let steps = rows(&stores[0], "approved").await + rows(&stores[0], "denied").await;
    assert_eq!(steps, 1, "one decision, one audit row");
    if stored.state == ApprovalState::Sending {
        assert_eq!(stored.sending_ms, Some(T0 + 10));
    } else {
        assert_eq!(stored.state, ApprovalState::Denied);
    }
}

async fn an_expired_proposal_cannot_be_approved_or_denied(db: Db) {
    let store = db.open().await;
    approvals(&store)
        .create_approval(&proposal(1, T0))
        .await
        .unwrap();
    let at_expiry = T0 + HOUR;
    for approve in [true, false] {
        let late = decision(1, approve, "alice", at_expiry);
        assert_eq!(
            approvals(&store).decide_approval(&late).await.unwrap(),
            None
        );
    }
    assert_eq!(
        approvals(&store)
            .approval(&id(1))
            .await
            .unwrap()
            .unwrap()
            .state,
        ApprovalState::Pending,
        "a refused decision changes nothing"
    );
    let sweep = Sweep {
        at_ms: at_expiry,
        stale_before_ms: at_expiry - HOUR,
        only: None,
        front: "gateway".into(),
    };
    let swept = approvals(&store).sweep_approvals(&sweep).await.unwrap();
    assert_eq!(swept.len(), 1);
    assert_eq!(swept[0].state, ApprovalState::Expired);
    // A second sweep finds nothing more: one `expired` row.
    assert!(
        approvals(&store)
            .sweep_approvals(&sweep)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(rows(&store, "expired").await, 1);
    let earlier = decision(1, true, "alice", T0 + 1);
    assert_eq!(
        approvals(&store).decide_approval(&earlier).await.unwrap(),
        None,
        "an expired proposal stays expired"
    );
    assert_eq!(rows(&store, "approved").await, 0);
}

async fn a_send_left_claimed_becomes_unknown_outcome_and_is_never_finished(db: Db) {
    let store = db.open().await;
    for n in [1, 2] {
        approvals(&store)
            .create_approval(&proposal(n, T0))
            .await
            .unwrap();
        approvals(&store)
            .decide_approval(&decision(n, true, "alice", T0 + i64::from(n) * 1_000))
            .await
            .unwrap()
            .expect("claimed");
    }
    // The gateway stopped after claiming 1 and 2. A new one sweeps: only a claim older than
    // the stale bound is settled (a claim that recent may be another replica's, in flight).
    let sweep = Sweep {
        at_ms: T0 + 10_000,
        stale_before_ms: T0 + 1_000,
        only: None,
        front: "gateway".into(),
    };
    let swept = approvals(&store).sweep_approvals(&sweep).await.unwrap();
    assert_eq!(swept.len(), 1);
    assert_eq!(swept[0].id, id(1));
    assert_eq!(swept[0].state, ApprovalState::UnknownOutcome);
    assert!(swept[0].error.is_some());
    assert_eq!(rows(&store, "unknown_outcome").await, 1);

    let finish = |n: u8| Finish {
        id: id(n),
        state: ApprovalState::Sent,
        status: 200,
        answer: json!({"error": false, "reason": "dispatched", "data": {"fingerprint": 1}}),
        error: None,
        step: Step {
            at_ms: T0 + 20_000,
            front: "cli".into(),
            outcome: Some("succeeded".into()),
            status: Some(200),
            reason: Some("dispatched".into()),
            attempts: 1,
            upstream_requests: 1,
            ..Step::default()
        },
    };
    // The stopped sender's answer can no longer be recorded for 1; 2 finishes once.
    assert_eq!(
        approvals(&store).finish_approval(&finish(1)).await.unwrap(),
        None
    );
    let sent = approvals(&store)
        .finish_approval(&finish(2))
        .await
        .unwrap()
        .expect("2 was sending");
    assert_eq!(sent.state, ApprovalState::Sent);
    assert_eq!(sent.answer_status, Some(200));
    assert_eq!(sent.answer.as_ref().unwrap()["reason"], "dispatched");
    assert_eq!(
        approvals(&store).finish_approval(&finish(2)).await.unwrap(),
        None
    );
    assert_eq!(rows(&store, "sent").await, 1);
    // Neither can be approved again.
    for n in [1, 2] {
        let again = decision(n, true, "bob", T0 + 30_000);
        assert_eq!(
            approvals(&store).decide_approval(&again).await.unwrap(),
            None
        );
    }
}

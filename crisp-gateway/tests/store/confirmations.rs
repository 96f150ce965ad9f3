//! MCP confirmation tokens in the store, on each backend (`on_both_backends!`): a token's row
//! round-trips and is taken out once, also when replicas redeem it at once; it is taken only in
//! its own scope (agent); expired rows are pruned and do not count against the caps; a caller
//! and a scope are capped.

use std::sync::Arc;

use crisp_gateway::store::{ConfirmationStore, Kept, Store, StoredToken};

use crate::backend::{Db, on_both_backends};

on_both_backends!(
    a_token_is_taken_once_even_by_replicas_at_once,
    a_token_is_taken_only_in_its_scope,
    callers_and_scopes_are_capped_and_expired_tokens_pruned,
);

const T0: i64 = 1_767_225_600_000;
const MINUTE: i64 = 60_000;

fn token(n: usize, scope: &str, caller: &str) -> StoredToken {
    StoredToken {
        scope: scope.into(),
        key: format!("{n:064x}"),
        caller: caller.into(),
        tool: "send_message".into(),
        request: "ab".repeat(32),
        expires_ms: T0 + 5 * MINUTE,
    }
}

fn tokens(store: &Arc<dyn Store>) -> &dyn ConfirmationStore {
    store.confirmations().expect("both backends keep tokens")
}

async fn a_token_is_taken_once_even_by_replicas_at_once(db: Db) {
    let stores = db.replicas(3).await;
    let issued = token(1, "reply", "session:a");
    assert_eq!(
        tokens(&stores[0])
            .keep_token(&issued, T0, 16, 4096)
            .await
            .unwrap(),
        Kept::Kept
    );
    let mut takers = Vec::new();
    for i in 0..12 {
        let store = Arc::clone(&stores[i % stores.len()]);
        takers.push(tokio::spawn(async move {
            tokens(&store)
                .take_token("reply", &format!("{:064x}", 1))
                .await
                .unwrap()
        }));
    }
    let mut taken = Vec::new();
    for taker in takers {
        if let Some(row) = taker.await.unwrap() {
            taken.push(row);
        }
    }
    assert_eq!(taken, [issued], "one redeem of twelve gets it, whole");
    assert_eq!(
        tokens(&stores[1])
            .take_token("reply", &format!("{:064x}", 1))
            .await
            .unwrap(),
        None
    );
}

async fn a_token_is_taken_only_in_its_scope(db: Db) {
    let store = db.open().await;
    let issued = token(2, "reply", "http");
    tokens(&store)
        .keep_token(&issued, T0, 16, 4096)
        .await
        .unwrap();
    assert_eq!(
        tokens(&store)
            .take_token("triage", &issued.key)
            .await
            .unwrap(),
        None,
        "another agent's server does not redeem it"
    );
    assert_eq!(
        tokens(&store)
            .take_token("reply", &issued.key)
            .await
            .unwrap(),
        Some(issued)
    );
}

async fn callers_and_scopes_are_capped_and_expired_tokens_pruned(db: Db) {
    let store = db.open().await;
    let confirmations = tokens(&store);
    for n in 0..3 {
        let kept = confirmations
            .keep_token(&token(n, "reply", "session:a"), T0, 3, 5)
            .await
            .unwrap();
        assert_eq!(kept, Kept::Kept);
    }
    let full = confirmations
        .keep_token(&token(10, "reply", "session:a"), T0, 3, 5)
        .await
        .unwrap();
    assert_eq!(full, Kept::CallerFull);
    for n in 20..22 {
        let kept = confirmations
            .keep_token(&token(n, "reply", "session:b"), T0, 3, 5)
            .await
            .unwrap();
        assert_eq!(kept, Kept::Kept);
    }
    let full = confirmations
        .keep_token(&token(30, "reply", "session:c"), T0, 3, 5)
        .await
        .unwrap();
    assert_eq!(full, Kept::ScopeFull);
    // Another agent's scope has its own cap.
    let other = confirmations
        .keep_token(&token(40, "triage", "session:a"), T0, 3, 5)
        .await
        .unwrap();
    assert_eq!(other, Kept::Kept);
    // Once they expire they are pruned, and the caller may hold new ones.
    let later = T0 + 5 * MINUTE;
    let mut fresh = token(50, "reply", "session:a");
    fresh.expires_ms = later + 5 * MINUTE;
    assert_eq!(
        confirmations.keep_token(&fresh, later, 3, 5).await.unwrap(),
        Kept::Kept
    );
    assert_eq!(
        confirmations
            .take_token("reply", &token(0, "reply", "").key)
            .await
            .unwrap(),
        None,
        "expired rows were pruned"
    );
}

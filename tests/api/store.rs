//! The store's write path: on SQLite, writes from many threads are batched by one writer into
//! one commit (group commit); each write still succeeds or fails on its own.

use std::sync::{Arc, Barrier};

use mintgate::credentials::HashedAccessToken;
use mintgate::oauth::store::GrantStore;
use mintgate::oauth::types::AccessTokenRecord;
use mintgate::scopes::Scopes;
use mintgate::store::StoreError;

use crate::helpers::{Backend, spawn_app};

fn token(hash: &str) -> AccessTokenRecord {
    AccessTokenRecord {
        token_hash: HashedAccessToken::from_stored(hash.to_owned()),
        grant_id: None,
        client_id: "c".into(),
        user_id: None,
        scope: Scopes::parse("read:org").expect("scope"),
        audience: None,
        created_at: 1,
        expires_at: i64::MAX,
    }
}

async fn a_failing_write_does_not_undo_the_others_in_its_batch(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let store = app.state.store.clone();
    let threads = 64;
    let start = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (store, start) = (store.clone(), start.clone());
            std::thread::spawn(move || {
                // Every eighth thread inserts the same hash: one of them wins, the rest fail.
                let hash = if i % 8 == 0 {
                    "same".to_owned()
                } else {
                    format!("t{i}")
                };
                start.wait();
                (hash.clone(), store.insert_access_token(&token(&hash)))
            })
        })
        .collect();
    let results: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    let same: Vec<_> = results.iter().filter(|(h, _)| h == "same").collect();
    assert_eq!(same.iter().filter(|(_, r)| r.is_ok()).count(), 1);
    for (_, r) in same.iter().filter(|(_, r)| r.is_err()) {
        assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
    }
    for (hash, r) in results.iter().filter(|(h, _)| h != "same") {
        let hash = &HashedAccessToken::from_stored(hash.clone());
        assert!(r.is_ok(), "{hash}: {r:?}");
        assert!(
            store.find_access_token(hash).expect("read").is_some(),
            "{hash} lost"
        );
    }
}

async fn writes_are_refused_inside_inline_reads(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let store = &app.state.store;
    let refused = store.inline_reads(|| store.insert_access_token(&token("inline")));
    let inline = HashedAccessToken::from_stored("inline".into());
    assert!(refused.is_err());
    assert!(store.find_access_token(&inline).expect("read").is_none());
}

/// Failed attempts in a sign-in flow are counted atomically: concurrent failures all count, and
/// a concurrent write of the flow (a method recorded) never sets the count back.
async fn flow_attempts_count_every_concurrent_failure(backend: Backend) {
    use mintgate::flows::service as flows;
    use mintgate::flows::store::FlowStore;
    use mintgate::flows::types::{Requirement, Resume};
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let store = app.state.store.clone();
    let secret = flows::begin(
        &store,
        &app.clock,
        Requirement::default(),
        Resume::Page("/account".into()),
        None,
    )
    .expect("begin");
    let hash = secret.hash();
    let stale = store.find_flow(&hash).expect("read").expect("flow");
    let threads = 16;
    let start = Arc::new(Barrier::new(threads + 1));
    let mut handles: Vec<_> = (0..threads)
        .map(|_| {
            let (store, start, hash) = (store.clone(), start.clone(), hash.clone());
            std::thread::spawn(move || {
                start.wait();
                store.add_attempt(&hash).expect("counted");
            })
        })
        .collect();
    handles.push({
        let (store, start) = (store.clone(), start.clone());
        std::thread::spawn(move || {
            start.wait();
            store.update_flow(&stale).expect("written");
        })
    });
    for h in handles {
        h.join().expect("thread");
    }
    let flow = store.find_flow(&hash).expect("read").expect("flow");
    assert_eq!(flow.attempts, threads as i32);
    // A write from a read taken before the failures leaves their count.
    let mut stale = flow.clone();
    stale.attempts = 0;
    store.update_flow(&stale).expect("written");
    let flow = store.find_flow(&hash).expect("read").expect("flow");
    assert_eq!(flow.attempts, threads as i32);
}

crate::both!(
    a_failing_write_does_not_undo_the_others_in_its_batch,
    writes_are_refused_inside_inline_reads,
    flow_attempts_count_every_concurrent_failure
);

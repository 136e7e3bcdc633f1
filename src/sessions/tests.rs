//! The session service against the in-memory store: sessions end when idle, at their absolute
//! lifetime, when their user is disabled and at sign-out, and take their grants with them.

use super::service::{self, SessionPolicy, SessionSecret};
use super::store::SessionStore;
use crate::accounts::types::User;
use crate::audit::{AuditKind, AuditStore, RequestMeta};
use crate::clock::{Clock, ManualClock, UnixTime};
use crate::config::SessionSettings;
use crate::credentials::HashedSessionId;
use crate::crypto;
use crate::ids::GrantId;
use crate::oauth::store::GrantStore;
use crate::oauth::types::Grant;
use crate::scopes::Scopes;
use crate::testing::memory::MemoryStore;

const NOW: UnixTime = 1_700_000_000;

/// The defaults: idle 30 minutes, absolute 10 hours.
fn policy() -> SessionPolicy {
    SessionPolicy::from(&SessionSettings::default())
}

struct World {
    store: MemoryStore,
    clock: ManualClock,
    alice: User,
}

fn world() -> World {
    let store = MemoryStore::new();
    let alice = store.user("alice", None);
    World {
        store,
        clock: ManualClock::new(NOW),
        alice,
    }
}

fn sign_in(w: &World) -> SessionSecret {
    let meta = RequestMeta::default();
    let (secret, _) = service::start(
        &w.store,
        &w.clock,
        policy(),
        &w.alice,
        &["pwd"],
        None,
        &meta,
    )
    .unwrap();
    secret
}

fn resolves(w: &World, secret: &SessionSecret) -> bool {
    service::resolve(&w.store, &w.clock, policy(), secret)
        .unwrap()
        .is_some()
}

/// A grant bound to the session of `secret` (no `offline_access`).
fn bound_grant(w: &World, secret: &SessionSecret) -> GrantId {
    let session = w.store.find_session(&secret.hash()).unwrap().unwrap();
    let grant = Grant {
        id: "gr_bound".into(),
        client_id: "mg_client_app".into(),
        user_id: Some(w.alice.id.clone()),
        sid: Some(session.session.sid.clone()),
        scope: Scopes::parse("openid").unwrap(),
        auth_time: NOW,
        amr: vec!["pwd".into()],
        created_at: NOW,
        last_used_at: NOW,
        expires_at: session.session.expires_at,
        revoked_at: None,
        resources: vec![],
        org_id: None,
    };
    w.store.create_grant(&grant).unwrap();
    grant.id
}

fn revoked(w: &World, grant_id: &GrantId) -> bool {
    w.store
        .find_grant(grant_id)
        .unwrap()
        .unwrap()
        .revoked_at
        .is_some()
}

#[test]
fn only_the_hash_of_the_cookie_is_stored() {
    let w = world();
    let secret = sign_in(&w);
    let plain_as_key = HashedSessionId::from_stored(secret.expose().to_owned());
    assert!(w.store.find_session(&plain_as_key).unwrap().is_none());
    let stored = w.store.find_session(&secret.hash()).unwrap().unwrap();
    assert_eq!(stored.session.id_hash, crypto::sha256_hex(secret.expose()));
    assert_ne!(stored.session.sid, secret.expose(), "sid is not the cookie");
    assert_eq!(stored.session.expires_at, NOW + policy().absolute);
    assert!(resolves(&w, &secret));
}

#[test]
fn an_idle_session_ends_with_its_grants() {
    let w = world();
    let secret = sign_in(&w);
    let grant = bound_grant(&w, &secret);
    w.clock.advance(policy().idle - 1);
    assert!(resolves(&w, &secret));
    // Seen just now: idle again only a full timeout later.
    w.clock.advance(policy().idle);
    assert!(!resolves(&w, &secret));
    assert!(w.store.find_session(&secret.hash()).unwrap().is_none());
    assert!(revoked(&w, &grant));
}

#[test]
fn activity_does_not_outlast_the_absolute_lifetime() {
    let w = world();
    let secret = sign_in(&w);
    let step = policy().idle / 2;
    while w.clock.now() + step < NOW + policy().absolute {
        w.clock.advance(step);
        assert!(resolves(&w, &secret), "in use at {}", w.clock.now() - NOW);
    }
    w.clock.advance(step);
    assert!(!resolves(&w, &secret));
}

#[test]
fn activity_is_written_at_most_every_touch_interval() {
    let w = world();
    let secret = sign_in(&w);
    let last_seen = || {
        w.store
            .find_session(&secret.hash())
            .unwrap()
            .unwrap()
            .session
            .last_seen_at
    };
    w.clock.advance(policy().touch_every() - 1);
    assert!(resolves(&w, &secret));
    assert_eq!(last_seen(), NOW, "no write yet");
    w.clock.advance(1);
    assert!(resolves(&w, &secret));
    assert_eq!(last_seen(), NOW + policy().touch_every());
}

#[test]
fn a_disabled_users_session_does_not_resolve() {
    let w = world();
    let secret = sign_in(&w);
    w.store.set_user_disabled(&w.alice.id, true, NOW).unwrap();
    assert!(!resolves(&w, &secret));
    w.store.set_user_disabled(&w.alice.id, false, NOW).unwrap();
    assert!(resolves(&w, &secret), "enabling again restores it");
}

#[test]
fn sign_out_ends_the_session_and_its_grants_and_is_audited() {
    let w = world();
    let secret = sign_in(&w);
    let grant = bound_grant(&w, &secret);
    let ended = service::end(&w.store, &w.clock, &secret, &RequestMeta::default()).unwrap();
    assert_eq!(ended.map(|s| s.user_id), Some(w.alice.id.clone()));
    assert!(!resolves(&w, &secret));
    assert!(revoked(&w, &grant));
    let events = w.store.recent_events(10).unwrap();
    assert_eq!(events[0].kind, AuditKind::SignedOut.as_str());
    assert_eq!(events[0].user_id.as_deref(), Some(w.alice.id.as_str()));
}

#[test]
fn pruning_ends_idle_sessions_with_their_grants() {
    let w = world();
    let idle = sign_in(&w);
    let grant = bound_grant(&w, &idle);
    w.clock.advance(policy().idle);
    let fresh = sign_in(&w);
    assert_eq!(service::prune(&w.store, &w.clock, policy()).unwrap(), 1);
    assert!(revoked(&w, &grant));
    assert!(w.store.find_session(&idle.hash()).unwrap().is_none());
    assert!(resolves(&w, &fresh));
}

//! The sign-in flow against the in-memory store: the pure next step, the password step,
//! completion (stepping the same user's session up in place) and resumption.

use secrecy::SecretString;

use super::service::*;
use super::store::FlowStore;
use super::types::*;
use crate::accounts::password::PasswordHasher;
use crate::accounts::signin::SignInError;
use crate::accounts::store::UserStore;
use crate::accounts::throttle::Throttle;
use crate::accounts::types::{Email, NewUser, Username};
use crate::audit::{AuditKind, AuditStore, RequestMeta};
use crate::clock::ManualClock;
use crate::config::{LoginSettings, SessionSettings};
use crate::credentials::PlainFlowId;
use crate::ids::{ClientId, GrantId, UserId};
use crate::oauth::store::GrantStore;
use crate::oauth::types::Grant;
use crate::scopes::Scopes;
use crate::sessions::service::{SessionPolicy, SessionSecret};
use crate::sessions::store::SessionStore;
use crate::testing::memory::MemoryStore;

const NOW: i64 = 1_700_000_000;

fn flow(methods: &[(&str, i64)], user: bool) -> Flow {
    Flow {
        id_hash: PlainFlowId::new("f".repeat(43)).hash(),
        user_id: user.then(|| UserId::new("usr_alice")),
        methods: methods
            .iter()
            .map(|(m, at)| MethodDone {
                method: (*m).into(),
                at: *at,
            })
            .collect(),
        requirement: Requirement::default(),
        resume: Resume::Page("/account".into()),
        created_at: NOW,
        expires_at: NOW + FLOW_TTL,
        attempts: 0,
        ceremony: None,
        client_addr: None,
    }
}

#[test]
fn next_step_asks_for_the_password_until_one_is_done_in_the_flow() {
    let policy = FlowPolicy::default();
    assert_eq!(next_step(&flow(&[], false), &policy, NOW), Step::Password);
    assert_eq!(
        next_step(&flow(&[("pwd", NOW + 5)], true), &policy, NOW + 6),
        Step::Done
    );
    // A method from before the flow began is not this request's sign-in.
    assert_eq!(
        next_step(&flow(&[("pwd", NOW - 1)], true), &policy, NOW + 6),
        Step::Password
    );
    // Done in the flow is fresh for its request, however strict: max_age=0, prompt=login.
    let mut strict = flow(&[("pwd", NOW + 5)], true);
    strict.requirement = Requirement {
        max_age: Some(0),
        force_login: true,
        acr: None,
    };
    assert_eq!(next_step(&strict, &policy, NOW + 60), Step::Done);
}

#[test]
fn next_step_restarts_an_expired_or_exhausted_flow() {
    let policy = FlowPolicy::default();
    let f = flow(&[("pwd", NOW)], true);
    assert_eq!(next_step(&f, &policy, NOW + FLOW_TTL), Step::Restart);
    let mut tried = flow(&[], false);
    tried.attempts = policy.max_attempts;
    assert_eq!(next_step(&tried, &policy, NOW), Step::Restart);
}

struct World {
    store: MemoryStore,
    hasher: PasswordHasher,
    clock: ManualClock,
    throttle: Throttle,
    policy: SessionPolicy,
}

fn add_user(store: &MemoryStore, hasher: &PasswordHasher, name: &str) {
    let hash = hasher
        .hash(&SecretString::from(format!("{name}-password-1")))
        .unwrap();
    let user = NewUser {
        id: format!("usr_{name}").as_str().into(),
        username: Username::parse(name).unwrap(),
        email: Email::parse(&format!("{name}@example.com")).unwrap(),
        display_name: name.into(),
        password_hash: Some(hash),
    };
    store.create_user(&user, None, 0).unwrap();
}

/// `alice` and `bob`, each with the password `<name>-password-1`.
fn world() -> World {
    let store = MemoryStore::new();
    let hasher = PasswordHasher::new(1, 4);
    add_user(&store, &hasher, "alice");
    add_user(&store, &hasher, "bob");
    World {
        store,
        hasher,
        clock: ManualClock::new(NOW),
        throttle: Throttle::from(&LoginSettings::default()),
        policy: SessionPolicy::from(&SessionSettings::default()),
    }
}

fn submit(
    w: &World,
    login: &str,
    password: &str,
    flow: Option<PlainFlowId>,
    previous: Option<SessionSecret>,
) -> Result<Completed, SignInError> {
    let input = PasswordStep {
        login: login.into(),
        password: SecretString::from(password),
        flow,
        fallback: Resume::Page("/account".into()),
        previous,
    };
    submit_password(
        &w.store,
        &w.hasher,
        &w.clock,
        &w.throttle,
        w.policy,
        &FlowPolicy::default(),
        input,
        &RequestMeta::default(),
    )
}

fn last_event(w: &World) -> String {
    w.store.recent_events(1).unwrap().remove(0).kind
}

fn session_grant(w: &World, session: &SessionSecret) -> GrantId {
    let s = w.store.find_session(&session.hash()).unwrap().unwrap();
    let grant = Grant {
        id: GrantId::generate(),
        client_id: ClientId::new("cli_other"),
        user_id: Some(s.user.id.clone()),
        sid: Some(s.session.sid.clone()),
        scope: Scopes::parse("openid").unwrap(),
        auth_time: s.session.auth_time,
        amr: s.session.amr.clone(),
        created_at: NOW,
        last_used_at: NOW,
        expires_at: s.session.expires_at,
        revoked_at: None,
        resources: vec![],
    };
    w.store.create_grant(&grant).unwrap();
    grant.id
}

#[test]
fn a_password_completes_a_page_flow_with_a_new_session() {
    let w = world();
    let done = submit(&w, "Alice@Example.com", "alice-password-1", None, None).unwrap();
    assert!(!done.stepped_up);
    assert_eq!(done.resume, Resume::Page("/account".into()));
    let s = w.store.find_session(&done.session.hash()).unwrap().unwrap();
    assert_eq!(s.user.id, "usr_alice");
    assert_eq!(s.session.amr, ["pwd"]);
    assert_eq!(s.session.auth_time, NOW);
    assert_eq!(last_event(&w), AuditKind::SignInSucceeded.as_str());
}

#[test]
fn the_same_user_signing_in_again_steps_the_session_up_in_place() {
    let w = world();
    let first = submit(&w, "alice", "alice-password-1", None, None).unwrap();
    let before = w
        .store
        .find_session(&first.session.hash())
        .unwrap()
        .unwrap();
    let grant = session_grant(&w, &first.session);
    w.clock.advance(600);
    let first_hash = first.session.hash();
    let again = submit(&w, "alice", "alice-password-1", None, Some(first.session)).unwrap();
    assert!(again.stepped_up);
    assert_ne!(again.session.hash(), first_hash, "a new cookie value");
    assert!(w.store.find_session(&first_hash).unwrap().is_none());
    let after = w
        .store
        .find_session(&again.session.hash())
        .unwrap()
        .unwrap();
    assert_eq!(after.session.sid, before.session.sid, "the same sid");
    assert_eq!(after.session.auth_time, NOW + 600);
    assert_eq!(after.session.created_at, before.session.created_at);
    assert!(
        w.store
            .find_grant(&grant)
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none(),
        "the grants bound to the session live on"
    );
}

#[test]
fn another_user_signing_in_replaces_the_session() {
    let w = world();
    let alice = submit(&w, "alice", "alice-password-1", None, None).unwrap();
    let grant = session_grant(&w, &alice.session);
    let alice_hash = alice.session.hash();
    let bob = submit(&w, "bob", "bob-password-1", None, Some(alice.session)).unwrap();
    assert!(!bob.stepped_up);
    assert!(w.store.find_session(&alice_hash).unwrap().is_none());
    let s = w.store.find_session(&bob.session.hash()).unwrap().unwrap();
    assert_eq!(s.user.id, "usr_bob");
    assert!(
        w.store
            .find_grant(&grant)
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some(),
        "alice's session ended with its grants"
    );
}

#[test]
fn a_wrong_password_counts_in_the_flow_and_leaves_the_session() {
    let w = world();
    let kept = submit(&w, "alice", "alice-password-1", None, None).unwrap();
    let secret = begin(
        &w.store,
        &w.clock,
        Requirement::default(),
        Resume::Authorize("{}".into()),
        None,
    )
    .unwrap();
    let kept_hash = kept.session.hash();
    assert!(matches!(
        submit(
            &w,
            "alice",
            "wrong",
            Some(secret.clone()),
            Some(kept.session)
        ),
        Err(SignInError::Invalid)
    ));
    assert_eq!(last_event(&w), AuditKind::SignInFailed.as_str());
    let f = w.store.find_flow(&secret.hash()).unwrap().unwrap();
    assert_eq!((f.attempts, f.user_id, f.methods.len()), (1, None, 0));
    assert!(w.store.find_session(&kept_hash).unwrap().is_some());
}

#[test]
fn an_authorization_flow_is_taken_once_by_the_user_who_completed_it() {
    let w = world();
    let secret = begin(
        &w.store,
        &w.clock,
        Requirement {
            max_age: Some(0),
            force_login: true,
            acr: None,
        },
        Resume::Authorize(r#"{"client_id":"c"}"#.into()),
        None,
    )
    .unwrap();
    let alice = UserId::new("usr_alice");
    let policy = FlowPolicy::default();
    assert_eq!(
        take_done(&w.store, &w.clock, &policy, &secret, &alice).unwrap(),
        Pending::NotYet,
        "opened before signing in: the flow waits"
    );
    let done = submit(&w, "alice", "alice-password-1", Some(secret.clone()), None).unwrap();
    assert_eq!(
        done.resume,
        Resume::Authorize(r#"{"client_id":"c"}"#.into())
    );
    w.clock.advance(1);
    assert_eq!(
        ready_resume(take_done(&w.store, &w.clock, &policy, &secret, &alice).unwrap()),
        Some(Resume::Authorize(r#"{"client_id":"c"}"#.into()))
    );
    assert_eq!(
        take_done(&w.store, &w.clock, &policy, &secret, &alice).unwrap(),
        Pending::Gone,
        "single use"
    );
}

#[test]
fn a_flow_done_by_another_user_is_not_resumed_and_expired_flows_are_pruned() {
    let w = world();
    let resume = Resume::Authorize("{}".into());
    let secret = begin(&w.store, &w.clock, Requirement::default(), resume, None).unwrap();
    submit(&w, "bob", "bob-password-1", Some(secret.clone()), None).unwrap();
    let policy = FlowPolicy::default();
    assert_eq!(
        take_done(
            &w.store,
            &w.clock,
            &policy,
            &secret,
            &UserId::new("usr_alice")
        )
        .unwrap(),
        Pending::Gone
    );
    assert!(
        ready_resume(
            take_done(
                &w.store,
                &w.clock,
                &policy,
                &secret,
                &UserId::new("usr_bob")
            )
            .unwrap()
        )
        .is_some(),
        "another user's attempt leaves the flow to its own user"
    );
    let other = begin(
        &w.store,
        &w.clock,
        Requirement::default(),
        Resume::Page("/".into()),
        None,
    )
    .unwrap();
    assert_eq!(prune(&w.store, &w.clock).unwrap(), 0);
    w.clock.advance(FLOW_TTL);
    assert_eq!(prune(&w.store, &w.clock).unwrap(), 1);
    assert!(w.store.find_flow(&other.hash()).unwrap().is_none());
}

#[test]
fn one_address_keeps_a_bounded_number_of_pending_flows() {
    let w = world();
    let from = |addr: &str| {
        w.clock.advance(1);
        begin(
            &w.store,
            &w.clock,
            Requirement::default(),
            Resume::Page("/".into()),
            Some(addr.into()),
        )
        .unwrap()
    };
    let elsewhere = from("198.51.100.7");
    let first = from("192.0.2.1");
    let mut newest = Vec::new();
    for _ in 1..MAX_FLOWS_PER_ADDRESS {
        newest.push(from("192.0.2.1"));
    }
    assert!(
        w.store.find_flow(&first.hash()).unwrap().is_some(),
        "at the bound"
    );
    newest.push(from("192.0.2.1"));
    assert!(
        w.store.find_flow(&first.hash()).unwrap().is_none(),
        "the oldest gives way"
    );
    for kept in newest.iter().chain([&elsewhere]) {
        assert!(w.store.find_flow(&kept.hash()).unwrap().is_some());
    }
}

/// What a taken flow resumes, if it was taken.
fn ready_resume(pending: Pending) -> Option<Resume> {
    match pending {
        Pending::Ready(flow) => Some(flow.resume),
        Pending::NotYet | Pending::Gone => None,
    }
}

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
use crate::authn::{ACR_MFA, Method};
use crate::clock::ManualClock;
use crate::config::{LoginSettings, SessionSettings};
use crate::credentials::PlainFlowId;
use crate::ids::{ClientId, GrantId, UserId};
use crate::mfa::types::Factors;
use crate::oauth::store::GrantStore;
use crate::oauth::types::Grant;
use crate::scopes::Scopes;
use crate::sessions::service::{SessionPolicy, SessionSecret};
use crate::sessions::store::SessionStore;
use crate::testing::memory::MemoryStore;

const NOW: i64 = 1_700_000_000;
const NONE: Factors = Factors {
    totp: false,
    passkeys: false,
    org_requires_mfa: false,
};

fn flow(methods: &[(Method, i64)], user: bool) -> Flow {
    Flow {
        id_hash: PlainFlowId::new("f".repeat(43)).hash(),
        user_id: user.then(|| UserId::new("usr_alice")),
        methods: methods
            .iter()
            .map(|(m, at)| MethodDone {
                method: *m,
                at: *at,
                carried: *at < NOW,
            })
            .collect(),
        requirement: Requirement::default(),
        resume: Resume::Page("/account".into()),
        created_at: NOW,
        expires_at: NOW + FLOW_TTL,
        attempts: 0,
        ceremony: None,
        client_addr: None,
        org_id: None,
    }
}

#[test]
fn next_step_asks_for_the_password_until_one_is_done_in_the_flow() {
    let policy = FlowPolicy::default();
    assert_eq!(
        next_step(&flow(&[], false), &policy, &NONE, NOW),
        Step::Identify
    );
    assert_eq!(
        next_step(
            &flow(&[(Method::Password, NOW + 5)], true),
            &policy,
            &NONE,
            NOW + 6
        ),
        Step::Done
    );
    // A method carried from the session into a step-up flow counts only where the request
    // accepts an earlier sign-in; one done in the flow always does.
    let mut carried = flow(&[(Method::Password, NOW - 100)], true);
    assert_eq!(next_step(&carried, &policy, &NONE, NOW + 6), Step::Done);
    carried.requirement.force_login = true;
    assert_eq!(next_step(&carried, &policy, &NONE, NOW + 6), Step::Identify);
    carried.requirement = Requirement {
        max_age: Some(50),
        ..Requirement::default()
    };
    assert_eq!(next_step(&carried, &policy, &NONE, NOW + 6), Step::Identify);
    carried.requirement.max_age = Some(200);
    assert_eq!(next_step(&carried, &policy, &NONE, NOW + 6), Step::Done);
    // Carried from a session signed in the very second the flow began: still not fresh for
    // prompt=login, and not in the amr the completed flow gives the session.
    let mut same_second = flow(&[], true);
    same_second.requirement.force_login = true;
    same_second.methods.push(MethodDone {
        method: Method::Password,
        at: NOW,
        carried: true,
    });
    assert_eq!(next_step(&same_second, &policy, &NONE, NOW), Step::Identify);
    assert!(same_second.amr(NOW).is_empty());
    // Done in the flow is fresh for its request, however strict: max_age=0, prompt=login.
    let mut strict = flow(&[(Method::Password, NOW + 5)], true);
    strict.requirement = Requirement {
        max_age: Some(0),
        force_login: true,
        acr: None,
    };
    assert_eq!(next_step(&strict, &policy, &NONE, NOW + 60), Step::Done);
}

#[test]
fn next_step_asks_for_the_second_factor_a_user_has() {
    let policy = FlowPolicy::default();
    let totp = Factors { totp: true, ..NONE };
    let pwd = flow(&[(Method::Password, NOW + 1)], true);
    assert_eq!(next_step(&pwd, &policy, &totp, NOW + 2), Step::SecondFactor);
    let both = flow(
        &[(Method::Password, NOW + 1), (Method::Totp, NOW + 2)],
        true,
    );
    assert_eq!(next_step(&both, &policy, &totp, NOW + 3), Step::Done);
    let recovered = flow(
        &[(Method::Password, NOW + 1), (Method::RecoveryCode, NOW + 2)],
        true,
    );
    assert_eq!(next_step(&recovered, &policy, &totp, NOW + 3), Step::Done);
    // A code alone does not say who the user is.
    let code_only = flow(&[(Method::Totp, NOW + 1)], true);
    assert_eq!(
        next_step(&code_only, &policy, &totp, NOW + 2),
        Step::Identify
    );
    // A passkey verifying the user is a whole sign-in, second factor or not.
    let passkey = Method::Passkey {
        verified: true,
        hardware: false,
    };
    let passwordless = flow(&[(passkey, NOW + 1)], true);
    assert_eq!(
        next_step(&passwordless, &policy, &totp, NOW + 2),
        Step::Done
    );
    let unverified = Method::Passkey {
        verified: false,
        hardware: false,
    };
    assert_eq!(
        next_step(
            &flow(&[(unverified, NOW + 1)], true),
            &policy,
            &totp,
            NOW + 2
        ),
        Step::Identify
    );
}

#[test]
fn next_step_enrols_where_an_organisation_requires_mfa_and_meets_acr_or_says_unmet() {
    let policy = FlowPolicy::default();
    let required = Factors {
        org_requires_mfa: true,
        ..NONE
    };
    let pwd = flow(&[(Method::Password, NOW + 1)], true);
    assert_eq!(next_step(&pwd, &policy, &required, NOW + 2), Step::Enrol);
    let enrolled = flow(
        &[(Method::Password, NOW + 1), (Method::Totp, NOW + 5)],
        true,
    );
    assert_eq!(
        next_step(&enrolled, &policy, &required, NOW + 6),
        Step::Done
    );

    let mut asks_mfa = flow(&[(Method::Password, NOW + 1)], true);
    asks_mfa.requirement.acr = Some(ACR_MFA.into());
    assert_eq!(next_step(&asks_mfa, &policy, &NONE, NOW + 2), Step::Unmet);
    assert_eq!(
        next_step(&asks_mfa, &policy, &required, NOW + 2),
        Step::Enrol
    );
    let passkeys = Factors {
        passkeys: true,
        ..NONE
    };
    assert_eq!(
        next_step(&asks_mfa, &policy, &passkeys, NOW + 2),
        Step::SecondFactor
    );
    // A step-up flow carrying a session's password asks only for the second factor.
    let mut step_up = flow(&[(Method::Password, NOW - 300)], true);
    step_up.requirement.acr = Some(ACR_MFA.into());
    let totp = Factors { totp: true, ..NONE };
    assert_eq!(
        next_step(&step_up, &policy, &totp, NOW + 1),
        Step::SecondFactor
    );
    step_up.methods.push(MethodDone {
        method: Method::Totp,
        at: NOW + 2,
        carried: false,
    });
    assert_eq!(next_step(&step_up, &policy, &totp, NOW + 3), Step::Done);
}

#[test]
fn session_amr_reads_back_into_methods() {
    let amr: Vec<String> = ["pwd", "otp", "mfa"].map(String::from).into();
    let methods: Vec<Method> = methods_of_amr(&amr, NOW).iter().map(|m| m.method).collect();
    assert_eq!(methods, [Method::Password, Method::Totp]);
    let amr: Vec<String> = ["hwk", "user", "mfa"].map(String::from).into();
    let methods: Vec<Method> = methods_of_amr(&amr, NOW).iter().map(|m| m.method).collect();
    assert_eq!(
        methods,
        [Method::Passkey {
            verified: true,
            hardware: true
        }]
    );
}

#[test]
fn next_step_restarts_an_expired_or_exhausted_flow() {
    let policy = FlowPolicy::default();
    let f = flow(&[(Method::Password, NOW)], true);
    assert_eq!(next_step(&f, &policy, &NONE, NOW + FLOW_TTL), Step::Restart);
    let mut tried = flow(&[], false);
    tried.attempts = policy.max_attempts;
    assert_eq!(next_step(&tried, &policy, &NONE, NOW), Step::Restart);
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
        email_verified: false,
        home: crate::accounts::types::Namespace::Server,
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
        client_addr: None,
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
    .map(|outcome| match outcome {
        Outcome::SignedIn(done) => done,
        other => panic!("a password alone signs these users in: {other:?}"),
    })
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
        org_id: None,
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
        Pending::NotYet | Pending::Gone | Pending::Unmet(_) => None,
    }
}

#[test]
fn a_user_with_a_second_factor_is_signed_in_only_after_it_and_keeps_the_session_sid() {
    let w = world();
    let alice = UserId::new("usr_alice");
    let first = submit(&w, "alice", "alice-password-1", None, None).unwrap();
    let sid = w
        .store
        .find_session(&first.session.hash())
        .unwrap()
        .unwrap()
        .session
        .sid;
    w.store.set_factors(&alice, Factors { totp: true, ..NONE });
    let input = PasswordStep {
        login: "alice".into(),
        password: SecretString::from("alice-password-1"),
        flow: None,
        fallback: Resume::Page("/settings/security".into()),
        previous: Some(first.session.clone()),
        client_addr: None,
    };
    let outcome = submit_password(
        &w.store,
        &w.hasher,
        &w.clock,
        &w.throttle,
        w.policy,
        &FlowPolicy::default(),
        input,
        &RequestMeta::default(),
    )
    .unwrap();
    // No session change yet: a flow (begun here, so with a new cookie) waits for the code.
    let Outcome::SecondFactor { flow: Some(secret) } = outcome else {
        panic!("a second factor is asked for: {outcome:?}");
    };
    let (flow, user, factors) =
        awaiting_factor(&w.store, &w.clock, &FlowPolicy::default(), &secret)
            .unwrap()
            .expect("the flow waits for alice's code");
    assert_eq!(user.id, alice);
    assert!(factors.totp);
    w.clock.advance(3);
    let outcome = record(
        &w.store,
        &w.clock,
        w.policy,
        &FlowPolicy::default(),
        Progress { flow, fresh: None },
        &user,
        Method::Totp,
        Some(first.session.clone()),
        &RequestMeta::default(),
    )
    .unwrap();
    let Outcome::SignedIn(done) = outcome else {
        panic!("the code completes the sign-in: {outcome:?}");
    };
    assert!(done.stepped_up);
    assert_eq!(done.resume, Resume::Page("/settings/security".into()));
    let session = w
        .store
        .find_session(&done.session.hash())
        .unwrap()
        .unwrap()
        .session;
    assert_eq!(session.sid, sid);
    assert_eq!(session.amr, ["pwd", "otp", "mfa"]);
    assert_eq!(session.auth_time, NOW + 3);
    // The page flow is taken: it cannot be completed twice.
    assert!(
        awaiting_factor(&w.store, &w.clock, &FlowPolicy::default(), &secret)
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_step_up_asks_only_what_the_session_lacks() {
    let alice = UserId::new("usr_alice");
    let session = methods_of_amr(&["pwd".to_owned()], NOW - 300);
    let mfa = Requirement {
        acr: Some(ACR_MFA.into()),
        ..Requirement::default()
    };
    let totp = Factors { totp: true, ..NONE };
    assert_eq!(
        plan_step_up(mfa.clone(), &alice, session.clone(), &totp, NOW).step,
        Step::SecondFactor
    );
    assert_eq!(
        plan_step_up(mfa, &alice, session.clone(), &NONE, NOW).step,
        Step::Unmet
    );
    let required = Factors {
        org_requires_mfa: true,
        ..NONE
    };
    assert_eq!(
        plan_step_up(Requirement::default(), &alice, session, &required, NOW).step,
        Step::Enrol
    );
}

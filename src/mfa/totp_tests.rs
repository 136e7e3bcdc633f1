//! TOTP's service against the in-memory store: enrolment, single use, recovery codes, the
//! recent sign-in its changes need, and an organisation's enrolment completing its flow.

use secrecy::SecretString;

use super::reauth::REAUTH_WINDOW;
use super::store::{RecoveryStore, TotpStore};
use super::totp::Seed;
use super::totp_service::*;
use crate::accounts::password::PasswordHasher;
use crate::accounts::store::{OrgStore, UserStore};
use crate::accounts::throttle::Throttle;
use crate::accounts::types::{Email, NewUser, Organisation, Role, User, Username};
use crate::audit::{AuditStore, RequestMeta};
use crate::clock::{Clock, ManualClock};
use crate::config::{LoginSettings, SessionSettings};
use crate::credentials::PlainFlowId;
use crate::flows::service::{self as flows, FlowPolicy, Outcome, PasswordStep};
use crate::flows::types::Resume;
use crate::ids::{OrgId, UserId};
use crate::secrets::SecretBox;
use crate::sessions::service::SessionPolicy;
use crate::sessions::store::SessionStore;
use crate::testing::memory::MemoryStore;

const NOW: i64 = 1_700_000_010;

struct World {
    store: MemoryStore,
    hasher: PasswordHasher,
    secrets: SecretBox,
    clock: ManualClock,
    throttle: Throttle,
    policy: SessionPolicy,
    alice: User,
}

fn world(org: Option<&Organisation>) -> World {
    let store = MemoryStore::new();
    let hasher = PasswordHasher::new(1, 4);
    if let Some(org) = org {
        store.create_org(org, "strict").unwrap();
    }
    let alice = store
        .create_user(
            &NewUser {
                id: UserId::new("usr_alice"),
                username: Username::parse("alice").unwrap(),
                email: Email::parse("alice@example.com").unwrap(),
                display_name: "alice".into(),
                password_hash: Some(hasher.hash(&SecretString::from("pw-alice-1")).unwrap()),
                email_verified: false,
                home: crate::accounts::types::Namespace::Server,
            },
            org.map(|o| (&o.id, Role::Member)),
            0,
        )
        .unwrap();
    World {
        store,
        hasher,
        secrets: SecretBox::from_key([7; 32]),
        clock: ManualClock::new(NOW),
        throttle: Throttle::from(&LoginSettings::default()),
        policy: SessionPolicy::from(&SessionSettings::default()),
        alice,
    }
}

fn meta() -> RequestMeta {
    RequestMeta::default()
}

/// The pending seed, as the page shows it.
fn pending_seed(w: &World) -> Seed {
    match state_of(&w.store, &w.secrets, &w.alice, "mintgate").unwrap() {
        TotpState::Pending(p) => Seed::from_bytes(
            totp_rs::Secret::try_from_base32(&p.secret)
                .unwrap()
                .as_bytes()
                .to_vec(),
        ),
        other => panic!("pending expected: {other:?}"),
    }
}

fn confirm_with(w: &World, code: &str) -> Result<Confirmed, TotpError> {
    confirm(
        &w.store,
        &w.secrets,
        &w.clock,
        w.policy,
        &w.alice,
        code,
        None,
        &meta(),
    )
}

/// Alice with TOTP on; the clock past the confirmation's step.
fn enrolled(w: &World) -> (Seed, Vec<String>) {
    begin(&w.store, &w.secrets, &w.clock, &w.alice).unwrap();
    let seed = pending_seed(w);
    let confirmed = confirm_with(w, &seed.code_at(w.clock.now())).unwrap();
    w.clock.advance(30);
    let codes = confirmed
        .codes
        .iter()
        .map(|c| c.expose().to_owned())
        .collect();
    (seed, codes)
}

/// The password step; the flow waiting for a code.
fn password(w: &World) -> PlainFlowId {
    let outcome = flows::submit_password(
        &w.store,
        &w.hasher,
        &w.clock,
        &w.throttle,
        w.policy,
        &FlowPolicy::default(),
        PasswordStep {
            login: "alice".into(),
            password: SecretString::from("pw-alice-1"),
            flow: None,
            fallback: Resume::Page("/account".into()),
            previous: None,
            client_addr: None,
        },
        &meta(),
    )
    .unwrap();
    match outcome {
        Outcome::SecondFactor { flow: Some(flow) } => flow,
        other => panic!("a code is asked for: {other:?}"),
    }
}

fn code(w: &World, flow: &PlainFlowId, code: Code<'_>) -> Result<Outcome, CodeError> {
    sign_in_with_code(
        &w.store,
        &w.secrets,
        &w.clock,
        &w.throttle,
        w.policy,
        &FlowPolicy::default(),
        flow,
        code,
        None,
        &meta(),
    )
}

fn session_amr(w: &World, outcome: Outcome) -> Vec<String> {
    let Outcome::SignedIn(done) = outcome else {
        panic!("signed in expected: {outcome:?}");
    };
    w.store
        .find_session(&done.session.hash())
        .unwrap()
        .unwrap()
        .session
        .amr
}

#[test]
fn an_enrolment_is_on_only_once_a_current_code_confirms_it() {
    let w = world(None);
    begin(&w.store, &w.secrets, &w.clock, &w.alice).unwrap();
    let seed = pending_seed(&w);
    let stored = w.store.find_totp(&w.alice.id).unwrap().unwrap();
    assert!(!stored.confirmed);
    assert!(
        !stored.sealed_seed.contains(&seed.base32()),
        "sealed at rest"
    );
    assert!(matches!(confirm_with(&w, "12"), Err(TotpError::Malformed)));
    let late = seed.code_at(NOW + 120);
    assert!(matches!(confirm_with(&w, &late), Err(TotpError::WrongCode)));
    let confirmed = confirm_with(&w, &seed.code_at(NOW)).unwrap();
    assert_eq!(confirmed.codes.len(), 10);
    assert!(confirmed.outcome.is_none());
    assert!(matches!(
        state_of(&w.store, &w.secrets, &w.alice, "mintgate").unwrap(),
        TotpState::On {
            unused_recovery_codes: 10
        }
    ));
    assert!(matches!(
        begin(&w.store, &w.secrets, &w.clock, &w.alice),
        Err(TotpError::AlreadyOn)
    ));
    assert_eq!(
        w.store.recent_events(1).unwrap()[0].kind,
        "mfa.totp.enrolled"
    );
}

#[test]
fn a_code_signs_in_once_and_an_older_one_never_after_it() {
    let w = world(None);
    let (seed, _) = enrolled(&w);
    let now = w.clock.now();
    let flow = password(&w);
    let amr = session_amr(&w, code(&w, &flow, Code::Totp(&seed.code_at(now))).unwrap());
    assert_eq!(amr, ["pwd", "otp", "mfa"]);
    let flow = password(&w);
    for replay in [seed.code_at(now), seed.code_at(now - 30)] {
        assert!(matches!(
            code(&w, &flow, Code::Totp(&replay)),
            Err(CodeError::Wrong { .. })
        ));
    }
    assert!(matches!(
        code(&w, &flow, Code::Totp("abc")),
        Err(CodeError::Malformed { .. })
    ));
    assert!(code(&w, &flow, Code::Totp(&seed.code_at(now + 30))).is_ok());
}

#[test]
fn a_recovery_code_signs_in_once() {
    let w = world(None);
    let (_, codes) = enrolled(&w);
    let flow = password(&w);
    let amr = session_amr(&w, code(&w, &flow, Code::Recovery(&codes[0])).unwrap());
    assert_eq!(amr, ["pwd", "otp", "mfa"]);
    assert_eq!(w.store.unused_recovery_codes(&w.alice.id).unwrap(), 9);
    let flow = password(&w);
    assert!(matches!(
        code(&w, &flow, Code::Recovery(&codes[0])),
        Err(CodeError::Wrong { .. })
    ));
}

#[test]
fn turning_off_and_new_codes_need_a_recent_sign_in() {
    let w = world(None);
    let (_, old) = enrolled(&w);
    let stale = w.clock.now() - REAUTH_WINDOW - 1;
    assert!(matches!(
        disable(&w.store, &w.clock, &w.alice, stale, &meta()),
        Err(TotpError::NeedsReauth)
    ));
    assert!(matches!(
        regenerate_codes(&w.store, &w.clock, &w.alice, stale, &meta()),
        Err(TotpError::NeedsReauth)
    ));
    let fresh = w.clock.now() - REAUTH_WINDOW;
    let new = regenerate_codes(&w.store, &w.clock, &w.alice, fresh, &meta()).unwrap();
    assert!(!new.iter().any(|c| old.contains(&c.expose().to_owned())));
    let flow = password(&w);
    assert!(
        code(&w, &flow, Code::Recovery(&old[1])).is_err(),
        "old codes are gone"
    );
    disable(&w.store, &w.clock, &w.alice, fresh, &meta()).unwrap();
    assert!(w.store.find_totp(&w.alice.id).unwrap().is_none());
    assert_eq!(w.store.unused_recovery_codes(&w.alice.id).unwrap(), 0);
}

#[test]
fn an_organisation_s_enrolment_completes_the_waiting_sign_in() {
    let mut org = Organisation::new(OrgId::new("org_strict"), "Strict".into(), 0);
    org.require_mfa = true;
    let w = world(Some(&org));
    let outcome = flows::submit_password(
        &w.store,
        &w.hasher,
        &w.clock,
        &w.throttle,
        w.policy,
        &FlowPolicy::default(),
        PasswordStep {
            login: "alice".into(),
            password: SecretString::from("pw-alice-1"),
            flow: None,
            fallback: Resume::Page("/account".into()),
            previous: None,
            client_addr: None,
        },
        &meta(),
    )
    .unwrap();
    let Outcome::Enrol {
        completed,
        flow: Some(flow),
    } = outcome
    else {
        panic!("enrolment expected: {outcome:?}");
    };
    begin(&w.store, &w.secrets, &w.clock, &w.alice).unwrap();
    let seed = pending_seed(&w);
    let confirmed = confirm(
        &w.store,
        &w.secrets,
        &w.clock,
        w.policy,
        &w.alice,
        &seed.code_at(NOW),
        Some((flow, completed.session.clone())),
        &meta(),
    )
    .unwrap();
    let outcome = confirmed.outcome.expect("the flow goes on");
    let Outcome::SignedIn(done) = outcome else {
        panic!("signed in: {outcome:?}");
    };
    assert!(
        done.stepped_up,
        "the enrolment's session, stepped up in place"
    );
    let amr = w
        .store
        .find_session(&done.session.hash())
        .unwrap()
        .unwrap()
        .session
        .amr;
    assert_eq!(amr, ["pwd", "otp", "mfa"]);
}

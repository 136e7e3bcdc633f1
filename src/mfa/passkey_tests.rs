//! The passkey service against the in-memory store, with webauthn-authenticator-rs's
//! `SoftToken` as the authenticator: registration bound to its session and its time, the
//! second factor after a password, single-use challenges and the sign counter.

use webauthn_authenticator_rs::prelude::{CreationChallengeResponse, Url, WebauthnAuthenticator};
use webauthn_authenticator_rs::softtoken::SoftToken;

use super::passkey_signin::*;
use super::passkeys::*;
use super::store::PasskeyStore;
use crate::accounts::types::User;
use crate::audit::{AuditStore, RequestMeta};
use crate::authn::Method;
use crate::clock::{Clock, ManualClock};
use crate::config::SessionSettings;
use crate::credentials::PlainFlowId;
use crate::flows::service::{self as flows, FlowPolicy, Outcome};
use crate::flows::store::FlowStore;
use crate::flows::types::{MethodDone, Requirement, Resume};
use crate::ids::Sid;
use crate::secrets::SecretBox;
use crate::sessions::service::SessionPolicy;
use crate::testing::memory::MemoryStore;

const ORIGIN: &str = "http://localhost:8080";

struct World {
    store: MemoryStore,
    rp: RelyingParty,
    secrets: SecretBox,
    clock: ManualClock,
    user: User,
    sid: Sid,
}

fn world() -> World {
    let store = MemoryStore::new();
    let user = store.user("alice", None);
    World {
        store,
        rp: RelyingParty::from_issuer(&ORIGIN.parse().unwrap()).unwrap(),
        secrets: SecretBox::from_key([7; 32]),
        clock: ManualClock::starting_now(),
        user,
        sid: Sid::generate(),
    }
}

fn origin() -> Url {
    ORIGIN.parse().unwrap()
}

/// Begins a registration and has `token` answer it: the sealed state and the answer.
fn registration_answer(w: &World, token: &mut SoftToken) -> (String, String) {
    let (options, sealed) = begin_registration(
        &w.store,
        &w.rp,
        &w.secrets,
        &w.clock,
        &w.user,
        &w.sid,
        w.clock.now(),
        None,
        None,
    )
    .unwrap();
    let options: CreationChallengeResponse = serde_json::from_value(options).unwrap();
    let answer = token.do_registration(origin(), options).unwrap();
    (sealed, serde_json::to_string(&answer).unwrap())
}

fn finish(w: &World, sid: &Sid, sealed: &str, answer: &str) -> Result<(), PasskeyError> {
    let input = Registration {
        sealed,
        response: answer,
        name: "Key",
        waiting: None,
        session_policy: SessionPolicy::from(&SessionSettings::default()),
        auth_time: w.clock.now(),
    };
    finish_registration(
        &w.store,
        &w.rp,
        &w.secrets,
        &w.clock,
        &w.user,
        sid,
        input,
        &RequestMeta::default(),
    )
    .map(|_| ())
}

/// A flow in which the user has given their password: it waits for the second factor.
fn after_password(w: &World) -> PlainFlowId {
    let secret = flows::begin(
        &w.store,
        &w.clock,
        Requirement::default(),
        Resume::Page("/account".into()),
        None,
    )
    .unwrap();
    let mut flow = w.store.find_flow(&secret.hash()).unwrap().unwrap();
    flow.user_id = Some(w.user.id.clone());
    flow.methods.push(MethodDone {
        method: Method::Password,
        at: w.clock.now(),
        carried: false,
    });
    w.store.update_flow(&flow).unwrap();
    secret
}

fn second_factor(
    w: &World,
    flow: &PlainFlowId,
    token: &mut SoftToken,
) -> Result<Outcome, PasskeyError> {
    let options = begin_second_factor(
        &w.store,
        &w.rp,
        &w.secrets,
        &w.clock,
        &FlowPolicy::default(),
        flow,
    )?;
    let answer = token
        .do_authentication(origin(), serde_json::from_value(options).unwrap())
        .unwrap();
    answer_second_factor(w, flow, &serde_json::to_string(&answer).unwrap())
}

fn answer_second_factor(
    w: &World,
    flow: &PlainFlowId,
    answer: &str,
) -> Result<Outcome, PasskeyError> {
    let input = Finish {
        rp: &w.rp,
        secrets: &w.secrets,
        clock: &w.clock,
        session_policy: SessionPolicy::from(&SessionSettings::default()),
        policy: &FlowPolicy::default(),
        flow,
        response: answer,
        previous: None,
    };
    finish_second_factor(&w.store, input, &RequestMeta::default())
}

#[test]
fn registration_state_opens_only_in_its_session_and_in_time() {
    let w = world();
    let (mut token, _) = SoftToken::new(true).unwrap();
    let (sealed, answer) = registration_answer(&w, &mut token);
    assert!(matches!(
        finish(&w, &Sid::generate(), &sealed, &answer),
        Err(PasskeyError::NoCeremony)
    ));
    w.clock.advance(CEREMONY_TTL + 1);
    assert!(matches!(
        finish(&w, &w.sid, &sealed, &answer),
        Err(PasskeyError::NoCeremony)
    ));
    assert!(w.store.passkeys_of(&w.user.id).unwrap().is_empty());

    let (sealed, answer) = registration_answer(&w, &mut token);
    finish(&w, &w.sid, &sealed, &answer).unwrap();
    assert!(
        matches!(
            finish(&w, &w.sid, &sealed, &answer),
            Err(PasskeyError::NoCeremony)
        ),
        "a replay finds the registration used"
    );
    assert_eq!(w.store.passkeys_of(&w.user.id).unwrap().len(), 1);
}

#[test]
fn a_passkey_completes_the_password_and_its_answer_is_used_once() {
    let w = world();
    let (mut token, _) = SoftToken::new(true).unwrap();
    let (sealed, answer) = registration_answer(&w, &mut token);
    finish(&w, &w.sid, &sealed, &answer).unwrap();

    let flow = after_password(&w);
    let options = begin_second_factor(
        &w.store,
        &w.rp,
        &w.secrets,
        &w.clock,
        &FlowPolicy::default(),
        &flow,
    )
    .unwrap();
    let answer = token
        .do_authentication(origin(), serde_json::from_value(options).unwrap())
        .unwrap();
    let answer = serde_json::to_string(&answer).unwrap();
    match answer_second_factor(&w, &flow, &answer).unwrap() {
        Outcome::SignedIn(done) => {
            let session =
                crate::sessions::store::SessionStore::find_session(&w.store, &done.session.hash())
                    .unwrap()
                    .unwrap();
            assert_eq!(session.session.amr, ["pwd", "swk", "mfa"]);
        }
        other => panic!("signed in expected: {other:?}"),
    }
    let stored = &w.store.passkeys_of(&w.user.id).unwrap()[0];
    assert_eq!(stored.sign_count, 1);
    assert_eq!(stored.last_used_at, Some(w.clock.now()));

    // The page flow was taken; a fresh one does not accept the old answer either.
    let flow = after_password(&w);
    assert!(answer_second_factor(&w, &flow, &answer).is_err());
}

#[test]
fn a_counter_that_does_not_advance_is_refused_and_audited() {
    let w = world();
    let (mut token, _) = SoftToken::new(true).unwrap();
    let (sealed, answer) = registration_answer(&w, &mut token);
    finish(&w, &w.sid, &sealed, &answer).unwrap();
    let copy = token.to_cbor().unwrap();
    second_factor(&w, &after_password(&w), &mut token).unwrap();

    let mut clone = SoftToken::from_cbor(&copy).unwrap();
    let flow = after_password(&w);
    assert!(matches!(
        second_factor(&w, &flow, &mut clone),
        Err(PasskeyError::CounterRollback)
    ));
    assert_eq!(w.store.passkeys_of(&w.user.id).unwrap()[0].sign_count, 1);
    let events = w.store.recent_events(10).unwrap();
    assert_eq!(events[0].kind, "passkey.counter_anomaly");
    assert_eq!(
        w.store.find_flow(&flow.hash()).unwrap().unwrap().attempts,
        1,
        "counted as a failed attempt"
    );
}

#[test]
fn the_store_never_moves_a_counter_back() {
    let w = world();
    let (mut token, _) = SoftToken::new(true).unwrap();
    let (sealed, answer) = registration_answer(&w, &mut token);
    finish(&w, &w.sid, &sealed, &answer).unwrap();
    let id = w.store.passkeys_of(&w.user.id).unwrap()[0].id.clone();
    assert!(w.store.use_passkey(&id, "{}", 5, 1).unwrap());
    assert!(!w.store.use_passkey(&id, "{}", 4, 2).unwrap());
    assert!(!w.store.use_passkey(&id, "{}", 5, 3).unwrap());
    assert!(!w.store.use_passkey(&id, "{}", 0, 4).unwrap());
    assert_eq!(w.store.passkeys_of(&w.user.id).unwrap()[0].sign_count, 5);
}

#[test]
fn registering_or_removing_needs_a_recent_sign_in() {
    use crate::mfa::reauth::REAUTH_WINDOW;
    let w = world();
    let (mut token, _) = SoftToken::new(true).unwrap();
    let stale = w.clock.now() - REAUTH_WINDOW - 1;
    assert!(matches!(
        begin_registration(
            &w.store, &w.rp, &w.secrets, &w.clock, &w.user, &w.sid, stale, None, None
        ),
        Err(PasskeyError::NeedsReauth)
    ));
    let (sealed, answer) = registration_answer(&w, &mut token);
    let input = Registration {
        sealed: &sealed,
        response: &answer,
        name: "Key",
        waiting: None,
        session_policy: SessionPolicy::from(&SessionSettings::default()),
        auth_time: stale,
    };
    let meta = RequestMeta::default();
    assert!(matches!(
        finish_registration(
            &w.store, &w.rp, &w.secrets, &w.clock, &w.user, &w.sid, input, &meta
        ),
        Err(PasskeyError::NeedsReauth)
    ));
    assert!(w.store.passkeys_of(&w.user.id).unwrap().is_empty());

    finish(&w, &w.sid, &sealed, &answer).unwrap();
    let id = w.store.passkeys_of(&w.user.id).unwrap()[0].id.clone();
    assert!(matches!(
        remove(&w.store, &w.clock, &w.user.id, &id, stale, &meta),
        Err(PasskeyError::NeedsReauth)
    ));
    assert_eq!(w.store.passkeys_of(&w.user.id).unwrap().len(), 1);
    let fresh = w.clock.now() - REAUTH_WINDOW;
    remove(&w.store, &w.clock, &w.user.id, &id, fresh, &meta).unwrap();
    assert!(w.store.passkeys_of(&w.user.id).unwrap().is_empty());
}

#[test]
fn a_registration_is_used_once_even_by_another_authenticator() {
    let w = world();
    let (options, sealed) = begin_registration(
        &w.store,
        &w.rp,
        &w.secrets,
        &w.clock,
        &w.user,
        &w.sid,
        w.clock.now(),
        None,
        None,
    )
    .unwrap();
    let options: CreationChallengeResponse = serde_json::from_value(options).unwrap();
    let answers: Vec<String> = (0..2)
        .map(|_| {
            let (mut token, _) = SoftToken::new(true).unwrap();
            let answer = token.do_registration(origin(), options.clone()).unwrap();
            serde_json::to_string(&answer).unwrap()
        })
        .collect();
    finish(&w, &w.sid, &sealed, &answers[0]).unwrap();
    assert!(matches!(
        finish(&w, &w.sid, &sealed, &answers[1]),
        Err(PasskeyError::NoCeremony)
    ));
    assert_eq!(w.store.passkeys_of(&w.user.id).unwrap().len(), 1);
}

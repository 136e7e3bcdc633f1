//! `ensure_live`: the one liveness rule for a user's grant, wherever something acts on it.

use super::{NOW, World, session, world};
use crate::credentials::HashedSessionId;
use crate::ids::Sid;
use crate::oauth::grants::{GrantEnded, ensure_live};
use crate::oauth::store::GrantStore;
use crate::oauth::types::Grant;
use crate::scopes::Scopes;
use crate::sessions::service::SessionPolicy;
use crate::sessions::store::SessionStore;

/// Idle 30 minutes, absolute 10 hours.
const POLICY: SessionPolicy = SessionPolicy {
    idle: 1800,
    absolute: 36_000,
};

/// A grant of alice's to `mg_client_app`, bound to session `sid` if given.
fn grant(w: &World, id: &str, sid: Option<&str>) -> Grant {
    let grant = Grant {
        id: id.into(),
        client_id: "mg_client_app".into(),
        user_id: Some(w.alice.id.clone()),
        sid: sid.map(Sid::from),
        scope: Scopes::parse("openid").unwrap(),
        auth_time: NOW - 60,
        amr: vec!["pwd".into()],
        created_at: NOW - 60,
        last_used_at: NOW - 60,
        expires_at: NOW + 3600,
        revoked_at: None,
        resources: vec![],
        org_id: None,
    };
    w.store.create_grant(&grant).unwrap();
    grant
}

/// Alice signed in a minute ago as session `sid`, stored.
fn signed_in(w: &World, sid: &str) {
    w.store
        .insert_session(&session(&w.alice, sid, NOW - 60).session)
        .unwrap();
}

fn live(w: &World, grant: &Grant, at: i64) -> Result<(), GrantEnded> {
    let current = w.store.find_grant(&grant.id).unwrap().unwrap();
    ensure_live(&w.store, POLICY, &current, at)
}

#[test]
fn a_revoked_or_expired_grant_is_not_live() {
    let w = world();
    let offline = grant(&w, "gr_offline", None);
    assert!(live(&w, &offline, NOW).is_ok());
    assert!(matches!(
        live(&w, &offline, offline.expires_at),
        Err(GrantEnded::RevokedOrExpired)
    ));
    w.store.revoke_grant(&offline.id, NOW).unwrap();
    assert!(matches!(
        live(&w, &offline, NOW),
        Err(GrantEnded::RevokedOrExpired)
    ));
}

#[test]
fn a_grant_of_an_ended_session_is_not_live() {
    let w = world();
    signed_in(&w, "sid-1");
    let bound = grant(&w, "gr_bound", Some("sid-1"));
    assert!(live(&w, &bound, NOW).is_ok());
    // Gone from the store without the grant being revoked (as if revoked by a path that
    // forgot its grants): the missing session alone ends it.
    w.store.delete_user_sessions(&w.alice.id).unwrap();
    assert!(matches!(
        live(&w, &bound, NOW),
        Err(GrantEnded::SessionEnded)
    ));
}

#[test]
fn a_grant_of_an_idle_session_is_not_live_before_pruning() {
    let w = world();
    signed_in(&w, "sid-1");
    let bound = grant(&w, "gr_bound", Some("sid-1"));
    // The session was last seen at NOW: idle from NOW + 30 minutes, still stored.
    assert!(live(&w, &bound, NOW + POLICY.idle - 1).is_ok());
    assert!(matches!(
        live(&w, &bound, NOW + POLICY.idle),
        Err(GrantEnded::SessionEnded)
    ));
}

#[test]
fn a_grant_of_a_disabled_user_is_not_live() {
    let w = world();
    signed_in(&w, "sid-1");
    let bound = grant(&w, "gr_bound", Some("sid-1"));
    w.store.set_user_disabled(&w.alice.id, true, NOW).unwrap();
    assert!(matches!(
        live(&w, &bound, NOW),
        Err(GrantEnded::UserInactive)
    ));
}

#[test]
fn an_offline_grant_outlives_sign_out_a_bound_one_does_not() {
    let w = world();
    signed_in(&w, "sid-1");
    let bound = grant(&w, "gr_bound", Some("sid-1"));
    let offline = grant(&w, "gr_offline", None);
    let hash = HashedSessionId::from_stored("hash-of-sid-1".into());
    w.store.delete_session(&hash, NOW).unwrap();
    assert!(live(&w, &offline, NOW).is_ok());
    // Sign-out revokes the family bound to the session.
    assert!(matches!(
        live(&w, &bound, NOW),
        Err(GrantEnded::RevokedOrExpired)
    ));
}

/// A grant made at a password-only sign-in is not live while an organisation of its user
/// requires a second factor (it predates the requirement); one made with two factors is, and
/// lifting the requirement makes the first live again (refused, not revoked).
#[test]
fn a_grant_short_of_the_organisation_requirement_is_not_live() {
    use crate::accounts::store::OrgStore;
    let w = world();
    let pwd = grant(&w, "gr_pwd", None);
    let two = Grant {
        id: "gr_two".into(),
        amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
        ..pwd.clone()
    };
    w.store.create_grant(&two).unwrap();
    let org = w.store.find_org("acme").unwrap().unwrap();
    w.store.set_org_require_mfa(&org.id, true).unwrap();
    assert!(matches!(live(&w, &pwd, NOW), Err(GrantEnded::MfaRequired)));
    assert!(live(&w, &two, NOW).is_ok());
    w.store.set_org_require_mfa(&org.id, false).unwrap();
    assert!(live(&w, &pwd, NOW).is_ok());
}

/// A grant made in an organisation lives only while its user is a member there (issue #11):
/// removal from the organisation, whoever removes, ends every token of the family there.
#[test]
fn a_grant_in_an_organisation_the_user_left_is_not_live() {
    let w = world();
    let other = w.store.org("other");
    let mut in_acme = grant(&w, "gr_acme", None);
    in_acme.org_id = Some(crate::ids::OrgId::new("org_acme"));
    let mut in_other = grant(&w, "gr_other", None);
    in_other.org_id = Some(other.id);
    assert!(ensure_live(&w.store, POLICY, &in_acme, NOW).is_ok());
    assert!(matches!(
        ensure_live(&w.store, POLICY, &in_other, NOW),
        Err(GrantEnded::NotMember)
    ));
}

//! The API key rules of `service.rs` against the in-memory store: who may manage which key,
//! the lifetime ceilings on creation and rotation, and what a presented key acts with.

use super::service::{self, ApiKeyError, KeyFormat, NewKey, Principal, UsageLog};
use super::types::ApiKey;
use crate::accounts::store::OrgStore;
use crate::accounts::types::{Organisation, Role, User};
use crate::apikeys::store::ApiKeyStore;
use crate::clock::UnixTime;
use crate::credentials::PlainApiKey;
use crate::scopes::{Scopes, role_scopes};
use crate::testing::memory::MemoryStore;

const NOW: UnixTime = 1_700_000_000;
const DAY: i64 = 86_400;

fn format(max_lifetime: Option<i64>) -> KeyFormat {
    KeyFormat {
        prefix: "mg".into(),
        environment: "test".into(),
        max_lifetime,
        rotation_grace: 3600,
    }
}

struct World {
    store: MemoryStore,
    org: Organisation,
    owner: User,
    mallory: User,
    trent: User,
}

fn world() -> World {
    let store = MemoryStore::new();
    let org = store.org("acme");
    let owner = store.user("owner", Some((&org, Role::Owner)));
    let mallory = store.user("mallory", Some((&org, Role::Member)));
    let trent = store.user("trent", Some((&org, Role::Member)));
    World {
        store,
        org,
        owner,
        mallory,
        trent,
    }
}

/// `user` acting in `org` with `role` and exactly `scopes`.
fn acting(org: &Organisation, user: &User, role: Role, scopes: &str) -> Principal {
    Principal {
        org_id: org.id.clone(),
        org_name: org.name.clone(),
        org_max_lifetime: org.api_key_max_lifetime,
        legacy_query: org.api_key_legacy_query,
        user_id: Some(user.id.clone()),
        role: Some(role),
        key_id: None,
        application_id: None,
        scopes: Scopes::parse(scopes).unwrap(),
        expires_at: None,
    }
}

/// A member with `write:org` besides their role's scopes: members hold no `write:org` today,
/// so this is the only way to reach the rule that a member manages only their own keys.
fn member(w: &World, user: &User) -> Principal {
    let scopes = format!("{} write:org", role_scopes(Role::Member));
    acting(&w.org, user, Role::Member, &scopes)
}

fn owner(w: &World) -> Principal {
    acting(&w.org, &w.owner, Role::Owner, "admin")
}

fn new_key(scopes: &str, expires_in: Option<&str>) -> NewKey {
    NewKey {
        name: "ci".into(),
        scopes: scopes.split(' ').map(str::to_owned).collect(),
        expires_in: expires_in.map(str::to_owned),
        allowed_ips: vec![],
    }
}

/// A key `user` owns in the organisation, made as an operator makes it (`mintgate key create`).
fn key_of(w: &World, user: &User, scopes: &str, expires_in: &str) -> (ApiKey, PlainApiKey) {
    service::create_for_operator(
        &w.store,
        &format(None),
        &w.org,
        Some(&user.id),
        new_key(scopes, Some(expires_in)),
        NOW,
    )
    .unwrap()
}

fn verify(w: &World, secret: &PlainApiKey, at: UnixTime) -> Result<Principal, ApiKeyError> {
    service::verify(
        &w.store,
        &format(None),
        &UsageLog::default(),
        secret,
        None,
        at,
    )
    .map(|(principal, _)| principal)
}

fn is_revoked(w: &World, key: &ApiKey) -> bool {
    w.store
        .find_api_key(&key.id)
        .unwrap()
        .unwrap()
        .revoked_at
        .is_some()
}

#[test]
fn a_member_may_not_manage_another_members_key() {
    let w = world();
    let (trents, _) = key_of(&w, &w.trent, "read:org", "7d");
    let mallory = member(&w, &w.mallory);
    assert!(matches!(
        service::revoke(&w.store, &mallory, &trents.id, NOW),
        Err(ApiKeyError::NotYours)
    ));
    assert!(matches!(
        service::rotate(&w.store, &format(None), &mallory, &trents.id, NOW),
        Err(ApiKeyError::NotYours)
    ));
    assert!(!is_revoked(&w, &trents));
    assert!(!service::may_manage(&mallory, &trents), "no Revoke button");
}

#[test]
fn a_member_manages_their_own_key_and_an_owner_every_key() {
    let w = world();
    let (own, _) = key_of(&w, &w.mallory, "read:org", "7d");
    let (trents, _) = key_of(&w, &w.trent, "read:org", "7d");
    let mallory = member(&w, &w.mallory);
    assert!(service::may_manage(&mallory, &own));
    service::revoke(&w.store, &mallory, &own.id, NOW).unwrap();
    assert!(is_revoked(&w, &own));
    service::revoke(&w.store, &owner(&w), &trents.id, NOW).unwrap();
    assert!(is_revoked(&w, &trents));
}

#[test]
fn another_organisations_key_is_not_found() {
    let w = world();
    let (key, _) = key_of(&w, &w.trent, "read:org", "7d");
    let elsewhere = w.store.org("globex");
    let boss = w.store.user("boss", Some((&elsewhere, Role::Owner)));
    let outsider = acting(&elsewhere, &boss, Role::Owner, "admin");
    assert!(matches!(
        service::revoke(&w.store, &outsider, &key.id, NOW),
        Err(ApiKeyError::NotFound)
    ));
    assert!(!is_revoked(&w, &key));
}

#[test]
fn no_credential_manages_a_key_stronger_than_itself() {
    let w = world();
    let (strong, _) = key_of(&w, &w.trent, "read:org write:policies", "7d");
    let weak_owner = acting(&w.org, &w.owner, Role::Owner, "read:org write:org");
    assert!(matches!(
        service::revoke(&w.store, &weak_owner, &strong.id, NOW),
        Err(ApiKeyError::InsufficientScope(s)) if s == "write:policies"
    ));
    assert!(!is_revoked(&w, &strong));
}

#[test]
fn an_applications_key_is_managed_only_with_admin() {
    let w = world();
    let (app, _) =
        service::create_application(&w.store, &format(None), &owner(&w), "deployer", "ci", NOW)
            .unwrap();
    let key = w
        .store
        .list_api_keys(&w.org.id)
        .unwrap()
        .into_iter()
        .find(|k| k.name.ends_with("deployer"))
        .unwrap();
    let without_admin = acting(&w.org, &w.owner, Role::Owner, "read:org write:org ci");
    assert!(matches!(
        service::revoke(&w.store, &without_admin, &key.id, NOW),
        Err(ApiKeyError::InsufficientScope(s)) if s == "admin"
    ));
    assert!(matches!(
        service::delete_application(&w.store, &without_admin, app.id, NOW),
        Err(ApiKeyError::InsufficientScope(_))
    ));
    service::revoke(&w.store, &owner(&w), &key.id, NOW).unwrap();
}

#[test]
fn creation_obeys_the_global_lifetime_ceiling() {
    let w = world();
    let ceiling = format(Some(30 * DAY));
    for too_long in [Some("31d"), Some("never"), None] {
        // `None` is the 90-day default, beyond a 30-day ceiling too.
        assert!(
            matches!(
                service::create(
                    &w.store,
                    &ceiling,
                    &owner(&w),
                    new_key("read:org", too_long),
                    NOW
                ),
                Err(ApiKeyError::Validation(_))
            ),
            "{too_long:?}"
        );
    }
    let (key, _) = service::create(
        &w.store,
        &ceiling,
        &owner(&w),
        new_key("read:org", Some("30d")),
        NOW,
    )
    .unwrap();
    assert_eq!(key.expires_at, Some(NOW + 30 * DAY));
}

#[test]
fn the_organisations_ceiling_binds_when_tighter() {
    let w = world();
    w.store
        .set_org_key_policy(&w.org.id, Some(7 * DAY), true)
        .unwrap();
    let org = w.store.find_org("acme").unwrap().unwrap();
    let principal = acting(&org, &w.owner, Role::Owner, "admin");
    let create = |expires_in| {
        service::create(
            &w.store,
            &format(Some(30 * DAY)),
            &principal,
            new_key("read:org", Some(expires_in)),
            NOW,
        )
    };
    assert!(matches!(create("8d"), Err(ApiKeyError::Validation(_))));
    assert!(create("7d").is_ok());
}

#[test]
fn a_key_neither_outlives_nor_outranks_its_creator() {
    let w = world();
    let short_lived = Principal {
        expires_at: Some(NOW + DAY),
        ..acting(&w.org, &w.owner, Role::Owner, "read:org write:org")
    };
    let create = |scopes, expires_in| {
        service::create(
            &w.store,
            &format(None),
            &short_lived,
            new_key(scopes, Some(expires_in)),
            NOW,
        )
    };
    assert!(matches!(
        create("read:org", "2d"),
        Err(ApiKeyError::Validation(_))
    ));
    assert!(matches!(
        create("write:policies", "1d"),
        Err(ApiKeyError::InsufficientScope(s)) if s == "write:policies"
    ));
    assert!(create("read:org", "1d").is_ok());
}

#[test]
fn a_rotated_secret_obeys_the_lifetime_ceiling() {
    let w = world();
    // Made before a 30-day ceiling came into force: it expires in 90 days.
    let (key, old) = key_of(&w, &w.trent, "read:org", "90d");
    let refused = service::rotate(&w.store, &format(Some(30 * DAY)), &owner(&w), &key.id, NOW);
    assert!(matches!(refused, Err(ApiKeyError::Validation(_))));
    // Nothing changed: the old secret is still the current one.
    assert_eq!(verify(&w, &old, NOW).unwrap().expires_at, key.expires_at);
}

#[test]
fn a_rotated_secret_never_outlives_the_credential_rotating_it() {
    let w = world();
    let (key, _) = key_of(&w, &w.trent, "read:org", "7d");
    let short_lived = Principal {
        expires_at: Some(NOW + DAY),
        ..owner(&w)
    };
    assert!(matches!(
        service::rotate(&w.store, &format(None), &short_lived, &key.id, NOW),
        Err(ApiKeyError::Validation(_))
    ));
}

#[test]
fn the_old_secret_works_for_the_grace_period_only() {
    let w = world();
    let (key, old) = key_of(&w, &w.trent, "read:org", "never");
    let (_, new) = service::rotate(&w.store, &format(None), &owner(&w), &key.id, NOW).unwrap();
    let grace_end = NOW + format(None).rotation_grace;
    // The superseded secret acts only until its grace period ends.
    assert_eq!(verify(&w, &old, NOW).unwrap().expires_at, Some(grace_end));
    assert_eq!(verify(&w, &new, NOW).unwrap().expires_at, None);
    assert!(matches!(
        verify(&w, &old, grace_end),
        Err(ApiKeyError::Invalid)
    ));
    assert!(verify(&w, &new, grace_end).is_ok());
}

#[test]
fn a_members_key_acts_with_at_most_the_members_role() {
    let w = world();
    let (_, secret) = key_of(&w, &w.mallory, "read:org write:org write:policies", "7d");
    let principal = verify(&w, &secret, NOW).unwrap();
    assert_eq!(principal.role, Some(Role::Member));
    assert_eq!(principal.scopes.to_string(), "read:org");
    assert!(matches!(
        service::require(&principal, "write:org"),
        Err(ApiKeyError::InsufficientScope(_))
    ));
}

#[test]
fn a_key_ends_with_its_creator_disabled_or_gone() {
    let w = world();
    let (_, mallorys) = key_of(&w, &w.mallory, "read:org", "7d");
    let (_, trents) = key_of(&w, &w.trent, "read:org", "7d");
    assert!(verify(&w, &mallorys, NOW).is_ok());
    w.store.set_user_disabled(&w.mallory.id, true, NOW).unwrap();
    assert!(matches!(
        verify(&w, &mallorys, NOW),
        Err(ApiKeyError::Invalid)
    ));
    w.store
        .remove_membership(&w.org.id, &w.trent.id, NOW)
        .unwrap();
    assert!(matches!(
        verify(&w, &trents, NOW),
        Err(ApiKeyError::Invalid)
    ));
}

#[test]
fn an_expired_or_revoked_key_is_invalid() {
    let w = world();
    let (_, expiring) = key_of(&w, &w.trent, "read:org", "1d");
    assert!(verify(&w, &expiring, NOW + DAY - 1).is_ok());
    assert!(matches!(
        verify(&w, &expiring, NOW + DAY),
        Err(ApiKeyError::Invalid)
    ));
    let (key, secret) = key_of(&w, &w.trent, "read:org", "7d");
    service::revoke(&w.store, &owner(&w), &key.id, NOW).unwrap();
    assert!(matches!(
        verify(&w, &secret, NOW),
        Err(ApiKeyError::Invalid)
    ));
}

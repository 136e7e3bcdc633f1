//! An organisation's requirement of SSO: its members sign in through its connections, not with
//! a password. Owners keep their password (break-glass, audited), so an organisation whose IdP
//! is down or misconfigured is never locked out of its own settings.
//!
//! A user in several organisations is refused a password sign-in when ANY of them requires SSO
//! and the user is not an owner there: a password session could act in that organisation
//! (switch to it), so the strictest organisation's rule holds. Blocking (store).

use super::error::FederationError;
use super::store::SsoPolicyStore;
use crate::accounts::types::{Role, User};
use crate::audit::{AuditEvent, AuditKind, AuditStore, RequestMeta};
use crate::clock::Clock;
use crate::ids::{OrgId, UserId};
use crate::store::StoreResult;

/// Sets whether `org` requires SSO of its members (audited).
pub fn set_require_sso<S: SsoPolicyStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &OrgId,
    org_name: &str,
    require: bool,
    actor: Option<&UserId>,
    meta: &RequestMeta,
) -> Result<(), FederationError> {
    if !store.set_org_require_sso(org, require)? {
        return Err(FederationError::UnknownOrg(org_name.to_owned()));
    }
    let mut event = AuditEvent::new(clock.now(), AuditKind::OrgRequireSsoSet, meta)
        .org(org)
        .subject(org_name)
        .detail(require.to_string());
    if let Some(actor) = actor {
        event = event.user(actor);
    }
    store.record_event(&event)?;
    Ok(())
}

/// Whether `user`, whose password was just checked, may sign in with it: `Err(org name)` when
/// an organisation of theirs requires SSO and they are not its owner (audited
/// `signin.sso_required`); an owner's password sign-in in such an organisation is audited
/// `signin.break_glass`.
pub fn password_sign_in<S: SsoPolicyStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    user: &User,
    meta: &RequestMeta,
) -> StoreResult<Result<(), String>> {
    let required = store.sso_required_memberships(&user.id)?;
    if required.is_empty() {
        return Ok(Ok(()));
    }
    let now = clock.now();
    if let Some(m) = required.iter().find(|m| m.role != Role::Owner) {
        store.record_event(
            &AuditEvent::new(now, AuditKind::SignInSsoRequired, meta)
                .org(&m.org_id)
                .user(&user.id)
                .subject(&user.username)
                .detail(format!("org {}", m.org_name)),
        )?;
        return Ok(Err(m.org_name.clone()));
    }
    // One event in each organisation that requires SSO, so each one's log shows it.
    for m in &required {
        store.record_event(
            &AuditEvent::new(now, AuditKind::SignInBreakGlass, meta)
                .org(&m.org_id)
                .user(&user.id)
                .subject(&user.username)
                .detail(format!("owner of {}", m.org_name)),
        )?;
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::store::UserStore;
    use crate::clock::ManualClock;
    use crate::testing::memory::MemoryStore;

    fn kinds(store: &MemoryStore) -> Vec<String> {
        store
            .recent_events(50)
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }

    #[test]
    fn any_organisation_requiring_sso_refuses_unless_owner_there() {
        let store = MemoryStore::new();
        let clock = ManualClock::starting_now();
        let meta = RequestMeta::default();
        let (strict, lax) = (store.org("strict"), store.org("lax"));
        let user = store.user("ana", Some((&lax, Role::Owner)));
        assert_eq!(
            password_sign_in(&store, &clock, &user, &meta).unwrap(),
            Ok(())
        );
        assert!(
            kinds(&store).is_empty(),
            "nothing to audit without the requirement"
        );

        store
            .add_membership(&strict.id, &user.id, Role::Member, 0)
            .unwrap();
        set_require_sso(&store, &clock, &strict.id, "strict", true, None, &meta).unwrap();
        // Owner of an organisation that does not require SSO, member of one that does.
        assert_eq!(
            password_sign_in(&store, &clock, &user, &meta).unwrap(),
            Err("strict".to_owned())
        );
        assert_eq!(kinds(&store)[0], "signin.sso_required");

        // An owner where SSO is required: break-glass, audited.
        let owner = store.user("olga", Some((&strict, Role::Owner)));
        assert_eq!(
            password_sign_in(&store, &clock, &owner, &meta).unwrap(),
            Ok(())
        );
        assert_eq!(kinds(&store)[0], "signin.break_glass");

        set_require_sso(&store, &clock, &strict.id, "strict", false, None, &meta).unwrap();
        assert_eq!(
            password_sign_in(&store, &clock, &user, &meta).unwrap(),
            Ok(())
        );
    }
}

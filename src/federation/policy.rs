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
                .user(&user.id)
                .subject(&user.username)
                .detail(format!("org {}", m.org_name)),
        )?;
        return Ok(Err(m.org_name.clone()));
    }
    let orgs: Vec<&str> = required.iter().map(|m| m.org_name.as_str()).collect();
    store.record_event(
        &AuditEvent::new(now, AuditKind::SignInBreakGlass, meta)
            .user(&user.id)
            .subject(&user.username)
            .detail(format!("owner of {}", orgs.join(", "))),
    )?;
    Ok(Ok(()))
}

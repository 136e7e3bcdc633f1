//! The members console's rules (issue #14): who may change whose role, disable, enable, remove
//! or reset the second factor of whom, in the administrator's active organisation. Blocking
//! (store): call from `web::block`.

use super::store::{MemberInfo, MemberStore, RoleChange};
use crate::accounts::types::{Organisation, Role};
use crate::audit::{AuditEvent, AuditKind, AuditStore, RequestMeta};
use crate::clock::Clock;
use crate::deprovision::{self, DeprovisionError, store::DeprovisionStore};
use crate::ids::UserId;
use crate::store::StoreError;

/// Members shown on one page of the list.
pub const PAGE_SIZE: i64 = 50;

/// An owner or admin acting in their active organisation.
#[derive(Debug, Clone)]
pub struct Admin {
    pub org: Organisation,
    pub id: UserId,
    pub role: Role,
}

/// What an administrator does to a member (`ORG_MEMBER_ACTION`'s `{action}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Role(Role),
    Disable,
    Enable,
    Remove,
    ResetMfa,
}

impl Action {
    /// The action named in the path (`role` takes the form's role).
    pub fn parse(name: &str, role: Option<&str>) -> Option<Action> {
        Some(match name {
            "role" => Action::Role(role?.parse().ok()?),
            "disable" => Action::Disable,
            "enable" => Action::Enable,
            "remove" => Action::Remove,
            "reset-mfa" => Action::ResetMfa,
            _ => return None,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    #[error("no such member")]
    NotFound,
    #[error("Only an owner can grant or take away ownership, or act on an owner.")]
    OwnersOnly,
    #[error(
        "This is the organisation's last owner: they can be neither demoted nor removed. Make someone else an owner first."
    )]
    LastOwner,
    #[error(
        "Only accounts this organisation manages can be disabled, enabled or have their second factor reset here: a server account also serves its other organisations. Remove it from the organisation instead."
    )]
    NotManaged,
    #[error("You cannot do this to your own account here (see your Security page).")]
    Yourself,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for MemberError {
    fn from(e: StoreError) -> Self {
        MemberError::Store(e)
    }
}

impl From<DeprovisionError> for MemberError {
    fn from(e: DeprovisionError) -> Self {
        match e {
            DeprovisionError::NotMember | DeprovisionError::UnknownUser => MemberError::NotFound,
            DeprovisionError::LastOwner => MemberError::LastOwner,
            DeprovisionError::Store(e) => MemberError::Store(e),
        }
    }
}

/// Whether `admin` may do `action` to `target` (the last-owner rule is the store's, in the
/// transaction that changes the membership):
/// - only owners act on owners, and only owners grant `owner`;
/// - disabling, enabling and resetting the second factor reach only accounts the organisation
///   manages (a server account's access and factors serve its other organisations too), and
///   never the administrator's own account.
pub fn check(admin: &Admin, target: &MemberInfo, action: Action) -> Result<(), MemberError> {
    let account_wide = matches!(action, Action::Disable | Action::Enable | Action::ResetMfa);
    if account_wide && admin.id == target.user.id {
        return Err(MemberError::Yourself);
    }
    if admin.role != Role::Owner
        && (target.role == Role::Owner || action == Action::Role(Role::Owner))
    {
        return Err(MemberError::OwnersOnly);
    }
    if account_wide && target.user.home_org.as_ref() != Some(&admin.org.id) {
        return Err(MemberError::NotManaged);
    }
    Ok(())
}

/// Does `action` to the member `target` of the administrator's organisation (404 for anyone
/// else), through the deprovision rule for disable, enable and remove; audited with the
/// organisation. Returns the notice the page shows.
pub fn act<S: MemberStore + DeprovisionStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    admin: &Admin,
    target: &UserId,
    action: Action,
    meta: &RequestMeta,
) -> Result<String, MemberError> {
    let member = store
        .find_member(&admin.org.id, target)?
        .ok_or(MemberError::NotFound)?;
    check(admin, &member, action)?;
    let org = &admin.org;
    let user = &member.user;
    let subject = format!("{}@{}", user.username, org.name);
    match action {
        Action::Role(role) => match store.set_role_keeping_owner(&org.id, &user.id, role)? {
            RoleChange::Changed { from } => {
                store.record_event(
                    &AuditEvent::new(clock.now(), AuditKind::MemberRoleChanged, meta)
                        .org(&org.id)
                        .user(&user.id)
                        .subject(&subject)
                        .detail(format!("{role} (was {from}) by={}", admin.id)),
                )?;
                Ok(format!("{} is now {role}.", user.username))
            }
            RoleChange::Unchanged => Ok(format!("{} was already {role}.", user.username)),
            RoleChange::NotMember => Err(MemberError::NotFound),
            RoleChange::LastOwner => Err(MemberError::LastOwner),
        },
        Action::Disable => {
            deprovision::service::disable_in_org(store, clock, org, user, &admin.id, meta)?;
            Ok(format!(
                "{} is disabled: their sessions, tokens and API keys ended.",
                user.username
            ))
        }
        Action::Enable => {
            deprovision::service::enable_in_org(store, clock, org, user, &admin.id, meta)?;
            Ok(format!("{} is enabled again.", user.username))
        }
        Action::Remove => {
            let ended =
                deprovision::service::remove_member(store, clock, org, user, &admin.id, meta)?;
            Ok(format!(
                "{} was removed from {}{}.",
                user.username,
                org.name,
                if ended.disabled {
                    " and disabled (the organisation managed the account)"
                } else {
                    ""
                }
            ))
        }
        Action::ResetMfa => {
            let reset = store.reset_mfa(&user.id)?;
            store.record_event(
                &AuditEvent::new(clock.now(), AuditKind::MfaReset, meta)
                    .org(&org.id)
                    .user(&admin.id)
                    .subject(&user.username)
                    .detail(format!(
                        "user={} totp={} recovery_codes={} passkeys={}",
                        user.id, reset.totp, reset.recovery_codes, reset.passkeys
                    )),
            )?;
            Ok(format!(
                "{}'s second factors were removed: they sign in with their password and can set up new ones.",
                user.username
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::types::User;
    use crate::ids::OrgId;

    fn member(id: &str, role: Role, home: Option<&str>) -> MemberInfo {
        MemberInfo {
            user: User {
                id: UserId::new(id),
                username: id.into(),
                email: format!("{id}@example.com"),
                display_name: id.into(),
                disabled: false,
                created_at: 0,
                updated_at: 0,
                home_org: home.map(OrgId::new),
                email_verified: false,
            },
            role,
            joined: 0,
            mfa: false,
        }
    }

    fn admin(role: Role) -> Admin {
        let org = Organisation::new(OrgId::new("org_a"), "A".into(), 0);
        Admin {
            org,
            id: UserId::new("usr_me"),
            role,
        }
    }

    #[test]
    fn only_owners_act_on_owners_and_grant_ownership() {
        let owner = member("usr_o", Role::Owner, None);
        let plain = member("usr_m", Role::Member, Some("org_a"));
        for action in [Action::Role(Role::Member), Action::Remove, Action::Disable] {
            assert!(matches!(
                check(&admin(Role::Admin), &owner, action),
                Err(MemberError::OwnersOnly)
            ));
        }
        assert!(matches!(
            check(&admin(Role::Admin), &plain, Action::Role(Role::Owner)),
            Err(MemberError::OwnersOnly)
        ));
        assert!(check(&admin(Role::Admin), &plain, Action::Role(Role::Admin)).is_ok());
        assert!(check(&admin(Role::Owner), &owner, Action::Role(Role::Admin)).is_ok());
        assert!(check(&admin(Role::Owner), &plain, Action::Role(Role::Owner)).is_ok());
    }

    #[test]
    fn account_wide_actions_reach_managed_accounts_only_and_never_oneself() {
        let server = member("usr_s", Role::Member, None);
        let elsewhere = member("usr_e", Role::Member, Some("org_b"));
        let managed = member("usr_m", Role::Member, Some("org_a"));
        let me = member("usr_me", Role::Admin, Some("org_a"));
        for action in [Action::Disable, Action::Enable, Action::ResetMfa] {
            for target in [&server, &elsewhere] {
                assert!(matches!(
                    check(&admin(Role::Owner), target, action),
                    Err(MemberError::NotManaged)
                ));
            }
            assert!(check(&admin(Role::Admin), &managed, action).is_ok());
            assert!(matches!(
                check(&admin(Role::Admin), &me, action),
                Err(MemberError::Yourself)
            ));
        }
        // Removal of a server account is the organisation's business.
        assert!(check(&admin(Role::Admin), &server, Action::Remove).is_ok());
    }

    #[test]
    fn actions_parse_from_the_path() {
        assert_eq!(
            Action::parse("role", Some("admin")),
            Some(Action::Role(Role::Admin))
        );
        assert_eq!(Action::parse("role", Some("root")), None);
        assert_eq!(Action::parse("reset-mfa", None), Some(Action::ResetMfa));
        assert_eq!(Action::parse("delete", None), None);
    }
}

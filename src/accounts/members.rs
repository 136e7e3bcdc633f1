//! The operator's membership and group commands (issue #11): add a member or change their
//! role, create an organisation's group, add a member to it. Each is audited.

use super::service::{AccountError, org_named, user_named};
use super::store::{OrgStore, UserStore};
use super::types::{Organisation, Role, User};
use crate::audit::{AuditEvent, AuditKind, AuditStore, RequestMeta};
use crate::clock::Clock;
use crate::ids::GroupId;
use crate::store::{StoreError, Unique};

/// What [`add_member`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    Added,
    /// Already a member: the role was changed.
    RoleChanged {
        from: Role,
    },
    /// Already a member with that role.
    Unchanged,
}

/// Makes `username` a member of `org` with `role`, or changes their role there.
pub fn add_member<S: UserStore + OrgStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &str,
    username: &str,
    role: Role,
    meta: &RequestMeta,
) -> Result<(User, Organisation, MemberChange), AccountError> {
    let org = org_named(store, org)?;
    let user = user_named(store, username)?;
    let now = clock.now();
    let change = match store.membership(&user.id, &org.id)? {
        None => match store.add_membership(&org.id, &user.id, role, now) {
            Ok(()) => MemberChange::Added,
            // Added meanwhile: a role change, like the membership found.
            Err(StoreError::Conflict(Unique::Record)) => {
                store.set_member_role(&org.id, &user.id, role)?;
                MemberChange::RoleChanged { from: role }
            }
            Err(e) => return Err(e.into()),
        },
        Some(m) if m.role == role => MemberChange::Unchanged,
        Some(m) => {
            store.set_member_role(&org.id, &user.id, role)?;
            MemberChange::RoleChanged { from: m.role }
        }
    };
    let kind = match change {
        MemberChange::Added => Some(AuditKind::MemberAdded),
        MemberChange::RoleChanged { .. } => Some(AuditKind::MemberRoleChanged),
        MemberChange::Unchanged => None,
    };
    if let Some(kind) = kind {
        store.record_event(
            &AuditEvent::new(now, kind, meta)
                .org(&org.id)
                .user(&user.id)
                .subject(&format!("{}@{}", user.username, org.name))
                .detail(role.as_str()),
        )?;
    }
    Ok((user, org, change))
}

/// A group name: 1–100 printable characters, unique in its organisation case-insensitively.
pub(crate) fn group_name(name: &str) -> Result<&str, AccountError> {
    let name = name.trim();
    if (1..=100).contains(&name.chars().count()) && !name.chars().any(char::is_control) {
        Ok(name)
    } else {
        Err(AccountError::GroupName)
    }
}

/// Creates a group in `org`.
pub fn create_group<S: UserStore + OrgStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &str,
    name: &str,
    meta: &RequestMeta,
) -> Result<(GroupId, Organisation), AccountError> {
    let org = org_named(store, org)?;
    let name = group_name(name)?;
    let now = clock.now();
    let id = match store.create_group(&org.id, name, now) {
        Ok(id) => id,
        Err(StoreError::Conflict(_)) => return Err(AccountError::DuplicateGroup),
        Err(e) => return Err(e.into()),
    };
    store.record_event(
        &AuditEvent::new(now, AuditKind::GroupCreated, meta)
            .org(&org.id)
            .subject(&format!("{name}@{}", org.name))
            .detail(id.to_string()),
    )?;
    Ok((id, org))
}

/// Adds a member of `org` to its group `group` (a no-op when already in it).
pub fn add_group_member<S: UserStore + OrgStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &str,
    group: &str,
    username: &str,
    meta: &RequestMeta,
) -> Result<(GroupId, User), AccountError> {
    let org = org_named(store, org)?;
    let user = user_named(store, username)?;
    let id = store
        .find_group(&org.id, group)?
        .ok_or_else(|| AccountError::UnknownGroup(group.to_owned()))?;
    // Groups are an organisation's: only its members join them.
    if store.membership(&user.id, &org.id)?.is_none() {
        return Err(AccountError::NotMember);
    }
    match store.add_group_member(&id, &user.id) {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Ok((id, user)),
        Err(e) => return Err(e.into()),
    }
    store.record_event(
        &AuditEvent::new(clock.now(), AuditKind::GroupMemberAdded, meta)
            .org(&org.id)
            .user(&user.id)
            .subject(&format!("{}@{}", group.trim(), org.name))
            .detail(id.to_string()),
    )?;
    Ok((id, user))
}

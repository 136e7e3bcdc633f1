//! The groups console's logic: every function takes the organisation the administrator acts
//! in, refuses what belongs to another (not found) and what an identity provider or SCIM
//! manages (read-only here), and audits what it changed with the organisation and the actor.
//! Blocking (store): call from `web::block`.

use super::store::{GroupInfo, GroupMember, GroupStore};
use crate::accounts::members::group_name;
use crate::accounts::store::UserStore;
use crate::accounts::types::{Email, Organisation, User, Username};
use crate::audit::{AuditEvent, AuditKind, AuditStore, RequestMeta};
use crate::clock::Clock;
use crate::ids::{GroupId, OrgId, UserId};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error("A group name is 1 to 100 printable characters.")]
    Name,
    #[error("This organisation already has a group of that name.")]
    Duplicate,
    #[error("This group does not exist.")]
    NotFound,
    /// The group is filled by SCIM or an SSO connection (the label says which).
    #[error("This group is managed by {0} and is read-only here: change it there.")]
    Managed(&'static str),
    #[error("No member of this organisation has that username or e-mail address.")]
    UnknownMember,
    #[error("Several members match: enter their e-mail address instead.")]
    AmbiguousMember,
    #[error("That member is already in this group.")]
    AlreadyMember,
    #[error("That user is not in this group.")]
    NotInGroup,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for GroupError {
    fn from(e: StoreError) -> Self {
        GroupError::Store(e)
    }
}

pub type GroupResult<T> = Result<T, GroupError>;

/// The organisation's groups, by name.
pub fn list<S: GroupStore>(store: &S, org: &OrgId) -> GroupResult<Vec<GroupInfo>> {
    Ok(store.list_org_groups(org)?)
}

/// One of the organisation's groups with its members.
pub fn show<S: GroupStore>(
    store: &S,
    org: &OrgId,
    id: &GroupId,
) -> GroupResult<(GroupInfo, Vec<GroupMember>)> {
    let group = store.find_org_group(org, id)?.ok_or(GroupError::NotFound)?;
    let members = store.group_members(org, id)?;
    Ok((group, members))
}

/// The organisation's group `id` if it is made by hand.
fn editable<S: GroupStore>(store: &S, org: &OrgId, id: &GroupId) -> GroupResult<GroupInfo> {
    let group = store.find_org_group(org, id)?.ok_or(GroupError::NotFound)?;
    match group.manager.label() {
        None => Ok(group),
        Some(by) => Err(GroupError::Managed(by)),
    }
}

fn event(
    clock: &dyn Clock,
    kind: AuditKind,
    org: &Organisation,
    actor: &UserId,
    meta: &RequestMeta,
) -> AuditEvent {
    AuditEvent::new(clock.now(), kind, meta)
        .org(&org.id)
        .user(actor)
}

/// Creates a group by hand (`group.created`).
pub fn create<S: UserStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &Organisation,
    actor: &UserId,
    name: &str,
    meta: &RequestMeta,
) -> GroupResult<GroupId> {
    let name = group_name(name).map_err(|_| GroupError::Name)?;
    let id = match store.create_group(&org.id, name, clock.now()) {
        Ok(id) => id,
        Err(StoreError::Conflict(_)) => return Err(GroupError::Duplicate),
        Err(e) => return Err(e.into()),
    };
    store.record_event(
        &event(clock, AuditKind::GroupCreated, org, actor, meta)
            .subject(&format!("{name}@{}", org.name))
            .detail(id.to_string()),
    )?;
    Ok(id)
}

/// Renames a hand-made group (`group.renamed`, the old name in the detail).
pub fn rename<S: GroupStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &Organisation,
    actor: &UserId,
    id: &GroupId,
    name: &str,
    meta: &RequestMeta,
) -> GroupResult<()> {
    let group = editable(store, &org.id, id)?;
    let name = group_name(name).map_err(|_| GroupError::Name)?;
    match store.rename_hand_group(&org.id, id, name) {
        Ok(true) => {}
        Ok(false) => return Err(GroupError::NotFound),
        Err(StoreError::Conflict(_)) => return Err(GroupError::Duplicate),
        Err(e) => return Err(e.into()),
    }
    store.record_event(
        &event(clock, AuditKind::GroupRenamed, org, actor, meta)
            .subject(&format!("{name}@{}", org.name))
            .detail(format!("{id} (was {})", group.name)),
    )?;
    Ok(())
}

/// Deletes a hand-made group (`group.deleted`): its members lose it from their next token.
pub fn delete<S: GroupStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &Organisation,
    actor: &UserId,
    id: &GroupId,
    meta: &RequestMeta,
) -> GroupResult<()> {
    let group = editable(store, &org.id, id)?;
    if !store.delete_hand_group(&org.id, id)? {
        return Err(GroupError::NotFound);
    }
    store.record_event(
        &event(clock, AuditKind::GroupDeleted, org, actor, meta)
            .subject(&format!("{}@{}", group.name, org.name))
            .detail(id.to_string()),
    )?;
    Ok(())
}

/// The member of `org` that `login` names: a username (the organisation's own account of
/// that name, or a server account) or an e-mail address. Anyone who is not a member of `org`
/// is unknown, whether or not they exist.
pub fn member_named<S: UserStore>(store: &S, org: &OrgId, login: &str) -> GroupResult<User> {
    let login = login.trim();
    let mut candidates: Vec<User> = Vec::new();
    if login.contains('@') {
        if let Ok(email) = Email::parse(login) {
            candidates = store.find_member_by_email(org, &email.key())?;
        }
    } else if let Ok(name) = Username::parse(login) {
        candidates.extend(store.find_managed_by_username(org, &name.key())?);
        candidates.extend(store.find_user_by_username(&name.key())?);
    }
    let mut members = Vec::new();
    for user in candidates {
        if store.membership(&user.id, org)?.is_some() && !members.contains(&user) {
            members.push(user);
        }
    }
    match members.len() {
        0 => Err(GroupError::UnknownMember),
        1 => Ok(members.remove(0)),
        _ => Err(GroupError::AmbiguousMember),
    }
}

/// Adds a member of the organisation to a hand-made group (`group.member_added`).
pub fn add_member<S: GroupStore + UserStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &Organisation,
    actor: &UserId,
    id: &GroupId,
    login: &str,
    meta: &RequestMeta,
) -> GroupResult<User> {
    let group = editable(store, &org.id, id)?;
    let user = member_named(store, &org.id, login)?;
    match store.add_hand_group_member(&org.id, id, &user.id) {
        Ok(true) => {}
        Ok(false) => return Err(GroupError::NotFound),
        Err(StoreError::Conflict(_)) => return Err(GroupError::AlreadyMember),
        Err(e) => return Err(e.into()),
    }
    store.record_event(
        &event(clock, AuditKind::GroupMemberAdded, org, actor, meta)
            .subject(&format!("{}@{}", group.name, org.name))
            .detail(format!("{} ({}) to {id}", user.username, user.id)),
    )?;
    Ok(user)
}

/// Takes a user out of a hand-made group (`group.member_removed`).
pub fn remove_member<S: GroupStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &Organisation,
    actor: &UserId,
    id: &GroupId,
    user: &UserId,
    meta: &RequestMeta,
) -> GroupResult<()> {
    let group = editable(store, &org.id, id)?;
    if !store.remove_hand_group_member(&org.id, id, user)? {
        return Err(GroupError::NotInGroup);
    }
    store.record_event(
        &event(clock, AuditKind::GroupMemberRemoved, org, actor, meta)
            .subject(&format!("{}@{}", group.name, org.name))
            .detail(format!("{user} from {id}")),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groups::store::Manager;

    #[test]
    fn managed_groups_name_their_manager() {
        assert_eq!(Manager::of(None), Manager::Hand);
        assert_eq!(Manager::of(Some("scim")), Manager::Scim);
        assert_eq!(Manager::of(Some("conn_abc")), Manager::Idp);
        assert!(Manager::Hand.label().is_none());
        let refused = GroupError::Managed(Manager::Scim.label().unwrap()).to_string();
        assert!(refused.contains("managed by SCIM"), "{refused}");
    }
}

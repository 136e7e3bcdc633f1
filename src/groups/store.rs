//! The storage the groups console needs, every call scoped to one organisation: another
//! organisation's group is not found. Creating a group is
//! [`UserStore::create_group`](crate::accounts::store::UserStore::create_group).

use crate::clock::UnixTime;
use crate::ids::{GroupId, OrgId, UserId};
use crate::store::StoreResult;

/// What `groups.managed_by` holds for a SCIM group (as the SCIM store writes it).
pub const SCIM_MANAGER: &str = "scim";

/// Who keeps a group's membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    /// Made by hand (on the console or with the CLI): its administrators edit it.
    Hand,
    /// A SCIM client (`managed_by = 'scim'`).
    Scim,
    /// An SSO connection's sign-ins (`managed_by` names the connection).
    Idp,
}

impl Manager {
    pub fn of(managed_by: Option<&str>) -> Self {
        match managed_by {
            None => Manager::Hand,
            Some(SCIM_MANAGER) => Manager::Scim,
            Some(_) => Manager::Idp,
        }
    }

    /// Who to change a managed group with, in the words the page uses.
    pub fn label(self) -> Option<&'static str> {
        match self {
            Manager::Hand => None,
            Manager::Scim => Some("SCIM"),
            Manager::Idp => Some("your identity provider (SSO)"),
        }
    }
}

/// A group of an organisation, with how many members it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfo {
    pub id: GroupId,
    pub name: String,
    pub manager: Manager,
    pub members: i64,
    pub created_at: UnixTime,
}

/// A member of a group, as the console lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    pub user_id: UserId,
    pub username: String,
    pub display_name: String,
    pub email: String,
}

pub trait GroupStore {
    /// The organisation's groups, by name.
    fn list_org_groups(&self, org: &OrgId) -> StoreResult<Vec<GroupInfo>>;
    fn find_org_group(&self, org: &OrgId, id: &GroupId) -> StoreResult<Option<GroupInfo>>;
    /// The members of the organisation's group `id`, by username.
    fn group_members(&self, org: &OrgId, id: &GroupId) -> StoreResult<Vec<GroupMember>>;
    /// Renames the organisation's hand-made group `id`: `false` when it has none such (another
    /// organisation's, or a managed one), `Conflict` when the name is taken in the organisation.
    fn rename_hand_group(&self, org: &OrgId, id: &GroupId, name: &str) -> StoreResult<bool>;
    /// Deletes the organisation's hand-made group `id` and its memberships; `false` when it has
    /// none such.
    fn delete_hand_group(&self, org: &OrgId, id: &GroupId) -> StoreResult<bool>;
    /// Adds `user` to the organisation's hand-made group `id`: `false` when it has none such,
    /// `Conflict` when the user is in it already.
    fn add_hand_group_member(&self, org: &OrgId, id: &GroupId, user: &UserId) -> StoreResult<bool>;
    /// Takes `user` out of the organisation's hand-made group `id`: `false` when it has none
    /// such or the user was not in it.
    fn remove_hand_group_member(
        &self,
        org: &OrgId,
        id: &GroupId,
        user: &UserId,
    ) -> StoreResult<bool>;
}

//! The storage SCIM needs, in its own types. Implemented over diesel in `crate::store::scim`.

use super::query::{Cond, GroupField, ListQuery, UserField};
use super::resource::{Meta, UserAttrs};
use crate::accounts::types::{Email, Username};
use crate::clock::UnixTime;
use crate::credentials::{Hashed, kind};
use crate::ids::{GroupId, OrgId, UserId};
use crate::store::StoreResult;

/// A SCIM token as listed (never its value).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScimToken {
    pub id: String,
    pub org: OrgId,
    pub description: String,
    pub created_at: UnixTime,
    pub created_by: Option<UserId>,
    pub revoked_at: Option<UnixTime>,
}

pub trait ScimTokenStore {
    fn create_scim_token(
        &self,
        token: &ScimToken,
        hash: &Hashed<kind::ScimToken>,
    ) -> StoreResult<()>;
    /// The organisation's tokens, newest first (revoked ones included).
    fn list_scim_tokens(&self, org: &OrgId) -> StoreResult<Vec<ScimToken>>;
    /// Revokes one of `org`'s live tokens; `false` when there is none of that id.
    fn revoke_scim_token(&self, org: &OrgId, id: &str, now: UnixTime) -> StoreResult<bool>;
    /// The live (not revoked) token with this hash, and the hash as stored.
    fn find_scim_token(
        &self,
        hash: &Hashed<kind::ScimToken>,
    ) -> StoreResult<Option<(ScimToken, Hashed<kind::ScimToken>)>>;
}

/// A SCIM User as stored: its account's id and state plus the SCIM attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUserRecord {
    pub id: UserId,
    /// `active` comes from the account (`!users.disabled`).
    pub attrs: UserAttrs,
    pub meta: Meta,
    /// The SCIM groups the user is in: `(id, displayName)`.
    pub groups: Vec<(String, String)>,
}

/// What creating a SCIM user writes: the account (in `org`'s namespace) and its attributes.
#[derive(Debug, Clone)]
pub struct NewScimUser {
    pub id: UserId,
    /// Candidate account usernames, tried in order (the SCIM userName need not be one).
    pub usernames: Vec<Username>,
    pub email: Email,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub attrs: UserAttrs,
}

/// An update of a SCIM user's attributes (and its account's e-mail, display name, password).
#[derive(Debug, Clone)]
pub struct ScimUserUpdate {
    pub email: Email,
    pub display_name: String,
    /// `Some` to set a new password hash.
    pub password_hash: Option<String>,
    pub attrs: UserAttrs,
}

/// The outcome of a conditional write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Versioned<T> {
    Done(T),
    /// No such resource in the organisation.
    Missing,
    /// The version is not the expected one (someone else wrote first).
    Stale,
}

pub trait ScimUserStore {
    /// Gives every account `org` manages that has no SCIM row yet (created by SSO just in time)
    /// one, with its username as userName. Checks only the newest accounts (an index look-up):
    /// each adoption takes all that are missing, so older ones have their row.
    fn adopt_managed_users(&self, org: &OrgId, now: UnixTime) -> StoreResult<usize>;
    /// In one transaction: the account (first free username of `usernames`), its membership
    /// of `org` and its SCIM row. `Conflict(Record)` when the userName is taken in `org`,
    /// `Conflict(Email)` for the e-mail, `Conflict(Username)` when no candidate is free.
    fn create_scim_user(
        &self,
        org: &OrgId,
        user: &NewScimUser,
        now: UnixTime,
    ) -> StoreResult<ScimUserRecord>;
    fn get_scim_user(&self, org: &OrgId, id: &UserId) -> StoreResult<Option<ScimUserRecord>>;
    /// One page of the filter's matches and their total: one filtered, ordered, limited query
    /// and one count, both on indexed columns.
    fn list_scim_users(
        &self,
        org: &OrgId,
        query: &ListQuery<UserField>,
    ) -> StoreResult<(i64, Vec<ScimUserRecord>)>;
    /// Writes the attributes if the stored version is `version`, bumping it. Conflicts as for
    /// create.
    fn update_scim_user(
        &self,
        org: &OrgId,
        id: &UserId,
        version: i64,
        update: &ScimUserUpdate,
        now: UnixTime,
    ) -> StoreResult<Versioned<ScimUserRecord>>;
    /// Bumps the version after a change made elsewhere (`active` through deprovisioning).
    fn touch_scim_user(&self, org: &OrgId, id: &UserId, now: UnixTime) -> StoreResult<()>;
}

/// A SCIM Group as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimGroupRecord {
    pub id: GroupId,
    pub display_name: String,
    pub external_id: Option<String>,
    pub meta: Meta,
    /// `(user id, display)`, when asked for.
    pub members: Vec<(String, String)>,
}

pub trait ScimGroupStore {
    /// In one transaction: the group (`managed_by = 'scim'`), its SCIM row and its members.
    /// `Conflict(Record)` when `org` has a group of that name; `NotFound` when a member is not
    /// one of `org`'s SCIM users.
    fn create_scim_group(
        &self,
        org: &OrgId,
        id: &GroupId,
        display_name: &str,
        external_id: Option<&str>,
        members: &[UserId],
        now: UnixTime,
    ) -> StoreResult<ScimGroupRecord>;
    /// `with_members`: whether to load the members (lists of large groups skip them).
    fn get_scim_group(
        &self,
        org: &OrgId,
        id: &GroupId,
        with_members: bool,
    ) -> StoreResult<Option<ScimGroupRecord>>;
    fn list_scim_groups(
        &self,
        org: &OrgId,
        query: &ListQuery<GroupField>,
        with_members: bool,
    ) -> StoreResult<(i64, Vec<ScimGroupRecord>)>;
    /// Writes name, externalId and exactly these members if the version is `version`.
    #[allow(clippy::too_many_arguments)]
    fn update_scim_group(
        &self,
        org: &OrgId,
        id: &GroupId,
        version: i64,
        display_name: &str,
        external_id: Option<&str>,
        members: &[UserId],
        now: UnixTime,
    ) -> StoreResult<Versioned<ScimGroupRecord>>;
    /// `false` when `org` has no SCIM group of that id.
    fn delete_scim_group(&self, org: &OrgId, id: &GroupId) -> StoreResult<bool>;
}

/// Re-exported so the store's implementation names the condition types from one place.
pub type UserCond = Cond<UserField>;
pub type GroupCond = Cond<GroupField>;

//! The storage the accounts domain needs: organisations, users and memberships, and the
//! sign-in throttle's counters. Implemented over diesel in `crate::store`.

use crate::accounts::types::{Membership, NewUser, Organisation, Role, User};
use crate::clock::UnixTime;
use crate::ids::{GroupId, OrgId, UserId};
use crate::store::StoreResult;

pub trait OrgStore {
    /// `Conflict(Unique::Organisation)` when the name is taken (case-insensitively).
    fn create_org(&self, org: &Organisation, name_key: &str) -> StoreResult<()>;
    fn find_org(&self, name_key: &str) -> StoreResult<Option<Organisation>>;
    fn find_org_by_id(&self, id: &OrgId) -> StoreResult<Option<Organisation>>;
    fn list_orgs(&self) -> StoreResult<Vec<Organisation>>;
    /// The organisation's API key policy.
    fn set_org_key_policy(
        &self,
        id: &OrgId,
        max_lifetime: Option<i64>,
        legacy_query: bool,
    ) -> StoreResult<()>;
    /// Whether the organisation requires a second factor of its members.
    fn set_org_require_mfa(&self, id: &OrgId, require: bool) -> StoreResult<()>;
    /// The organisation's session lifetimes (seconds; `None`: the server's), issue #14.
    fn set_org_session_policy(
        &self,
        id: &OrgId,
        idle: Option<i64>,
        absolute: Option<i64>,
    ) -> StoreResult<()>;
}

pub trait UserStore {
    /// Inserts the user in its namespace (`user.home`) and its first membership
    /// ([`NewUser::initial_membership`]: a managed user joins its home organisation), in one
    /// transaction. `Conflict(Username | Email)` when the key is taken in that namespace.
    fn create_user(
        &self,
        user: &NewUser,
        org: Option<(&OrgId, Role)>,
        now: UnixTime,
    ) -> StoreResult<User>;
    /// A server account by username or e-mail key, with the password hash, if any. Managed
    /// accounts sign in through their organisation's SSO and are never found here.
    fn find_user_for_login(&self, login_key: &str) -> StoreResult<Option<(User, Option<String>)>>;
    fn find_user(&self, id: &UserId) -> StoreResult<Option<User>>;
    /// A server account by username key (operator commands).
    fn find_user_by_username(&self, username_key: &str) -> StoreResult<Option<User>>;
    /// The members of `org` (server accounts and the ones it manages) whose e-mail key
    /// ([`crate::accounts::types::Email::key`]) is `email_key`: the candidates for linking an
    /// SSO identity. Server accounts first; at most one of each kind.
    fn find_member_by_email(&self, org: &OrgId, email_key: &str) -> StoreResult<Vec<User>>;
    /// An account managed by `org` by its username key (unprefixed).
    fn find_managed_by_username(
        &self,
        org: &OrgId,
        username_key: &str,
    ) -> StoreResult<Option<User>>;
    fn list_users(&self) -> StoreResult<Vec<User>>;
    fn memberships(&self, user_id: &UserId) -> StoreResult<Vec<Membership>>;
    /// The user's membership of one organisation, if any: the organisation a session, grant or
    /// token acts in counts only while this exists.
    fn membership(&self, user_id: &UserId, org_id: &OrgId) -> StoreResult<Option<Membership>>;
    /// Changes a member's role; `false` when the user is not a member.
    fn set_member_role(&self, org_id: &OrgId, user_id: &UserId, role: Role) -> StoreResult<bool>;
    /// `Conflict(Unique::HomeOrganisation)` for a managed account outside its organisation,
    /// `Conflict(Record)` for a member already, `NotFound` for no such user.
    fn add_membership(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        role: Role,
        now: UnixTime,
    ) -> StoreResult<()>;
    /// Deletes the user, ending everything [`crate::deprovision::disable`] ends (sessions,
    /// grants and their tokens, API keys they created, flows, device authorisations), in one
    /// transaction; `false` if there was no such user. Disabling a user or removing them from
    /// an organisation is the deprovision service's (`crate::deprovision`).
    fn delete_user(&self, user_id: &UserId, now: UnixTime) -> StoreResult<bool>;
    /// Names of the groups the user belongs to in one organisation, sorted (a user in two
    /// organisations never shows one's groups to the other's clients).
    fn user_groups(&self, user_id: &UserId, org_id: &OrgId) -> StoreResult<Vec<String>>;
    /// The organisation's group of this name (case-insensitively), if any.
    fn find_group(&self, org_id: &OrgId, name: &str) -> StoreResult<Option<GroupId>>;
    /// Creates a group in an organisation (`Conflict` if the name is taken there).
    fn create_group(&self, org_id: &OrgId, name: &str, now: UnixTime) -> StoreResult<GroupId>;
    fn add_group_member(&self, group_id: &GroupId, user_id: &UserId) -> StoreResult<()>;
}

/// Failure counters for sign-in throttling, shared by every instance.
/// The outcome of [`ThrottleStore::reserve_attempt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Counted; the number of attempts in the window, this one included.
    Reserved(i32),
    /// Locked (until then), or the attempts are used up while earlier ones are evaluated.
    Refused { locked_until: UnixTime },
}

pub trait ThrottleStore {
    /// Counts one attempt as a failure before it is evaluated (forgetting failures older than
    /// `window_start`), atomically refusing it when the key is locked, or when `max` attempts
    /// are counted and none is the first since a lock ran out.
    fn reserve_attempt(
        &self,
        key: &str,
        now: UnixTime,
        window_start: UnixTime,
        max: i32,
    ) -> StoreResult<Reservation>;
    /// Gives one reserved attempt back (the attempt succeeded).
    fn release_attempt(&self, key: &str) -> StoreResult<()>;
    fn lock_until(&self, key: &str, until: UnixTime) -> StoreResult<()>;
    fn clear_throttle(&self, key: &str) -> StoreResult<()>;
    /// Deletes counters whose last failure is older than `window_start` and hold no lock.
    fn prune_throttle(&self, now: UnixTime, window_start: UnixTime) -> StoreResult<usize>;
}

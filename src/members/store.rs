//! The storage the organisation console's members and invitations need. Implemented over
//! diesel in `crate::store::members`. Every call takes the organisation: another organisation's
//! member or invitation is not found.

use crate::accounts::types::{NewUser, Role, User};
use crate::clock::UnixTime;
use crate::credentials::{Hashed, Kind};
use crate::ids::{OrgId, UserId};
use crate::store::StoreResult;

/// The secret of an invitation link (`/invitation?token=…`): only its SHA-256 is stored.
#[derive(Debug)]
pub enum InvitationLink {}

impl Kind for InvitationLink {
    const NAME: &'static str = "invitation link";
}

pub type PlainInvitation = crate::credentials::Plain<InvitationLink>;
pub type HashedInvitation = Hashed<InvitationLink>;

/// A member as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberInfo {
    pub user: User,
    pub role: Role,
    /// When the membership was made.
    pub joined: UnixTime,
    /// Whether the account has a confirmed TOTP or a passkey.
    pub mfa: bool,
}

/// What [`MemberStore::set_role_keeping_owner`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleChange {
    Changed {
        from: Role,
    },
    Unchanged,
    NotMember,
    /// The user is the organisation's last owner: refused.
    LastOwner,
}

/// What [`MemberStore::reset_mfa`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MfaReset {
    pub totp: bool,
    pub recovery_codes: usize,
    pub passkeys: usize,
}

pub trait MemberStore {
    /// One page of the organisation's members ordered by username: `query` matches the
    /// username, e-mail or name case-insensitively (a bound `LIKE` with its wildcards escaped).
    fn list_members(
        &self,
        org: &OrgId,
        query: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> StoreResult<Vec<MemberInfo>>;
    /// The member `user` of `org`, if it is one.
    fn find_member(&self, org: &OrgId, user: &UserId) -> StoreResult<Option<MemberInfo>>;
    /// Sets the member's role, in one transaction that first locks the organisation's row (so
    /// concurrent owner changes of one organisation queue on PostgreSQL too, and each counts
    /// after the one before committed): a change that would leave the organisation without an
    /// owner is refused.
    fn set_role_keeping_owner(
        &self,
        org: &OrgId,
        user: &UserId,
        role: Role,
    ) -> StoreResult<RoleChange>;
    /// Deletes the user's TOTP enrolment, recovery codes and passkeys, in one transaction.
    fn reset_mfa(&self, user: &UserId) -> StoreResult<MfaReset>;
}

/// A pending invitation (an `email_links` row of kind `invitation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// The row's id: the link's hash (no secret: it cannot be presented as the link).
    pub id: String,
    pub org_id: OrgId,
    pub email: String,
    pub role: Role,
    pub created_by: Option<UserId>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// What accepting an invitation did to the membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Joined {
    Added,
    /// Already a member with a lower role: raised to the invited one.
    Raised {
        from: Role,
    },
    /// Already a member with that role or a higher one: unchanged (an invitation never lowers
    /// a role).
    Unchanged,
}

pub trait InvitationStore {
    /// Stores an invitation in place of the organisation's pending ones for the same address
    /// (case-insensitively); returns how many it replaced.
    fn create_invitation(&self, hash: &HashedInvitation, inv: &Invitation) -> StoreResult<usize>;
    /// The organisation's unused, unexpired invitations, newest first.
    fn pending_invitations(&self, org: &OrgId, now: UnixTime) -> StoreResult<Vec<Invitation>>;
    /// Deletes the organisation's unused invitation `id`; `false` when it has none such.
    fn revoke_invitation(&self, org: &OrgId, id: &str) -> StoreResult<bool>;
    /// The unused, unexpired invitation with this hash.
    fn find_invitation(
        &self,
        hash: &HashedInvitation,
        now: UnixTime,
    ) -> StoreResult<Option<Invitation>>;
    /// In one transaction: uses the invitation (one conditional UPDATE `WHERE used_at IS NULL
    /// AND expires_at > now`, so of two acceptances one wins) and makes `user` a member with its
    /// role (see [`Joined`]). `None` when the link was not usable; `Conflict(HomeOrganisation)`
    /// (nothing used) when the account cannot join this organisation.
    fn accept_invitation(
        &self,
        hash: &HashedInvitation,
        user: &UserId,
        now: UnixTime,
    ) -> StoreResult<Option<(Invitation, Joined)>>;
    /// In one transaction: uses the invitation and creates `user` as a member with its role.
    /// `None` when the link was not usable; a `Conflict` on the username or e-mail uses nothing.
    fn accept_invitation_new_user(
        &self,
        hash: &HashedInvitation,
        user: &NewUser,
        now: UnixTime,
    ) -> StoreResult<Option<(Invitation, User)>>;
}

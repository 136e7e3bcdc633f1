//! The storage the deprovision service needs. Implemented over diesel in `crate::store`.

use serde::Serialize;

use crate::clock::UnixTime;
use crate::ids::{OrgId, UserId};
use crate::store::StoreResult;

/// What one deprovisioning ended, for the audit log and the operator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Ended {
    /// Sessions deleted.
    pub sessions: usize,
    /// Grants (refresh families with their access tokens) revoked.
    pub grants: usize,
    /// API keys the user created, revoked.
    pub api_keys: usize,
    /// Pending sign-in flows of the user, deleted.
    pub flows: usize,
    /// Device authorisations not yet redeemed, denied.
    pub device_codes: usize,
    /// Whether the account was disabled too (a managed account removed from its organisation).
    pub disabled: bool,
}

impl Ended {
    /// The audit event's detail.
    pub fn summary(&self) -> String {
        format!(
            "sessions={} grants={} api_keys={} flows={} device_codes={}{}",
            self.sessions,
            self.grants,
            self.api_keys,
            self.flows,
            self.device_codes,
            if self.disabled { " disabled" } else { "" }
        )
    }
}

pub trait DeprovisionStore {
    /// In one transaction: the membership goes, and with it the user's API keys in `org`, their
    /// grants issued for `org`, their sessions acting in `org` (and the grants bound to those
    /// sessions), their sign-in flows for `org` and their device authorisations for `org`; an
    /// account managed by `org` is disabled as by [`DeprovisionStore::disable_user`]. `None`
    /// when the user was not a member.
    fn remove_from_org(
        &self,
        org: &OrgId,
        user: &UserId,
        now: UnixTime,
    ) -> StoreResult<Option<Ended>>;
    /// In one transaction: the `disabled` flag is set, and every session, grant, API key the
    /// user created, sign-in flow and unredeemed device authorisation of theirs ends.
    /// `NotFound` for no such user.
    fn disable_user(&self, user: &UserId, now: UnixTime) -> StoreResult<Ended>;
    /// Clears the flag only: nothing ended comes back. `NotFound` for no such user.
    fn enable_user(&self, user: &UserId, now: UnixTime) -> StoreResult<()>;
    /// As [`DeprovisionStore::remove_from_org`], in one transaction that first locks the
    /// organisation's row and refuses to remove its last owner (issue #14: the console).
    fn remove_member_keeping_owner(
        &self,
        org: &OrgId,
        user: &UserId,
        now: UnixTime,
    ) -> StoreResult<Removal>;
}

/// What [`DeprovisionStore::remove_member_keeping_owner`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed(Ended),
    NotMember,
    /// The user is the organisation's last owner: nothing changed.
    LastOwner,
}

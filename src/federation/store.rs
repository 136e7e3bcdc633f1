//! The storage federation needs. Implemented over diesel in `crate::store::federation`.
//! Every lookup that an organisation's admin makes takes the organisation.

use crate::clock::UnixTime;
use crate::federation::types::{Connection, ExternalIdentity, OrgDomain, SsoMembership};
use crate::ids::{ConnectionId, OrgId, UserId};
use crate::store::StoreResult;

pub trait ConnectionStore {
    /// `sealed_secret`: the upstream client secret, already sealed.
    fn create_connection(&self, c: &Connection, sealed_secret: Option<&str>) -> StoreResult<()>;
    /// The connection and its sealed secret, whatever organisation it belongs to (sign-in routes
    /// by connection id; the caller checks `enabled`).
    fn find_connection(
        &self,
        id: &ConnectionId,
    ) -> StoreResult<Option<(Connection, Option<String>)>>;
    fn list_connections(&self, org: &OrgId) -> StoreResult<Vec<Connection>>;
    /// `false` when the organisation has no such connection. Disabling also ends, in the same
    /// transaction, the SSO sign-ins (`fed` sessions acting in the organisation, and grants made
    /// on them) of the users linked through it: what the IdP let in ends with its connection.
    fn set_connection_enabled(
        &self,
        org: &OrgId,
        id: &ConnectionId,
        enabled: bool,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// Deletes it and the external identities linked through it, ending their SSO sign-ins as
    /// disabling does; `false` when the organisation has no such connection.
    fn delete_connection(&self, org: &OrgId, id: &ConnectionId, now: UnixTime)
    -> StoreResult<bool>;
}

pub trait DomainStore {
    /// Claims (or re-claims, keeping the challenge) a domain for an organisation, pending.
    fn claim_domain(&self, d: &OrgDomain) -> StoreResult<OrgDomain>;
    /// Marks the organisation's claim verified; `Conflict` when another organisation verified
    /// the domain first; `NotFound` without a claim.
    fn mark_domain_verified(&self, org: &OrgId, domain: &str, now: UnixTime) -> StoreResult<()>;
    /// The organisation that verified the domain, if any.
    fn verified_domain_owner(&self, domain: &str) -> StoreResult<Option<OrgId>>;
    fn list_domains(&self, org: &OrgId) -> StoreResult<Vec<OrgDomain>>;
    fn delete_domain(&self, org: &OrgId, domain: &str) -> StoreResult<bool>;
}

pub trait ExternalIdentityStore {
    /// The user linked to (connection, subject), and records the use.
    fn find_external(
        &self,
        connection: &ConnectionId,
        subject: &str,
        now: UnixTime,
    ) -> StoreResult<Option<UserId>>;
    /// Links; `Conflict` when (connection, subject) is already linked.
    fn link_external(&self, identity: &ExternalIdentity, now: UnixTime) -> StoreResult<()>;
}

/// The organisation groups an identity provider fills (`groups.managed_by` names the
/// connection). Groups created by hand are never touched through this trait.
pub trait ManagedGroupStore {
    /// In one transaction: creates the groups of `names` the organisation lacks (managed by
    /// `connection`), then makes the user's membership of the groups `connection` manages
    /// exactly those of `names`. A group of the same name made by hand (or managed by another
    /// connection) is left alone: an IdP must not grant what an admin grants. Returns the names
    /// the user is now a member of through `connection`.
    fn sync_managed_groups(
        &self,
        org: &OrgId,
        connection: &ConnectionId,
        user: &UserId,
        names: &[String],
        now: UnixTime,
    ) -> StoreResult<Vec<String>>;
}

/// An organisation's requirement of SSO (`organisations.require_sso`).
pub trait SsoPolicyStore {
    /// `false` when there is no such organisation.
    fn set_org_require_sso(&self, org: &OrgId, require: bool) -> StoreResult<bool>;
    fn org_requires_sso(&self, org: &OrgId) -> StoreResult<bool>;
    /// The user's memberships in organisations that require SSO, with the user's role there.
    fn sso_required_memberships(&self, user: &UserId) -> StoreResult<Vec<SsoMembership>>;
}

/// The SAML service provider's record of the assertions it accepted (issue #12), kept until
/// their `NotOnOrAfter` in the database so every instance refuses a replay.
pub trait SamlReplayStore {
    /// Records an accepted assertion id; `false` when it was already recorded (a replay). One
    /// atomic insert: of two concurrent uses of one assertion, on any instances, one wins.
    fn record_assertion(
        &self,
        connection: &ConnectionId,
        assertion_id: &str,
        expires_at: UnixTime,
    ) -> StoreResult<bool>;
    /// Deletes records expired at `now`; returns how many.
    fn prune_assertions(&self, now: UnixTime) -> StoreResult<usize>;
}

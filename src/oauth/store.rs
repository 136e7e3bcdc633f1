//! The storage the OAuth grants need: clients, consents, grants with their codes and tokens, and
//! device codes. Implemented over diesel in `crate::store`.

use crate::accounts::store::{OrgStore, UserStore};
use crate::clock::UnixTime;
use crate::credentials::{
    HashedAccessToken, HashedAuthCode, HashedClientSecret, HashedDeviceCode, HashedRefreshToken,
};
use crate::ids::{ClientId, GrantId, OrgId, UserId};
use crate::mfa::store::FactorStore;
use crate::oauth::types::DeviceCode;
use crate::oauth::types::{
    AccessTokenRecord, AuthCode, Client, ConsentRecord, Grant, RefreshTokenRecord,
};
use crate::scopes::Scopes;
use crate::sessions::store::SessionStore;
use crate::store::StoreResult;

pub trait ClientStore {
    fn create_client(&self, client: &Client) -> StoreResult<()>;
    fn find_client(&self, id: &ClientId) -> StoreResult<Option<Client>>;
    fn list_clients(&self) -> StoreResult<Vec<Client>>;
    /// The clients an organisation registered, oldest first (the console's list).
    fn list_org_clients(&self, org: &OrgId) -> StoreResult<Vec<Client>>;
    /// Writes what an edit changes (name, URIs, grant types, scopes, consent, token format and
    /// lifetime, ID token algorithm, resources) of the client `client.id` owned by
    /// `client.org_id`; `false` when there is no such client of that owner.
    /// With `end_authorizations`, in the same transaction: the client's consents, grants,
    /// codes and tokens end (an edit of where codes go or of what may be asked for).
    fn update_client(&self, client: &Client, end_authorizations: bool) -> StoreResult<bool>;
    /// `false` when there was no such client.
    fn delete_client(&self, id: &ClientId) -> StoreResult<bool>;
    fn set_client_secret(
        &self,
        id: &ClientId,
        secret_hash: &HashedClientSecret,
    ) -> StoreResult<bool>;
}

pub trait ConsentStore {
    fn find_consent(&self, user_id: &UserId, client_id: &ClientId) -> StoreResult<Option<Scopes>>;
    /// Replaces the remembered scopes for this user and client.
    fn save_consent(
        &self,
        user_id: &UserId,
        client_id: &ClientId,
        scope: &Scopes,
        now: UnixTime,
    ) -> StoreResult<()>;
    fn list_consents(&self, user_id: &UserId) -> StoreResult<Vec<ConsentRecord>>;
    /// Forgets the consent and revokes every grant the user gave the client.
    fn revoke_consent(
        &self,
        user_id: &UserId,
        client_id: &ClientId,
        now: UnixTime,
    ) -> StoreResult<()>;
}

/// Grants (token families), authorization codes, access and refresh tokens.
pub trait GrantStore {
    fn create_grant(&self, grant: &Grant) -> StoreResult<()>;
    fn insert_code(&self, code: &AuthCode) -> StoreResult<()>;
    fn find_code(&self, code_hash: &HashedAuthCode) -> StoreResult<Option<AuthCode>>;
    /// Marks the code used; `true` for exactly one caller however many race (single use).
    fn consume_code(&self, code_hash: &HashedAuthCode, now: UnixTime) -> StoreResult<bool>;
    fn find_grant(&self, id: &GrantId) -> StoreResult<Option<Grant>>;
    /// Records use of the grant if it is still live (unrevoked, unexpired): a conditional
    /// update, `false` when it was revoked. Run after minting, so a revocation that raced the
    /// minting is either seen here or, coming later, deletes what was minted.
    fn mark_grant_used(&self, id: &GrantId, now: UnixTime) -> StoreResult<bool>;
    /// Revokes the family: marks the grant and deletes its access and refresh tokens.
    fn revoke_grant(&self, id: &GrantId, now: UnixTime) -> StoreResult<()>;
    fn insert_access_token(&self, token: &AccessTokenRecord) -> StoreResult<()>;
    fn find_access_token(
        &self,
        token_hash: &HashedAccessToken,
    ) -> StoreResult<Option<AccessTokenRecord>>;
    fn delete_access_token(&self, token_hash: &HashedAccessToken) -> StoreResult<()>;
    fn insert_refresh_token(&self, token: &RefreshTokenRecord) -> StoreResult<()>;
    fn find_refresh_token(
        &self,
        token_hash: &HashedRefreshToken,
    ) -> StoreResult<Option<RefreshTokenRecord>>;
    /// Marks the refresh token used; `true` for exactly one caller (rotation).
    fn consume_refresh_token(
        &self,
        token_hash: &HashedRefreshToken,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// Deletes expired codes, access tokens and grants; returns how many rows went.
    fn prune_grants(&self, now: UnixTime) -> StoreResult<usize>;
}

/// RFC 8628 device codes.
pub trait DeviceCodeStore {
    /// `Conflict` if the user code is taken (the caller draws another).
    fn insert_device_code(&self, code: &DeviceCode) -> StoreResult<()>;
    fn find_device_code(
        &self,
        device_code_hash: &HashedDeviceCode,
    ) -> StoreResult<Option<DeviceCode>>;
    fn find_device_code_by_user_code(&self, user_code: &str) -> StoreResult<Option<DeviceCode>>;
    /// Records a poll; returns the interval now in force.
    fn record_device_poll(
        &self,
        device_code_hash: &HashedDeviceCode,
        now: UnixTime,
        interval: i64,
    ) -> StoreResult<()>;
    /// Pending → approved/denied, once.
    #[allow(clippy::too_many_arguments)]
    fn decide_device_code(
        &self,
        user_code: &str,
        approved: bool,
        user_id: &UserId,
        granted_scope: &Scopes,
        auth_time: UnixTime,
        amr: &[String],
        org_id: Option<&OrgId>,
    ) -> StoreResult<bool>;
    /// Approved → consumed; `true` for exactly one caller.
    fn consume_device_code(&self, device_code_hash: &HashedDeviceCode) -> StoreResult<bool>;
    /// How many live (unexpired) pending codes were requested from `client_addr`, and when the
    /// first of them expires.
    fn pending_device_codes(
        &self,
        client_addr: &str,
        now: UnixTime,
    ) -> StoreResult<(i64, Option<UnixTime>)>;
    /// Deletes codes past their expiry, whatever their status; returns how many went.
    fn prune_device_codes(&self, now: UnixTime) -> StoreResult<usize>;
}

/// Everything the OAuth services need from storage (sessions: grants bound to one end with it;
/// factors: a grant must meet its user's organisation MFA requirement).
pub trait OAuthStore:
    ClientStore
    + ConsentStore
    + GrantStore
    + UserStore
    + OrgStore
    + DeviceCodeStore
    + SessionStore
    + FactorStore
{
}
impl<
    T: ClientStore
        + ConsentStore
        + GrantStore
        + UserStore
        + OrgStore
        + DeviceCodeStore
        + SessionStore
        + FactorStore,
> OAuthStore for T
{
}

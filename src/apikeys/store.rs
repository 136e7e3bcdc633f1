//! The storage API keys and applications need. Implemented over diesel in `crate::store`.

use crate::accounts::types::{Organisation, Role};
use crate::apikeys::types::{ApiKey, Application};
use crate::clock::UnixTime;
use crate::credentials::HashedApiKey;
use crate::ids::{ApplicationId, KeyId, OrgId, UserId};
use crate::store::StoreResult;

/// What verifying an API key needs to know, read in one statement.
pub struct KeyLookup {
    pub key: ApiKey,
    /// When the presented secret stops working: `None` for the current secret, the end of
    /// the grace period for one superseded by a rotation.
    pub secret_valid_until: Option<UnixTime>,
    pub org: Organisation,
    /// The creator's role in the key's organisation and whether the creator is disabled;
    /// `None` when the key has no creator or the creator has left the organisation.
    pub creator: Option<(Role, bool)>,
}

pub trait ApiKeyStore {
    /// Inserts the key and the hash of its secret.
    fn insert_api_key(&self, key: &ApiKey, secret_hash: &HashedApiKey) -> StoreResult<()>;
    /// The key whose current (or rotated, still in grace) secret has this hash, with its
    /// organisation and its creator's membership: one indexed lookup.
    fn find_api_key_by_secret(
        &self,
        secret_hash: &HashedApiKey,
        now: UnixTime,
    ) -> StoreResult<Option<KeyLookup>>;
    fn find_api_key(&self, id: &KeyId) -> StoreResult<Option<ApiKey>>;
    /// Unrevoked keys of an organisation (application keys included), newest first.
    fn list_api_keys(&self, org_id: &OrgId) -> StoreResult<Vec<ApiKey>>;
    /// `false` if there was no such unrevoked key.
    fn revoke_api_key(&self, id: &KeyId, now: UnixTime) -> StoreResult<bool>;
    /// Adds a new secret (and its hint) to an unrevoked key; current secrets stay valid until
    /// `grace_until`. Concurrent rotations of one key run one after the other, so exactly one
    /// secret is current afterwards. `false` if the key is revoked or unknown.
    fn rotate_api_key_secret(
        &self,
        id: &KeyId,
        secret_hash: &HashedApiKey,
        hint: &str,
        now: UnixTime,
        grace_until: UnixTime,
    ) -> StoreResult<bool>;
    /// Records last use times gathered in memory.
    fn record_api_key_usage(&self, usage: &[(KeyId, UnixTime)]) -> StoreResult<()>;
    /// Creates the application and its key in one transaction; `Conflict` on a taken name.
    fn create_application(
        &self,
        org_id: &OrgId,
        name: &str,
        scope: &str,
        created_by: Option<&UserId>,
        key: &ApiKey,
        secret_hash: &HashedApiKey,
    ) -> StoreResult<Application>;
    fn find_application(&self, id: ApplicationId) -> StoreResult<Option<Application>>;
    fn list_applications(&self, org_id: &OrgId) -> StoreResult<Vec<Application>>;
    /// Deletes the application and revokes its key.
    fn delete_application(&self, id: ApplicationId, now: UnixTime) -> StoreResult<bool>;
}

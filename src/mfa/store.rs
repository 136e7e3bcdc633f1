//! The storage the factors need. Implemented over diesel in `crate::store`.

use crate::clock::UnixTime;
use crate::ids::UserId;
use crate::mfa::types::{Factors, StoredPasskey};
use crate::store::StoreResult;

pub trait FactorStore {
    /// The user's factors and their organisations' requirement.
    fn factors(&self, user_id: &UserId) -> StoreResult<Factors>;
}

/// Registered passkeys.
pub trait PasskeyStore {
    /// The user's passkeys, oldest first.
    fn passkeys_of(&self, user_id: &UserId) -> StoreResult<Vec<StoredPasskey>>;
    /// The passkey with this credential id, whoever's it is.
    fn passkey_by_credential(&self, credential_id: &str) -> StoreResult<Option<StoredPasskey>>;
    /// Stores a new passkey; a credential id already registered (to anyone) is a `Conflict`.
    fn insert_passkey(&self, passkey: &StoredPasskey) -> StoreResult<()>;
    /// Records a sign-in with the passkey `id`: its new `credential` and `sign_count`, used `at`.
    /// A conditional update (WebAuthn L2 §7.2 step 21): it happens only when `sign_count` is
    /// above the stored counter, or both are 0 (authenticators without a counter), so two
    /// concurrent sign-ins can never roll the counter back. `false` when refused.
    fn use_passkey(
        &self,
        id: &str,
        credential: &str,
        sign_count: i64,
        at: UnixTime,
    ) -> StoreResult<bool>;
    /// Renames the user's passkey `id`; `false` when the user has no such passkey.
    fn rename_passkey(&self, user_id: &UserId, id: &str, name: &str) -> StoreResult<bool>;
    /// Deletes the user's passkey `id`; `false` when the user has no such passkey.
    fn delete_passkey(&self, user_id: &UserId, id: &str) -> StoreResult<bool>;
}

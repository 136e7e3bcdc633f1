//! The storage the factors need. Implemented over diesel in `crate::store`.

use crate::clock::UnixTime;
use crate::credentials::HashedRecoveryCode;
use crate::ids::UserId;
use crate::mfa::types::{Factors, StoredPasskey};
use crate::store::StoreResult;

pub trait FactorStore {
    /// The user's factors and their organisations' requirement.
    fn factors(&self, user_id: &UserId) -> StoreResult<Factors>;
    /// Only whether an organisation of the user requires a second factor (one query): what
    /// every use of a grant checks ([`crate::oauth::grants::ensure_live`]).
    fn org_requires_mfa(&self, user_id: &UserId) -> StoreResult<bool>;
}

/// A user's TOTP enrolment as stored: the seed sealed under [`totp_row_id`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpCredential {
    pub user_id: UserId,
    /// The seed, sealed with the server's secret box.
    pub sealed_seed: String,
    /// Confirmed with a code: only then is it asked for at sign-in.
    pub confirmed: bool,
    /// The newest time step accepted: that step and older ones are refused.
    pub last_step: Option<i64>,
    pub created_at: UnixTime,
    pub confirmed_at: Option<UnixTime>,
}

/// The row id a user's TOTP seed is sealed under (the associated data of its encryption, so
/// a sealed seed copied to another user's row does not open).
pub fn totp_row_id(user_id: &UserId) -> String {
    format!("totp:{user_id}")
}

pub trait TotpStore {
    fn find_totp(&self, user_id: &UserId) -> StoreResult<Option<TotpCredential>>;
    /// Stores a new, unconfirmed enrolment in place of an unconfirmed one. A confirmed
    /// enrolment stays: `Err(Conflict)` (it must be turned off first).
    fn begin_totp(&self, credential: &TotpCredential) -> StoreResult<()>;
    /// Confirms the user's pending enrolment with the code of `step`, which is then used:
    /// one conditional UPDATE (`confirmed` false, `last_step` NULL or older), so of two
    /// confirmations with the same code one wins. `false` when none was made.
    fn confirm_totp(&self, user_id: &UserId, step: i64, now: UnixTime) -> StoreResult<bool>;
    /// Accepts the code of `step` for the user's confirmed enrolment: one conditional UPDATE
    /// (`last_step` NULL or older than `step`), so a step, once accepted, and every older one
    /// are refused afterwards, on every instance and under a race. `false` when refused.
    fn accept_totp_step(&self, user_id: &UserId, step: i64) -> StoreResult<bool>;
    /// Deletes the user's enrolment and recovery codes; `false` when there was none.
    fn delete_totp(&self, user_id: &UserId) -> StoreResult<bool>;
}

pub trait RecoveryStore {
    /// Replaces the user's recovery codes with these (all in one transaction).
    fn replace_recovery_codes(
        &self,
        user_id: &UserId,
        hashes: &[HashedRecoveryCode],
        now: UnixTime,
    ) -> StoreResult<()>;
    /// Uses the user's unused code with this hash: `UPDATE .. WHERE used_at IS NULL`, so of two
    /// concurrent uses one wins. `false` when there is no such unused code.
    fn use_recovery_code(
        &self,
        user_id: &UserId,
        hash: &HashedRecoveryCode,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// How many of the user's codes are still unused.
    fn unused_recovery_codes(&self, user_id: &UserId) -> StoreResult<i64>;
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

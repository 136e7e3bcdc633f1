//! The storage the factors need. Implemented over diesel in `crate::store`.

use crate::ids::UserId;
use crate::mfa::types::Factors;
use crate::store::StoreResult;

pub trait FactorStore {
    /// The user's factors and their organisations' requirement.
    fn factors(&self, user_id: &UserId) -> StoreResult<Factors>;
    /// Only whether an organisation of the user requires a second factor (one query): what
    /// every use of a grant checks ([`crate::oauth::grants::ensure_live`]).
    fn org_requires_mfa(&self, user_id: &UserId) -> StoreResult<bool>;
}

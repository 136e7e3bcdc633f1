//! The storage the factors need. Implemented over diesel in `crate::store`.

use crate::ids::UserId;
use crate::mfa::types::Factors;
use crate::store::StoreResult;

pub trait FactorStore {
    /// The user's factors and their organisations' requirement.
    fn factors(&self, user_id: &UserId) -> StoreResult<Factors>;
}

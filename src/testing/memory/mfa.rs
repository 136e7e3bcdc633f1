//! `MemoryStore` as the store of factors: set with [`MemoryStore::set_factors`].

use super::*;
use crate::mfa::store::FactorStore;
use crate::mfa::types::Factors;

impl MemoryStore {
    /// Gives the user these factors (`org_requires_mfa` is taken from the organisations).
    pub fn set_factors(&self, user_id: &UserId, factors: Factors) {
        self.t().factors.insert(user_id.clone(), factors);
    }
}

impl FactorStore for MemoryStore {
    fn factors(&self, user_id: &UserId) -> StoreResult<Factors> {
        let t = self.t();
        let mut factors = t.factors.get(user_id).copied().unwrap_or_default();
        factors.passkeys |= t.passkeys.iter().any(|p| &p.user_id == user_id);
        factors.org_requires_mfa = t.memberships.iter().any(|(org, user, _)| {
            user == user_id && t.orgs.get(org).is_some_and(|(o, _)| o.require_mfa)
        });
        Ok(factors)
    }
}

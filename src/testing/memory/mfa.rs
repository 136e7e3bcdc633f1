//! `MemoryStore` as the store of factors: set with [`MemoryStore::set_factors`], or a
//! confirmed TOTP enrolment.

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
        factors.totp |= t.totp.get(user_id).is_some_and(|c| c.confirmed);
        factors.passkeys |= t.passkeys.iter().any(|p| &p.user_id == user_id);
        drop(t);
        factors.org_requires_mfa = self.org_requires_mfa(user_id)?;
        Ok(factors)
    }

    fn org_requires_mfa(&self, user_id: &UserId) -> StoreResult<bool> {
        let t = self.t();
        Ok(t.memberships.iter().any(|(org, user, _)| {
            user == user_id && t.orgs.get(org).is_some_and(|(o, _)| o.require_mfa)
        }))
    }
}

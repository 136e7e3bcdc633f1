use super::MemoryStore;
use crate::federation::store::SsoPolicyStore;
use crate::federation::types::SsoMembership;
use crate::ids::{OrgId, UserId};
use crate::store::StoreResult;

impl SsoPolicyStore for MemoryStore {
    fn set_org_require_sso(&self, org: &OrgId, require: bool) -> StoreResult<bool> {
        let mut t = self.t();
        let Some((o, _)) = t.orgs.get_mut(org) else {
            return Ok(false);
        };
        o.require_sso = require;
        if require {
            t.sso_required.insert(org.clone());
        } else {
            t.sso_required.remove(org);
        }
        Ok(true)
    }

    fn org_requires_sso(&self, org: &OrgId) -> StoreResult<bool> {
        Ok(self.t().sso_required.contains(org))
    }

    fn sso_required_memberships(&self, user: &UserId) -> StoreResult<Vec<SsoMembership>> {
        let t = self.t();
        let mut out: Vec<SsoMembership> = t
            .memberships
            .iter()
            .filter(|(org, u, _)| u == user && t.sso_required.contains(org))
            .map(|(org, _, role)| SsoMembership {
                org_id: org.clone(),
                org_name: t
                    .orgs
                    .get(org)
                    .map(|(o, _)| o.name.clone())
                    .unwrap_or_default(),
                role: *role,
            })
            .collect();
        out.sort_by(|a, b| a.org_name.cmp(&b.org_name));
        Ok(out)
    }
}

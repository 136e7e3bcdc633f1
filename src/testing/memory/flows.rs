//! `MemoryStore` as the store of pending sign-ins.

use super::*;
use crate::credentials::HashedFlowId;
use crate::flows::store::FlowStore;
use crate::flows::types::Flow;

impl FlowStore for MemoryStore {
    fn insert_flow(&self, flow: &Flow) -> StoreResult<()> {
        self.t().flows.insert(flow.id_hash.clone(), flow.clone());
        Ok(())
    }

    fn find_flow(&self, id_hash: &HashedFlowId) -> StoreResult<Option<Flow>> {
        Ok(self.t().flows.get(id_hash).cloned())
    }

    fn update_flow(&self, flow: &Flow) -> StoreResult<()> {
        if let Some(f) = self.t().flows.get_mut(&flow.id_hash) {
            f.user_id = flow.user_id.clone();
            f.methods = flow.methods.clone();
            f.ceremony = flow.ceremony.clone();
        }
        Ok(())
    }

    fn clear_ceremony(&self, id_hash: &HashedFlowId, ceremony: &str) -> StoreResult<bool> {
        match self.t().flows.get_mut(id_hash) {
            Some(f) if f.ceremony.as_deref() == Some(ceremony) => {
                f.ceremony = None;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn add_attempt(&self, id_hash: &HashedFlowId) -> StoreResult<()> {
        if let Some(f) = self.t().flows.get_mut(id_hash) {
            f.attempts += 1;
        }
        Ok(())
    }

    fn take_flow(&self, id_hash: &HashedFlowId) -> StoreResult<Option<Flow>> {
        Ok(self.t().flows.remove(id_hash))
    }

    fn trim_flows(&self, client_addr: &str, keep: usize) -> StoreResult<usize> {
        let mut t = self.t();
        let mut from: Vec<(UnixTime, HashedFlowId)> = t
            .flows
            .values()
            .filter(|f| f.client_addr.as_deref() == Some(client_addr))
            .map(|f| (f.created_at, f.id_hash.clone()))
            .collect();
        from.sort_by_key(|f| std::cmp::Reverse(f.0));
        let evicted: Vec<HashedFlowId> = from.into_iter().skip(keep).map(|(_, h)| h).collect();
        for h in &evicted {
            t.flows.remove(h);
        }
        Ok(evicted.len())
    }

    fn prune_flows(&self, now: UnixTime) -> StoreResult<usize> {
        let mut t = self.t();
        let before = t.flows.len();
        t.flows.retain(|_, f| f.expires_at > now);
        Ok(before - t.flows.len())
    }
}

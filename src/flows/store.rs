//! The storage pending sign-ins need. Implemented over diesel in `crate::store`.

use crate::clock::UnixTime;
use crate::credentials::HashedFlowId;
use crate::flows::types::Flow;
use crate::store::StoreResult;

pub trait FlowStore {
    fn insert_flow(&self, flow: &Flow) -> StoreResult<()>;
    /// The flow with this hash, expired or not (expiry is the caller's rule).
    fn find_flow(&self, id_hash: &HashedFlowId) -> StoreResult<Option<Flow>>;
    /// Writes the flow's user, methods and ceremony state (attempts only ever grow, by
    /// [`add_attempt`](Self::add_attempt)); a no-op when it is gone.
    fn update_flow(&self, flow: &Flow) -> StoreResult<()>;
    /// Clears the flow's ceremony state if it still is `ceremony`: of two concurrent checks of
    /// one challenge (on any instances), one gets `true`. What makes a challenge single use.
    fn clear_ceremony(&self, id_hash: &HashedFlowId, ceremony: &str) -> StoreResult<bool>;
    /// Counts one failed attempt in the flow, atomically (`attempts = attempts + 1`), so
    /// concurrent failures all count and never overwrite what a concurrent success recorded.
    fn add_attempt(&self, id_hash: &HashedFlowId) -> StoreResult<()>;
    /// Deletes the flow and returns it, if it existed: of two concurrent takes, one wins.
    fn take_flow(&self, id_hash: &HashedFlowId) -> StoreResult<Option<Flow>>;
    /// Deletes the flows begun from `client_addr` but the newest `keep`; returns how many went.
    fn trim_flows(&self, client_addr: &str, keep: usize) -> StoreResult<usize>;
    /// Deletes flows expired at `now`; returns how many.
    fn prune_flows(&self, now: UnixTime) -> StoreResult<usize>;
}

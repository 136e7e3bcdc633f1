//! The storage of signing keys (sealed private parts). Implemented over diesel in `crate::store`.

use crate::clock::UnixTime;
use crate::signing::{SigningAlg, StoredKey};
use crate::store::StoreResult;

pub trait SigningKeyStore {
    fn list_signing_keys(&self) -> StoreResult<Vec<StoredKey>>;
    /// Inserts `key` and retires the other current keys of its algorithm, in one transaction.
    fn rotate_signing_key(&self, key: &StoredKey, published_until: UnixTime) -> StoreResult<()>;
    fn count_signing_keys(&self, alg: SigningAlg) -> StoreResult<i64>;
}

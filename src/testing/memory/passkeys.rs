//! `MemoryStore` as the store of passkeys.

use super::*;
use crate::mfa::store::PasskeyStore;
use crate::mfa::types::StoredPasskey;

impl PasskeyStore for MemoryStore {
    fn passkeys_of(&self, user_id: &UserId) -> StoreResult<Vec<StoredPasskey>> {
        Ok(self
            .t()
            .passkeys
            .iter()
            .filter(|p| &p.user_id == user_id)
            .cloned()
            .collect())
    }

    fn passkey_by_credential(&self, credential_id: &str) -> StoreResult<Option<StoredPasskey>> {
        Ok(self
            .t()
            .passkeys
            .iter()
            .find(|p| p.credential_id == credential_id)
            .cloned())
    }

    fn insert_passkey(&self, passkey: &StoredPasskey) -> StoreResult<()> {
        let mut t = self.t();
        if t.passkeys
            .iter()
            .any(|p| p.id == passkey.id || p.credential_id == passkey.credential_id)
        {
            return Err(StoreError::Conflict(Unique::Record));
        }
        t.passkeys.push(passkey.clone());
        Ok(())
    }

    fn use_passkey(
        &self,
        id: &str,
        credential: &str,
        sign_count: i64,
        at: UnixTime,
    ) -> StoreResult<bool> {
        let mut t = self.t();
        match t.passkeys.iter_mut().find(|p| p.id == id) {
            Some(p) if p.sign_count < sign_count || (p.sign_count == 0 && sign_count == 0) => {
                p.credential = credential.to_owned();
                p.sign_count = sign_count;
                p.last_used_at = Some(at);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn rename_passkey(&self, user_id: &UserId, id: &str, name: &str) -> StoreResult<bool> {
        let mut t = self.t();
        match t
            .passkeys
            .iter_mut()
            .find(|p| p.id == id && &p.user_id == user_id)
        {
            Some(p) => {
                p.name = name.to_owned();
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn delete_passkey(&self, user_id: &UserId, id: &str) -> StoreResult<bool> {
        let mut t = self.t();
        let before = t.passkeys.len();
        t.passkeys
            .retain(|p| !(p.id == id && &p.user_id == user_id));
        Ok(t.passkeys.len() < before)
    }
}

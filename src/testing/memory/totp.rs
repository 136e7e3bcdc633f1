//! `MemoryStore` as the store of TOTP enrolments and recovery codes.

use super::*;
use crate::credentials::HashedRecoveryCode;
use crate::mfa::store::{RecoveryStore, TotpCredential, TotpStore};

/// A row of `recovery_codes`.
pub(super) struct RecoveryRow {
    hash: HashedRecoveryCode,
    user_id: UserId,
    used_at: Option<UnixTime>,
}

impl TotpStore for MemoryStore {
    fn find_totp(&self, user_id: &UserId) -> StoreResult<Option<TotpCredential>> {
        Ok(self.t().totp.get(user_id).cloned())
    }

    fn begin_totp(&self, credential: &TotpCredential) -> StoreResult<()> {
        let mut t = self.t();
        if t.totp.get(&credential.user_id).is_some_and(|c| c.confirmed) {
            return Err(StoreError::Conflict(Unique::Record));
        }
        let mut pending = credential.clone();
        pending.confirmed = false;
        pending.last_step = None;
        pending.confirmed_at = None;
        t.totp.insert(credential.user_id.clone(), pending);
        Ok(())
    }

    fn confirm_totp(&self, user_id: &UserId, step: i64, now: UnixTime) -> StoreResult<bool> {
        let mut t = self.t();
        match t.totp.get_mut(user_id) {
            Some(c) if !c.confirmed && c.last_step.is_none_or(|l| l < step) => {
                c.confirmed = true;
                c.confirmed_at = Some(now);
                c.last_step = Some(step);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn accept_totp_step(&self, user_id: &UserId, step: i64) -> StoreResult<bool> {
        let mut t = self.t();
        match t.totp.get_mut(user_id) {
            Some(c) if c.confirmed && c.last_step.is_none_or(|l| l < step) => {
                c.last_step = Some(step);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn delete_totp(&self, user_id: &UserId) -> StoreResult<bool> {
        let mut t = self.t();
        t.recovery_codes.retain(|r| &r.user_id != user_id);
        Ok(t.totp.remove(user_id).is_some())
    }
}

impl RecoveryStore for MemoryStore {
    fn replace_recovery_codes(
        &self,
        user_id: &UserId,
        hashes: &[HashedRecoveryCode],
        _now: UnixTime,
    ) -> StoreResult<()> {
        let mut t = self.t();
        t.recovery_codes.retain(|r| &r.user_id != user_id);
        t.recovery_codes.extend(hashes.iter().map(|h| RecoveryRow {
            hash: h.clone(),
            user_id: user_id.clone(),
            used_at: None,
        }));
        Ok(())
    }

    fn use_recovery_code(
        &self,
        user_id: &UserId,
        hash: &HashedRecoveryCode,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let mut t = self.t();
        match t
            .recovery_codes
            .iter_mut()
            .find(|r| &r.hash == hash && &r.user_id == user_id && r.used_at.is_none())
        {
            Some(r) => {
                r.used_at = Some(now);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn unused_recovery_codes(&self, user_id: &UserId) -> StoreResult<i64> {
        Ok(self
            .t()
            .recovery_codes
            .iter()
            .filter(|r| &r.user_id == user_id && r.used_at.is_none())
            .count() as i64)
    }
}

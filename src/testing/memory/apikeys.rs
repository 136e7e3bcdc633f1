//! `MemoryStore` as the store of API keys and applications.

use super::*;

impl ApiKeyStore for MemoryStore {
    fn insert_api_key(&self, key: &ApiKey, secret_hash: &HashedApiKey) -> StoreResult<()> {
        let mut t = self.t();
        t.api_keys.insert(key.id.clone(), key.clone());
        t.key_secrets.push(KeySecret {
            hash: secret_hash.clone(),
            key_id: key.id.clone(),
            valid_until: None,
        });
        Ok(())
    }

    fn find_api_key_by_secret(
        &self,
        secret_hash: &HashedApiKey,
        now: UnixTime,
    ) -> StoreResult<Option<KeyLookup>> {
        let t = self.t();
        let Some(secret) = t
            .key_secrets
            .iter()
            .find(|s| s.hash == *secret_hash && s.valid_until.is_none_or(|v| v > now))
        else {
            return Ok(None);
        };
        let Some(key) = t.api_keys.get(&secret.key_id) else {
            return Ok(None);
        };
        let Some((org, _)) = t.orgs.get(&key.org_id) else {
            return Ok(None);
        };
        let creator = key.owner.user_id().and_then(|user_id| {
            let (_, _, role) = t
                .memberships
                .iter()
                .find(|(o, u, _)| *o == key.org_id && u == user_id)?;
            let disabled = t.users.get(user_id).is_none_or(|(u, _)| u.disabled);
            Some((*role, disabled))
        });
        Ok(Some(KeyLookup {
            key: key.clone(),
            secret_valid_until: secret.valid_until,
            org: org.clone(),
            creator,
        }))
    }

    fn find_api_key(&self, id: &KeyId) -> StoreResult<Option<ApiKey>> {
        Ok(self.t().api_keys.get(id).cloned())
    }

    fn list_api_keys(&self, org_id: &OrgId) -> StoreResult<Vec<ApiKey>> {
        let mut keys: Vec<ApiKey> = self
            .t()
            .api_keys
            .values()
            .filter(|k| k.org_id == *org_id && k.revoked_at.is_none())
            .cloned()
            .collect();
        keys.sort_by_key(|k| std::cmp::Reverse(k.created_at));
        Ok(keys)
    }

    fn revoke_api_key(&self, id: &KeyId, now: UnixTime) -> StoreResult<bool> {
        let mut t = self.t();
        let revoked = match t.api_keys.get_mut(id) {
            Some(k) if k.revoked_at.is_none() => {
                k.revoked_at = Some(now);
                true
            }
            _ => false,
        };
        t.key_secrets.retain(|s| s.key_id != *id);
        Ok(revoked)
    }

    fn rotate_api_key_secret(
        &self,
        id: &KeyId,
        secret_hash: &HashedApiKey,
        hint: &str,
        now: UnixTime,
        grace_until: UnixTime,
    ) -> StoreResult<bool> {
        let mut t = self.t();
        match t.api_keys.get_mut(id) {
            Some(k) if k.revoked_at.is_none() => k.hint = hint.to_owned(),
            _ => return Ok(false),
        }
        for s in t.key_secrets.iter_mut().filter(|s| s.key_id == *id) {
            if s.valid_until.is_none_or(|v| v > grace_until) {
                s.valid_until = Some(grace_until);
            }
        }
        t.key_secrets
            .retain(|s| !(s.key_id == *id && s.valid_until.is_some_and(|v| v <= now)));
        t.key_secrets.push(KeySecret {
            hash: secret_hash.clone(),
            key_id: id.clone(),
            valid_until: None,
        });
        Ok(true)
    }

    fn record_api_key_usage(&self, usage: &[(KeyId, UnixTime)]) -> StoreResult<()> {
        let mut t = self.t();
        for (id, at) in usage {
            if let Some(k) = t.api_keys.get_mut(id) {
                k.last_used_at = Some(*at);
            }
        }
        Ok(())
    }

    fn create_application(
        &self,
        org_id: &OrgId,
        name: &str,
        scope: &str,
        _created_by: Option<&UserId>,
        key: &ApiKey,
        secret_hash: &HashedApiKey,
    ) -> StoreResult<Application> {
        let app = {
            let mut t = self.t();
            if t.applications
                .iter()
                .any(|a| a.org_id == *org_id && a.name == name)
            {
                return Err(StoreError::Conflict(Unique::Application));
            }
            let app = Application {
                id: ApplicationId::new(
                    t.applications.iter().map(|a| a.id.get()).max().unwrap_or(0) + 1,
                ),
                org_id: org_id.clone(),
                name: name.to_owned(),
                scope: scope.to_owned(),
                created_at: key.created_at,
            };
            t.applications.push(app.clone());
            app
        };
        let key = ApiKey {
            owner: KeyOwner::Application(app.id),
            ..key.clone()
        };
        self.insert_api_key(&key, secret_hash)?;
        Ok(app)
    }

    fn find_application(&self, id: ApplicationId) -> StoreResult<Option<Application>> {
        Ok(self.t().applications.iter().find(|a| a.id == id).cloned())
    }

    fn list_applications(&self, org_id: &OrgId) -> StoreResult<Vec<Application>> {
        Ok(self
            .t()
            .applications
            .iter()
            .filter(|a| a.org_id == *org_id)
            .cloned()
            .collect())
    }

    fn delete_application(&self, id: ApplicationId, now: UnixTime) -> StoreResult<bool> {
        let mut t = self.t();
        let mut keys = Vec::new();
        for k in t.api_keys.values_mut() {
            if k.owner == KeyOwner::Application(id) {
                k.revoked_at = Some(now);
                k.owner = KeyOwner::Orphaned;
                keys.push(k.id.clone());
            }
        }
        t.key_secrets.retain(|s| !keys.contains(&s.key_id));
        let before = t.applications.len();
        t.applications.retain(|a| a.id != id);
        Ok(t.applications.len() < before)
    }
}

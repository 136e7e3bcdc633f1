//! `MemoryStore` as the store of clients, consents, grants and device codes.

use super::*;

impl ClientStore for MemoryStore {
    fn create_client(&self, client: &Client) -> StoreResult<()> {
        let mut t = self.t();
        if t.clients.contains_key(&client.id) {
            return Err(StoreError::Conflict(Unique::Record));
        }
        t.clients.insert(client.id.clone(), client.clone());
        Ok(())
    }

    fn find_client(&self, id: &ClientId) -> StoreResult<Option<Client>> {
        Ok(self.t().clients.get(id).cloned())
    }

    fn list_clients(&self) -> StoreResult<Vec<Client>> {
        let mut clients: Vec<Client> = self.t().clients.values().cloned().collect();
        clients.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(clients)
    }

    fn list_org_clients(&self, org: &OrgId) -> StoreResult<Vec<Client>> {
        let mut clients: Vec<Client> = self
            .t()
            .clients
            .values()
            .filter(|c| c.org_id.as_ref() == Some(org))
            .cloned()
            .collect();
        clients.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(clients)
    }

    fn update_client(&self, client: &Client, end_authorizations: bool) -> StoreResult<bool> {
        let mut t = self.t();
        if end_authorizations && t.clients.contains_key(&client.id) {
            t.consents.retain(|(_, c), _| c != &client.id);
            t.grants.retain(|_, g| g.client_id != client.id);
        }
        Ok(match t.clients.get_mut(&client.id) {
            Some(c) if c.org_id == client.org_id => {
                *c = Client {
                    secret_hash: c.secret_hash.clone(),
                    created_at: c.created_at,
                    refresh_idle_ttl: c.refresh_idle_ttl,
                    refresh_absolute_ttl: c.refresh_absolute_ttl,
                    ..client.clone()
                };
                true
            }
            _ => false,
        })
    }

    fn delete_client(&self, id: &ClientId) -> StoreResult<bool> {
        Ok(self.t().clients.remove(id).is_some())
    }

    fn set_client_secret(
        &self,
        id: &ClientId,
        secret_hash: &HashedClientSecret,
    ) -> StoreResult<bool> {
        Ok(match self.t().clients.get_mut(id) {
            Some(c) => {
                c.secret_hash = Some(secret_hash.clone());
                true
            }
            None => false,
        })
    }
}

impl ConsentStore for MemoryStore {
    fn find_consent(&self, user_id: &UserId, client_id: &ClientId) -> StoreResult<Option<Scopes>> {
        Ok(self
            .t()
            .consents
            .get(&(user_id.clone(), client_id.clone()))
            .map(|(scope, _)| scope.clone()))
    }

    fn save_consent(
        &self,
        user_id: &UserId,
        client_id: &ClientId,
        scope: &Scopes,
        now: UnixTime,
    ) -> StoreResult<()> {
        self.t()
            .consents
            .insert((user_id.clone(), client_id.clone()), (scope.clone(), now));
        Ok(())
    }

    fn list_consents(&self, user_id: &UserId) -> StoreResult<Vec<ConsentRecord>> {
        let t = self.t();
        let mut found: Vec<ConsentRecord> = t
            .consents
            .iter()
            .filter(|((user, _), _)| user == user_id)
            .filter_map(|((_, client_id), (scope, at))| {
                Some(ConsentRecord {
                    client_id: client_id.clone(),
                    client_name: t.clients.get(client_id)?.name.clone(),
                    scope: scope.clone(),
                    created_at: *at,
                })
            })
            .collect();
        found.sort_by(|a, b| a.client_name.cmp(&b.client_name));
        Ok(found)
    }

    fn revoke_consent(
        &self,
        user_id: &UserId,
        client_id: &ClientId,
        now: UnixTime,
    ) -> StoreResult<()> {
        let mut t = self.t();
        t.consents.remove(&(user_id.clone(), client_id.clone()));
        let grants: Vec<GrantId> = t
            .grants
            .values()
            .filter(|g| {
                g.user_id.as_ref() == Some(user_id)
                    && g.client_id == *client_id
                    && g.revoked_at.is_none()
            })
            .map(|g| g.id.clone())
            .collect();
        t.revoke_grants(&grants, now);
        Ok(())
    }
}

impl GrantStore for MemoryStore {
    fn create_grant(&self, grant: &Grant) -> StoreResult<()> {
        self.t().grants.insert(grant.id.clone(), grant.clone());
        Ok(())
    }

    fn insert_code(&self, code: &AuthCode) -> StoreResult<()> {
        self.t().codes.insert(code.code_hash.clone(), code.clone());
        Ok(())
    }

    fn find_code(&self, code_hash: &HashedAuthCode) -> StoreResult<Option<AuthCode>> {
        Ok(self.t().codes.get(code_hash).cloned())
    }

    fn consume_code(&self, code_hash: &HashedAuthCode, now: UnixTime) -> StoreResult<bool> {
        Ok(match self.t().codes.get_mut(code_hash) {
            Some(c) if c.used_at.is_none() => {
                c.used_at = Some(now);
                true
            }
            _ => false,
        })
    }

    fn find_grant(&self, id: &GrantId) -> StoreResult<Option<Grant>> {
        Ok(self.t().grants.get(id).cloned())
    }

    fn mark_grant_used(&self, id: &GrantId, now: UnixTime) -> StoreResult<bool> {
        Ok(match self.t().grants.get_mut(id) {
            Some(g) if g.revoked_at.is_none() && g.expires_at > now => {
                g.last_used_at = now;
                true
            }
            _ => false,
        })
    }

    fn revoke_grant(&self, id: &GrantId, now: UnixTime) -> StoreResult<()> {
        self.t().revoke_grants(std::slice::from_ref(id), now);
        Ok(())
    }

    fn insert_access_token(&self, token: &AccessTokenRecord) -> StoreResult<()> {
        self.t()
            .access_tokens
            .insert(token.token_hash.clone(), token.clone());
        Ok(())
    }

    fn find_access_token(
        &self,
        token_hash: &HashedAccessToken,
    ) -> StoreResult<Option<AccessTokenRecord>> {
        Ok(self.t().access_tokens.get(token_hash).cloned())
    }

    fn delete_access_token(&self, token_hash: &HashedAccessToken) -> StoreResult<()> {
        self.t().access_tokens.remove(token_hash);
        Ok(())
    }

    fn insert_refresh_token(&self, token: &RefreshTokenRecord) -> StoreResult<()> {
        self.t()
            .refresh_tokens
            .insert(token.token_hash.clone(), token.clone());
        Ok(())
    }

    fn find_refresh_token(
        &self,
        token_hash: &HashedRefreshToken,
    ) -> StoreResult<Option<RefreshTokenRecord>> {
        Ok(self.t().refresh_tokens.get(token_hash).cloned())
    }

    fn consume_refresh_token(
        &self,
        token_hash: &HashedRefreshToken,
        now: UnixTime,
    ) -> StoreResult<bool> {
        Ok(match self.t().refresh_tokens.get_mut(token_hash) {
            Some(r) if r.used_at.is_none() => {
                r.used_at = Some(now);
                true
            }
            _ => false,
        })
    }

    fn prune_grants(&self, _now: UnixTime) -> StoreResult<usize> {
        not_in_the_fake()
    }
}

/// The device flow has no unit tests yet (its rules are covered end to end in `tests/`).
impl DeviceCodeStore for MemoryStore {
    fn insert_device_code(&self, _code: &DeviceCode) -> StoreResult<()> {
        not_in_the_fake()
    }

    fn find_device_code(
        &self,
        _device_code_hash: &HashedDeviceCode,
    ) -> StoreResult<Option<DeviceCode>> {
        not_in_the_fake()
    }

    fn find_device_code_by_user_code(&self, _user_code: &str) -> StoreResult<Option<DeviceCode>> {
        not_in_the_fake()
    }

    fn record_device_poll(
        &self,
        _device_code_hash: &HashedDeviceCode,
        _now: UnixTime,
        _interval: i64,
    ) -> StoreResult<()> {
        not_in_the_fake()
    }

    fn decide_device_code(
        &self,
        _user_code: &str,
        _approved: bool,
        _user_id: &UserId,
        _granted_scope: &Scopes,
        _auth_time: UnixTime,
        _amr: &[String],
        _org_id: Option<&OrgId>,
    ) -> StoreResult<bool> {
        not_in_the_fake()
    }

    fn consume_device_code(&self, _device_code_hash: &HashedDeviceCode) -> StoreResult<bool> {
        not_in_the_fake()
    }

    fn pending_device_codes(
        &self,
        _client_addr: &str,
        _now: UnixTime,
    ) -> StoreResult<(i64, Option<UnixTime>)> {
        not_in_the_fake()
    }

    fn prune_device_codes(&self, _now: UnixTime) -> StoreResult<usize> {
        not_in_the_fake()
    }
}

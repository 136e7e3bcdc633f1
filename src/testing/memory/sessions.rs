//! `MemoryStore` as the store of sessions and the audit log.

use super::*;

impl SessionStore for MemoryStore {
    fn insert_session(&self, session: &SessionRecord) -> StoreResult<()> {
        self.t()
            .sessions
            .insert(session.id_hash.clone(), session.clone());
        Ok(())
    }

    fn find_session(&self, id_hash: &HashedSessionId) -> StoreResult<Option<CurrentSession>> {
        let t = self.t();
        Ok(t.sessions.get(id_hash).and_then(|s| t.current_session(s)))
    }

    fn find_session_by_sid(&self, sid: &Sid) -> StoreResult<Option<CurrentSession>> {
        let t = self.t();
        Ok(t.sessions
            .values()
            .find(|s| s.sid == *sid)
            .and_then(|s| t.current_session(s)))
    }

    fn set_session_org(&self, id_hash: &HashedSessionId, org: Option<&OrgId>) -> StoreResult<bool> {
        Ok(match self.t().sessions.get_mut(id_hash) {
            Some(s) => {
                s.org_id = org.cloned();
                true
            }
            None => false,
        })
    }

    fn touch_session(&self, id_hash: &HashedSessionId, now: UnixTime) -> StoreResult<()> {
        if let Some(s) = self.t().sessions.get_mut(id_hash) {
            s.last_seen_at = now;
        }
        Ok(())
    }

    fn delete_session(
        &self,
        id_hash: &HashedSessionId,
        now: UnixTime,
    ) -> StoreResult<Option<SessionRecord>> {
        let mut t = self.t();
        let found = t.sessions.remove(id_hash);
        if let Some(s) = &found {
            let grants = t.grants_of_sessions(std::slice::from_ref(&s.sid));
            t.revoke_grants(&grants, now);
        }
        Ok(found)
    }

    fn step_up_session(
        &self,
        id_hash: &HashedSessionId,
        new_hash: &HashedSessionId,
        amr: &[String],
        auth_time: UnixTime,
        now: UnixTime,
    ) -> StoreResult<Option<SessionRecord>> {
        let mut t = self.t();
        let Some(mut s) = t.sessions.remove(id_hash) else {
            return Ok(None);
        };
        s.id_hash = new_hash.clone();
        s.amr = amr.to_vec();
        s.auth_time = auth_time;
        s.last_seen_at = now;
        t.sessions.insert(new_hash.clone(), s.clone());
        Ok(Some(s))
    }

    fn delete_user_sessions(&self, user_id: &UserId) -> StoreResult<usize> {
        let mut t = self.t();
        let before = t.sessions.len();
        t.sessions.retain(|_, s| s.user_id != *user_id);
        Ok(before - t.sessions.len())
    }

    fn prune_sessions(&self, now: UnixTime, idle_cutoff: UnixTime) -> StoreResult<usize> {
        let mut t = self.t();
        let ended: Vec<Sid> = t
            .sessions
            .values()
            .filter(|s| s.expires_at <= now || s.last_seen_at <= idle_cutoff)
            .map(|s| s.sid.clone())
            .collect();
        let grants = t.grants_of_sessions(&ended);
        t.revoke_grants(&grants, now);
        t.sessions.retain(|_, s| !ended.contains(&s.sid));
        Ok(ended.len())
    }
}

impl AuditStore for MemoryStore {
    fn record_event(&self, event: &AuditEvent) -> StoreResult<()> {
        self.t().events.push(event.clone());
        Ok(())
    }

    fn recent_events(&self, limit: i64) -> StoreResult<Vec<AuditEvent>> {
        Ok(self
            .t()
            .events
            .iter()
            .rev()
            .take(limit.max(0) as usize)
            .cloned()
            .collect())
    }
}

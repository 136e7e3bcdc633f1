use diesel::prelude::*;

use super::rows::{AuditRow, NewAuditRow};
use super::schema::audit_events;
use super::{DbConn, Store, StoreResult};
use crate::audit::AuditEvent;
use crate::audit::AuditStore;
use crate::ids::{OrgId, UserId};

pub(super) fn record(conn: &mut DbConn, e: &AuditEvent) -> StoreResult<()> {
    let row = NewAuditRow {
        at: e.at,
        kind: &e.kind,
        user_id: e.user_id.as_ref().map(UserId::as_str),
        subject: e.subject.as_deref(),
        ip: e.ip.as_deref(),
        user_agent: e.user_agent.as_deref(),
        detail: e.detail.as_deref(),
        org_id: e.org_id.as_ref().map(OrgId::as_str),
    };
    diesel::insert_into(audit_events::table)
        .values(&row)
        .execute(conn)?;
    Ok(())
}

impl AuditStore for Store {
    fn record_event(&self, event: &AuditEvent) -> StoreResult<()> {
        record(&mut *self.conn()?, event)
    }

    fn recent_events(&self, limit: i64) -> StoreResult<Vec<AuditEvent>> {
        Ok(audit_events::table
            .order(audit_events::id.desc())
            .limit(limit)
            .select(AuditRow::as_select())
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(Into::into)
            .collect())
    }
}

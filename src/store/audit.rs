use diesel::prelude::*;

use super::rows::{AuditRow, NewAuditRow};
use super::schema::{audit_events, users};
use super::{DbConn, Store, StoreResult};
use crate::audit::AuditEvent;
use crate::audit::AuditStore;
use crate::audit_log::store::{AuditLogStore, Cursor, EventQuery, KindFilter, LoggedEvent};
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

/// `LIKE` pattern for a prefix, its wildcards escaped (`\` is the escape character).
fn prefix_pattern(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

impl AuditLogStore for Store {
    fn org_events(&self, q: &EventQuery) -> StoreResult<Vec<LoggedEvent>> {
        use diesel::expression_methods::EscapeExpressionMethods;
        // One statement with bound parameters: `org_id = ?` (and `at` bounds) use the
        // `(org_id, at)` index; the page is a keyset on the id.
        let mut query = audit_events::table
            .left_join(users::table.on(users::id.nullable().eq(audit_events::user_id)))
            .filter(audit_events::org_id.eq(q.org.as_str()))
            .select((AuditRow::as_select(), users::username.nullable()))
            .limit(q.limit)
            .into_boxed();
        if let Some(actors) = &q.actors {
            let ids: Vec<&str> = actors.iter().map(UserId::as_str).collect();
            query = query.filter(audit_events::user_id.eq_any(ids));
        }
        match &q.kind {
            Some(KindFilter::Exact(kind)) => query = query.filter(audit_events::kind.eq(kind)),
            Some(KindFilter::Prefix(prefix)) => {
                query = query.filter(audit_events::kind.like(prefix_pattern(prefix)).escape('\\'))
            }
            None => {}
        }
        if let Some(from) = q.from {
            query = query.filter(audit_events::at.ge(from));
        }
        if let Some(to) = q.to {
            query = query.filter(audit_events::at.le(to));
        }
        query = match q.cursor {
            Cursor::Newest => query.order(audit_events::id.desc()),
            Cursor::Before(id) => query
                .filter(audit_events::id.lt(id))
                .order(audit_events::id.desc()),
            Cursor::After(id) => query
                .filter(audit_events::id.gt(id))
                .order(audit_events::id.asc()),
        };
        let mut rows: Vec<(AuditRow, Option<String>)> = query.load(&mut *self.conn()?)?;
        if matches!(q.cursor, Cursor::After(_)) {
            rows.reverse();
        }
        Ok(rows
            .into_iter()
            .map(|(row, actor_name)| LoggedEvent {
                id: row.id,
                actor_name,
                event: row.into(),
            })
            .collect())
    }

    fn users_by_key(&self, keys: &[String]) -> StoreResult<Vec<UserId>> {
        Ok(users::table
            .filter(
                users::username_key
                    .eq_any(keys)
                    .or(users::email_key.eq_any(keys)),
            )
            .select(users::id)
            .load::<String>(&mut *self.conn()?)?
            .into_iter()
            .map(UserId::new)
            .collect())
    }
}

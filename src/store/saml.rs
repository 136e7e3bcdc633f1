//! The SAML inbox (`crate::saml::inbox`) and the SP's record of accepted assertions
//! (`crate::federation::store::SamlReplayStore`).

use diesel::prelude::*;

use super::schema::{saml_inbox, saml_seen_assertions};
use super::{Store, StoreError, StoreResult};
use crate::clock::UnixTime;
use crate::credentials::HashedSamlInboxId;
use crate::federation::store::SamlReplayStore;
use crate::ids::ConnectionId;
use crate::saml::inbox::{InboxKind, InboxMessage, SamlInboxStore};

#[derive(Queryable, Selectable)]
#[diesel(table_name = saml_inbox)]
struct InboxRow {
    kind: String,
    target: String,
    message: String,
    relay_state: Option<String>,
    client_addr: Option<String>,
    created_at: i64,
    expires_at: i64,
}

impl SamlInboxStore for Store {
    fn put_message(&self, id_hash: &HashedSamlInboxId, m: &InboxMessage) -> StoreResult<()> {
        diesel::insert_into(saml_inbox::table)
            .values((
                saml_inbox::id_hash.eq(id_hash.as_str()),
                saml_inbox::kind.eq(m.kind.as_str()),
                saml_inbox::target.eq(&m.target),
                saml_inbox::message.eq(&m.message),
                saml_inbox::relay_state.eq(m.relay_state.as_deref()),
                saml_inbox::client_addr.eq(m.client_addr.as_deref()),
                saml_inbox::created_at.eq(m.created_at),
                saml_inbox::expires_at.eq(m.expires_at),
            ))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    fn take_message(&self, id_hash: &HashedSamlInboxId) -> StoreResult<Option<InboxMessage>> {
        // Read, then delete: only the delete that removed the row returns it, so of two
        // concurrent takes one wins.
        let mut conn = self.conn()?;
        let found = saml_inbox::table
            .find(id_hash.as_str())
            .select(InboxRow::as_select())
            .get_result(&mut *conn)
            .optional()?;
        let Some(row) = found else {
            return Ok(None);
        };
        let deleted =
            diesel::delete(saml_inbox::table.find(id_hash.as_str())).execute(&mut *conn)?;
        if deleted == 0 {
            return Ok(None);
        }
        let kind = match row.kind.as_str() {
            "response" => InboxKind::Response,
            "request" => InboxKind::Request,
            _ => return Ok(None),
        };
        Ok(Some(InboxMessage {
            kind,
            target: row.target,
            message: row.message,
            relay_state: row.relay_state,
            client_addr: row.client_addr,
            created_at: row.created_at,
            expires_at: row.expires_at,
        }))
    }

    fn trim_messages(&self, client_addr: &str, keep: usize) -> StoreResult<usize> {
        let mut conn = self.conn()?;
        let newest_first: Vec<String> = saml_inbox::table
            .filter(saml_inbox::client_addr.eq(client_addr))
            .order(saml_inbox::created_at.desc())
            .select(saml_inbox::id_hash)
            .load(&mut *conn)?;
        let evicted: Vec<&String> = newest_first.iter().skip(keep).collect();
        if evicted.is_empty() {
            return Ok(0);
        }
        Ok(
            diesel::delete(saml_inbox::table.filter(saml_inbox::id_hash.eq_any(evicted)))
                .execute(&mut *conn)?,
        )
    }

    fn prune_messages(&self, now: UnixTime) -> StoreResult<usize> {
        Ok(
            diesel::delete(saml_inbox::table.filter(saml_inbox::expires_at.le(now)))
                .execute(&mut *self.conn()?)?,
        )
    }
}

impl SamlReplayStore for Store {
    fn record_assertion(
        &self,
        connection: &ConnectionId,
        assertion_id: &str,
        expires_at: UnixTime,
    ) -> StoreResult<bool> {
        let inserted = diesel::insert_into(saml_seen_assertions::table)
            .values((
                saml_seen_assertions::connection_id.eq(connection.as_str()),
                saml_seen_assertions::assertion_id.eq(assertion_id),
                saml_seen_assertions::expires_at.eq(expires_at),
            ))
            .execute(&mut *self.conn()?);
        match inserted {
            Ok(_) => Ok(true),
            Err(e) => match StoreError::from(e) {
                StoreError::Conflict(_) => Ok(false),
                other => Err(other),
            },
        }
    }

    fn prune_assertions(&self, now: UnixTime) -> StoreResult<usize> {
        Ok(diesel::delete(
            saml_seen_assertions::table.filter(saml_seen_assertions::expires_at.le(now)),
        )
        .execute(&mut *self.conn()?)?)
    }
}

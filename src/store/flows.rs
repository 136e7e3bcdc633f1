use diesel::prelude::*;

use super::schema::signin_flows;
use super::{Store, StoreError, StoreResult};
use crate::clock::UnixTime;
use crate::credentials::HashedFlowId;
use crate::flows::store::FlowStore;
use crate::flows::types::{Flow, Requirement, Resume};
use crate::ids::{OrgId, UserId};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = signin_flows)]
struct FlowRow {
    id_hash: String,
    user_id: Option<String>,
    methods: String,
    max_age: Option<i64>,
    force_login: bool,
    acr: Option<String>,
    resume_kind: String,
    resume: String,
    attempts: i32,
    ceremony: Option<String>,
    client_addr: Option<String>,
    created_at: i64,
    expires_at: i64,
    org_id: Option<String>,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("unreadable stored value: {what}"))
}

impl TryFrom<FlowRow> for Flow {
    type Error = StoreError;
    fn try_from(r: FlowRow) -> StoreResult<Self> {
        Ok(Flow {
            id_hash: HashedFlowId::from_stored(r.id_hash),
            user_id: r.user_id.map(UserId::new),
            methods: serde_json::from_str(&r.methods).map_err(|_| corrupt("flow methods"))?,
            requirement: Requirement {
                max_age: r.max_age,
                force_login: r.force_login,
                acr: r.acr,
            },
            resume: Resume::from_stored(&r.resume_kind, r.resume)
                .ok_or_else(|| corrupt("flow resume"))?,
            created_at: r.created_at,
            expires_at: r.expires_at,
            attempts: r.attempts,
            ceremony: r.ceremony,
            client_addr: r.client_addr,
            org_id: r.org_id.map(OrgId::new),
        })
    }
}

impl From<&Flow> for FlowRow {
    fn from(f: &Flow) -> Self {
        FlowRow {
            id_hash: f.id_hash.as_str().to_owned(),
            user_id: f.user_id.as_ref().map(|u| u.as_str().to_owned()),
            methods: serde_json::json!(f.methods).to_string(),
            max_age: f.requirement.max_age,
            force_login: f.requirement.force_login,
            acr: f.requirement.acr.clone(),
            resume_kind: f.resume.kind().to_owned(),
            resume: f.resume.value().to_owned(),
            attempts: f.attempts,
            ceremony: f.ceremony.clone(),
            client_addr: f.client_addr.clone(),
            created_at: f.created_at,
            expires_at: f.expires_at,
            org_id: f.org_id.as_ref().map(|o| o.as_str().to_owned()),
        }
    }
}

impl FlowStore for Store {
    fn insert_flow(&self, flow: &Flow) -> StoreResult<()> {
        diesel::insert_into(signin_flows::table)
            .values(FlowRow::from(flow))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    fn find_flow(&self, id_hash: &HashedFlowId) -> StoreResult<Option<Flow>> {
        signin_flows::table
            .find(id_hash.as_str())
            .select(FlowRow::as_select())
            .get_result(&mut *self.conn()?)
            .optional()?
            .map(Flow::try_from)
            .transpose()
    }

    fn update_flow(&self, flow: &Flow) -> StoreResult<()> {
        let row = FlowRow::from(flow);
        diesel::update(signin_flows::table.find(id_hash_of(flow)))
            .set((
                signin_flows::user_id.eq(row.user_id),
                signin_flows::methods.eq(row.methods),
                signin_flows::ceremony.eq(row.ceremony),
            ))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    fn clear_ceremony(&self, id_hash: &HashedFlowId, ceremony: &str) -> StoreResult<bool> {
        let cleared = diesel::update(
            signin_flows::table
                .find(id_hash.as_str())
                .filter(signin_flows::ceremony.eq(ceremony)),
        )
        .set(signin_flows::ceremony.eq(None::<String>))
        .execute(&mut *self.conn()?)?;
        Ok(cleared == 1)
    }

    fn add_attempt(&self, id_hash: &HashedFlowId) -> StoreResult<()> {
        diesel::update(signin_flows::table.find(id_hash.as_str()))
            .set(signin_flows::attempts.eq(signin_flows::attempts + 1))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    fn take_flow(&self, id_hash: &HashedFlowId) -> StoreResult<Option<Flow>> {
        // Read, then delete: only the delete that removed the row returns it, so of two
        // concurrent takes one wins.
        let mut conn = self.conn()?;
        let found = signin_flows::table
            .find(id_hash.as_str())
            .select(FlowRow::as_select())
            .get_result(&mut *conn)
            .optional()?;
        if found.is_none() {
            return Ok(None);
        }
        let deleted =
            diesel::delete(signin_flows::table.find(id_hash.as_str())).execute(&mut *conn)?;
        if deleted == 0 {
            return Ok(None);
        }
        found.map(Flow::try_from).transpose()
    }

    fn trim_flows(&self, client_addr: &str, keep: usize) -> StoreResult<usize> {
        let mut conn = self.conn()?;
        let newest_first: Vec<String> = signin_flows::table
            .filter(signin_flows::client_addr.eq(client_addr))
            .order(signin_flows::created_at.desc())
            .select(signin_flows::id_hash)
            .load(&mut *conn)?;
        let evicted: Vec<&String> = newest_first.iter().skip(keep).collect();
        if evicted.is_empty() {
            return Ok(0);
        }
        Ok(
            diesel::delete(signin_flows::table.filter(signin_flows::id_hash.eq_any(evicted)))
                .execute(&mut *conn)?,
        )
    }

    fn prune_flows(&self, now: UnixTime) -> StoreResult<usize> {
        Ok(
            diesel::delete(signin_flows::table.filter(signin_flows::expires_at.le(now)))
                .execute(&mut *self.conn()?)?,
        )
    }
}

fn id_hash_of(flow: &Flow) -> &str {
    flow.id_hash.as_str()
}

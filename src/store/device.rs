use diesel::prelude::*;

use super::schema::device_codes as d;
use super::{Store, StoreResult};
use crate::clock::UnixTime;
use crate::credentials::HashedDeviceCode;
use crate::ids::{ClientId, OrgId, UserId};
use crate::oauth::store::DeviceCodeStore;
use crate::oauth::types::{DeviceCode, DeviceStatus};
use crate::scopes::Scopes;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = d)]
struct Row {
    device_code_hash: String,
    user_code: String,
    client_id: String,
    scope: String,
    created_at: i64,
    expires_at: i64,
    poll_interval: i64,
    last_polled_at: Option<i64>,
    status: String,
    user_id: Option<String>,
    granted_scope: Option<String>,
    auth_time: Option<i64>,
    amr: Option<String>,
    client_addr: Option<String>,
    org_id: Option<String>,
}

impl From<Row> for DeviceCode {
    fn from(r: Row) -> Self {
        DeviceCode {
            device_code_hash: HashedDeviceCode::from_stored(r.device_code_hash),
            user_code: r.user_code,
            client_id: ClientId::new(r.client_id),
            scope: Scopes::parse(&r.scope).unwrap_or_default(),
            created_at: r.created_at,
            expires_at: r.expires_at,
            interval: r.poll_interval,
            last_polled_at: r.last_polled_at,
            status: DeviceStatus::parse(&r.status),
            user_id: r.user_id.map(UserId::new),
            granted_scope: r.granted_scope.and_then(|s| Scopes::parse(&s)),
            auth_time: r.auth_time,
            amr: r
                .amr
                .map(|a| a.split_whitespace().map(String::from).collect())
                .unwrap_or_default(),
            client_addr: r.client_addr,
            org_id: r.org_id.map(OrgId::new),
        }
    }
}

impl DeviceCodeStore for Store {
    fn insert_device_code(&self, c: &DeviceCode) -> StoreResult<()> {
        let row = Row {
            device_code_hash: c.device_code_hash.as_str().to_owned(),
            user_code: c.user_code.clone(),
            client_id: c.client_id.as_str().to_owned(),
            scope: c.scope.to_string(),
            created_at: c.created_at,
            expires_at: c.expires_at,
            poll_interval: c.interval,
            last_polled_at: None,
            status: c.status.as_str().to_owned(),
            user_id: None,
            granted_scope: None,
            auth_time: None,
            amr: None,
            client_addr: c.client_addr.clone(),
            org_id: None,
        };
        diesel::insert_into(d::table)
            .values(&row)
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    fn find_device_code(&self, hash: &HashedDeviceCode) -> StoreResult<Option<DeviceCode>> {
        Ok(d::table
            .find(hash.as_str())
            .select(Row::as_select())
            .get_result(&mut *self.conn()?)
            .optional()?
            .map(Into::into))
    }

    fn find_device_code_by_user_code(&self, user_code: &str) -> StoreResult<Option<DeviceCode>> {
        Ok(d::table
            .filter(d::user_code.eq(user_code))
            .select(Row::as_select())
            .get_result(&mut *self.conn()?)
            .optional()?
            .map(Into::into))
    }

    fn record_device_poll(
        &self,
        hash: &HashedDeviceCode,
        now: UnixTime,
        interval: i64,
    ) -> StoreResult<()> {
        diesel::update(d::table.find(hash.as_str()))
            .set((d::last_polled_at.eq(now), d::poll_interval.eq(interval)))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    fn decide_device_code(
        &self,
        user_code: &str,
        approved: bool,
        user_id: &UserId,
        granted_scope: &Scopes,
        auth_time: UnixTime,
        amr: &[String],
        org_id: Option<&OrgId>,
    ) -> StoreResult<bool> {
        let status = if approved {
            DeviceStatus::Approved
        } else {
            DeviceStatus::Denied
        };
        Ok(diesel::update(
            d::table
                .filter(d::user_code.eq(user_code))
                .filter(d::status.eq(DeviceStatus::Pending.as_str())),
        )
        .set((
            d::status.eq(status.as_str()),
            d::user_id.eq(user_id.as_str()),
            d::granted_scope.eq(granted_scope.to_string()),
            d::auth_time.eq(auth_time),
            d::amr.eq(amr.join(" ")),
            d::org_id.eq(org_id.map(OrgId::as_str)),
        ))
        .execute(&mut *self.conn()?)?
            == 1)
    }

    fn pending_device_codes(
        &self,
        client_addr: &str,
        now: UnixTime,
    ) -> StoreResult<(i64, Option<UnixTime>)> {
        use diesel::dsl::{count_star, min};
        Ok(d::table
            .filter(d::client_addr.eq(client_addr))
            .filter(d::expires_at.gt(now))
            .filter(d::status.eq(DeviceStatus::Pending.as_str()))
            .select((count_star(), min(d::expires_at)))
            .get_result(&mut *self.conn()?)?)
    }

    fn prune_device_codes(&self, now: UnixTime) -> StoreResult<usize> {
        Ok(diesel::delete(d::table.filter(d::expires_at.le(now))).execute(&mut *self.conn()?)?)
    }

    fn consume_device_code(&self, hash: &HashedDeviceCode) -> StoreResult<bool> {
        Ok(diesel::update(
            d::table
                .find(hash.as_str())
                .filter(d::status.eq(DeviceStatus::Approved.as_str())),
        )
        .set(d::status.eq(DeviceStatus::Consumed.as_str()))
        .execute(&mut *self.conn()?)?
            == 1)
    }
}

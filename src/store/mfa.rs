use diesel::prelude::*;

use super::schema::{memberships, organisations, passkeys, totp_credentials};
use super::{DbConn, Store, StoreResult};
use crate::ids::UserId;
use crate::mfa::store::FactorStore;
use crate::mfa::types::Factors;

impl FactorStore for Store {
    fn factors(&self, user_id: &UserId) -> StoreResult<Factors> {
        let mut conn = self.conn()?;
        let totp: i64 = totp_credentials::table
            .filter(totp_credentials::user_id.eq(user_id.as_str()))
            .filter(totp_credentials::confirmed.eq(true))
            .count()
            .get_result(&mut *conn)?;
        let passkeys: i64 = passkeys::table
            .filter(passkeys::user_id.eq(user_id.as_str()))
            .count()
            .get_result(&mut *conn)?;
        Ok(Factors {
            totp: totp > 0,
            passkeys: passkeys > 0,
            org_requires_mfa: requiring(&mut conn, user_id)?,
        })
    }

    fn org_requires_mfa(&self, user_id: &UserId) -> StoreResult<bool> {
        Ok(requiring(&mut *self.conn()?, user_id)?)
    }
}

/// Whether an organisation the user is a member of requires a second factor.
fn requiring(conn: &mut DbConn, user_id: &UserId) -> QueryResult<bool> {
    let count: i64 = memberships::table
        .inner_join(organisations::table.on(organisations::id.eq(memberships::org_id)))
        .filter(memberships::user_id.eq(user_id.as_str()))
        .filter(organisations::require_mfa.eq(true))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

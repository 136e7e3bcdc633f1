use diesel::prelude::*;

use super::schema::{recovery_codes, totp_credentials};
use super::{Store, StoreError, StoreResult, Unique};
use crate::clock::UnixTime;
use crate::credentials::HashedRecoveryCode;
use crate::ids::UserId;
use crate::mfa::store::{RecoveryStore, TotpCredential, TotpStore};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = totp_credentials)]
struct TotpRow {
    user_id: String,
    secret: String,
    confirmed: bool,
    last_step: Option<i64>,
    created_at: i64,
    confirmed_at: Option<i64>,
}

impl From<TotpRow> for TotpCredential {
    fn from(r: TotpRow) -> Self {
        TotpCredential {
            user_id: UserId::new(r.user_id),
            sealed_seed: r.secret,
            confirmed: r.confirmed,
            last_step: r.last_step,
            created_at: r.created_at,
            confirmed_at: r.confirmed_at,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = recovery_codes)]
struct RecoveryRow<'a> {
    code_hash: &'a str,
    user_id: &'a str,
    created_at: i64,
}

impl TotpStore for Store {
    fn find_totp(&self, user_id: &UserId) -> StoreResult<Option<TotpCredential>> {
        Ok(totp_credentials::table
            .find(user_id.as_str())
            .select(TotpRow::as_select())
            .get_result(&mut *self.conn()?)
            .optional()?
            .map(Into::into))
    }

    fn begin_totp(&self, c: &TotpCredential) -> StoreResult<()> {
        let mut conn = self.conn()?;
        conn.transaction(|conn| -> StoreResult<()> {
            diesel::delete(
                totp_credentials::table
                    .filter(totp_credentials::user_id.eq(c.user_id.as_str()))
                    .filter(totp_credentials::confirmed.eq(false)),
            )
            .execute(conn)?;
            // A confirmed enrolment left in place makes this insert break the primary key.
            diesel::insert_into(totp_credentials::table)
                .values(TotpRow {
                    user_id: c.user_id.as_str().to_owned(),
                    secret: c.sealed_seed.clone(),
                    confirmed: false,
                    last_step: None,
                    created_at: c.created_at,
                    confirmed_at: None,
                })
                .execute(conn)
                .map_err(|e| match StoreError::from(e) {
                    StoreError::Conflict(_) => StoreError::Conflict(Unique::Record),
                    e => e,
                })?;
            Ok(())
        })
    }

    fn confirm_totp(&self, user_id: &UserId, step: i64, now: UnixTime) -> StoreResult<bool> {
        let n = diesel::update(
            totp_credentials::table
                .filter(totp_credentials::user_id.eq(user_id.as_str()))
                .filter(totp_credentials::confirmed.eq(false))
                .filter(
                    totp_credentials::last_step
                        .is_null()
                        .or(totp_credentials::last_step.lt(step)),
                ),
        )
        .set((
            totp_credentials::confirmed.eq(true),
            totp_credentials::confirmed_at.eq(now),
            totp_credentials::last_step.eq(step),
        ))
        .execute(&mut *self.conn()?)?;
        Ok(n == 1)
    }

    fn accept_totp_step(&self, user_id: &UserId, step: i64) -> StoreResult<bool> {
        let n = diesel::update(
            totp_credentials::table
                .filter(totp_credentials::user_id.eq(user_id.as_str()))
                .filter(totp_credentials::confirmed.eq(true))
                .filter(
                    totp_credentials::last_step
                        .is_null()
                        .or(totp_credentials::last_step.lt(step)),
                ),
        )
        .set(totp_credentials::last_step.eq(step))
        .execute(&mut *self.conn()?)?;
        Ok(n == 1)
    }

    fn delete_totp(&self, user_id: &UserId) -> StoreResult<bool> {
        let mut conn = self.conn()?;
        conn.transaction(|conn| -> StoreResult<bool> {
            diesel::delete(
                recovery_codes::table.filter(recovery_codes::user_id.eq(user_id.as_str())),
            )
            .execute(conn)?;
            let n = diesel::delete(totp_credentials::table.find(user_id.as_str())).execute(conn)?;
            Ok(n == 1)
        })
    }
}

impl RecoveryStore for Store {
    fn replace_recovery_codes(
        &self,
        user_id: &UserId,
        hashes: &[HashedRecoveryCode],
        now: UnixTime,
    ) -> StoreResult<()> {
        let mut conn = self.conn()?;
        conn.transaction(|conn| -> StoreResult<()> {
            diesel::delete(
                recovery_codes::table.filter(recovery_codes::user_id.eq(user_id.as_str())),
            )
            .execute(conn)?;
            // One row per statement: the shared connection has no batch insert.
            for h in hashes {
                diesel::insert_into(recovery_codes::table)
                    .values(RecoveryRow {
                        code_hash: h.as_str(),
                        user_id: user_id.as_str(),
                        created_at: now,
                    })
                    .execute(conn)?;
            }
            Ok(())
        })
    }

    fn use_recovery_code(
        &self,
        user_id: &UserId,
        hash: &HashedRecoveryCode,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let n = diesel::update(
            recovery_codes::table
                .filter(recovery_codes::code_hash.eq(hash.as_str()))
                .filter(recovery_codes::user_id.eq(user_id.as_str()))
                .filter(recovery_codes::used_at.is_null()),
        )
        .set(recovery_codes::used_at.eq(now))
        .execute(&mut *self.conn()?)?;
        Ok(n == 1)
    }

    fn unused_recovery_codes(&self, user_id: &UserId) -> StoreResult<i64> {
        Ok(recovery_codes::table
            .filter(recovery_codes::user_id.eq(user_id.as_str()))
            .filter(recovery_codes::used_at.is_null())
            .count()
            .get_result(&mut *self.conn()?)?)
    }
}

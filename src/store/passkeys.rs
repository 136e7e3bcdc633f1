use diesel::prelude::*;

use super::schema::passkeys;
use super::{Store, StoreResult};
use crate::clock::UnixTime;
use crate::ids::UserId;
use crate::mfa::store::PasskeyStore;
use crate::mfa::types::StoredPasskey;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = passkeys)]
struct PasskeyRow {
    id: String,
    user_id: String,
    credential_id: String,
    name: String,
    credential: String,
    sign_count: i64,
    created_at: i64,
    last_used_at: Option<i64>,
}

impl From<PasskeyRow> for StoredPasskey {
    fn from(r: PasskeyRow) -> Self {
        StoredPasskey {
            id: r.id,
            user_id: UserId::new(r.user_id),
            credential_id: r.credential_id,
            name: r.name,
            credential: r.credential,
            sign_count: r.sign_count,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        }
    }
}

impl From<&StoredPasskey> for PasskeyRow {
    fn from(p: &StoredPasskey) -> Self {
        PasskeyRow {
            id: p.id.clone(),
            user_id: p.user_id.as_str().to_owned(),
            credential_id: p.credential_id.clone(),
            name: p.name.clone(),
            credential: p.credential.clone(),
            sign_count: p.sign_count,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        }
    }
}

impl PasskeyStore for Store {
    fn passkeys_of(&self, user_id: &UserId) -> StoreResult<Vec<StoredPasskey>> {
        Ok(passkeys::table
            .filter(passkeys::user_id.eq(user_id.as_str()))
            .order((passkeys::created_at.asc(), passkeys::id.asc()))
            .select(PasskeyRow::as_select())
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(StoredPasskey::from)
            .collect())
    }

    fn passkey_by_credential(&self, credential_id: &str) -> StoreResult<Option<StoredPasskey>> {
        Ok(passkeys::table
            .filter(passkeys::credential_id.eq(credential_id))
            .select(PasskeyRow::as_select())
            .get_result(&mut *self.conn()?)
            .optional()?
            .map(StoredPasskey::from))
    }

    fn insert_passkey(&self, passkey: &StoredPasskey) -> StoreResult<()> {
        diesel::insert_into(passkeys::table)
            .values(PasskeyRow::from(passkey))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    fn use_passkey(
        &self,
        id: &str,
        credential: &str,
        sign_count: i64,
        at: UnixTime,
    ) -> StoreResult<bool> {
        // Stored below the new counter; for a new counter of 0, stored 0 (stored < 1).
        let advances = passkeys::sign_count.lt(sign_count.max(1));
        let updated = diesel::update(passkeys::table.find(id).filter(advances))
            .set((
                passkeys::credential.eq(credential),
                passkeys::sign_count.eq(sign_count),
                passkeys::last_used_at.eq(Some(at)),
            ))
            .execute(&mut *self.conn()?)?;
        Ok(updated == 1)
    }

    fn rename_passkey(&self, user_id: &UserId, id: &str, name: &str) -> StoreResult<bool> {
        let updated = diesel::update(
            passkeys::table
                .find(id)
                .filter(passkeys::user_id.eq(user_id.as_str())),
        )
        .set(passkeys::name.eq(name))
        .execute(&mut *self.conn()?)?;
        Ok(updated == 1)
    }

    fn delete_passkey(&self, user_id: &UserId, id: &str) -> StoreResult<bool> {
        let deleted = diesel::delete(
            passkeys::table
                .find(id)
                .filter(passkeys::user_id.eq(user_id.as_str())),
        )
        .execute(&mut *self.conn()?)?;
        Ok(deleted == 1)
    }
}

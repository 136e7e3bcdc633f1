use diesel::prelude::*;

use super::schema::meta;
use super::{DbConn, MetaStore, Store, StoreResult};

pub(super) fn get(conn: &mut DbConn, key: &str) -> StoreResult<Option<String>> {
    Ok(meta::table
        .find(key)
        .select(meta::value)
        .get_result(conn)
        .optional()?)
}

pub(super) fn put(conn: &mut DbConn, key: &str, value: &str) -> StoreResult<()> {
    diesel::insert_into(meta::table)
        .values((meta::key.eq(key), meta::value.eq(value)))
        .execute(conn)?;
    Ok(())
}

impl MetaStore for Store {
    fn get_meta(&self, key: &str) -> StoreResult<Option<String>> {
        get(&mut *self.conn()?, key)
    }
}

//! SCIM tokens: only their hash is stored.

use diesel::prelude::*;

use super::super::schema::scim_tokens as st;
use super::super::{Store, StoreResult};
use crate::clock::UnixTime;
use crate::credentials::{Hashed, kind};
use crate::ids::{OrgId, UserId};
use crate::scim::store::{ScimToken, ScimTokenStore};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = st)]
struct TokenRow {
    id: String,
    org_id: String,
    token_hash: String,
    description: String,
    created_at: i64,
    created_by: Option<String>,
    revoked_at: Option<i64>,
}

impl TokenRow {
    fn into_token(self) -> (ScimToken, Hashed<kind::ScimToken>) {
        (
            ScimToken {
                id: self.id,
                org: OrgId::new(self.org_id),
                description: self.description,
                created_at: self.created_at,
                created_by: self.created_by.map(UserId::new),
                revoked_at: self.revoked_at,
            },
            Hashed::from_stored(self.token_hash),
        )
    }
}

impl ScimTokenStore for Store {
    fn create_scim_token(
        &self,
        token: &ScimToken,
        hash: &Hashed<kind::ScimToken>,
    ) -> StoreResult<()> {
        let row = TokenRow {
            id: token.id.clone(),
            org_id: token.org.as_str().to_owned(),
            token_hash: hash.as_str().to_owned(),
            description: token.description.clone(),
            created_at: token.created_at,
            created_by: token.created_by.as_ref().map(|u| u.as_str().to_owned()),
            revoked_at: None,
        };
        self.write(move |conn| {
            diesel::insert_into(st::table).values(&row).execute(conn)?;
            Ok(())
        })
    }

    fn list_scim_tokens(&self, org: &OrgId) -> StoreResult<Vec<ScimToken>> {
        Ok(st::table
            .filter(st::org_id.eq(org.as_str()))
            .order((st::created_at.desc(), st::id.desc()))
            .select(TokenRow::as_select())
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(|r| r.into_token().0)
            .collect())
    }

    fn revoke_scim_token(&self, org: &OrgId, id: &str, now: UnixTime) -> StoreResult<bool> {
        let (org, id) = (org.clone(), id.to_owned());
        self.write(move |conn| {
            let n = diesel::update(
                st::table
                    .filter(st::id.eq(&id))
                    .filter(st::org_id.eq(org.as_str()))
                    .filter(st::revoked_at.is_null()),
            )
            .set(st::revoked_at.eq(now))
            .execute(conn)?;
            Ok(n > 0)
        })
    }

    fn find_scim_token(
        &self,
        hash: &Hashed<kind::ScimToken>,
    ) -> StoreResult<Option<(ScimToken, Hashed<kind::ScimToken>)>> {
        Ok(st::table
            .filter(st::token_hash.eq(hash.as_str()))
            .filter(st::revoked_at.is_null())
            .select(TokenRow::as_select())
            .get_result(&mut *self.conn()?)
            .optional()?
            .map(TokenRow::into_token))
    }
}

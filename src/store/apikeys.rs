use diesel::prelude::*;

use super::rows::OrgRow;
use super::schema::{
    api_key_secrets as sec, api_keys as k, applications as app, memberships, organisations, users,
};
use super::{Store, StoreError, StoreResult, Unique};
use crate::apikeys::store::{ApiKeyStore, KeyLookup};
use crate::apikeys::types::{ApiKey, Application, KeyOwner, parse_allowlist};
use crate::clock::UnixTime;
use crate::credentials::HashedApiKey;
use crate::ids::{ApplicationId, KeyId, OrgId, UserId};
use crate::scopes::Scopes;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = k)]
struct KeyRow {
    id: String,
    org_id: String,
    created_by: Option<String>,
    application_id: Option<i64>,
    name: String,
    hint: String,
    scopes: String,
    allowed_ips: String,
    created_at: i64,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
    org_owned: bool,
}

impl From<KeyRow> for ApiKey {
    fn from(r: KeyRow) -> Self {
        ApiKey {
            allowed_ips: parse_allowlist(&[r.allowed_ips]).unwrap_or_default(),
            scopes: Scopes::parse(&r.scopes).unwrap_or_default(),
            owner: match (r.application_id, r.created_by, r.org_owned) {
                (Some(app), _, _) => KeyOwner::Application(ApplicationId::new(app)),
                (None, Some(user), _) => KeyOwner::User(UserId::new(user)),
                (None, None, true) => KeyOwner::Organisation,
                (None, None, false) => KeyOwner::Orphaned,
            },
            id: KeyId::new(r.id),
            org_id: OrgId::new(r.org_id),
            name: r.name,
            hint: r.hint,
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

impl From<&ApiKey> for KeyRow {
    fn from(key: &ApiKey) -> Self {
        KeyRow {
            id: key.id.as_str().to_owned(),
            org_id: key.org_id.as_str().to_owned(),
            created_by: key.owner.user_id().map(|u| u.as_str().to_owned()),
            application_id: match key.owner {
                KeyOwner::Application(app) => Some(app.get()),
                _ => None,
            },
            org_owned: key.owner == KeyOwner::Organisation,
            name: key.name.clone(),
            hint: key.hint.clone(),
            scopes: key.scopes.to_string(),
            allowed_ips: key
                .allowed_ips
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(","),
            created_at: key.created_at,
            expires_at: key.expires_at,
            last_used_at: key.last_used_at,
            revoked_at: key.revoked_at,
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = app)]
struct AppRow {
    id: i64,
    org_id: String,
    name: String,
    scope: String,
    created_at: i64,
}

impl From<AppRow> for Application {
    fn from(r: AppRow) -> Self {
        Application {
            id: ApplicationId::new(r.id),
            org_id: OrgId::new(r.org_id),
            name: r.name,
            scope: r.scope,
            created_at: r.created_at,
        }
    }
}

fn insert_key(
    conn: &mut super::DbConn,
    key: &ApiKey,
    secret_hash: &HashedApiKey,
) -> StoreResult<()> {
    diesel::insert_into(k::table)
        .values(KeyRow::from(key))
        .execute(conn)?;
    diesel::insert_into(sec::table)
        .values((
            sec::secret_hash.eq(secret_hash.as_str()),
            sec::key_id.eq(key.id.as_str()),
            sec::created_at.eq(key.created_at),
            sec::valid_until.eq(None::<i64>),
        ))
        .execute(conn)?;
    Ok(())
}

/// A key, its presented secret's `valid_until`, its organisation, and its creator's role and
/// `disabled` flag there.
type LookupRow = (KeyRow, Option<i64>, OrgRow, Option<String>, Option<bool>);

/// Revokes the unrevoked keys `user_id` created (in `org_id` only, if given), inside the
/// caller's transaction: a user or membership never goes without their keys.
pub(super) fn revoke_user_keys(
    conn: &mut super::DbConn,
    user_id: &UserId,
    org_id: Option<&OrgId>,
    now: UnixTime,
) -> StoreResult<usize> {
    let mut query = k::table
        .filter(k::created_by.eq(user_id.as_str()))
        .filter(k::revoked_at.is_null())
        .select(k::id)
        .into_boxed();
    if let Some(org_id) = org_id {
        query = query.filter(k::org_id.eq(org_id.as_str()));
    }
    let ids: Vec<String> = query.load(conn)?;
    diesel::delete(sec::table.filter(sec::key_id.eq_any(&ids))).execute(conn)?;
    Ok(diesel::update(k::table.filter(k::id.eq_any(&ids)))
        .set(k::revoked_at.eq(now))
        .execute(conn)?)
}

impl ApiKeyStore for Store {
    fn insert_api_key(&self, key: &ApiKey, secret_hash: &HashedApiKey) -> StoreResult<()> {
        let mut conn = self.conn()?;
        conn.transaction(|conn| insert_key(conn, key, secret_hash))
    }

    fn find_api_key_by_secret(
        &self,
        secret_hash: &HashedApiKey,
        now: UnixTime,
    ) -> StoreResult<Option<KeyLookup>> {
        // One statement: the key, its organisation and its creator's membership there (the
        // role and whether the user is disabled), since verifying a key is the hot path.
        let creator_membership = memberships::table.on(memberships::org_id
            .eq(k::org_id)
            .and(memberships::user_id.nullable().eq(k::created_by)));
        let row: Option<LookupRow> = sec::table
            .inner_join(k::table.inner_join(organisations::table))
            .left_join(creator_membership)
            .left_join(users::table.on(users::id.eq(memberships::user_id)))
            .filter(sec::secret_hash.eq(secret_hash.as_str()))
            .filter(sec::valid_until.is_null().or(sec::valid_until.gt(now)))
            .select((
                KeyRow::as_select(),
                sec::valid_until,
                OrgRow::as_select(),
                memberships::role.nullable(),
                users::disabled.nullable(),
            ))
            .get_result(&mut *self.conn()?)
            .optional()?;
        Ok(
            row.map(|(key, secret_valid_until, org, role, disabled)| KeyLookup {
                key: key.into(),
                secret_valid_until,
                org: org.into(),
                creator: role
                    .and_then(|r| r.parse().ok())
                    .map(|r| (r, disabled.unwrap_or(true))),
            }),
        )
    }

    fn find_api_key(&self, id: &KeyId) -> StoreResult<Option<ApiKey>> {
        Ok(k::table
            .find(id.as_str())
            .select(KeyRow::as_select())
            .get_result(&mut *self.conn()?)
            .optional()?
            .map(Into::into))
    }

    fn list_api_keys(&self, org_id: &OrgId) -> StoreResult<Vec<ApiKey>> {
        Ok(k::table
            .filter(k::org_id.eq(org_id.as_str()))
            .filter(k::revoked_at.is_null())
            .order(k::created_at.desc())
            .select(KeyRow::as_select())
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    fn revoke_api_key(&self, id: &KeyId, now: UnixTime) -> StoreResult<bool> {
        let id = id.as_str();
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            let n = diesel::update(k::table.find(id).filter(k::revoked_at.is_null()))
                .set(k::revoked_at.eq(now))
                .execute(conn)?;
            diesel::delete(sec::table.filter(sec::key_id.eq(id))).execute(conn)?;
            Ok::<_, StoreError>(n == 1)
        })
    }

    fn rotate_api_key_secret(
        &self,
        id: &KeyId,
        secret_hash: &HashedApiKey,
        hint: &str,
        now: UnixTime,
        grace_until: UnixTime,
    ) -> StoreResult<bool> {
        let id = id.as_str();
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            // Updating the key row first locks it (PostgreSQL; SQLite has one writer): a
            // concurrent rotation waits here, then its statements below see this one's secret,
            // so it is moved into grace like any other and one secret stays current.
            let live = diesel::update(k::table.find(id).filter(k::revoked_at.is_null()))
                .set(k::hint.eq(hint))
                .execute(conn)?;
            if live == 0 {
                return Ok(false);
            }
            diesel::update(
                sec::table.filter(sec::key_id.eq(id)).filter(
                    sec::valid_until
                        .is_null()
                        .or(sec::valid_until.gt(grace_until)),
                ),
            )
            .set(sec::valid_until.eq(grace_until))
            .execute(conn)?;
            diesel::delete(
                sec::table
                    .filter(sec::key_id.eq(id))
                    .filter(sec::valid_until.le(now)),
            )
            .execute(conn)?;
            diesel::insert_into(sec::table)
                .values((
                    sec::secret_hash.eq(secret_hash.as_str()),
                    sec::key_id.eq(id),
                    sec::created_at.eq(now),
                    sec::valid_until.eq(None::<i64>),
                ))
                .execute(conn)?;
            Ok(true)
        })
    }

    fn record_api_key_usage(&self, usage: &[(KeyId, UnixTime)]) -> StoreResult<()> {
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            for (id, at) in usage {
                diesel::update(k::table.find(id.as_str()))
                    .set(k::last_used_at.eq(*at))
                    .execute(conn)?;
            }
            Ok(())
        })
    }

    fn create_application(
        &self,
        org_id: &OrgId,
        name: &str,
        scope: &str,
        created_by: Option<&UserId>,
        key: &ApiKey,
        secret_hash: &HashedApiKey,
    ) -> StoreResult<Application> {
        let (org_id, created_by) = (org_id.as_str(), created_by.map(UserId::as_str));
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            diesel::insert_into(app::table)
                .values((
                    app::org_id.eq(org_id),
                    app::name.eq(name),
                    app::scope.eq(scope),
                    app::created_by.eq(created_by),
                    app::created_at.eq(key.created_at),
                ))
                .execute(conn)
                .map_err(|e| match StoreError::from(e) {
                    StoreError::Conflict(_) => StoreError::Conflict(Unique::Application),
                    other => other,
                })?;
            let created: AppRow = app::table
                .filter(app::org_id.eq(org_id))
                .filter(app::name.eq(name))
                .select(AppRow::as_select())
                .get_result(conn)?;
            let key = ApiKey {
                owner: KeyOwner::Application(ApplicationId::new(created.id)),
                ..key.clone()
            };
            insert_key(conn, &key, secret_hash)?;
            Ok(created.into())
        })
    }

    fn find_application(&self, id: ApplicationId) -> StoreResult<Option<Application>> {
        Ok(app::table
            .find(id.get())
            .select(AppRow::as_select())
            .get_result(&mut *self.conn()?)
            .optional()?
            .map(Into::into))
    }

    fn list_applications(&self, org_id: &OrgId) -> StoreResult<Vec<Application>> {
        Ok(app::table
            .filter(app::org_id.eq(org_id.as_str()))
            .order(app::id)
            .select(AppRow::as_select())
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    fn delete_application(&self, id: ApplicationId, now: UnixTime) -> StoreResult<bool> {
        let id = id.get();
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            let keys: Vec<String> = k::table
                .filter(k::application_id.eq(id))
                .select(k::id)
                .load(conn)?;
            diesel::delete(sec::table.filter(sec::key_id.eq_any(&keys))).execute(conn)?;
            diesel::update(k::table.filter(k::id.eq_any(&keys)))
                .set((k::revoked_at.eq(now), k::application_id.eq(None::<i64>)))
                .execute(conn)?;
            Ok::<_, StoreError>(diesel::delete(app::table.find(id)).execute(conn)? == 1)
        })
    }
}

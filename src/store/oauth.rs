use diesel::prelude::*;

use super::schema::{
    oauth_access_tokens as at, oauth_clients as cl, oauth_codes as co, oauth_consents as cs,
    oauth_grants as gr, oauth_refresh_tokens as rt, signing_keys as sk,
};
use super::{DbConn, Store, StoreError, StoreResult};
use crate::clock::UnixTime;
use crate::credentials::{
    HashedAccessToken, HashedAuthCode, HashedClientSecret, HashedRefreshToken,
};
use crate::ids::{ClientId, GrantId, OrgId, Sid, UserId};
use crate::oauth::store::{ClientStore, ConsentStore, GrantStore};
use crate::oauth::types::*;
use crate::scopes::Scopes;
use crate::signing::store::SigningKeyStore;
use crate::signing::{SigningAlg, StoredKey};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = cl)]
struct ClientRow {
    id: String,
    name: String,
    secret_hash: Option<String>,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    grant_types: String,
    scopes: String,
    skip_consent: bool,
    access_token_format: String,
    access_token_ttl: i64,
    refresh_idle_ttl: i64,
    refresh_absolute_ttl: i64,
    always_issue_refresh: bool,
    id_token_alg: String,
    created_at: i64,
    resources: String,
    org_id: Option<String>,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("unreadable stored value: {what}"))
}

impl TryFrom<ClientRow> for Client {
    type Error = StoreError;
    fn try_from(r: ClientRow) -> StoreResult<Self> {
        Ok(Client {
            redirect_uris: serde_json::from_str(&r.redirect_uris)
                .map_err(|_| corrupt("redirect_uris"))?,
            post_logout_redirect_uris: serde_json::from_str(&r.post_logout_redirect_uris)
                .map_err(|_| corrupt("post_logout_redirect_uris"))?,
            grant_types: r
                .grant_types
                .split_whitespace()
                .map(|g| g.parse().map_err(|_| corrupt("grant_types")))
                .collect::<StoreResult<_>>()?,
            scopes: Scopes::parse(&r.scopes).ok_or_else(|| corrupt("scopes"))?,
            access_token_format: r
                .access_token_format
                .parse()
                .map_err(|_| corrupt("access_token_format"))?,
            id_token_alg: r
                .id_token_alg
                .parse()
                .map_err(|_| corrupt("id_token_alg"))?,
            resources: serde_json::from_str(&r.resources).map_err(|_| corrupt("resources"))?,
            id: ClientId::new(r.id),
            name: r.name,
            secret_hash: r.secret_hash.map(HashedClientSecret::from_stored),
            skip_consent: r.skip_consent,
            access_token_ttl: r.access_token_ttl,
            refresh_idle_ttl: r.refresh_idle_ttl,
            refresh_absolute_ttl: r.refresh_absolute_ttl,
            always_issue_refresh: r.always_issue_refresh,
            created_at: r.created_at,
            org_id: r.org_id.map(OrgId::new),
        })
    }
}

impl From<&Client> for ClientRow {
    fn from(c: &Client) -> Self {
        ClientRow {
            id: c.id.as_str().to_owned(),
            name: c.name.clone(),
            secret_hash: c.secret_hash.as_ref().map(|h| h.as_str().to_owned()),
            redirect_uris: serde_json::json!(c.redirect_uris).to_string(),
            post_logout_redirect_uris: serde_json::json!(c.post_logout_redirect_uris).to_string(),
            grant_types: c
                .grant_types
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            scopes: c.scopes.to_string(),
            skip_consent: c.skip_consent,
            access_token_format: c.access_token_format.as_str().to_owned(),
            access_token_ttl: c.access_token_ttl,
            refresh_idle_ttl: c.refresh_idle_ttl,
            refresh_absolute_ttl: c.refresh_absolute_ttl,
            always_issue_refresh: c.always_issue_refresh,
            id_token_alg: c.id_token_alg.as_str().to_owned(),
            created_at: c.created_at,
            resources: serde_json::json!(c.resources).to_string(),
            org_id: c.org_id.as_ref().map(|o| o.as_str().to_owned()),
        }
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = gr)]
struct GrantRow {
    id: String,
    client_id: String,
    user_id: Option<String>,
    sid: Option<String>,
    scope: String,
    auth_time: i64,
    amr: String,
    created_at: i64,
    last_used_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
    resources: String,
    org_id: Option<String>,
}

impl From<GrantRow> for Grant {
    fn from(r: GrantRow) -> Self {
        Grant {
            id: GrantId::new(r.id),
            client_id: ClientId::new(r.client_id),
            user_id: r.user_id.map(UserId::new),
            sid: r.sid.map(Sid::new),
            scope: Scopes::parse(&r.scope).unwrap_or_default(),
            auth_time: r.auth_time,
            amr: r.amr.split_whitespace().map(String::from).collect(),
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
            // Written by `create_grant` as a JSON array of strings; unreadable reads as none
            // granted (the default audience), never as more.
            resources: serde_json::from_str(&r.resources).unwrap_or_default(),
            org_id: r.org_id.map(OrgId::new),
        }
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = co)]
struct CodeRow {
    code_hash: String,
    grant_id: String,
    client_id: String,
    redirect_uri: String,
    scope: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    resource: Option<String>,
    expires_at: i64,
    used_at: Option<i64>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = at)]
struct AccessRow {
    token_hash: String,
    grant_id: Option<String>,
    client_id: String,
    user_id: Option<String>,
    scope: String,
    audience: Option<String>,
    created_at: i64,
    expires_at: i64,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = rt)]
struct RefreshRow {
    token_hash: String,
    grant_id: String,
    created_at: i64,
    used_at: Option<i64>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = sk)]
struct KeyRow {
    kid: String,
    alg: String,
    private_key: String,
    public_jwk: String,
    created_at: i64,
    active_from: i64,
    retired_at: Option<i64>,
    published_until: Option<i64>,
}

pub(super) fn create_client(conn: &mut DbConn, c: &Client) -> StoreResult<()> {
    diesel::insert_into(cl::table)
        .values(ClientRow::from(c))
        .execute(conn)?;
    Ok(())
}

pub(super) fn find_client(conn: &mut DbConn, id: &ClientId) -> StoreResult<Option<Client>> {
    cl::table
        .find(id.as_str())
        .select(ClientRow::as_select())
        .get_result(conn)
        .optional()?
        .map(Client::try_from)
        .transpose()
}

pub(super) fn list_signing_keys(conn: &mut DbConn) -> StoreResult<Vec<StoredKey>> {
    sk::table
        .order(sk::active_from)
        .select(KeyRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|r| {
            Ok(StoredKey {
                alg: r.alg.parse().map_err(|_| corrupt("signing key alg"))?,
                kid: r.kid,
                private_key: r.private_key,
                public_jwk: r.public_jwk,
                created_at: r.created_at,
                active_from: r.active_from,
                retired_at: r.retired_at,
                published_until: r.published_until,
            })
        })
        .collect()
}

pub(super) fn insert_signing_key(conn: &mut DbConn, k: &StoredKey) -> StoreResult<()> {
    let row = KeyRow {
        kid: k.kid.clone(),
        alg: k.alg.as_str().to_owned(),
        private_key: k.private_key.clone(),
        public_jwk: k.public_jwk.clone(),
        created_at: k.created_at,
        active_from: k.active_from,
        retired_at: k.retired_at,
        published_until: k.published_until,
    };
    diesel::insert_into(sk::table).values(&row).execute(conn)?;
    Ok(())
}

/// Revokes grants and deletes their tokens (shared by logout, consent revocation and reuse).
pub(super) fn revoke_grants(conn: &mut DbConn, ids: &[String], now: UnixTime) -> StoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    conn.transaction(|conn| {
        diesel::update(
            gr::table
                .filter(gr::id.eq_any(ids))
                .filter(gr::revoked_at.is_null()),
        )
        .set(gr::revoked_at.eq(now))
        .execute(conn)?;
        diesel::delete(at::table.filter(at::grant_id.eq_any(ids))).execute(conn)?;
        diesel::delete(rt::table.filter(rt::grant_id.eq_any(ids))).execute(conn)?;
        Ok::<_, StoreError>(())
    })
}

pub(super) fn grants_of_session(conn: &mut DbConn, sid: &str) -> StoreResult<Vec<String>> {
    grants_of_sessions(conn, &[sid.to_owned()])
}

/// Unrevoked grants bound to any of these sessions.
pub(super) fn grants_of_sessions(conn: &mut DbConn, sids: &[String]) -> StoreResult<Vec<String>> {
    Ok(gr::table
        .filter(gr::sid.eq_any(sids))
        .filter(gr::revoked_at.is_null())
        .select(gr::id)
        .load(conn)?)
}

impl ClientStore for Store {
    fn create_client(&self, client: &Client) -> StoreResult<()> {
        create_client(&mut *self.conn()?, client)
    }

    fn find_client(&self, id: &ClientId) -> StoreResult<Option<Client>> {
        find_client(&mut *self.conn()?, id)
    }

    fn list_clients(&self) -> StoreResult<Vec<Client>> {
        cl::table
            .order(cl::created_at)
            .select(ClientRow::as_select())
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(Client::try_from)
            .collect()
    }

    fn list_org_clients(&self, org: &OrgId) -> StoreResult<Vec<Client>> {
        cl::table
            .filter(cl::org_id.eq(org.as_str()))
            .order((cl::created_at, cl::id))
            .select(ClientRow::as_select())
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(Client::try_from)
            .collect()
    }

    fn update_client(&self, c: &Client, end_authorizations: bool) -> StoreResult<bool> {
        let row = ClientRow::from(c);
        let changes = (
            cl::name.eq(row.name),
            cl::redirect_uris.eq(row.redirect_uris),
            cl::post_logout_redirect_uris.eq(row.post_logout_redirect_uris),
            cl::grant_types.eq(row.grant_types),
            cl::scopes.eq(row.scopes),
            cl::skip_consent.eq(row.skip_consent),
            cl::access_token_format.eq(row.access_token_format),
            cl::access_token_ttl.eq(row.access_token_ttl),
            cl::always_issue_refresh.eq(row.always_issue_refresh),
            cl::id_token_alg.eq(row.id_token_alg),
            cl::resources.eq(row.resources),
        );
        let id = c.id.as_str();
        let org = row.org_id;
        self.conn()?.transaction(|conn| {
            let updated = match &org {
                Some(org) => diesel::update(cl::table.find(id).filter(cl::org_id.eq(org)))
                    .set(changes)
                    .execute(conn)?,
                None => diesel::update(cl::table.find(id).filter(cl::org_id.is_null()))
                    .set(changes)
                    .execute(conn)?,
            };
            if updated == 1 && end_authorizations {
                end_client_authorizations(conn, id)?;
            }
            Ok::<_, StoreError>(updated == 1)
        })
    }

    fn delete_client(&self, id: &ClientId) -> StoreResult<bool> {
        let id = id.as_str();
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            end_client_authorizations(conn, id)?;
            Ok::<_, StoreError>(diesel::delete(cl::table.find(id)).execute(conn)? == 1)
        })
    }

    fn set_client_secret(
        &self,
        id: &ClientId,
        secret_hash: &HashedClientSecret,
    ) -> StoreResult<bool> {
        Ok(diesel::update(
            cl::table
                .find(id.as_str())
                .filter(cl::secret_hash.is_not_null()),
        )
        .set(cl::secret_hash.eq(secret_hash.as_str()))
        .execute(&mut *self.conn()?)?
            == 1)
    }
}

impl ConsentStore for Store {
    fn find_consent(&self, user_id: &UserId, client_id: &ClientId) -> StoreResult<Option<Scopes>> {
        let scope: Option<String> = cs::table
            .find((user_id.as_str(), client_id.as_str()))
            .select(cs::scope)
            .get_result(&mut *self.conn()?)
            .optional()?;
        Ok(scope.and_then(|s| Scopes::parse(&s)))
    }

    fn save_consent(
        &self,
        user_id: &UserId,
        client_id: &ClientId,
        scope: &Scopes,
        now: UnixTime,
    ) -> StoreResult<()> {
        let (user_id, client_id) = (user_id.as_str(), client_id.as_str());
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            diesel::delete(cs::table.find((user_id, client_id))).execute(conn)?;
            diesel::insert_into(cs::table)
                .values((
                    cs::user_id.eq(user_id),
                    cs::client_id.eq(client_id),
                    cs::scope.eq(scope.to_string()),
                    cs::created_at.eq(now),
                ))
                .execute(conn)?;
            Ok(())
        })
    }

    fn list_consents(&self, user_id: &UserId) -> StoreResult<Vec<ConsentRecord>> {
        let rows: Vec<(String, String, String, i64)> = cs::table
            .inner_join(cl::table)
            .filter(cs::user_id.eq(user_id.as_str()))
            .order(cl::name)
            .select((cs::client_id, cl::name, cs::scope, cs::created_at))
            .load(&mut *self.conn()?)?;
        Ok(rows
            .into_iter()
            .map(
                |(client_id, client_name, scope, created_at)| ConsentRecord {
                    client_id: ClientId::new(client_id),
                    client_name,
                    scope: Scopes::parse(&scope).unwrap_or_default(),
                    created_at,
                },
            )
            .collect())
    }

    fn revoke_consent(
        &self,
        user_id: &UserId,
        client_id: &ClientId,
        now: UnixTime,
    ) -> StoreResult<()> {
        let (user_id, client_id) = (user_id.as_str(), client_id.as_str());
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            diesel::delete(cs::table.find((user_id, client_id))).execute(conn)?;
            let grants: Vec<String> = gr::table
                .filter(gr::user_id.eq(user_id))
                .filter(gr::client_id.eq(client_id))
                .filter(gr::revoked_at.is_null())
                .select(gr::id)
                .load(conn)?;
            revoke_grants(conn, &grants, now)
        })
    }
}

impl GrantStore for Store {
    fn create_grant(&self, g: &Grant) -> StoreResult<()> {
        let row = GrantRow {
            id: g.id.as_str().to_owned(),
            client_id: g.client_id.as_str().to_owned(),
            user_id: g.user_id.as_ref().map(|u| u.as_str().to_owned()),
            sid: g.sid.as_ref().map(|s| s.as_str().to_owned()),
            scope: g.scope.to_string(),
            auth_time: g.auth_time,
            amr: g.amr.join(" "),
            created_at: g.created_at,
            last_used_at: g.last_used_at,
            expires_at: g.expires_at,
            revoked_at: g.revoked_at,
            resources: serde_json::json!(g.resources).to_string(),
            org_id: g.org_id.as_ref().map(|o| o.as_str().to_owned()),
        };
        self.write(move |conn| {
            diesel::insert_into(gr::table).values(&row).execute(conn)?;
            Ok(())
        })
    }

    fn insert_code(&self, c: &AuthCode) -> StoreResult<()> {
        let row = CodeRow {
            code_hash: c.code_hash.as_str().to_owned(),
            grant_id: c.grant_id.as_str().to_owned(),
            client_id: c.client_id.as_str().to_owned(),
            redirect_uri: c.redirect_uri.clone(),
            scope: c.scope.to_string(),
            nonce: c.nonce.clone(),
            code_challenge: c.code_challenge.clone(),
            resource: c.resource.clone(),
            expires_at: c.expires_at,
            used_at: c.used_at,
        };
        self.write(move |conn| {
            diesel::insert_into(co::table).values(&row).execute(conn)?;
            Ok(())
        })
    }

    fn find_code(&self, code_hash: &HashedAuthCode) -> StoreResult<Option<AuthCode>> {
        Ok(co::table
            .find(code_hash.as_str())
            .select(CodeRow::as_select())
            .get_result(&mut *self.conn()?)
            .optional()?
            .map(|r| AuthCode {
                code_hash: HashedAuthCode::from_stored(r.code_hash),
                grant_id: GrantId::new(r.grant_id),
                client_id: ClientId::new(r.client_id),
                redirect_uri: r.redirect_uri,
                scope: Scopes::parse(&r.scope).unwrap_or_default(),
                nonce: r.nonce,
                code_challenge: r.code_challenge,
                resource: r.resource,
                expires_at: r.expires_at,
                used_at: r.used_at,
            }))
    }

    fn consume_code(&self, code_hash: &HashedAuthCode, now: UnixTime) -> StoreResult<bool> {
        let code_hash = code_hash.as_str().to_owned();
        self.write(move |conn| {
            Ok(
                diesel::update(co::table.find(code_hash).filter(co::used_at.is_null()))
                    .set(co::used_at.eq(now))
                    .execute(conn)?
                    == 1,
            )
        })
    }

    fn find_grant(&self, id: &GrantId) -> StoreResult<Option<Grant>> {
        Ok(gr::table
            .find(id.as_str())
            .select(GrantRow::as_select())
            .get_result(&mut *self.conn()?)
            .optional()?
            .map(Into::into))
    }

    fn mark_grant_used(&self, id: &GrantId, now: UnixTime) -> StoreResult<bool> {
        let id = id.as_str().to_owned();
        self.write(move |conn| {
            Ok(diesel::update(
                gr::table
                    .find(id)
                    .filter(gr::revoked_at.is_null())
                    .filter(gr::expires_at.gt(now)),
            )
            .set(gr::last_used_at.eq(now))
            .execute(conn)?
                == 1)
        })
    }

    fn revoke_grant(&self, id: &GrantId, now: UnixTime) -> StoreResult<()> {
        let ids = [id.as_str().to_owned()];
        self.write(move |conn| revoke_grants(conn, &ids, now))
    }

    fn insert_access_token(&self, t: &AccessTokenRecord) -> StoreResult<()> {
        let row = AccessRow {
            token_hash: t.token_hash.as_str().to_owned(),
            grant_id: t.grant_id.as_ref().map(|g| g.as_str().to_owned()),
            client_id: t.client_id.as_str().to_owned(),
            user_id: t.user_id.as_ref().map(|u| u.as_str().to_owned()),
            scope: t.scope.to_string(),
            audience: t.audience.clone(),
            created_at: t.created_at,
            expires_at: t.expires_at,
        };
        self.write(move |conn| {
            diesel::insert_into(at::table).values(&row).execute(conn)?;
            Ok(())
        })
    }

    fn find_access_token(
        &self,
        token_hash: &HashedAccessToken,
    ) -> StoreResult<Option<AccessTokenRecord>> {
        Ok(at::table
            .find(token_hash.as_str())
            .select(AccessRow::as_select())
            .get_result(&mut *self.conn()?)
            .optional()?
            .map(|r| AccessTokenRecord {
                token_hash: HashedAccessToken::from_stored(r.token_hash),
                grant_id: r.grant_id.map(GrantId::new),
                client_id: ClientId::new(r.client_id),
                user_id: r.user_id.map(UserId::new),
                scope: Scopes::parse(&r.scope).unwrap_or_default(),
                audience: r.audience,
                created_at: r.created_at,
                expires_at: r.expires_at,
            }))
    }

    fn delete_access_token(&self, token_hash: &HashedAccessToken) -> StoreResult<()> {
        let token_hash = token_hash.as_str().to_owned();
        self.write(move |conn| {
            diesel::delete(at::table.find(token_hash)).execute(conn)?;
            Ok(())
        })
    }

    fn insert_refresh_token(&self, t: &RefreshTokenRecord) -> StoreResult<()> {
        let row = RefreshRow {
            token_hash: t.token_hash.as_str().to_owned(),
            grant_id: t.grant_id.as_str().to_owned(),
            created_at: t.created_at,
            used_at: t.used_at,
        };
        self.write(move |conn| {
            diesel::insert_into(rt::table).values(&row).execute(conn)?;
            Ok(())
        })
    }

    fn find_refresh_token(
        &self,
        token_hash: &HashedRefreshToken,
    ) -> StoreResult<Option<RefreshTokenRecord>> {
        Ok(rt::table
            .find(token_hash.as_str())
            .select(RefreshRow::as_select())
            .get_result(&mut *self.conn()?)
            .optional()?
            .map(|r| RefreshTokenRecord {
                token_hash: HashedRefreshToken::from_stored(r.token_hash),
                grant_id: GrantId::new(r.grant_id),
                created_at: r.created_at,
                used_at: r.used_at,
            }))
    }

    fn consume_refresh_token(
        &self,
        token_hash: &HashedRefreshToken,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let token_hash = token_hash.as_str().to_owned();
        self.write(move |conn| {
            Ok(
                diesel::update(rt::table.find(token_hash).filter(rt::used_at.is_null()))
                    .set(rt::used_at.eq(now))
                    .execute(conn)?
                    == 1,
            )
        })
    }

    fn prune_grants(&self, now: UnixTime) -> StoreResult<usize> {
        let mut conn = self.conn()?;
        let mut n = diesel::delete(at::table.filter(at::expires_at.le(now))).execute(&mut *conn)?;
        // Used codes are kept until expiry so a replay can still be recognised and punished.
        n += diesel::delete(co::table.filter(co::expires_at.le(now - 600))).execute(&mut *conn)?;
        let dead: Vec<String> = gr::table
            .filter(gr::expires_at.le(now).or(gr::revoked_at.le(now - 86_400)))
            .select(gr::id)
            .limit(1000)
            .load(&mut *conn)?;
        if !dead.is_empty() {
            n +=
                diesel::delete(rt::table.filter(rt::grant_id.eq_any(&dead))).execute(&mut *conn)?;
            n +=
                diesel::delete(co::table.filter(co::grant_id.eq_any(&dead))).execute(&mut *conn)?;
            n +=
                diesel::delete(at::table.filter(at::grant_id.eq_any(&dead))).execute(&mut *conn)?;
            n += diesel::delete(gr::table.filter(gr::id.eq_any(&dead))).execute(&mut *conn)?;
        }
        Ok(n)
    }
}

impl SigningKeyStore for Store {
    fn list_signing_keys(&self) -> StoreResult<Vec<StoredKey>> {
        list_signing_keys(&mut *self.conn()?)
    }

    fn rotate_signing_key(&self, key: &StoredKey, published_until: UnixTime) -> StoreResult<()> {
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            diesel::update(
                sk::table
                    .filter(sk::alg.eq(key.alg.as_str()))
                    .filter(sk::retired_at.is_null()),
            )
            .set((
                sk::retired_at.eq(key.active_from),
                sk::published_until.eq(published_until),
            ))
            .execute(conn)?;
            insert_signing_key(conn, key)
        })
    }

    fn count_signing_keys(&self, alg: SigningAlg) -> StoreResult<i64> {
        Ok(sk::table
            .filter(sk::alg.eq(alg.as_str()))
            .count()
            .get_result(&mut *self.conn()?)?)
    }
}

/// Everything a client was granted: access tokens, refresh tokens, codes, consents, grants.
fn end_client_authorizations(conn: &mut DbConn, id: &str) -> StoreResult<()> {
    diesel::delete(at::table.filter(at::client_id.eq(id))).execute(conn)?;
    let grants: Vec<String> = gr::table
        .filter(gr::client_id.eq(id))
        .select(gr::id)
        .load(conn)?;
    diesel::delete(rt::table.filter(rt::grant_id.eq_any(&grants))).execute(conn)?;
    diesel::delete(co::table.filter(co::client_id.eq(id))).execute(conn)?;
    diesel::delete(gr::table.filter(gr::client_id.eq(id))).execute(conn)?;
    diesel::delete(cs::table.filter(cs::client_id.eq(id))).execute(conn)?;
    Ok(())
}

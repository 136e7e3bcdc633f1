//! SSO connections, verified domains and the organisations' SSO requirement.
//! (External identities live in `external_identities.rs`.)

use diesel::Connection as _;
use diesel::prelude::*;

use super::schema::{
    external_identities as ext, memberships, org_domains as dom, organisations as orgs,
    sso_connections as conn,
};
use super::{Store, StoreError, StoreResult};
use crate::clock::UnixTime;
use crate::federation::store::{ConnectionStore, DomainStore, SsoPolicyStore};
use crate::federation::types::{
    Connection, OidcConfig, OrgDomain, Protocol, SamlConfig, SsoMembership,
};
use crate::ids::{ConnectionId, OrgId, UserId};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = conn)]
struct ConnectionRow {
    id: String,
    org_id: String,
    kind: String,
    name: String,
    enabled: bool,
    config: String,
    secret: Option<String>,
    created_at: i64,
}

impl ConnectionRow {
    fn new(c: &Connection, sealed_secret: Option<&str>) -> StoreResult<Self> {
        let config = match &c.protocol {
            Protocol::Oidc(oidc) => serde_json::to_string(oidc),
            Protocol::Saml(saml) => serde_json::to_string(saml),
        }
        .map_err(|e| StoreError::Backend(format!("connection config: {e}")))?;
        Ok(Self {
            id: c.id.as_str().to_owned(),
            org_id: c.org_id.as_str().to_owned(),
            kind: c.protocol.kind().to_owned(),
            name: c.name.clone(),
            enabled: c.enabled,
            config,
            secret: sealed_secret.map(str::to_owned),
            created_at: c.created_at,
        })
    }

    /// The connection and its sealed secret; a kind or config this build cannot read is a
    /// backend error (a newer server wrote it), never a connection with guessed settings.
    fn into_connection(self) -> StoreResult<(Connection, Option<String>)> {
        let protocol = match self.kind.as_str() {
            "oidc" => Protocol::Oidc(
                serde_json::from_str::<OidcConfig>(&self.config)
                    .map_err(|e| StoreError::Backend(format!("connection {}: {e}", self.id)))?,
            ),
            "saml" => Protocol::Saml(
                serde_json::from_str::<SamlConfig>(&self.config)
                    .map_err(|e| StoreError::Backend(format!("connection {}: {e}", self.id)))?,
            ),
            other => {
                return Err(StoreError::Backend(format!(
                    "connection {}: unknown kind `{other}`",
                    self.id
                )));
            }
        };
        Ok((
            Connection {
                id: ConnectionId::new(self.id),
                org_id: OrgId::new(self.org_id),
                name: self.name,
                enabled: self.enabled,
                created_at: self.created_at,
                protocol,
            },
            self.secret,
        ))
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = dom)]
struct DomainRow {
    org_id: String,
    domain: String,
    challenge: String,
    created_at: i64,
    verified_at: Option<i64>,
}

impl From<DomainRow> for OrgDomain {
    fn from(r: DomainRow) -> Self {
        OrgDomain {
            org_id: OrgId::new(r.org_id),
            domain: r.domain,
            challenge: r.challenge,
            created_at: r.created_at,
            verified_at: r.verified_at,
        }
    }
}

impl From<&OrgDomain> for DomainRow {
    fn from(d: &OrgDomain) -> Self {
        DomainRow {
            org_id: d.org_id.as_str().to_owned(),
            domain: d.domain.clone(),
            challenge: d.challenge.clone(),
            created_at: d.created_at,
            verified_at: d.verified_at,
        }
    }
}

fn find_domain(
    conn: &mut super::DbConn,
    org: &OrgId,
    domain: &str,
) -> StoreResult<Option<OrgDomain>> {
    Ok(dom::table
        .find((org.as_str(), domain))
        .select(DomainRow::as_select())
        .get_result(conn)
        .optional()?
        .map(Into::into))
}

impl ConnectionStore for Store {
    fn create_connection(&self, c: &Connection, sealed_secret: Option<&str>) -> StoreResult<()> {
        let row = ConnectionRow::new(c, sealed_secret)?;
        diesel::insert_into(conn::table)
            .values(row)
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    fn find_connection(
        &self,
        id: &ConnectionId,
    ) -> StoreResult<Option<(Connection, Option<String>)>> {
        conn::table
            .find(id.as_str())
            .select(ConnectionRow::as_select())
            .get_result(&mut *self.conn()?)
            .optional()?
            .map(ConnectionRow::into_connection)
            .transpose()
    }

    fn list_connections(&self, org: &OrgId) -> StoreResult<Vec<Connection>> {
        conn::table
            .filter(conn::org_id.eq(org.as_str()))
            .order((conn::created_at, conn::id))
            .select(ConnectionRow::as_select())
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(|r| r.into_connection().map(|(c, _)| c))
            .collect()
    }

    fn set_connection_enabled(
        &self,
        org: &OrgId,
        id: &ConnectionId,
        enabled: bool,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let mut c = self.conn()?;
        c.transaction(|c| {
            let n = diesel::update(
                conn::table
                    .filter(conn::id.eq(id.as_str()))
                    .filter(conn::org_id.eq(org.as_str())),
            )
            .set(conn::enabled.eq(enabled))
            .execute(c)?;
            if n == 1 && !enabled {
                end_federated_sign_ins(c, org.as_str(), id.as_str(), now)?;
            }
            Ok::<_, StoreError>(n == 1)
        })
    }

    fn delete_connection(
        &self,
        org: &OrgId,
        id: &ConnectionId,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let (org, id) = (org.as_str(), id.as_str());
        let mut c = self.conn()?;
        c.transaction(|c| {
            let owned = diesel::update(
                conn::table
                    .filter(conn::id.eq(id))
                    .filter(conn::org_id.eq(org)),
            )
            .set(conn::enabled.eq(false))
            .execute(c)?;
            if owned == 0 {
                return Ok(false);
            }
            end_federated_sign_ins(c, org, id, now)?;
            diesel::delete(ext::table.filter(ext::connection_id.eq(id))).execute(c)?;
            diesel::delete(conn::table.find(id)).execute(c)?;
            Ok::<_, StoreError>(true)
        })
    }
}

/// Ends the SSO sign-ins of the users linked through connection `id` in `org`: their sessions
/// acting there whose sign-in was federated (`fed`; a session does not record which of the
/// organisation's connections it came through, so all of them), the grants bound to those
/// sessions, and their grants there made on a federated sign-in.
fn end_federated_sign_ins(
    c: &mut super::DbConn,
    org: &str,
    id: &str,
    now: UnixTime,
) -> StoreResult<()> {
    use super::schema::{oauth_grants as gr, sessions};
    let fed = |amr: &str| {
        amr.split_whitespace()
            .any(|a| a == crate::authn::AMR_FEDERATED)
    };
    let users: Vec<String> = ext::table
        .filter(ext::connection_id.eq(id))
        .select(ext::user_id)
        .load(c)?;
    let sids: Vec<String> = sessions::table
        .filter(sessions::user_id.eq_any(&users))
        .filter(sessions::org_id.eq(org))
        .select((sessions::sid, sessions::amr))
        .load::<(String, String)>(c)?
        .into_iter()
        .filter(|(_, amr)| fed(amr))
        .map(|(sid, _)| sid)
        .collect();
    let mut grants = super::oauth::grants_of_sessions(c, &sids)?;
    grants.extend(
        gr::table
            .filter(gr::user_id.eq_any(&users))
            .filter(gr::org_id.eq(org))
            .filter(gr::revoked_at.is_null())
            .select((gr::id, gr::amr))
            .load::<(String, String)>(c)?
            .into_iter()
            .filter(|(_, amr)| fed(amr))
            .map(|(id, _)| id),
    );
    grants.sort();
    grants.dedup();
    super::oauth::revoke_grants(c, &grants, now)?;
    diesel::delete(sessions::table.filter(sessions::sid.eq_any(&sids))).execute(c)?;
    Ok(())
}

impl DomainStore for Store {
    fn claim_domain(&self, d: &OrgDomain) -> StoreResult<OrgDomain> {
        let mut c = self.conn()?;
        c.transaction(|c| {
            if let Some(existing) = find_domain(c, &d.org_id, &d.domain)? {
                return Ok(existing);
            }
            diesel::insert_into(dom::table)
                .values(DomainRow::from(d))
                .execute(c)?;
            Ok::<_, StoreError>(d.clone())
        })
        .or_else(|e| match e {
            // Claimed concurrently by the same organisation: that claim stands.
            StoreError::Conflict(_) => {
                find_domain(&mut *self.conn()?, &d.org_id, &d.domain)?.ok_or(StoreError::NotFound)
            }
            other => Err(other),
        })
    }

    fn mark_domain_verified(&self, org: &OrgId, domain: &str, now: UnixTime) -> StoreResult<()> {
        let mut c = self.conn()?;
        let n = diesel::update(
            dom::table
                .find((org.as_str(), domain))
                .filter(dom::verified_at.is_null()),
        )
        .set(dom::verified_at.eq(now))
        // The unique index on verified domains refuses a second organisation: `Conflict`.
        .execute(&mut *c)?;
        if n == 1 {
            return Ok(());
        }
        match find_domain(&mut c, org, domain)? {
            Some(d) if d.verified_at.is_some() => Ok(()),
            _ => Err(StoreError::NotFound),
        }
    }

    fn verified_domain_owner(&self, domain: &str) -> StoreResult<Option<OrgId>> {
        Ok(dom::table
            .filter(dom::domain.eq(domain))
            .filter(dom::verified_at.is_not_null())
            .select(dom::org_id)
            .get_result::<String>(&mut *self.conn()?)
            .optional()?
            .map(OrgId::new))
    }

    fn list_domains(&self, org: &OrgId) -> StoreResult<Vec<OrgDomain>> {
        Ok(dom::table
            .filter(dom::org_id.eq(org.as_str()))
            .order(dom::domain)
            .select(DomainRow::as_select())
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    fn delete_domain(&self, org: &OrgId, domain: &str) -> StoreResult<bool> {
        Ok(
            diesel::delete(dom::table.find((org.as_str(), domain))).execute(&mut *self.conn()?)?
                == 1,
        )
    }
}

impl SsoPolicyStore for Store {
    fn set_org_require_sso(&self, org: &OrgId, require: bool) -> StoreResult<bool> {
        Ok(diesel::update(orgs::table.find(org.as_str()))
            .set(orgs::require_sso.eq(require))
            .execute(&mut *self.conn()?)?
            == 1)
    }

    fn org_requires_sso(&self, org: &OrgId) -> StoreResult<bool> {
        Ok(orgs::table
            .find(org.as_str())
            .select(orgs::require_sso)
            .get_result(&mut *self.conn()?)
            .optional()?
            .unwrap_or(false))
    }

    fn sso_required_memberships(&self, user: &UserId) -> StoreResult<Vec<SsoMembership>> {
        let rows: Vec<(String, String, String)> = memberships::table
            .inner_join(orgs::table)
            .filter(memberships::user_id.eq(user.as_str()))
            .filter(orgs::require_sso.eq(true))
            .order(orgs::name_key)
            .select((orgs::id, orgs::name, memberships::role))
            .load(&mut *self.conn()?)?;
        rows.into_iter()
            .map(|(org_id, org_name, role)| {
                Ok(SsoMembership {
                    org_id: OrgId::new(org_id),
                    org_name,
                    role: role
                        .parse()
                        .map_err(|_| StoreError::Backend(format!("unknown role `{role}`")))?,
                })
            })
            .collect()
    }
}

//! Diesel row structs. Private to `store/`: they convert into domain types at the boundary.

use diesel::prelude::*;

use super::schema::*;
use crate::accounts::types::{Organisation, User};
use crate::audit::AuditEvent;
use crate::credentials::HashedSessionId;
use crate::ids::{OrgId, Sid, UserId};
use crate::sessions::types::SessionRecord;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = organisations)]
pub struct OrgRow {
    pub id: String,
    pub name: String,
    pub name_key: String,
    pub created_at: i64,
    pub api_key_max_lifetime: Option<i64>,
    pub api_key_legacy_query: bool,
    pub require_mfa: bool,
    pub require_sso: bool,
    pub session_idle_timeout: Option<i64>,
    pub session_absolute_timeout: Option<i64>,
}

impl From<OrgRow> for Organisation {
    fn from(r: OrgRow) -> Self {
        Organisation {
            id: OrgId::new(r.id),
            name: r.name,
            created_at: r.created_at,
            api_key_max_lifetime: r.api_key_max_lifetime,
            api_key_legacy_query: r.api_key_legacy_query,
            require_mfa: r.require_mfa,
            require_sso: r.require_sso,
            session_idle_timeout: r.session_idle_timeout,
            session_absolute_timeout: r.session_absolute_timeout,
        }
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub username_key: String,
    pub email: String,
    pub email_key: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub home_org: Option<String>,
    pub email_verified: bool,
}

impl UserRow {
    pub fn into_user(self) -> (User, Option<String>) {
        let user = User {
            id: UserId::new(self.id),
            username: self.username,
            email: self.email,
            display_name: self.display_name,
            disabled: self.disabled,
            created_at: self.created_at,
            updated_at: self.updated_at,
            home_org: self.home_org.map(OrgId::new),
            email_verified: self.email_verified,
        };
        (user, self.password_hash)
    }
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        r.into_user().0
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = memberships)]
pub struct MembershipRow {
    pub org_id: String,
    pub user_id: String,
    pub role: String,
    pub created_at: i64,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id_hash: String,
    pub sid: String,
    pub user_id: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub auth_time: i64,
    pub amr: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub org_id: Option<String>,
}

impl From<SessionRow> for SessionRecord {
    fn from(r: SessionRow) -> Self {
        SessionRecord {
            id_hash: HashedSessionId::from_stored(r.id_hash),
            sid: Sid::new(r.sid),
            user_id: UserId::new(r.user_id),
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            expires_at: r.expires_at,
            auth_time: r.auth_time,
            amr: r.amr.split_whitespace().map(String::from).collect(),
            ip: r.ip,
            user_agent: r.user_agent,
            org_id: r.org_id.map(OrgId::new),
        }
    }
}

impl From<&SessionRecord> for SessionRow {
    fn from(s: &SessionRecord) -> Self {
        SessionRow {
            id_hash: s.id_hash.as_str().to_owned(),
            sid: s.sid.as_str().to_owned(),
            user_id: s.user_id.as_str().to_owned(),
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at,
            auth_time: s.auth_time,
            amr: s.amr.join(" "),
            ip: s.ip.clone(),
            user_agent: s.user_agent.clone(),
            org_id: s.org_id.as_ref().map(|o| o.as_str().to_owned()),
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewAuditRow<'a> {
    pub at: i64,
    pub kind: &'a str,
    pub user_id: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub detail: Option<&'a str>,
    pub org_id: Option<&'a str>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    pub user_id: Option<String>,
    pub subject: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Option<String>,
    pub org_id: Option<String>,
}

impl From<AuditRow> for AuditEvent {
    fn from(r: AuditRow) -> Self {
        AuditEvent {
            at: r.at,
            kind: r.kind,
            user_id: r.user_id.map(UserId::new),
            subject: r.subject,
            ip: r.ip,
            user_agent: r.user_agent,
            detail: r.detail,
            org_id: r.org_id.map(OrgId::new),
        }
    }
}

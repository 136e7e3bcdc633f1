//! The organisation console's store (issue #14): members (list, role change keeping an owner,
//! MFA reset) and invitations (`email_links` of kind `invitation`).

use diesel::prelude::*;

use super::owners::{parse_role, role_and_last_owner};
use super::rows::UserRow;
use super::schema::{
    email_links as el, memberships, passkeys, recovery_codes, totp_credentials, users,
};
use super::{DbConn, Store, StoreError, StoreResult};
use crate::accounts::types::{NewUser, Role, User};
use crate::clock::UnixTime;
use crate::ids::{OrgId, UserId};
use crate::members::store::{
    HashedInvitation, Invitation, InvitationStore, Joined, MemberInfo, MemberStore, MfaReset,
    RoleChange,
};

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// The `email_links.kind` of an invitation.
const INVITATION: &str = "invitation";

/// `%`, `_` and `\` taken literally in a `LIKE … ESCAPE '\'` pattern.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Which of `ids` have a second factor (a confirmed TOTP or a passkey).
fn with_mfa(conn: &mut DbConn, ids: &[String]) -> StoreResult<Vec<String>> {
    let mut found: Vec<String> = totp_credentials::table
        .filter(totp_credentials::user_id.eq_any(ids))
        .filter(totp_credentials::confirmed.eq(true))
        .select(totp_credentials::user_id)
        .load(conn)?;
    found.extend(
        passkeys::table
            .filter(passkeys::user_id.eq_any(ids))
            .select(passkeys::user_id)
            .load::<String>(conn)?,
    );
    Ok(found)
}

fn member_infos(
    conn: &mut DbConn,
    rows: Vec<(UserRow, String, i64)>,
) -> StoreResult<Vec<MemberInfo>> {
    let ids: Vec<String> = rows.iter().map(|(u, _, _)| u.id.clone()).collect();
    let mfa = with_mfa(conn, &ids)?;
    rows.into_iter()
        .map(|(user, role, joined)| {
            let user: User = user.into();
            Ok(MemberInfo {
                mfa: mfa.iter().any(|id| id == user.id.as_str()),
                role: parse_role(&role)?,
                joined,
                user,
            })
        })
        .collect()
}

impl MemberStore for Store {
    fn list_members(
        &self,
        org: &OrgId,
        query: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> StoreResult<Vec<MemberInfo>> {
        let mut conn = self.conn()?;
        let mut q = users::table
            .inner_join(memberships::table)
            .filter(memberships::org_id.eq(org.as_str()))
            .into_boxed();
        if let Some(query) = query.map(str::trim).filter(|q| !q.is_empty()) {
            let pattern = format!("%{}%", like_escape(&query.to_lowercase()));
            q = q.filter(
                lower(users::username)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(users::email).like(pattern.clone()).escape('\\'))
                    .or(lower(users::display_name).like(pattern).escape('\\')),
            );
        }
        let rows: Vec<(UserRow, String, i64)> = q
            .order((lower(users::username), users::id))
            .offset(offset.max(0))
            .limit(limit)
            .select((
                UserRow::as_select(),
                memberships::role,
                memberships::created_at,
            ))
            .load(&mut *conn)?;
        member_infos(&mut conn, rows)
    }

    fn find_member(&self, org: &OrgId, user: &UserId) -> StoreResult<Option<MemberInfo>> {
        let mut conn = self.conn()?;
        let rows: Vec<(UserRow, String, i64)> = users::table
            .inner_join(memberships::table)
            .filter(memberships::org_id.eq(org.as_str()))
            .filter(users::id.eq(user.as_str()))
            .select((
                UserRow::as_select(),
                memberships::role,
                memberships::created_at,
            ))
            .load(&mut *conn)?;
        Ok(member_infos(&mut conn, rows)?.into_iter().next())
    }

    fn set_role_keeping_owner(
        &self,
        org: &OrgId,
        user: &UserId,
        role: Role,
    ) -> StoreResult<RoleChange> {
        let (org, user) = (org.clone(), user.clone());
        self.write(move |conn| {
            conn.transaction(|conn| {
                let Some((from, last_owner)) = role_and_last_owner(conn, &org, &user)? else {
                    return Ok(RoleChange::NotMember);
                };
                if from == role {
                    return Ok(RoleChange::Unchanged);
                }
                if last_owner {
                    return Ok(RoleChange::LastOwner);
                }
                diesel::update(memberships::table.find((org.as_str(), user.as_str())))
                    .set(memberships::role.eq(role.as_str()))
                    .execute(conn)?;
                Ok(RoleChange::Changed { from })
            })
        })
    }

    fn reset_mfa(&self, user: &UserId) -> StoreResult<MfaReset> {
        let user = user.clone();
        self.write(move |conn| {
            conn.transaction(|conn| {
                let id = user.as_str();
                let totp = diesel::delete(totp_credentials::table.find(id)).execute(conn)? > 0;
                let recovery_codes =
                    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(id)))
                        .execute(conn)?;
                let passkeys = diesel::delete(passkeys::table.filter(passkeys::user_id.eq(id)))
                    .execute(conn)?;
                Ok(MfaReset {
                    totp,
                    recovery_codes,
                    passkeys,
                })
            })
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = el)]
struct InvitationRow {
    id_hash: String,
    org_id: Option<String>,
    email: String,
    role: Option<String>,
    created_by: Option<String>,
    created_at: i64,
    expires_at: i64,
}

impl TryFrom<InvitationRow> for Invitation {
    type Error = StoreError;
    fn try_from(r: InvitationRow) -> StoreResult<Self> {
        Ok(Invitation {
            id: r.id_hash,
            org_id: OrgId::new(
                r.org_id
                    .ok_or_else(|| StoreError::Backend("an invitation without org".into()))?,
            ),
            email: r.email,
            role: parse_role(r.role.as_deref().unwrap_or("member"))?,
            created_by: r.created_by.map(UserId::new),
            created_at: r.created_at,
            expires_at: r.expires_at,
        })
    }
}

/// Uses the invitation: one conditional UPDATE; the row when this call used it.
fn take(
    conn: &mut DbConn,
    hash: &HashedInvitation,
    now: UnixTime,
) -> StoreResult<Option<Invitation>> {
    let used = diesel::update(
        el::table
            .filter(el::id_hash.eq(hash.as_str()))
            .filter(el::kind.eq(INVITATION))
            .filter(el::used_at.is_null())
            .filter(el::expires_at.gt(now)),
    )
    .set(el::used_at.eq(now))
    .execute(conn)?;
    if used == 0 {
        return Ok(None);
    }
    let row: InvitationRow = el::table
        .find(hash.as_str())
        .select(InvitationRow::as_select())
        .get_result(conn)?;
    row.try_into().map(Some)
}

impl InvitationStore for Store {
    fn create_invitation(&self, hash: &HashedInvitation, inv: &Invitation) -> StoreResult<usize> {
        let (hash, inv) = (hash.as_str().to_owned(), inv.clone());
        self.write(move |conn| {
            conn.transaction(|conn| {
                let replaced = diesel::delete(
                    el::table
                        .filter(el::kind.eq(INVITATION))
                        .filter(el::org_id.eq(inv.org_id.as_str()))
                        .filter(el::used_at.is_null())
                        .filter(lower(el::email).eq(inv.email.to_lowercase())),
                )
                .execute(conn)?;
                diesel::insert_into(el::table)
                    .values((
                        el::id_hash.eq(&hash),
                        el::kind.eq(INVITATION),
                        el::org_id.eq(inv.org_id.as_str()),
                        el::email.eq(&inv.email),
                        el::role.eq(inv.role.as_str()),
                        el::created_by.eq(inv.created_by.as_ref().map(|u| u.as_str())),
                        el::created_at.eq(inv.created_at),
                        el::expires_at.eq(inv.expires_at),
                    ))
                    .execute(conn)?;
                Ok(replaced)
            })
        })
    }

    fn pending_invitations(&self, org: &OrgId, now: UnixTime) -> StoreResult<Vec<Invitation>> {
        el::table
            .filter(el::kind.eq(INVITATION))
            .filter(el::org_id.eq(org.as_str()))
            .filter(el::used_at.is_null())
            .filter(el::expires_at.gt(now))
            .order((el::created_at.desc(), el::id_hash))
            .select(InvitationRow::as_select())
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(TryInto::try_into)
            .collect()
    }

    fn revoke_invitation(&self, org: &OrgId, id: &str) -> StoreResult<bool> {
        let (org, id) = (org.clone(), id.to_owned());
        self.write(move |conn| {
            Ok(diesel::delete(
                el::table
                    .filter(el::id_hash.eq(&id))
                    .filter(el::kind.eq(INVITATION))
                    .filter(el::org_id.eq(org.as_str()))
                    .filter(el::used_at.is_null()),
            )
            .execute(conn)?
                == 1)
        })
    }

    fn find_invitation(
        &self,
        hash: &HashedInvitation,
        now: UnixTime,
    ) -> StoreResult<Option<Invitation>> {
        el::table
            .filter(el::id_hash.eq(hash.as_str()))
            .filter(el::kind.eq(INVITATION))
            .filter(el::used_at.is_null())
            .filter(el::expires_at.gt(now))
            .select(InvitationRow::as_select())
            .get_result(&mut *self.conn()?)
            .optional()?
            .map(TryInto::try_into)
            .transpose()
    }

    fn accept_invitation(
        &self,
        hash: &HashedInvitation,
        user: &UserId,
        now: UnixTime,
    ) -> StoreResult<Option<(Invitation, Joined)>> {
        let (hash, user) = (hash.clone(), user.clone());
        self.write(move |conn| {
            conn.transaction(|conn| {
                let Some(inv) = take(conn, &hash, now)? else {
                    return Ok(None);
                };
                let current: Option<String> = memberships::table
                    .find((inv.org_id.as_str(), user.as_str()))
                    .select(memberships::role)
                    .get_result(conn)
                    .optional()?;
                let joined = match current {
                    None => {
                        super::accounts::add_membership_in(
                            conn,
                            &inv.org_id,
                            &user,
                            inv.role,
                            now,
                        )?;
                        Joined::Added
                    }
                    Some(from) => {
                        let from = parse_role(&from)?;
                        if rank(inv.role) > rank(from) {
                            diesel::update(
                                memberships::table.find((inv.org_id.as_str(), user.as_str())),
                            )
                            .set(memberships::role.eq(inv.role.as_str()))
                            .execute(conn)?;
                            Joined::Raised { from }
                        } else {
                            Joined::Unchanged
                        }
                    }
                };
                Ok(Some((inv, joined)))
            })
        })
    }

    fn accept_invitation_new_user(
        &self,
        hash: &HashedInvitation,
        user: &NewUser,
        now: UnixTime,
    ) -> StoreResult<Option<(Invitation, User)>> {
        let (hash, user) = (hash.clone(), user.clone());
        self.write(move |conn| {
            conn.transaction(|conn| {
                let Some(inv) = take(conn, &hash, now)? else {
                    return Ok(None);
                };
                let created =
                    super::accounts::create_user(conn, &user, Some((&inv.org_id, inv.role)), now)?;
                Ok(Some((inv, created)))
            })
        })
    }
}

/// Owners above admins above members.
fn rank(role: Role) -> u8 {
    match role {
        Role::Owner => 2,
        Role::Admin => 1,
        Role::Member => 0,
    }
}

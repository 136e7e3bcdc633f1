//! [`SelfServiceStore`] over diesel: passwords, names, the user's sessions, and the e-mail
//! links of account self-service (`email_links` kinds `password_reset`, `email_change`,
//! `email_verify`). A link is spent by one conditional update (unused, unexpired), so of two
//! concurrent uses one wins.

use diesel::prelude::*;

use super::rows::SessionRow;
use super::schema::{email_links as el, oauth_grants as gr, scim_users, sessions, users};
use super::{Store, StoreError, StoreResult};
use crate::clock::UnixTime;
use crate::credentials::HashedSessionId;
use crate::ids::UserId;
use crate::selfservice::store::SelfServiceStore;
use crate::selfservice::types::{EmailLink, HashedEmailLink, LinkKind, ResetDone};
use crate::sessions::types::SessionRecord;

#[derive(Queryable, Selectable)]
#[diesel(table_name = el)]
struct LinkRow {
    id_hash: String,
    kind: String,
    user_id: Option<String>,
    email: String,
    created_at: i64,
    expires_at: i64,
}

impl LinkRow {
    fn into_link(self) -> Option<EmailLink> {
        Some(EmailLink {
            id_hash: HashedEmailLink::from_stored(self.id_hash),
            kind: LinkKind::parse(&self.kind)?,
            user_id: UserId::new(self.user_id?),
            email: self.email,
            created_at: self.created_at,
            expires_at: self.expires_at,
        })
    }
}

/// The e-mail kinds of this area, as stored.
fn email_kinds() -> Vec<&'static str> {
    vec![
        LinkKind::EmailChange.as_str(),
        LinkKind::EmailVerify.as_str(),
    ]
}

/// Deletes the user's sessions but `keep` and revokes the grants bound to them.
fn end_sessions(
    conn: &mut super::DbConn,
    user: &str,
    keep: Option<&str>,
    now: UnixTime,
) -> StoreResult<usize> {
    let keep = keep.unwrap_or("");
    let sids: Vec<String> = sessions::table
        .filter(sessions::user_id.eq(user))
        .filter(sessions::id_hash.ne(keep))
        .select(sessions::sid)
        .load(conn)?;
    if sids.is_empty() {
        return Ok(0);
    }
    let grants = super::oauth::grants_of_sessions(conn, &sids)?;
    super::oauth::revoke_grants(conn, &grants, now)?;
    Ok(diesel::delete(sessions::table.filter(sessions::sid.eq_any(&sids))).execute(conn)?)
}

/// Revokes every grant of the user (offline, device and session-bound alike) but those bound to
/// the session `keep` (its hash), with their tokens: what someone who knew the old password
/// may have minted ends with the password.
fn end_other_grants(
    conn: &mut super::DbConn,
    user: &str,
    keep: Option<&str>,
    now: UnixTime,
) -> StoreResult<()> {
    let kept: Option<String> = match keep {
        Some(keep) => sessions::table
            .filter(sessions::id_hash.eq(keep))
            .select(sessions::sid)
            .get_result(conn)
            .optional()?,
        None => None,
    };
    let mut q = gr::table
        .filter(gr::user_id.eq(user))
        .filter(gr::revoked_at.is_null())
        .select(gr::id)
        .into_boxed();
    if let Some(sid) = kept {
        q = q.filter(gr::sid.is_null().or(gr::sid.ne(sid)));
    }
    let grants: Vec<String> = q.load(conn)?;
    super::oauth::revoke_grants(conn, &grants, now)
}

/// Spends the user's pending password-reset links: a new password, or a new address, makes a
/// link sent earlier (to what may be an old mailbox) worthless.
fn spend_reset_links(conn: &mut super::DbConn, user: &str, now: UnixTime) -> StoreResult<()> {
    diesel::update(
        el::table
            .filter(el::user_id.eq(user))
            .filter(el::kind.eq(LinkKind::PasswordReset.as_str()))
            .filter(el::used_at.is_null()),
    )
    .set(el::used_at.eq(now))
    .execute(conn)?;
    Ok(())
}

impl SelfServiceStore for Store {
    fn password_hash(&self, user: &UserId) -> StoreResult<Option<String>> {
        Ok(users::table
            .find(user.as_str())
            .select(users::password_hash)
            .get_result::<Option<String>>(&mut *self.conn()?)
            .optional()?
            .flatten())
    }

    fn set_password_hash(&self, user: &UserId, hash: &str, now: UnixTime) -> StoreResult<()> {
        let (user, hash) = (user.as_str().to_owned(), hash.to_owned());
        self.write(move |conn| {
            conn.transaction::<_, StoreError, _>(|conn| {
                diesel::update(users::table.find(&user))
                    .set((users::password_hash.eq(hash), users::updated_at.eq(now)))
                    .execute(conn)?;
                spend_reset_links(conn, &user, now)
            })
        })
    }

    fn set_display_name(&self, user: &UserId, name: &str, now: UnixTime) -> StoreResult<()> {
        let (user, name) = (user.as_str().to_owned(), name.to_owned());
        self.write(move |conn| {
            diesel::update(users::table.find(user))
                .set((users::display_name.eq(name), users::updated_at.eq(now)))
                .execute(conn)?;
            Ok(())
        })
    }

    fn is_scim_provisioned(&self, user: &UserId) -> StoreResult<bool> {
        Ok(scim_users::table
            .find(user.as_str())
            .select(scim_users::user_id)
            .get_result::<String>(&mut *self.conn()?)
            .optional()?
            .is_some())
    }

    fn user_sessions(&self, user: &UserId) -> StoreResult<Vec<SessionRecord>> {
        Ok(sessions::table
            .filter(sessions::user_id.eq(user.as_str()))
            .order(sessions::last_seen_at.desc())
            .select(SessionRow::as_select())
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    fn end_user_sessions(
        &self,
        user: &UserId,
        keep: Option<&HashedSessionId>,
        all_grants: bool,
        now: UnixTime,
    ) -> StoreResult<usize> {
        let user = user.as_str().to_owned();
        let keep = keep.map(|k| k.as_str().to_owned());
        self.write(move |conn| {
            conn.transaction::<_, StoreError, _>(|conn| {
                if all_grants {
                    end_other_grants(conn, &user, keep.as_deref(), now)?;
                }
                end_sessions(conn, &user, keep.as_deref(), now)
            })
        })
    }

    fn insert_email_link(&self, link: &EmailLink, now: UnixTime) -> StoreResult<()> {
        let values = (
            el::id_hash.eq(link.id_hash.as_str().to_owned()),
            el::kind.eq(link.kind.as_str()),
            el::user_id.eq(Some(link.user_id.as_str().to_owned())),
            el::email.eq(link.email.clone()),
            el::created_at.eq(link.created_at),
            el::expires_at.eq(link.expires_at),
        );
        let (user, kind) = (link.user_id.as_str().to_owned(), link.kind.as_str());
        self.write(move |conn| {
            conn.transaction::<_, StoreError, _>(|conn| {
                diesel::update(
                    el::table
                        .filter(el::user_id.eq(&user))
                        .filter(el::kind.eq(kind))
                        .filter(el::used_at.is_null()),
                )
                .set(el::used_at.eq(now))
                .execute(conn)?;
                diesel::insert_into(el::table)
                    .values(values)
                    .execute(conn)?;
                Ok(())
            })
        })
    }

    fn find_email_link(
        &self,
        hash: &HashedEmailLink,
        kinds: &[LinkKind],
        now: UnixTime,
    ) -> StoreResult<Option<EmailLink>> {
        let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        Ok(el::table
            .find(hash.as_str())
            .filter(el::kind.eq_any(kinds))
            .filter(el::used_at.is_null())
            .filter(el::expires_at.gt(now))
            .select(LinkRow::as_select())
            .get_result(&mut *self.conn()?)
            .optional()?
            .and_then(LinkRow::into_link))
    }

    fn confirm_email(
        &self,
        hash: &HashedEmailLink,
        user: &UserId,
        email_key: &str,
        now: UnixTime,
    ) -> StoreResult<Option<String>> {
        let (hash, user) = (hash.as_str().to_owned(), user.as_str().to_owned());
        let email_key = email_key.to_owned();
        self.write(move |conn| {
            conn.transaction::<_, StoreError, _>(|conn| {
                let spent = diesel::update(
                    el::table
                        .find(&hash)
                        .filter(el::kind.eq_any(email_kinds()))
                        .filter(el::user_id.eq(&user))
                        .filter(el::used_at.is_null())
                        .filter(el::expires_at.gt(now)),
                )
                .set(el::used_at.eq(now))
                .execute(conn)?;
                if spent != 1 {
                    return Ok(None);
                }
                let email: String = el::table.find(&hash).select(el::email).get_result(conn)?;
                let previous: String = users::table
                    .find(&user)
                    .select(users::email)
                    .get_result(conn)?;
                diesel::update(users::table.find(&user))
                    .set((
                        users::email.eq(&email),
                        users::email_key.eq(&email_key),
                        users::email_verified.eq(true),
                        users::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                // The user's other pending e-mail links named an address that is no longer
                // the question.
                diesel::update(
                    el::table
                        .filter(el::user_id.eq(&user))
                        .filter(el::kind.eq_any(email_kinds()))
                        .filter(el::used_at.is_null()),
                )
                .set(el::used_at.eq(now))
                .execute(conn)?;
                spend_reset_links(conn, &user, now)?;
                Ok(Some(previous))
            })
        })
    }

    fn reset_password(
        &self,
        hash: &HashedEmailLink,
        password_hash: &str,
        now: UnixTime,
    ) -> StoreResult<Option<ResetDone>> {
        let hash = hash.as_str().to_owned();
        let password_hash = password_hash.to_owned();
        self.write(move |conn| {
            conn.transaction::<_, StoreError, _>(|conn| {
                let spent = diesel::update(
                    el::table
                        .find(&hash)
                        .filter(el::kind.eq(LinkKind::PasswordReset.as_str()))
                        .filter(el::used_at.is_null())
                        .filter(el::expires_at.gt(now)),
                )
                .set(el::used_at.eq(now))
                .execute(conn)?;
                if spent != 1 {
                    return Ok(None);
                }
                let (user, email): (Option<String>, String) = el::table
                    .find(&hash)
                    .select((el::user_id, el::email))
                    .get_result(conn)?;
                let Some(user) = user else {
                    return Ok(None);
                };
                diesel::update(users::table.find(&user))
                    .set((
                        users::password_hash.eq(Some(&password_hash)),
                        users::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                // The link reached the address: proven, if it is still the account's.
                diesel::update(users::table.find(&user).filter(users::email.eq(&email)))
                    .set(users::email_verified.eq(true))
                    .execute(conn)?;
                // Account recovery: whatever was minted with the old password ends, not only
                // sessions (offline and device grants, API keys, flows), and older links die.
                spend_reset_links(conn, &user, now)?;
                let user_id = UserId::new(user);
                let ended = super::deprovision::end_access(conn, &user_id, None, now)?;
                Ok(Some(ResetDone {
                    user_id,
                    sessions: ended.sessions,
                }))
            })
        })
    }
}

//! The deprovision store: each method one transaction that ends what the rule says.

use diesel::prelude::*;

use super::schema::{
    device_codes as d, memberships, oauth_access_tokens as at, oauth_grants as gr, sessions,
    signin_flows as sf, users,
};
use super::{DbConn, Store, StoreError, StoreResult};
use crate::clock::UnixTime;
use crate::deprovision::store::{DeprovisionStore, Ended, Removal};
use crate::ids::{OrgId, UserId};
use crate::oauth::types::DeviceStatus;

/// Ends the access of `user`: everything, or with `org` everything bound to that organisation
/// (sessions acting in it, grants issued for it, keys, flows and device authorisations for it).
/// Grants bound to an ended session end with it, as at sign-out (OIDC Core §11).
pub(super) fn end_access(
    conn: &mut DbConn,
    user: &UserId,
    org: Option<&OrgId>,
    now: UnixTime,
) -> StoreResult<Ended> {
    let api_keys = super::apikeys::revoke_user_keys(conn, user, org, now)?;
    let (user, org) = (user.as_str(), org.map(OrgId::as_str));

    let mut q = sessions::table
        .filter(sessions::user_id.eq(user))
        .select(sessions::sid)
        .into_boxed();
    if let Some(org) = org {
        q = q.filter(sessions::org_id.eq(org));
    }
    let sids: Vec<String> = q.load(conn)?;

    let mut q = gr::table
        .filter(gr::user_id.eq(user))
        .filter(gr::revoked_at.is_null())
        .select(gr::id)
        .into_boxed();
    if let Some(org) = org {
        q = q.filter(gr::org_id.eq(org));
    }
    let mut grants: Vec<String> = q.load(conn)?;
    grants.extend(super::oauth::grants_of_sessions(conn, &sids)?);
    grants.sort();
    grants.dedup();
    super::oauth::revoke_grants(conn, &grants, now)?;
    if org.is_none() {
        // Tokens of the user outside any grant, if any were ever minted.
        diesel::delete(at::table.filter(at::user_id.eq(user))).execute(conn)?;
    }
    let sessions =
        diesel::delete(sessions::table.filter(sessions::sid.eq_any(&sids))).execute(conn)?;

    let mut q = sf::table
        .filter(sf::user_id.eq(user))
        .select(sf::id_hash)
        .into_boxed();
    if let Some(org) = org {
        q = q.filter(sf::org_id.eq(org));
    }
    let flows: Vec<String> = q.load(conn)?;
    let flows = diesel::delete(sf::table.filter(sf::id_hash.eq_any(&flows))).execute(conn)?;

    let open = [
        DeviceStatus::Pending.as_str(),
        DeviceStatus::Approved.as_str(),
    ];
    let mut q = d::table
        .filter(d::user_id.eq(user))
        .filter(d::status.eq_any(open))
        .select(d::device_code_hash)
        .into_boxed();
    if let Some(org) = org {
        q = q.filter(d::org_id.eq(org));
    }
    let codes: Vec<String> = q.load(conn)?;
    let device_codes = diesel::update(
        d::table
            .filter(d::device_code_hash.eq_any(&codes))
            .filter(d::status.eq_any(open)),
    )
    .set(d::status.eq(DeviceStatus::Denied.as_str()))
    .execute(conn)?;

    Ok(Ended {
        sessions,
        grants: grants.len(),
        api_keys,
        flows,
        device_codes,
        disabled: false,
    })
}

/// Sets the flag and ends everything; `NotFound` for no such user.
fn disable(conn: &mut DbConn, user: &UserId, now: UnixTime) -> StoreResult<Ended> {
    let n = diesel::update(users::table.find(user.as_str()))
        .set((users::disabled.eq(true), users::updated_at.eq(now)))
        .execute(conn)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(Ended {
        disabled: true,
        ..end_access(conn, user, None, now)?
    })
}

/// The membership goes, and what it carried ends (a managed account is disabled).
fn remove(
    conn: &mut DbConn,
    org: &OrgId,
    user: &UserId,
    now: UnixTime,
) -> StoreResult<Option<Ended>> {
    let removed =
        diesel::delete(memberships::table.find((org.as_str(), user.as_str()))).execute(conn)?;
    if removed == 0 {
        return Ok(None);
    }
    let home: Option<String> = users::table
        .find(user.as_str())
        .select(users::home_org)
        .get_result(conn)?;
    if home.as_deref() == Some(org.as_str()) {
        // A managed account has no other organisation: it is disabled.
        return disable(conn, user, now).map(Some);
    }
    end_access(conn, user, Some(org), now).map(Some)
}

impl DeprovisionStore for Store {
    fn remove_from_org(
        &self,
        org: &OrgId,
        user: &UserId,
        now: UnixTime,
    ) -> StoreResult<Option<Ended>> {
        let (org, user) = (org.clone(), user.clone());
        self.write(move |conn| conn.transaction(|conn| remove(conn, &org, &user, now)))
    }

    fn disable_user(&self, user: &UserId, now: UnixTime) -> StoreResult<Ended> {
        let user = user.clone();
        self.write(move |conn| conn.transaction(|conn| disable(conn, &user, now)))
    }

    fn enable_user(&self, user: &UserId, now: UnixTime) -> StoreResult<()> {
        let user = user.clone();
        self.write(move |conn| {
            let n = diesel::update(users::table.find(user.as_str()))
                .set((users::disabled.eq(false), users::updated_at.eq(now)))
                .execute(conn)?;
            if n == 0 {
                Err(StoreError::NotFound)
            } else {
                Ok(())
            }
        })
    }

    fn remove_member_keeping_owner(
        &self,
        org: &OrgId,
        user: &UserId,
        now: UnixTime,
    ) -> StoreResult<Removal> {
        let (org, user) = (org.clone(), user.clone());
        self.write(move |conn| {
            conn.transaction(|conn| {
                match super::owners::role_and_last_owner(conn, &org, &user)? {
                    None => return Ok(Removal::NotMember),
                    Some((_, true)) => return Ok(Removal::LastOwner),
                    Some(_) => {}
                }
                Ok(match remove(conn, &org, &user, now)? {
                    Some(ended) => Removal::Removed(ended),
                    None => Removal::NotMember,
                })
            })
        })
    }
}

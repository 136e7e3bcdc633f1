//! The owner rule's storage half, shared by the members console and deprovisioning (neutral:
//! it imports no other domain's store file): an organisation's row lock, and a member's role
//! with whether they are its last owner.

use diesel::prelude::*;

use super::schema::{memberships, organisations};
use super::{DbConn, StoreError, StoreResult};
use crate::accounts::types::Role;
use crate::ids::{OrgId, UserId};

pub(super) fn parse_role(role: &str) -> StoreResult<Role> {
    role.parse()
        .map_err(|_| StoreError::Backend(format!("unknown role `{role}` in memberships")))
}

/// Locks the organisation's row for the rest of the transaction (a no-op update): owner
/// changes of one organisation queue on it, so each counts owners after the previous one
/// committed (PostgreSQL, READ COMMITTED: every statement reads the latest commits). SQLite
/// has one writer at a time anyway.
pub(super) fn lock_org(conn: &mut DbConn, org: &OrgId) -> StoreResult<()> {
    diesel::update(organisations::table.find(org.as_str()))
        .set(organisations::name.eq(organisations::name))
        .execute(conn)?;
    Ok(())
}

/// Under [`lock_org`]: the member's role, and whether they are the organisation's only owner.
pub(super) fn role_and_last_owner(
    conn: &mut DbConn,
    org: &OrgId,
    user: &UserId,
) -> StoreResult<Option<(Role, bool)>> {
    lock_org(conn, org)?;
    let role: Option<String> = memberships::table
        .find((org.as_str(), user.as_str()))
        .select(memberships::role)
        .get_result(conn)
        .optional()?;
    let Some(role) = role else {
        return Ok(None);
    };
    let role = parse_role(&role)?;
    if role != Role::Owner {
        return Ok(Some((role, false)));
    }
    let others: i64 = memberships::table
        .filter(memberships::org_id.eq(org.as_str()))
        .filter(memberships::role.eq(Role::Owner.as_str()))
        .filter(memberships::user_id.ne(user.as_str()))
        .count()
        .get_result(conn)?;
    Ok(Some((role, others == 0)))
}

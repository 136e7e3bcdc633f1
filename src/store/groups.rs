//! The groups console's storage ([`GroupStore`]): one organisation's groups, each query
//! filtered by it; changes only to groups made by hand (`managed_by IS NULL`).

use diesel::dsl::count_star;
use diesel::prelude::*;

use super::schema::{group_members, groups, users};
use super::{Store, StoreError, StoreResult};
use crate::groups::store::{GroupInfo, GroupMember, GroupStore, Manager};
use crate::ids::{GroupId, OrgId, UserId};

type GroupRow = (String, String, Option<String>, i64);

fn info(row: GroupRow, members: i64) -> GroupInfo {
    let (id, name, managed_by, created_at) = row;
    GroupInfo {
        id: GroupId::new(id),
        name,
        manager: Manager::of(managed_by.as_deref()),
        members,
        created_at,
    }
}

impl GroupStore for Store {
    fn list_org_groups(&self, org: &OrgId) -> StoreResult<Vec<GroupInfo>> {
        let mut conn = self.conn()?;
        let rows: Vec<GroupRow> = groups::table
            .filter(groups::org_id.eq(org.as_str()))
            .order(groups::name_key)
            .select((
                groups::id,
                groups::name,
                groups::managed_by,
                groups::created_at,
            ))
            .load(&mut *conn)?;
        let counts: Vec<(String, i64)> = group_members::table
            .inner_join(groups::table)
            .filter(groups::org_id.eq(org.as_str()))
            .group_by(group_members::group_id)
            .select((group_members::group_id, count_star()))
            .load(&mut *conn)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let n = counts
                    .iter()
                    .find(|(g, _)| *g == row.0)
                    .map_or(0, |(_, n)| *n);
                info(row, n)
            })
            .collect())
    }

    fn find_org_group(&self, org: &OrgId, id: &GroupId) -> StoreResult<Option<GroupInfo>> {
        let mut conn = self.conn()?;
        let Some(row) = groups::table
            .filter(groups::id.eq(id.as_str()))
            .filter(groups::org_id.eq(org.as_str()))
            .select((
                groups::id,
                groups::name,
                groups::managed_by,
                groups::created_at,
            ))
            .get_result::<GroupRow>(&mut *conn)
            .optional()?
        else {
            return Ok(None);
        };
        let n: i64 = group_members::table
            .filter(group_members::group_id.eq(id.as_str()))
            .count()
            .get_result(&mut *conn)?;
        Ok(Some(info(row, n)))
    }

    fn group_members(&self, org: &OrgId, id: &GroupId) -> StoreResult<Vec<GroupMember>> {
        Ok(group_members::table
            .inner_join(groups::table)
            .inner_join(users::table)
            .filter(groups::id.eq(id.as_str()))
            .filter(groups::org_id.eq(org.as_str()))
            .order(users::username_key)
            .select((
                users::id,
                users::username,
                users::display_name,
                users::email,
            ))
            .load::<(String, String, String, String)>(&mut *self.conn()?)?
            .into_iter()
            .map(|(id, username, display_name, email)| GroupMember {
                user_id: UserId::new(id),
                username,
                display_name,
                email,
            })
            .collect())
    }

    fn rename_hand_group(&self, org: &OrgId, id: &GroupId, name: &str) -> StoreResult<bool> {
        Ok(diesel::update(
            groups::table
                .filter(groups::id.eq(id.as_str()))
                .filter(groups::org_id.eq(org.as_str()))
                .filter(groups::managed_by.is_null()),
        )
        .set((
            groups::name.eq(name),
            groups::name_key.eq(name.to_lowercase()),
        ))
        .execute(&mut *self.conn()?)?
            == 1)
    }

    fn delete_hand_group(&self, org: &OrgId, id: &GroupId) -> StoreResult<bool> {
        let (org, id) = (org.clone(), id.clone());
        self.write(move |conn| {
            conn.transaction(|conn| {
                let found: Option<String> = groups::table
                    .filter(groups::id.eq(id.as_str()))
                    .filter(groups::org_id.eq(org.as_str()))
                    .filter(groups::managed_by.is_null())
                    .select(groups::id)
                    .get_result(conn)
                    .optional()?;
                if found.is_none() {
                    return Ok(false);
                }
                diesel::delete(
                    group_members::table.filter(group_members::group_id.eq(id.as_str())),
                )
                .execute(conn)?;
                Ok::<_, StoreError>(
                    diesel::delete(
                        groups::table
                            .filter(groups::id.eq(id.as_str()))
                            .filter(groups::org_id.eq(org.as_str()))
                            .filter(groups::managed_by.is_null()),
                    )
                    .execute(conn)?
                        == 1,
                )
            })
        })
    }

    fn add_hand_group_member(&self, org: &OrgId, id: &GroupId, user: &UserId) -> StoreResult<bool> {
        let (org, id, user) = (org.clone(), id.clone(), user.clone());
        self.write(move |conn| {
            let found: Option<String> = groups::table
                .filter(groups::id.eq(id.as_str()))
                .filter(groups::org_id.eq(org.as_str()))
                .filter(groups::managed_by.is_null())
                .select(groups::id)
                .get_result(conn)
                .optional()?;
            if found.is_none() {
                return Ok(false);
            }
            diesel::insert_into(group_members::table)
                .values((
                    group_members::group_id.eq(id.as_str()),
                    group_members::user_id.eq(user.as_str()),
                ))
                .execute(conn)?;
            Ok::<_, StoreError>(true)
        })
    }

    fn remove_hand_group_member(
        &self,
        org: &OrgId,
        id: &GroupId,
        user: &UserId,
    ) -> StoreResult<bool> {
        let hand = groups::table
            .filter(groups::id.eq(id.as_str()))
            .filter(groups::org_id.eq(org.as_str()))
            .filter(groups::managed_by.is_null())
            .select(groups::id);
        Ok(diesel::delete(
            group_members::table
                .filter(group_members::group_id.eq_any(hand))
                .filter(group_members::user_id.eq(user.as_str())),
        )
        .execute(&mut *self.conn()?)?
            == 1)
    }
}

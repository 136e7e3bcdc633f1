//! SCIM groups: organisation groups with `managed_by = 'scim'`, their `scim_groups` row and
//! their members (the organisation's SCIM users only).

use diesel::dsl::{exists, not};
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::super::schema::{
    group_members as gm, groups, scim_groups as sg, scim_users as su, users,
};
use super::super::{DbConn, Store, StoreError, StoreResult, Unique};
use super::{CHUNK, Db, MANAGED_BY};
use crate::clock::UnixTime;
use crate::ids::{GroupId, OrgId, UserId};
use crate::scim::query::{Cond, GroupField, ListQuery, Sort, TimeField};
use crate::scim::resource::Meta;
use crate::scim::store::{ScimGroupRecord, ScimGroupStore, Versioned};

type GroupExpr = Box<dyn BoxableExpression<sg::table, Db, SqlType = Bool>>;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = sg)]
struct ScimGroupRow {
    group_id: String,
    org_id: String,
    display_name: String,
    display_name_key: String,
    external_id: Option<String>,
    version: i64,
    created_at: i64,
    updated_at: i64,
}

impl ScimGroupRow {
    fn into_record(self, members: Vec<(String, String)>) -> ScimGroupRecord {
        ScimGroupRecord {
            id: GroupId::new(self.group_id),
            display_name: self.display_name,
            external_id: self.external_id,
            meta: Meta {
                created: self.created_at,
                last_modified: self.updated_at,
                version: self.version,
            },
            members,
        }
    }
}

fn group_expr(c: &Cond<GroupField>) -> GroupExpr {
    match c {
        Cond::And(a, b) => Box::new(group_expr(a).and(group_expr(b))),
        Cond::Or(a, b) => Box::new(group_expr(a).or(group_expr(b))),
        Cond::Not(a) => Box::new(not(group_expr(a))),
        Cond::Const(true) => Box::new(sg::group_id.is_not_null()),
        Cond::Const(false) | Cond::Active(_) => Box::new(sg::group_id.is_null()),
        Cond::Member(user) => Box::new(exists(
            gm::table
                .filter(gm::group_id.eq(sg::group_id))
                .filter(gm::user_id.eq(user.clone())),
        )),
        Cond::Time(TimeField::Created, op, v) => time!(sg::created_at, op, *v, GroupExpr),
        Cond::Time(TimeField::LastModified, op, v) => time!(sg::updated_at, op, *v, GroupExpr),
        Cond::Present(f) => match f {
            GroupField::Id | GroupField::DisplayName => Box::new(sg::group_id.is_not_null()),
            GroupField::ExternalId => Box::new(sg::external_id.is_not_null()),
        },
        Cond::Text(f, op, v) => {
            let v = v.clone();
            match f {
                GroupField::Id => text!(sg::group_id, op, v, GroupExpr),
                GroupField::DisplayName => text!(sg::display_name_key, op, v, GroupExpr),
                GroupField::ExternalId => nullable_text!(sg::external_id, op, v, GroupExpr),
            }
        }
    }
}

fn group_query(org: &OrgId, filter: Option<&Cond<GroupField>>) -> sg::BoxedQuery<'static, Db> {
    let mut q = sg::table
        .filter(sg::org_id.eq(org.as_str().to_owned()))
        .into_boxed();
    if let Some(f) = filter {
        q = q.filter(group_expr(f));
    }
    q
}

fn order_groups(
    q: sg::BoxedQuery<'static, Db>,
    sort: Option<Sort<GroupField>>,
    desc: bool,
) -> sg::BoxedQuery<'static, Db> {
    macro_rules! by {
        ($q:expr, $col:expr) => {
            if desc {
                $q.order_by($col.desc()).then_order_by(sg::group_id.desc())
            } else {
                $q.order_by($col.asc()).then_order_by(sg::group_id.asc())
            }
        };
    }
    match sort {
        None | Some(Sort::Time(TimeField::Created)) => by!(q, sg::created_at),
        Some(Sort::Time(TimeField::LastModified)) => by!(q, sg::updated_at),
        Some(Sort::Field(GroupField::Id)) => by!(q, sg::group_id),
        Some(Sort::Field(GroupField::DisplayName)) => by!(q, sg::display_name_key),
        Some(Sort::Field(GroupField::ExternalId)) => {
            by!(q.order_by(sg::external_id.is_null()), sg::external_id)
        }
    }
}

/// The members of these groups: `(group id, user id, display name)`, by user id.
fn group_members_of(
    conn: &mut DbConn,
    group_ids: &[String],
) -> StoreResult<Vec<(String, String, String)>> {
    let mut out = Vec::new();
    for chunk in group_ids.chunks(CHUNK) {
        out.extend(
            gm::table
                .inner_join(users::table)
                .filter(gm::group_id.eq_any(chunk))
                .order((gm::group_id, gm::user_id))
                .select((gm::group_id, gm::user_id, users::display_name))
                .load::<(String, String, String)>(conn)?,
        );
    }
    Ok(out)
}

fn group_records(
    conn: &mut DbConn,
    rows: Vec<ScimGroupRow>,
    with_members: bool,
) -> StoreResult<Vec<ScimGroupRecord>> {
    let members = if with_members {
        let ids: Vec<String> = rows.iter().map(|r| r.group_id.clone()).collect();
        group_members_of(conn, &ids)?
    } else {
        Vec::new()
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            let m = members
                .iter()
                .filter(|(g, _, _)| *g == r.group_id)
                .map(|(_, u, d)| (u.clone(), d.clone()))
                .collect();
            r.into_record(m)
        })
        .collect())
}

fn get_group(
    conn: &mut DbConn,
    org: &OrgId,
    id: &GroupId,
    with_members: bool,
) -> StoreResult<Option<ScimGroupRecord>> {
    let row = sg::table
        .filter(sg::group_id.eq(id.as_str()))
        .filter(sg::org_id.eq(org.as_str()))
        .select(ScimGroupRow::as_select())
        .get_result(conn)
        .optional()?;
    match row {
        None => Ok(None),
        Some(row) => Ok(group_records(conn, vec![row], with_members)?.pop()),
    }
}

/// Makes the group's members exactly `members`, each one of `org`'s SCIM users (`NotFound`
/// otherwise: a token never reaches another organisation's accounts, nor server accounts).
fn set_members(
    conn: &mut DbConn,
    org: &OrgId,
    group: &GroupId,
    members: &[UserId],
) -> StoreResult<()> {
    let mut wanted: Vec<String> = members.iter().map(|m| m.as_str().to_owned()).collect();
    wanted.sort();
    wanted.dedup();
    let mut known = 0usize;
    for chunk in wanted.chunks(CHUNK) {
        let n: i64 = su::table
            .filter(su::org_id.eq(org.as_str()))
            .filter(su::user_id.eq_any(chunk))
            .count()
            .get_result(conn)?;
        known += usize::try_from(n).unwrap_or(0);
    }
    if known != wanted.len() {
        return Err(StoreError::NotFound);
    }
    let current: Vec<String> = gm::table
        .filter(gm::group_id.eq(group.as_str()))
        .select(gm::user_id)
        .load(conn)?;
    let gone: Vec<&String> = current
        .iter()
        .filter(|c| wanted.binary_search(c).is_err())
        .collect();
    for chunk in gone.chunks(CHUNK) {
        diesel::delete(
            gm::table
                .filter(gm::group_id.eq(group.as_str()))
                .filter(gm::user_id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    for user in wanted.iter().filter(|w| !current.contains(w)) {
        diesel::insert_into(gm::table)
            .values((gm::group_id.eq(group.as_str()), gm::user_id.eq(user)))
            .execute(conn)?;
    }
    Ok(())
}

impl ScimGroupStore for Store {
    fn create_scim_group(
        &self,
        org: &OrgId,
        id: &GroupId,
        display_name: &str,
        external_id: Option<&str>,
        members: &[UserId],
        now: UnixTime,
    ) -> StoreResult<ScimGroupRecord> {
        let (org, id, members) = (org.clone(), id.clone(), members.to_vec());
        let row = ScimGroupRow {
            group_id: id.as_str().to_owned(),
            org_id: org.as_str().to_owned(),
            display_name: display_name.to_owned(),
            display_name_key: display_name.to_lowercase(),
            external_id: external_id.map(str::to_owned),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        self.write(move |conn| {
            conn.transaction(|conn| {
                diesel::insert_into(groups::table)
                    .values((
                        groups::id.eq(id.as_str()),
                        groups::org_id.eq(org.as_str()),
                        groups::name.eq(&row.display_name),
                        groups::name_key.eq(&row.display_name_key),
                        groups::created_at.eq(now),
                        groups::managed_by.eq(MANAGED_BY),
                    ))
                    .execute(conn)
                    .map_err(|e| match StoreError::from(e) {
                        StoreError::Conflict(_) => StoreError::Conflict(Unique::Record),
                        other => other,
                    })?;
                diesel::insert_into(sg::table).values(&row).execute(conn)?;
                set_members(conn, &org, &id, &members)?;
                get_group(conn, &org, &id, true)?.ok_or(StoreError::NotFound)
            })
        })
    }

    fn get_scim_group(
        &self,
        org: &OrgId,
        id: &GroupId,
        with_members: bool,
    ) -> StoreResult<Option<ScimGroupRecord>> {
        get_group(&mut *self.conn()?, org, id, with_members)
    }

    fn list_scim_groups(
        &self,
        org: &OrgId,
        query: &ListQuery<GroupField>,
        with_members: bool,
    ) -> StoreResult<(i64, Vec<ScimGroupRecord>)> {
        let conn = &mut *self.conn()?;
        let total: i64 = group_query(org, query.filter.as_ref())
            .count()
            .get_result(conn)?;
        if query.limit == 0 || query.offset >= total {
            return Ok((total, Vec::new()));
        }
        let rows: Vec<ScimGroupRow> = order_groups(
            group_query(org, query.filter.as_ref()),
            query.sort,
            query.descending,
        )
        .limit(query.limit)
        .offset(query.offset)
        .select(ScimGroupRow::as_select())
        .load(conn)?;
        Ok((total, group_records(conn, rows, with_members)?))
    }

    fn update_scim_group(
        &self,
        org: &OrgId,
        id: &GroupId,
        version: i64,
        display_name: &str,
        external_id: Option<&str>,
        members: &[UserId],
        now: UnixTime,
    ) -> StoreResult<Versioned<ScimGroupRecord>> {
        let (org, id, members) = (org.clone(), id.clone(), members.to_vec());
        let (name, external_id) = (display_name.to_owned(), external_id.map(str::to_owned));
        self.write(move |conn| {
            conn.transaction(|conn| {
                let current: Option<i64> = sg::table
                    .filter(sg::group_id.eq(id.as_str()))
                    .filter(sg::org_id.eq(org.as_str()))
                    .select(sg::version)
                    .get_result(conn)
                    .optional()?;
                match current {
                    None => return Ok(Versioned::Missing),
                    Some(v) if v != version => return Ok(Versioned::Stale),
                    Some(_) => {}
                }
                let n = diesel::update(
                    sg::table
                        .filter(sg::group_id.eq(id.as_str()))
                        .filter(sg::version.eq(version)),
                )
                .set((
                    sg::display_name.eq(&name),
                    sg::display_name_key.eq(name.to_lowercase()),
                    sg::external_id.eq(&external_id),
                    sg::version.eq(version + 1),
                    sg::updated_at.eq(now),
                ))
                .execute(conn)?;
                if n == 0 {
                    return Ok(Versioned::Stale);
                }
                diesel::update(groups::table.find(id.as_str()))
                    .set((
                        groups::name.eq(&name),
                        groups::name_key.eq(name.to_lowercase()),
                    ))
                    .execute(conn)
                    .map_err(|e| match StoreError::from(e) {
                        StoreError::Conflict(_) => StoreError::Conflict(Unique::Record),
                        other => other,
                    })?;
                set_members(conn, &org, &id, &members)?;
                Ok(match get_group(conn, &org, &id, true)? {
                    Some(g) => Versioned::Done(g),
                    None => Versioned::Missing,
                })
            })
        })
    }

    fn delete_scim_group(&self, org: &OrgId, id: &GroupId) -> StoreResult<bool> {
        let (org, id) = (org.clone(), id.clone());
        self.write(move |conn| {
            let n = diesel::delete(
                groups::table
                    .filter(groups::id.eq(id.as_str()))
                    .filter(groups::org_id.eq(org.as_str()))
                    .filter(groups::managed_by.eq(MANAGED_BY)),
            )
            .execute(conn)?;
            Ok(n > 0)
        })
    }
}

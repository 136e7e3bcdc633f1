//! The SCIM rows of an organisation's managed accounts (`scim_users`), created with the account
//! in one transaction, and the filtered, ordered, paged list.

use diesel::dsl::{exists, not};
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::super::schema::{group_members as gm, groups, scim_users as su, users};
use super::super::{DbConn, Store, StoreError, StoreResult, Unique};
use super::{CHUNK, Db, MANAGED_BY};
use crate::accounts::types::{Namespace, NewUser};
use crate::clock::UnixTime;
use crate::ids::{OrgId, UserId};
use crate::scim::query::{Cond, ListQuery, Sort, TimeField, UserField};
use crate::scim::resource::{EmailValue, Meta, UserAttrs};
use crate::scim::store::{NewScimUser, ScimUserRecord, ScimUserStore, ScimUserUpdate, Versioned};

type UserExpr = Box<dyn BoxableExpression<su::table, Db, SqlType = Bool>>;

#[derive(Queryable, Selectable, Insertable, AsChangeset, Clone)]
#[diesel(table_name = su, treat_none_as_null = true)]
struct ScimUserRow {
    user_id: String,
    org_id: String,
    user_name: String,
    user_name_key: String,
    external_id: Option<String>,
    display_name: Option<String>,
    display_name_key: Option<String>,
    given_name: Option<String>,
    given_name_key: Option<String>,
    family_name: Option<String>,
    family_name_key: Option<String>,
    formatted: Option<String>,
    title: Option<String>,
    title_key: Option<String>,
    emails: String,
    email_key: Option<String>,
    employee_number: Option<String>,
    employee_number_key: Option<String>,
    department: Option<String>,
    department_key: Option<String>,
    manager_id: Option<String>,
    version: i64,
    created_at: i64,
    updated_at: i64,
}

fn key(v: &Option<String>) -> Option<String> {
    v.as_ref().map(|s| s.to_lowercase())
}

impl ScimUserRow {
    fn new(
        user: &UserId,
        org: &OrgId,
        a: &UserAttrs,
        version: i64,
        created: i64,
        now: i64,
    ) -> Self {
        Self {
            user_id: user.as_str().to_owned(),
            org_id: org.as_str().to_owned(),
            user_name: a.user_name.clone(),
            user_name_key: a.user_name.to_lowercase(),
            external_id: a.external_id.clone(),
            display_name: a.display_name.clone(),
            display_name_key: key(&a.display_name),
            given_name: a.given_name.clone(),
            given_name_key: key(&a.given_name),
            family_name: a.family_name.clone(),
            family_name_key: key(&a.family_name),
            formatted: a.formatted.clone(),
            title: a.title.clone(),
            title_key: key(&a.title),
            emails: serde_json::to_string(&a.emails).unwrap_or_else(|_| "[]".into()),
            email_key: a.primary_email().map(|e| e.value.to_lowercase()),
            employee_number: a.employee_number.clone(),
            employee_number_key: key(&a.employee_number),
            department: a.department.clone(),
            department_key: key(&a.department),
            manager_id: a.manager.clone(),
            version,
            created_at: created,
            updated_at: now,
        }
    }

    fn into_record(self, active: bool, groups: Vec<(String, String)>) -> ScimUserRecord {
        let emails: Vec<EmailValue> = serde_json::from_str(&self.emails).unwrap_or_default();
        ScimUserRecord {
            id: UserId::new(self.user_id),
            attrs: UserAttrs {
                user_name: self.user_name,
                external_id: self.external_id,
                display_name: self.display_name,
                given_name: self.given_name,
                family_name: self.family_name,
                formatted: self.formatted,
                title: self.title,
                emails,
                active,
                employee_number: self.employee_number,
                department: self.department,
                manager: self.manager_id,
            },
            meta: Meta {
                created: self.created_at,
                last_modified: self.updated_at,
                version: self.version,
            },
            groups,
        }
    }
}

/// Rows to records: each user's `active` and SCIM groups, two queries for the whole page.
fn user_records(
    conn: &mut DbConn,
    org: &OrgId,
    rows: Vec<ScimUserRow>,
) -> StoreResult<Vec<ScimUserRecord>> {
    let ids: Vec<String> = rows.iter().map(|r| r.user_id.clone()).collect();
    let mut disabled: Vec<(String, bool)> = Vec::with_capacity(ids.len());
    let mut memberships: Vec<(String, String, String)> = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        disabled.extend(
            users::table
                .filter(users::id.eq_any(chunk))
                .select((users::id, users::disabled))
                .load::<(String, bool)>(conn)?,
        );
        memberships.extend(
            gm::table
                .inner_join(groups::table)
                .filter(gm::user_id.eq_any(chunk))
                .filter(groups::org_id.eq(org.as_str()))
                .filter(groups::managed_by.eq(MANAGED_BY))
                .order((gm::user_id, groups::name_key))
                .select((gm::user_id, groups::id, groups::name))
                .load::<(String, String, String)>(conn)?,
        );
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let active = !disabled.iter().any(|(id, d)| *d && *id == r.user_id);
            let groups = memberships
                .iter()
                .filter(|(u, _, _)| *u == r.user_id)
                .map(|(_, g, n)| (g.clone(), n.clone()))
                .collect();
            r.into_record(active, groups)
        })
        .collect())
}

fn get_user(conn: &mut DbConn, org: &OrgId, id: &UserId) -> StoreResult<Option<ScimUserRecord>> {
    let row = su::table
        .filter(su::user_id.eq(id.as_str()))
        .filter(su::org_id.eq(org.as_str()))
        .select(ScimUserRow::as_select())
        .get_result(conn)
        .optional()?;
    match row {
        None => Ok(None),
        Some(row) => Ok(user_records(conn, org, vec![row])?.pop()),
    }
}

/// A text comparison on a nullable key column: false (never NULL) where the column is NULL,
/// so `not` stays two-valued.
fn user_expr(c: &Cond<UserField>) -> UserExpr {
    match c {
        Cond::And(a, b) => Box::new(user_expr(a).and(user_expr(b))),
        Cond::Or(a, b) => Box::new(user_expr(a).or(user_expr(b))),
        Cond::Not(a) => Box::new(not(user_expr(a))),
        Cond::Const(true) => Box::new(su::user_id.is_not_null()),
        Cond::Const(false) => Box::new(su::user_id.is_null()),
        Cond::Active(active) => Box::new(exists(
            users::table
                .filter(users::id.eq(su::user_id))
                .filter(users::disabled.eq(!*active)),
        )),
        // Users have no members: nothing matches.
        Cond::Member(_) => Box::new(su::user_id.is_null()),
        Cond::Time(TimeField::Created, op, v) => time!(su::created_at, op, *v, UserExpr),
        Cond::Time(TimeField::LastModified, op, v) => time!(su::updated_at, op, *v, UserExpr),
        Cond::Present(f) => match f {
            UserField::Id | UserField::UserName => Box::new(su::user_id.is_not_null()),
            UserField::ExternalId => Box::new(su::external_id.is_not_null()),
            UserField::DisplayName => Box::new(su::display_name_key.is_not_null()),
            UserField::GivenName => Box::new(su::given_name_key.is_not_null()),
            UserField::FamilyName => Box::new(su::family_name_key.is_not_null()),
            UserField::Title => Box::new(su::title_key.is_not_null()),
            UserField::Email => Box::new(su::email_key.is_not_null()),
            UserField::EmployeeNumber => Box::new(su::employee_number_key.is_not_null()),
            UserField::Department => Box::new(su::department_key.is_not_null()),
            UserField::Manager => Box::new(su::manager_id.is_not_null()),
        },
        Cond::Text(f, op, v) => {
            let v = v.clone();
            match f {
                UserField::Id => text!(su::user_id, op, v, UserExpr),
                UserField::UserName => text!(su::user_name_key, op, v, UserExpr),
                UserField::ExternalId => nullable_text!(su::external_id, op, v, UserExpr),
                UserField::DisplayName => nullable_text!(su::display_name_key, op, v, UserExpr),
                UserField::GivenName => nullable_text!(su::given_name_key, op, v, UserExpr),
                UserField::FamilyName => nullable_text!(su::family_name_key, op, v, UserExpr),
                UserField::Title => nullable_text!(su::title_key, op, v, UserExpr),
                UserField::Email => nullable_text!(su::email_key, op, v, UserExpr),
                UserField::EmployeeNumber => {
                    nullable_text!(su::employee_number_key, op, v, UserExpr)
                }
                UserField::Department => nullable_text!(su::department_key, op, v, UserExpr),
                UserField::Manager => nullable_text!(su::manager_id, op, v, UserExpr),
            }
        }
    }
}

fn user_query(org: &OrgId, filter: Option<&Cond<UserField>>) -> su::BoxedQuery<'static, Db> {
    let mut q = su::table
        .filter(su::org_id.eq(org.as_str().to_owned()))
        .into_boxed();
    if let Some(f) = filter {
        q = q.filter(user_expr(f));
    }
    q
}

fn order_users(
    q: su::BoxedQuery<'static, Db>,
    sort: Option<Sort<UserField>>,
    desc: bool,
) -> su::BoxedQuery<'static, Db> {
    macro_rules! by {
        ($q:expr, $col:expr) => {
            if desc {
                $q.order_by($col.desc()).then_order_by(su::user_id.desc())
            } else {
                $q.order_by($col.asc()).then_order_by(su::user_id.asc())
            }
        };
    }
    macro_rules! by_nullable {
        // NULLs last either way, the same on both databases.
        ($q:expr, $col:expr) => {
            by!($q.order_by($col.is_null()), $col)
        };
    }
    match sort {
        None | Some(Sort::Time(TimeField::Created)) => by!(q, su::created_at),
        Some(Sort::Time(TimeField::LastModified)) => by!(q, su::updated_at),
        Some(Sort::Field(f)) => match f {
            UserField::Id => by!(q, su::user_id),
            UserField::UserName => by!(q, su::user_name_key),
            UserField::ExternalId => by_nullable!(q, su::external_id),
            UserField::DisplayName => by_nullable!(q, su::display_name_key),
            UserField::GivenName => by_nullable!(q, su::given_name_key),
            UserField::FamilyName => by_nullable!(q, su::family_name_key),
            UserField::Title => by_nullable!(q, su::title_key),
            UserField::Email => by_nullable!(q, su::email_key),
            UserField::EmployeeNumber => by_nullable!(q, su::employee_number_key),
            UserField::Department => by_nullable!(q, su::department_key),
            UserField::Manager => by_nullable!(q, su::manager_id),
        },
    }
}

/// Inserts a SCIM row in a savepoint; `false` when a unique key refused it.
fn try_insert_user_row(conn: &mut DbConn, row: &ScimUserRow) -> StoreResult<bool> {
    match conn.transaction(|c| {
        diesel::insert_into(su::table)
            .values(row)
            .execute(c)
            .map_err(StoreError::from)
    }) {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

fn user_name_taken(
    conn: &mut DbConn,
    org: &OrgId,
    user_name_key: &str,
    except: Option<&UserId>,
) -> StoreResult<bool> {
    let mut q = su::table
        .filter(su::org_id.eq(org.as_str()))
        .filter(su::user_name_key.eq(user_name_key))
        .select(su::user_id)
        .into_boxed();
    if let Some(id) = except {
        q = q.filter(su::user_id.ne(id.as_str()));
    }
    Ok(q.get_result::<String>(conn).optional()?.is_some())
}

impl ScimUserStore for Store {
    fn adopt_managed_users(&self, org: &OrgId, now: UnixTime) -> StoreResult<usize> {
        // Adoption takes every account missing a row, so when the newest accounts (by
        // `users (home_org, created_at)`) all have one, the older ones do too: two index
        // look-ups, whatever the size of the organisation.
        let mut held = self.conn()?;
        let conn = &mut *held;
        let newest: Option<i64> = users::table
            .filter(users::home_org.eq(org.as_str()))
            .select(diesel::dsl::max(users::created_at))
            .get_result(conn)?;
        let Some(newest) = newest else {
            return Ok(0);
        };
        let missing: bool = diesel::select(exists(
            users::table
                .filter(users::home_org.eq(org.as_str()))
                .filter(users::created_at.ge(newest))
                .filter(not(exists(su::table.filter(su::user_id.eq(users::id))))),
        ))
        .get_result(conn)?;
        drop(held);
        if !missing {
            return Ok(0);
        }
        let org = org.clone();
        self.write(move |conn| {
            conn.transaction(|conn| {
                let missing: Vec<(String, String, String, String, i64)> = users::table
                    .filter(users::home_org.eq(org.as_str()))
                    .filter(not(exists(su::table.filter(su::user_id.eq(users::id)))))
                    .select((
                        users::id,
                        users::username,
                        users::email,
                        users::display_name,
                        users::created_at,
                    ))
                    .load(conn)?;
                let mut adopted = 0;
                for (id, username, email, display_name, created) in missing {
                    let id = UserId::new(id);
                    let attrs = UserAttrs {
                        user_name: username,
                        display_name: Some(display_name),
                        emails: vec![EmailValue {
                            value: email,
                            kind: None,
                            primary: true,
                        }],
                        active: true,
                        ..UserAttrs::default()
                    };
                    let row = ScimUserRow::new(&id, &org, &attrs, 1, created, now);
                    if try_insert_user_row(conn, &row)? {
                        adopted += 1;
                        continue;
                    }
                    // Its username is another SCIM user's userName: the id names it instead.
                    let row = ScimUserRow {
                        user_name: id.as_str().to_owned(),
                        user_name_key: id.as_str().to_lowercase(),
                        ..row
                    };
                    if try_insert_user_row(conn, &row)? {
                        adopted += 1;
                    }
                }
                Ok(adopted)
            })
        })
    }

    fn create_scim_user(
        &self,
        org: &OrgId,
        user: &NewScimUser,
        now: UnixTime,
    ) -> StoreResult<ScimUserRecord> {
        let (org, user) = (org.clone(), user.clone());
        self.write(move |conn| {
            conn.transaction(|conn| {
                if user_name_taken(conn, &org, &user.attrs.user_name.to_lowercase(), None)? {
                    return Err(StoreError::Conflict(Unique::Record));
                }
                let mut created = false;
                for username in &user.usernames {
                    let new = NewUser {
                        id: user.id.clone(),
                        username: username.clone(),
                        email: user.email.clone(),
                        display_name: user.display_name.clone(),
                        password_hash: user.password_hash.clone(),
                        email_verified: false,
                        home: Namespace::Org(org.clone()),
                    };
                    match conn
                        .transaction(|c| super::super::accounts::create_user(c, &new, None, now))
                    {
                        Ok(_) => {
                            created = true;
                            break;
                        }
                        Err(StoreError::Conflict(Unique::Username)) => continue,
                        Err(e) => return Err(e),
                    }
                }
                if !created {
                    return Err(StoreError::Conflict(Unique::Username));
                }
                let row = ScimUserRow::new(&user.id, &org, &user.attrs, 1, now, now);
                diesel::insert_into(su::table).values(&row).execute(conn)?;
                Ok(row.into_record(true, Vec::new()))
            })
        })
    }

    fn get_scim_user(&self, org: &OrgId, id: &UserId) -> StoreResult<Option<ScimUserRecord>> {
        get_user(&mut *self.conn()?, org, id)
    }

    fn list_scim_users(
        &self,
        org: &OrgId,
        query: &ListQuery<UserField>,
    ) -> StoreResult<(i64, Vec<ScimUserRecord>)> {
        let conn = &mut *self.conn()?;
        let total: i64 = user_query(org, query.filter.as_ref())
            .count()
            .get_result(conn)?;
        if query.limit == 0 || query.offset >= total {
            return Ok((total, Vec::new()));
        }
        let rows: Vec<ScimUserRow> = order_users(
            user_query(org, query.filter.as_ref()),
            query.sort,
            query.descending,
        )
        .limit(query.limit)
        .offset(query.offset)
        .select(ScimUserRow::as_select())
        .load(conn)?;
        Ok((total, user_records(conn, org, rows)?))
    }

    fn update_scim_user(
        &self,
        org: &OrgId,
        id: &UserId,
        version: i64,
        update: &ScimUserUpdate,
        now: UnixTime,
    ) -> StoreResult<Versioned<ScimUserRecord>> {
        let (org, id, update) = (org.clone(), id.clone(), update.clone());
        self.write(move |conn| {
            conn.transaction(|conn| {
                let created: Option<(i64, i64)> = su::table
                    .filter(su::user_id.eq(id.as_str()))
                    .filter(su::org_id.eq(org.as_str()))
                    .select((su::created_at, su::version))
                    .get_result(conn)
                    .optional()?;
                let Some((created, current)) = created else {
                    return Ok(Versioned::Missing);
                };
                if current != version {
                    return Ok(Versioned::Stale);
                }
                if user_name_taken(
                    conn,
                    &org,
                    &update.attrs.user_name.to_lowercase(),
                    Some(&id),
                )? {
                    return Err(StoreError::Conflict(Unique::Record));
                }
                let row = ScimUserRow::new(&id, &org, &update.attrs, version + 1, created, now);
                let n = diesel::update(
                    su::table
                        .filter(su::user_id.eq(id.as_str()))
                        .filter(su::org_id.eq(org.as_str()))
                        .filter(su::version.eq(version)),
                )
                .set(&row)
                .execute(conn)?;
                if n == 0 {
                    return Ok(Versioned::Stale);
                }
                let ns = Namespace::Org(org.clone());
                diesel::update(users::table.find(id.as_str()))
                    .set((
                        users::email.eq(update.email.as_str()),
                        users::email_key.eq(update.email.key_in(&ns)),
                        users::display_name.eq(&update.display_name),
                        users::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                if let Some(hash) = &update.password_hash {
                    diesel::update(users::table.find(id.as_str()))
                        .set(users::password_hash.eq(hash))
                        .execute(conn)?;
                }
                Ok(match get_user(conn, &org, &id)? {
                    Some(r) => Versioned::Done(r),
                    None => Versioned::Missing,
                })
            })
        })
    }

    fn touch_scim_user(&self, org: &OrgId, id: &UserId, now: UnixTime) -> StoreResult<()> {
        let (org, id) = (org.clone(), id.clone());
        self.write(move |conn| {
            diesel::update(
                su::table
                    .filter(su::user_id.eq(id.as_str()))
                    .filter(su::org_id.eq(org.as_str())),
            )
            .set((su::version.eq(su::version + 1), su::updated_at.eq(now)))
            .execute(conn)?;
            Ok(())
        })
    }
}

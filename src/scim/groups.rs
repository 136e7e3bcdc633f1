//! SCIM Groups (RFC 7643 §4.2): organisation groups with `managed_by = 'scim'`, whose members
//! are the organisation's SCIM users.

use serde_json::Value;

use super::discovery;
use super::error::ScimError;
use super::filter;
use super::patch;
use super::query::{self, ListQuery};
use super::resource::{self, GroupAttrs};
use super::service::{Caller, ListParams, PATCH_RETRIES, audit, check_version, store_error};
use super::store::{ScimGroupRecord, ScimGroupStore, ScimUserStore, Versioned};
use crate::audit::{AuditKind, AuditStore};
use crate::clock::Clock;
use crate::ids::{GroupId, UserId};
use crate::store::StoreError;

pub fn group_json(record: &ScimGroupRecord, base: &str) -> Value {
    GroupAttrs::to_json(
        record.id.as_str(),
        &record.display_name,
        record.external_id.as_deref(),
        &record.members,
        record.meta,
        &format!("{base}/Groups/{}", record.id.as_str()),
        &format!("{base}/Users"),
    )
}

/// Whether a rendering with these parameters shows `members` (lists skip loading them when
/// the client excludes them, as Azure AD does).
pub fn wants_members(attributes: &[String], excluded: &[String]) -> bool {
    let is_members = |a: &String| {
        let a = a.trim().to_ascii_lowercase();
        a == "members" || a.starts_with("members.") || a.ends_with(":members")
    };
    if excluded.iter().any(is_members) {
        return false;
    }
    attributes.is_empty() || attributes.iter().any(is_members)
}

fn member_ids(attrs: &GroupAttrs) -> Vec<UserId> {
    attrs
        .members
        .iter()
        .map(|m| UserId::new(m.as_str()))
        .collect()
}

fn group_store_error(e: StoreError) -> ScimError {
    match e {
        StoreError::NotFound => {
            ScimError::invalid_value("A member is not a user of this organisation")
        }
        StoreError::Conflict(_) => {
            ScimError::uniqueness("The organisation has a group of that displayName")
        }
        other => store_error(other),
    }
}

#[tracing::instrument(skip_all, fields(org = %caller.org, token = %caller.token_id))]
pub fn create_group<S: ScimGroupStore + ScimUserStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    caller: &Caller,
    body: &Value,
) -> Result<ScimGroupRecord, ScimError> {
    let attrs = GroupAttrs::from_json(body)?;
    store
        .adopt_managed_users(&caller.org, clock.now())
        .map_err(store_error)?;
    let record = store
        .create_scim_group(
            &caller.org,
            &GroupId::generate(),
            &attrs.display_name,
            attrs.external_id.as_deref(),
            &member_ids(&attrs),
            clock.now(),
        )
        .map_err(group_store_error)?;
    audit(
        store,
        clock,
        AuditKind::ScimGroupCreated,
        caller,
        None,
        &record.display_name,
    )?;
    Ok(record)
}

#[tracing::instrument(skip_all, fields(org = %caller.org, token = %caller.token_id))]
pub fn get_group<S: ScimGroupStore>(
    store: &S,
    caller: &Caller,
    id: &str,
    with_members: bool,
) -> Result<ScimGroupRecord, ScimError> {
    store
        .get_scim_group(&caller.org, &GroupId::new(id), with_members)
        .map_err(store_error)?
        .ok_or_else(ScimError::not_found)
}

#[tracing::instrument(skip_all, fields(org = %caller.org, token = %caller.token_id))]
pub fn list_groups<S: ScimGroupStore>(
    store: &S,
    caller: &Caller,
    params: &ListParams,
    base: &str,
) -> Result<Value, ScimError> {
    let filter = match params.filter.as_deref().map(str::trim) {
        Some(f) if !f.is_empty() => Some(query::group_filter(&filter::parse(f)?)?),
        _ => None,
    };
    let sort = match params.sort_by.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Some(query::group_sort(s)?),
        _ => None,
    };
    let (start, count) = params.page();
    let q = ListQuery {
        filter,
        sort,
        descending: params.descending()?,
        offset: start - 1,
        limit: count,
    };
    let with_members = wants_members(&params.attributes, &params.excluded_attributes);
    let (total, records) = store
        .list_scim_groups(&caller.org, &q, with_members)
        .map_err(store_error)?;
    let resources = records
        .iter()
        .map(|r| {
            let mut v = group_json(r, base);
            resource::project(&mut v, &params.attributes, &params.excluded_attributes);
            v
        })
        .collect();
    Ok(discovery::list_response(resources, total, start))
}

fn write_group<S: ScimGroupStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    caller: &Caller,
    old: &ScimGroupRecord,
    attrs: &GroupAttrs,
) -> Result<Versioned<ScimGroupRecord>, ScimError> {
    let r = store
        .update_scim_group(
            &caller.org,
            &old.id,
            old.meta.version,
            &attrs.display_name,
            attrs.external_id.as_deref(),
            &member_ids(attrs),
            clock.now(),
        )
        .map_err(group_store_error)?;
    if let Versioned::Done(g) = &r {
        audit(
            store,
            clock,
            AuditKind::ScimGroupUpdated,
            caller,
            None,
            &format!("{} {}", g.id.as_str(), g.display_name),
        )?;
    }
    Ok(r)
}

#[tracing::instrument(skip_all, fields(org = %caller.org, token = %caller.token_id))]
pub fn replace_group<S: ScimGroupStore + ScimUserStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    caller: &Caller,
    id: &str,
    body: &Value,
    if_match: Option<i64>,
) -> Result<ScimGroupRecord, ScimError> {
    let attrs = GroupAttrs::from_json(body)?;
    store
        .adopt_managed_users(&caller.org, clock.now())
        .map_err(store_error)?;
    let old = get_group(store, caller, id, false)?;
    check_version(if_match, old.meta.version)?;
    match write_group(store, clock, caller, &old, &attrs)? {
        Versioned::Done(r) => Ok(r),
        Versioned::Missing => Err(ScimError::not_found()),
        Versioned::Stale => Err(ScimError::precondition_failed()),
    }
}

#[tracing::instrument(skip_all, fields(org = %caller.org, token = %caller.token_id))]
pub fn patch_group<S: ScimGroupStore + ScimUserStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    caller: &Caller,
    id: &str,
    body: &Value,
    if_match: Option<i64>,
) -> Result<ScimGroupRecord, ScimError> {
    let ops = patch::parse_request(body)?;
    store
        .adopt_managed_users(&caller.org, clock.now())
        .map_err(store_error)?;
    for _ in 0..PATCH_RETRIES {
        let old = get_group(store, caller, id, true)?;
        check_version(if_match, old.meta.version)?;
        let mut doc = group_json(&old, "");
        patch::apply(&mut doc, &ops)?;
        let attrs = GroupAttrs::from_json(&doc)?;
        match write_group(store, clock, caller, &old, &attrs)? {
            Versioned::Done(r) => return Ok(r),
            Versioned::Missing => return Err(ScimError::not_found()),
            Versioned::Stale if if_match.is_some() => {
                return Err(ScimError::precondition_failed());
            }
            Versioned::Stale => continue,
        }
    }
    Err(ScimError::new(
        409,
        None,
        "The resource kept changing; try again",
    ))
}

#[tracing::instrument(skip_all, fields(org = %caller.org, token = %caller.token_id))]
pub fn delete_group<S: ScimGroupStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    caller: &Caller,
    id: &str,
    if_match: Option<i64>,
) -> Result<(), ScimError> {
    let old = get_group(store, caller, id, false)?;
    check_version(if_match, old.meta.version)?;
    if !store
        .delete_scim_group(&caller.org, &old.id)
        .map_err(store_error)?
    {
        return Err(ScimError::not_found());
    }
    audit(
        store,
        clock,
        AuditKind::ScimGroupDeleted,
        caller,
        None,
        &format!("{} {}", old.id.as_str(), old.display_name),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_loaded_only_when_shown() {
        assert!(wants_members(&[], &[]));
        assert!(!wants_members(&[], &["members".into()]));
        assert!(!wants_members(&["displayName".into()], &[]));
        assert!(wants_members(&["members.value".into()], &[]));
    }
}

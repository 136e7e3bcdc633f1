//! SCIM logic shared by Users and Groups ([`super::users`], [`super::groups`]) and the
//! tokens: no actix; blocking (store, argon2): the handlers call it from `web::block`, the CLI
//! directly.
//!
//! Every operation takes the [`Caller`] the bearer token resolved to, so it sees and changes
//! only that organisation's resources: another organisation's users are never found (404) and
//! never collide (their keys live in another namespace and `scim_users` is unique per
//! organisation).

use super::discovery::MAX_RESULTS;
use super::error::ScimError;
use super::store::{ScimToken, ScimTokenStore};
use crate::audit::{AuditEvent, AuditKind, AuditStore, RequestMeta};
use crate::clock::Clock;
use crate::credentials::{Plain, kind};
use crate::crypto;
use crate::ids::{OrgId, UserId};
use crate::store::{StoreError, Unique};

/// The prefix of every SCIM token.
pub const TOKEN_PREFIX: &str = "mg_scim_";

pub type PlainScimToken = Plain<kind::ScimToken>;

/// Who is calling: the organisation a valid token belongs to, and the token (the actor in the
/// audit log).
#[derive(Debug, Clone)]
pub struct Caller {
    pub org: OrgId,
    pub token_id: String,
    pub meta: RequestMeta,
}

pub(super) fn store_error(e: StoreError) -> ScimError {
    match e {
        StoreError::NotFound => ScimError::not_found(),
        StoreError::Conflict(Unique::Email) => {
            ScimError::uniqueness("An account with that e-mail address exists")
        }
        StoreError::Conflict(_) => ScimError::uniqueness("userName or displayName is taken"),
        StoreError::Unstorable => ScimError::invalid_value("A value cannot be stored"),
        StoreError::Unavailable(_) => ScimError::unavailable(),
        StoreError::Backend(e) => {
            tracing::error!(error = %e, "SCIM store error");
            ScimError::internal()
        }
    }
}

// ---- tokens ---------------------------------------------------------------------------

/// Mints a token for `org`; the value is returned once and only its hash is stored.
#[tracing::instrument(skip_all, fields(org = %org))]
pub fn create_token<S: ScimTokenStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &OrgId,
    description: &str,
    actor: Option<&UserId>,
    meta: &RequestMeta,
) -> Result<(ScimToken, PlainScimToken), StoreError> {
    let now = clock.now();
    let plain = PlainScimToken::new(format!("{TOKEN_PREFIX}{}", crypto::random_base62(43)));
    let description: String = description.trim().chars().take(100).collect();
    let token = ScimToken {
        id: crypto::new_id("sct"),
        org: org.clone(),
        description: if description.is_empty() {
            "SCIM".into()
        } else {
            description
        },
        created_at: now,
        created_by: actor.cloned(),
        revoked_at: None,
    };
    store.create_scim_token(&token, &plain.hash())?;
    let mut event = AuditEvent::new(now, AuditKind::ScimTokenCreated, meta)
        .org(org)
        .subject(&token.id)
        .detail(format!("org {}", org.as_str()));
    if let Some(a) = actor {
        event = event.user(a);
    }
    store.record_event(&event)?;
    Ok((token, plain))
}

/// Revokes one of `org`'s tokens; `false` when it has no live token of that id.
#[tracing::instrument(skip_all, fields(org = %org, id = %id))]
pub fn revoke_token<S: ScimTokenStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &OrgId,
    id: &str,
    actor: Option<&UserId>,
    meta: &RequestMeta,
) -> Result<bool, StoreError> {
    let now = clock.now();
    if !store.revoke_scim_token(org, id, now)? {
        return Ok(false);
    }
    let mut event = AuditEvent::new(now, AuditKind::ScimTokenRevoked, meta)
        .org(org)
        .subject(id)
        .detail(format!("org {}", org.as_str()));
    if let Some(a) = actor {
        event = event.user(a);
    }
    store.record_event(&event)?;
    Ok(true)
}

/// The caller a presented bearer token stands for: a live token, compared by hash in
/// constant time. Anything else is `401`.
#[tracing::instrument(skip_all)]
pub fn authenticate<S: ScimTokenStore>(
    store: &S,
    presented: &str,
    meta: RequestMeta,
) -> Result<Caller, ScimError> {
    if !presented.starts_with(TOKEN_PREFIX) || presented.len() > 200 {
        return Err(ScimError::unauthorized());
    }
    let hash = PlainScimToken::new(presented).hash();
    match store.find_scim_token(&hash).map_err(store_error)? {
        Some((token, stored)) if stored.matches(&hash) => Ok(Caller {
            org: token.org,
            token_id: token.id,
            meta,
        }),
        _ => Err(ScimError::unauthorized()),
    }
}

// ---- shared ---------------------------------------------------------------------------

/// The list parameters of RFC 7644 §3.4.2, as received.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub filter: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub attributes: Vec<String>,
    pub excluded_attributes: Vec<String>,
}

impl ListParams {
    pub(super) fn page(&self) -> (i64, i64) {
        // startIndex below 1 is 1; a negative count is 0 (RFC 7644 §3.4.2.4).
        let start = self.start_index.unwrap_or(1).max(1);
        let count = self.count.unwrap_or(100).clamp(0, MAX_RESULTS);
        (start, count)
    }

    pub(super) fn descending(&self) -> Result<bool, ScimError> {
        match self
            .sort_order
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("ascending") => Ok(false),
            Some("descending") => Ok(true),
            Some(_) => Err(ScimError::invalid_value(
                "sortOrder is ascending or descending",
            )),
        }
    }
}

/// `If-Match` (RFC 7644 §3.14): `*`, `W/"n"` or `"n"`. `Ok(None)` when absent or `*`.
pub fn parse_if_match(header: Option<&str>) -> Result<Option<i64>, ScimError> {
    let Some(h) = header.map(str::trim) else {
        return Ok(None);
    };
    if h == "*" {
        return Ok(None);
    }
    let v = h.strip_prefix("W/").unwrap_or(h);
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .and_then(|v| v.parse::<i64>().ok())
        .map(Some)
        // A version we never issued cannot match.
        .ok_or_else(ScimError::precondition_failed)
}

pub(super) fn check_version(if_match: Option<i64>, current: i64) -> Result<(), ScimError> {
    match if_match {
        Some(v) if v != current => Err(ScimError::precondition_failed()),
        _ => Ok(()),
    }
}

pub(super) fn audit<S: AuditStore>(
    store: &S,
    clock: &dyn Clock,
    kind: AuditKind,
    caller: &Caller,
    user: Option<&UserId>,
    subject: &str,
) -> Result<(), ScimError> {
    let mut event = AuditEvent::new(clock.now(), kind, &caller.meta)
        .org(&caller.org)
        .subject(subject)
        .detail(format!(
            "org {} scim_token={}",
            caller.org.as_str(),
            caller.token_id
        ));
    if let Some(u) = user {
        event = event.user(u);
    }
    store.record_event(&event).map_err(store_error)
}

/// How often a PATCH without `If-Match` retries when a concurrent write bumped the version
/// under it. Each retry means another write succeeded, so n concurrent writers need at most n
/// tries; past this bound the answer is a 409 to try again.
pub(super) const PATCH_RETRIES: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_forms() {
        assert_eq!(parse_if_match(None).unwrap(), None);
        assert_eq!(parse_if_match(Some("*")).unwrap(), None);
        assert_eq!(parse_if_match(Some("W/\"3\"")).unwrap(), Some(3));
        assert_eq!(parse_if_match(Some("\"4\"")).unwrap(), Some(4));
        assert_eq!(parse_if_match(Some("W/\"x\"")).unwrap_err().status, 412);
    }
}

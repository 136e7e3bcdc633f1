//! `/v1` handlers (JSON).

use actix_web::http::header::{CACHE_CONTROL, PRAGMA};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ErrorBody, V1Error};
use crate::apikeys::service::{self, NewKey, ROTATE_AFTER};
use crate::apikeys::store::ApiKeyStore;
use crate::apikeys::types::ApiKey;
use crate::clock::rfc3339;
use crate::ids::{ApplicationId, KeyId};
use crate::web::caller::Caller;
use crate::web::state::AppState;

/// A key as `/v1` shows it; `key` only in the answer that creates or rotates it.
#[derive(Serialize, ToSchema)]
pub struct KeyView {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub allowed_ips: Vec<String>,
    pub hint: String,
    /// Older than 90 days: rotate it.
    pub rotation_recommended: bool,
}

impl KeyView {
    pub fn new(k: &ApiKey, secret: Option<String>, now: i64) -> Self {
        KeyView {
            id: k.id.to_string(),
            key: secret,
            name: k.name.clone(),
            scopes: k.scopes.iter().map(str::to_owned).collect(),
            created_at: rfc3339(k.created_at),
            expires_at: k.expires_at.map(rfc3339),
            last_used_at: k.last_used_at.map(rfc3339),
            allowed_ips: k.allowed_ips.iter().map(|n| n.to_string()).collect(),
            hint: k.hint.clone(),
            rotation_recommended: now - k.created_at > ROTATE_AFTER,
        }
    }
}

/// Answers that carry a secret (a new or rotated key) must not be kept by any cache
/// (RFC 9111 §5.2.2.5; the same rule as RFC 6749 §5.1 for tokens).
fn secret_answer(mut builder: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    builder
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((PRAGMA, "no-cache"));
    builder
}

/// Reads a `/v1` JSON body: anything unreadable is a 400 `INVALID_REQUEST`, never a 500.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, V1Error> {
    serde_json::from_slice(body)
        .map_err(|e| V1Error::BadRequest(format!("The JSON body could not be read: {e}")))
}

/// A list of CIDRs, or one comma-separated string.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum AllowedIps {
    List(Vec<String>),
    Text(String),
}

/// The scopes an API key may hold (`admin` implies all the others). Schema only: the body
/// takes them as strings and the service checks them (422 for an unknown one).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub enum ApiScope {
    #[serde(rename = "read:evaluations")]
    ReadEvaluations,
    #[serde(rename = "write:evaluations")]
    WriteEvaluations,
    #[serde(rename = "read:policies")]
    ReadPolicies,
    #[serde(rename = "write:policies")]
    WritePolicies,
    #[serde(rename = "read:org")]
    ReadOrg,
    #[serde(rename = "write:org")]
    WriteOrg,
    #[serde(rename = "ci")]
    Ci,
    #[serde(rename = "admin")]
    Admin,
}

/// The scope of an application key. Schema only, like [`ApiScope`].
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum ApplicationScope {
    Admin,
    Ci,
}

/// The longest `name` of a key or application, in characters (the service's rule).
pub const NAME_MAX_CHARS: usize = 100;

/// The schema promises `name` at most [`NAME_MAX_CHARS`] characters as sent; the service
/// counts after trimming, so a padded longer name is refused here to keep the promise exact.
fn check_name_length(name: &str) -> Result<(), V1Error> {
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(V1Error::Unprocessable(
            "name must be 1-100 characters".into(),
        ));
    }
    Ok(())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyBody {
    /// 1–100 characters, none a control character (surrounding spaces are trimmed; a blank
    /// name, or one with a control character such as NUL, is refused with 422).
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// At least one of read:evaluations, write:evaluations, read:policies, write:policies,
    /// read:org, write:org, ci, admin; never one the caller lacks (403).
    #[schema(value_type = Vec<ApiScope>, min_items = 1)]
    scopes: Vec<String>,
    /// `30m`, `24h`, `7d`, `90d`, `never`, any `<N>m|h|d` from 1 minute to 3650 days; default
    /// 90 days; never beyond the configured or organisation ceiling, nor the caller's own
    /// lifetime (422).
    #[serde(default)]
    #[schema(pattern = r"^[ \t\n\f\r]*(never|[0-9]{1,10}[mhd])[ \t\n\f\r]*$")]
    expires_in: Option<String>,
    #[serde(default)]
    allowed_ips: Option<AllowedIps>,
}

#[derive(Serialize, ToSchema)]
pub struct KeyList {
    data: Vec<KeyView>,
}

#[derive(Serialize, ToSchema)]
pub struct VerifyResponse {
    valid: bool,
    /// Null for an OAuth access token.
    key_id: Option<String>,
    scopes: Vec<String>,
    expires_at: Option<String>,
    organization: String,
    /// For an OAuth access token, how its user authenticated (RFC 8176 values); null for an
    /// API key.
    amr: Option<Vec<String>>,
    /// For an OAuth access token, the authentication context class its sign-in meets
    /// (`urn:mintgate:acr:pwd` or `urn:mintgate:acr:mfa`); null for an API key.
    acr: Option<String>,
    /// For an OAuth access token, when its user last authenticated (RFC 3339); null for an
    /// API key.
    auth_time: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ApplicationCreated {
    id: i64,
    name: String,
    scope: String,
    /// Shown once.
    key: String,
}

#[derive(Serialize, ToSchema)]
pub struct ApplicationView {
    id: i64,
    name: String,
    scope: String,
    created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ApplicationList {
    data: Vec<ApplicationView>,
}

#[derive(Serialize, ToSchema)]
pub struct Account {
    id: String,
    login: String,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct CurrentApplication {
    id: i64,
    name: String,
    account: Account,
}

#[utoipa::path(post, path = "/v1/api-keys", tag = "API keys", request_body = CreateKeyBody,
    description = "Mints a key for the caller's organisation. Needs `write:org`; never grants a scope the caller lacks nor outlives it.",
    responses((status = 201, description = "Created; `key` is shown only here", body = KeyView), (status = 400, description = "The body is not JSON, or not this shape (INVALID_REQUEST)", body = ErrorBody), (status = 413, description = "The body is larger than `body_limit` (PAYLOAD_TOO_LARGE)", body = ErrorBody), (status = 422, description = "Invalid name, scope, expiry or CIDR (VALIDATION_FAILED)", body = ErrorBody), (status = 401, description = "Missing, unknown, expired or revoked credential (AUTH_INVALID_KEY)", body = ErrorBody), (status = 403, description = "AUTH_INSUFFICIENT_SCOPE or AUTH_IP_NOT_ALLOWED", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_key(
    st: web::Data<AppState>,
    body: web::Bytes,
    caller: Caller,
) -> Result<HttpResponse, V1Error> {
    let input: CreateKeyBody = parse_json(&body)?;
    check_name_length(&input.name)?;
    let st2 = st.clone();
    let principal = caller.principal;
    let (key, secret) = web::block(move || {
        let allowed_ips = match input.allowed_ips {
            None => vec![],
            Some(AllowedIps::List(v)) => v,
            Some(AllowedIps::Text(s)) => vec![s],
        };
        let new = NewKey {
            name: input.name,
            scopes: input.scopes,
            expires_in: input.expires_in,
            allowed_ips,
        };
        service::create(
            &st2.store,
            &st2.key_format,
            &principal,
            new,
            st2.clock.now(),
        )
    })
    .await??;
    use secrecy::ExposeSecret;
    let now = st.clock.now();
    Ok(secret_answer(HttpResponse::Created()).json(KeyView::new(
        &key,
        Some(secret.expose_secret().to_owned()),
        now,
    )))
}

#[utoipa::path(get, path = "/v1/api-keys", tag = "API keys", description = "The organisation's keys, without secrets. Needs `read:org`.",
    responses((status = 200, body = KeyList), (status = 401, description = "Missing, unknown, expired or revoked credential (AUTH_INVALID_KEY)", body = ErrorBody), (status = 403, description = "AUTH_INSUFFICIENT_SCOPE or AUTH_IP_NOT_ALLOWED", body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_keys(st: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, V1Error> {
    let st2 = st.clone();
    let principal = caller.principal;
    let keys = web::block(move || service::list(&st2.store, &principal)).await??;
    let now = st.clock.now();
    let data: Vec<KeyView> = keys.iter().map(|k| KeyView::new(k, None, now)).collect();
    Ok(HttpResponse::Ok().json(KeyList { data }))
}

#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "API keys", description = "Revokes a key at once, on every instance. Needs `write:org`.",
    params(("id" = String, Path, description = "key_…")),
    responses((status = 204, description = "Revoked"), (status = 404, description = "No such key or application in this organisation (NOT_FOUND)", body = ErrorBody), (status = 401, description = "Missing, unknown, expired or revoked credential (AUTH_INVALID_KEY)", body = ErrorBody), (status = 403, description = "AUTH_INSUFFICIENT_SCOPE or AUTH_IP_NOT_ALLOWED", body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_key(
    st: web::Data<AppState>,
    id: web::Path<KeyId>,
    caller: Caller,
) -> Result<HttpResponse, V1Error> {
    let principal = caller.principal;
    web::block(move || service::revoke(&st.store, &principal, &id, st.clock.now())).await??;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/v1/api-keys/{id}/rotate", tag = "API keys",
    description = "A new secret with the same metadata; the old secret keeps working for the grace period (24 h by default). Needs `write:org`.",
    params(("id" = String, Path, description = "key_…")),
    responses((status = 200, description = "`key` is shown only here", body = KeyView), (status = 404, description = "No such key or application in this organisation (NOT_FOUND)", body = ErrorBody), (status = 401, description = "Missing, unknown, expired or revoked credential (AUTH_INVALID_KEY)", body = ErrorBody), (status = 403, description = "AUTH_INSUFFICIENT_SCOPE or AUTH_IP_NOT_ALLOWED", body = ErrorBody)), security(("bearer" = [])))]
pub async fn rotate_key(
    st: web::Data<AppState>,
    id: web::Path<KeyId>,
    caller: Caller,
) -> Result<HttpResponse, V1Error> {
    let st2 = st.clone();
    let principal = caller.principal;
    let (key, secret) = web::block(move || {
        service::rotate(
            &st2.store,
            &st2.key_format,
            &principal,
            &id,
            st2.clock.now(),
        )
    })
    .await??;
    use secrecy::ExposeSecret;
    let now = st.clock.now();
    Ok(secret_answer(HttpResponse::Ok()).json(KeyView::new(
        &key,
        Some(secret.expose_secret().to_owned()),
        now,
    )))
}

#[utoipa::path(get, path = "/v1/auth/verify", tag = "Authentication", description = "What the presented API key or OAuth access token is and may do.",
    responses((status = 200, body = VerifyResponse), (status = 401, description = "Missing, unknown, expired or revoked credential (AUTH_INVALID_KEY)", body = ErrorBody), (status = 403, description = "AUTH_INSUFFICIENT_SCOPE or AUTH_IP_NOT_ALLOWED", body = ErrorBody)), security(("bearer" = [])))]
pub async fn verify(caller: Caller) -> Result<HttpResponse, V1Error> {
    let p = &caller.principal;
    let body = VerifyResponse {
        valid: true,
        key_id: p.key_id.as_ref().map(KeyId::to_string),
        scopes: p.scopes.iter().map(str::to_owned).collect(),
        expires_at: caller.expires_at.map(rfc3339),
        organization: p.org_name.clone(),
        acr: caller.authentication.as_ref().map(|a| a.acr().to_owned()),
        auth_time: caller.authentication.as_ref().map(|a| rfc3339(a.auth_time)),
        amr: caller.authentication.map(|a| a.amr),
    };
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApplicationBody {
    /// 1–100 characters, none a control character, unique in the organisation (422 otherwise).
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    #[schema(value_type = ApplicationScope)]
    scope: String,
}

#[utoipa::path(post, path = "/v1/applications", tag = "Applications", request_body = CreateApplicationBody,
    description = "An organisation-level key with the `admin` or `ci` scope. Needs `admin`.",
    responses((status = 201, description = "Created; `key` is shown only here", body = ApplicationCreated), (status = 400, description = "The body is not JSON, or not this shape (INVALID_REQUEST)", body = ErrorBody), (status = 413, description = "The body is larger than `body_limit` (PAYLOAD_TOO_LARGE)", body = ErrorBody), (status = 422, description = "Invalid name or scope, or the name is taken (VALIDATION_FAILED)", body = ErrorBody), (status = 401, description = "Missing, unknown, expired or revoked credential (AUTH_INVALID_KEY)", body = ErrorBody), (status = 403, description = "AUTH_INSUFFICIENT_SCOPE or AUTH_IP_NOT_ALLOWED", body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_application(
    st: web::Data<AppState>,
    body: web::Bytes,
    caller: Caller,
) -> Result<HttpResponse, V1Error> {
    let input: CreateApplicationBody = parse_json(&body)?;
    check_name_length(&input.name)?;
    let principal = caller.principal;
    let (app, secret) = web::block(move || {
        service::create_application(
            &st.store,
            &st.key_format,
            &principal,
            &input.name,
            &input.scope,
            st.clock.now(),
        )
    })
    .await??;
    use secrecy::ExposeSecret;
    let body = ApplicationCreated {
        id: app.id.get(),
        name: app.name,
        scope: app.scope,
        key: secret.expose_secret().to_owned(),
    };
    Ok(secret_answer(HttpResponse::Created()).json(body))
}

#[utoipa::path(get, path = "/v1/applications", tag = "Applications", description = "Needs `admin`.",
    responses((status = 200, body = ApplicationList), (status = 401, description = "Missing, unknown, expired or revoked credential (AUTH_INVALID_KEY)", body = ErrorBody), (status = 403, description = "AUTH_INSUFFICIENT_SCOPE or AUTH_IP_NOT_ALLOWED", body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_applications(
    st: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, V1Error> {
    service::require(&caller.principal, "admin")?;
    let org = caller.principal.org_id;
    let apps = web::block(move || st.store.list_applications(&org)).await??;
    let data: Vec<_> = apps
        .iter()
        .map(|a| ApplicationView {
            id: a.id.get(),
            name: a.name.clone(),
            scope: a.scope.clone(),
            created_at: rfc3339(a.created_at),
        })
        .collect();
    Ok(HttpResponse::Ok().json(ApplicationList { data }))
}

#[utoipa::path(delete, path = "/v1/applications/{id}", tag = "Applications", description = "Deletes the application and revokes its key at once. Needs `admin`.",
    params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such key or application in this organisation (NOT_FOUND)", body = ErrorBody), (status = 401, description = "Missing, unknown, expired or revoked credential (AUTH_INVALID_KEY)", body = ErrorBody), (status = 403, description = "AUTH_INSUFFICIENT_SCOPE or AUTH_IP_NOT_ALLOWED", body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_application(
    st: web::Data<AppState>,
    id: web::Path<String>,
    caller: Caller,
) -> Result<HttpResponse, V1Error> {
    let id: ApplicationId = id.parse().map_err(|_| V1Error::NotFound)?;
    let principal = caller.principal;
    web::block(move || service::delete_application(&st.store, &principal, id, st.clock.now()))
        .await??;
    Ok(HttpResponse::NoContent().finish())
}

/// The calling application (application keys only).
#[utoipa::path(get, path = "/v1/application", tag = "Applications", description = "The application whose key is presented.",
    responses((status = 200, body = CurrentApplication), (status = 404, description = "Not an application key", body = ErrorBody), (status = 401, description = "Missing, unknown, expired or revoked credential (AUTH_INVALID_KEY)", body = ErrorBody), (status = 403, description = "AUTH_INSUFFICIENT_SCOPE or AUTH_IP_NOT_ALLOWED", body = ErrorBody)), security(("bearer" = [])))]
pub async fn current_application(
    st: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, V1Error> {
    let app_id = caller.principal.application_id.ok_or(V1Error::NotFound)?;
    let app = web::block(move || st.store.find_application(app_id))
        .await??
        .ok_or(V1Error::NotFound)?;
    let p = &caller.principal;
    let body = CurrentApplication {
        id: app.id.get(),
        name: app.name,
        account: Account {
            id: p.org_id.to_string(),
            login: p.org_name.clone(),
            kind: "Organization",
        },
    };
    Ok(HttpResponse::Ok().json(body))
}

//! `/v1` handlers (JSON).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::auth::{self, Caller};
use super::error::V1Error;
use crate::apikeys::service::{self, NewKey, ROTATE_AFTER};
use crate::apikeys::types::ApiKey;
use crate::clock::rfc3339;
use crate::store::ApiKeyStore;
use crate::web::extractors::state;

/// A key as `/v1` shows it; `key` only in the answer that creates or rotates it.
#[derive(Serialize)]
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
            id: k.id.clone(),
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

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, V1Error> {
    serde_json::from_slice(body)
        .map_err(|e| V1Error::BadRequest(format!("The JSON body could not be read: {e}")))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum AllowedIps {
    List(Vec<String>),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateKeyBody {
    name: String,
    scopes: Vec<String>,
    #[serde(default)]
    expires_in: Option<String>,
    #[serde(default)]
    allowed_ips: Option<AllowedIps>,
}

pub async fn create_key(req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, V1Error> {
    let caller = auth::authenticate(&req).await?;
    let input: CreateKeyBody = parse_json(&body)?;
    let st = state(&req).clone();
    let principal = caller.principal.clone();
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
        service::create(&st.store, &st.key_format, &principal, new, st.clock.now())
    })
    .await??;
    use secrecy::ExposeSecret;
    let now = state(&req).clock.now();
    Ok(auth::finish(
        &caller,
        HttpResponse::Created().json(KeyView::new(
            &key,
            Some(secret.expose_secret().to_owned()),
            now,
        )),
    ))
}

pub async fn list_keys(req: HttpRequest) -> Result<HttpResponse, V1Error> {
    let caller = auth::authenticate(&req).await?;
    let st = state(&req).clone();
    let principal = caller.principal.clone();
    let keys = web::block(move || service::list(&st.store, &principal)).await??;
    let now = state(&req).clock.now();
    let data: Vec<KeyView> = keys.iter().map(|k| KeyView::new(k, None, now)).collect();
    Ok(auth::finish(
        &caller,
        HttpResponse::Ok().json(json!({ "data": data })),
    ))
}

pub async fn delete_key(req: HttpRequest, id: web::Path<String>) -> Result<HttpResponse, V1Error> {
    let caller = auth::authenticate(&req).await?;
    let st = state(&req).clone();
    let principal = caller.principal.clone();
    web::block(move || service::revoke(&st.store, &principal, &id, st.clock.now())).await??;
    Ok(auth::finish(&caller, HttpResponse::NoContent().finish()))
}

pub async fn rotate_key(req: HttpRequest, id: web::Path<String>) -> Result<HttpResponse, V1Error> {
    let caller = auth::authenticate(&req).await?;
    let st = state(&req).clone();
    let principal = caller.principal.clone();
    let (key, secret) = web::block(move || {
        service::rotate(&st.store, &st.key_format, &principal, &id, st.clock.now())
    })
    .await??;
    use secrecy::ExposeSecret;
    let now = state(&req).clock.now();
    Ok(auth::finish(
        &caller,
        HttpResponse::Ok().json(KeyView::new(
            &key,
            Some(secret.expose_secret().to_owned()),
            now,
        )),
    ))
}

pub async fn verify(req: HttpRequest) -> Result<HttpResponse, V1Error> {
    let caller = auth::authenticate(&req).await?;
    let p = &caller.principal;
    let body = json!({
        "valid": true,
        "key_id": p.key_id,
        "scopes": p.scopes.iter().collect::<Vec<_>>(),
        "expires_at": p.expires_at.map(rfc3339),
        "organization": p.org_name,
    });
    Ok(auth::finish(&caller, HttpResponse::Ok().json(body)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateApplicationBody {
    name: String,
    scope: String,
}

pub async fn create_application(
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, V1Error> {
    let caller = auth::authenticate(&req).await?;
    let input: CreateApplicationBody = parse_json(&body)?;
    let st = state(&req).clone();
    let principal = caller.principal.clone();
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
    let body =
        json!({"id": app.id, "name": app.name, "scope": app.scope, "key": secret.expose_secret()});
    Ok(auth::finish(&caller, HttpResponse::Created().json(body)))
}

pub async fn list_applications(req: HttpRequest) -> Result<HttpResponse, V1Error> {
    let caller = auth::authenticate(&req).await?;
    service::require(&caller.principal, "admin")?;
    let st = state(&req).clone();
    let org = caller.principal.org_id.clone();
    let apps = web::block(move || st.store.list_applications(&org)).await??;
    let data: Vec<_> = apps
        .iter()
        .map(|a| json!({"id": a.id, "name": a.name, "scope": a.scope, "created_at": rfc3339(a.created_at)}))
        .collect();
    Ok(auth::finish(
        &caller,
        HttpResponse::Ok().json(json!({ "data": data })),
    ))
}

pub async fn delete_application(
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, V1Error> {
    let caller = auth::authenticate(&req).await?;
    let id: i64 = id.parse().map_err(|_| V1Error::NotFound)?;
    let st = state(&req).clone();
    let principal = caller.principal.clone();
    web::block(move || service::delete_application(&st.store, &principal, id, st.clock.now()))
        .await??;
    Ok(auth::finish(&caller, HttpResponse::NoContent().finish()))
}

/// The calling application (application keys only).
pub async fn current_application(req: HttpRequest) -> Result<HttpResponse, V1Error> {
    let caller: Caller = auth::authenticate(&req).await?;
    let app_id = caller.principal.application_id.ok_or(V1Error::NotFound)?;
    let st = state(&req).clone();
    let app = web::block(move || st.store.find_application(app_id))
        .await??
        .ok_or(V1Error::NotFound)?;
    let p = &caller.principal;
    let body = json!({
        "id": app.id,
        "name": app.name,
        "account": {"id": p.org_id, "login": p.org_name, "type": "Organization"},
    });
    Ok(auth::finish(&caller, HttpResponse::Ok().json(body)))
}

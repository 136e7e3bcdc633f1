//! Settings > API Keys and Settings > Applications: server-rendered, usable without JavaScript
//! (a small script adds copy buttons).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::service::{self, ApiKeyError, NewKey, Principal, ROTATE_AFTER};
use super::types::{ApiKey, Application, KeyOwner};
use crate::accounts::http::login_redirect;
use crate::accounts::store::UserStore;
use crate::apikeys::store::ApiKeyStore;
use crate::clock::rfc3339;
use crate::ids::{ApplicationId, KeyId};
use crate::scopes::{API_SCOPES, role_scopes};
use crate::sessions::types::CurrentSession;
use crate::web::error::WebError;
use crate::web::extractors::{MaybeSession, state};
use crate::web::paths::{SETTINGS_API_KEYS, SETTINGS_APPLICATIONS};
use crate::web::see_other;
use crate::web::state::AppState;
use crate::web::{csrf, html};

struct KeyRow {
    id: KeyId,
    name: String,
    scopes: String,
    created: String,
    expires: String,
    last_used: String,
    allowed_ips: String,
    hint: String,
    old: bool,
    /// The signed-in user may revoke it (the service's rule, so no dead buttons).
    can_revoke: bool,
}

impl KeyRow {
    fn new(k: &ApiKey, now: i64, p: &Principal) -> Self {
        KeyRow {
            id: k.id.clone(),
            name: k.name.clone(),
            scopes: k.scopes.to_string(),
            created: rfc3339(k.created_at),
            expires: k.expires_at.map(rfc3339).unwrap_or_else(|| "never".into()),
            last_used: k
                .last_used_at
                .map(rfc3339)
                .unwrap_or_else(|| "never".into()),
            allowed_ips: if k.allowed_ips.is_empty() {
                "any".into()
            } else {
                k.allowed_ips
                    .iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            hint: k.hint.clone(),
            old: now - k.created_at > ROTATE_AFTER,
            can_revoke: service::may_manage(p, k),
        }
    }
}

#[derive(Template)]
#[template(path = "settings/api_keys.html")]
struct ApiKeysPage<'a> {
    csrf: &'a str,
    org: &'a str,
    keys: Vec<KeyRow>,
    scopes: Vec<&'static str>,
    created: Option<(String, String)>,
    error: Option<String>,
    is_admin: bool,
}

#[derive(Template)]
#[template(path = "settings/confirm.html")]
struct ConfirmPage<'a> {
    csrf: &'a str,
    title: &'a str,
    question: String,
    action: String,
    back: &'a str,
}

#[derive(Template)]
#[template(path = "settings/applications.html")]
struct ApplicationsPage<'a> {
    csrf: &'a str,
    org: &'a str,
    apps: Vec<(Application, String)>,
    created: Option<(String, String)>,
    error: Option<String>,
}

/// These pages show a new key's secret once: no cache may keep them (RFC 9111 §5.2.2.5).
fn no_store(mut builder: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    builder.insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"));
    builder
}

/// A signed-in user acts on the pages with their role's scopes in their organisation.
fn principal(st: &AppState, current: &CurrentSession) -> Result<(Principal, bool), WebError> {
    let membership = st
        .store
        .memberships(&current.user.id)?
        .into_iter()
        .next()
        .ok_or_else(|| WebError::BadRequest("You are not a member of any organisation.".into()))?;
    let is_admin = membership.role.is_admin();
    Ok((
        Principal {
            org_max_lifetime: membership.org.api_key_max_lifetime,
            legacy_query: membership.org.api_key_legacy_query,
            org_id: membership.org.id,
            org_name: membership.org.name,
            user_id: Some(current.user.id.clone()),
            role: Some(membership.role),
            key_id: None,
            application_id: None,
            scopes: role_scopes(membership.role),
            expires_at: None,
        },
        is_admin,
    ))
}

fn page_error(e: ApiKeyError) -> Result<String, WebError> {
    match e {
        ApiKeyError::Store(e) => Err(e.into()),
        ApiKeyError::InsufficientScope(s) => {
            Ok(format!("Your role does not allow this (it needs {s})."))
        }
        other => Ok(other.to_string()),
    }
}

async fn render_keys(
    req: &HttpRequest,
    current: CurrentSession,
    created: Option<(String, String)>,
    error: Option<String>,
) -> Result<HttpResponse, WebError> {
    let st = state(req).clone();
    let sid = current.session.sid.clone();
    let (p, is_admin, keys) = web::block(move || -> Result<_, WebError> {
        let (p, is_admin) = principal(&st, &current)?;
        let keys = st.store.list_api_keys(&p.org_id)?;
        Ok((p, is_admin, keys))
    })
    .await??;
    let st = state(req);
    let now = st.clock.now();
    let mut token = csrf::issue(st, req, Some(&sid));
    let builder = no_store(token.builder(StatusCode::OK));
    let page = ApiKeysPage {
        csrf: &token.token,
        org: &p.org_name,
        keys: keys
            .iter()
            .filter(|k| !matches!(k.owner, KeyOwner::Application(_)))
            .map(|k| KeyRow::new(k, now, &p))
            .collect(),
        scopes: API_SCOPES.to_vec(),
        created,
        error,
        is_admin,
    };
    html(builder, &page)
}

pub async fn api_keys_page(
    req: HttpRequest,
    session: MaybeSession,
) -> Result<HttpResponse, WebError> {
    let Some(current) = session.0 else {
        return Ok(login_redirect(SETTINGS_API_KEYS));
    };
    render_keys(&req, current, None, None).await
}

#[derive(Deserialize)]
pub struct CreateKeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    expires_in: String,
    #[serde(default)]
    allowed_ips: String,
}

pub async fn create_key(
    req: HttpRequest,
    body: web::Bytes,
    session: MaybeSession,
) -> Result<HttpResponse, WebError> {
    let Some(current) = session.0 else {
        return Ok(login_redirect(SETTINGS_API_KEYS));
    };
    // Checkboxes repeat `scope`, which a struct cannot hold: read the pairs.
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let form: CreateKeyForm = serde_urlencoded::from_bytes(&body)
        .map_err(|e| WebError::BadRequest(format!("The form could not be read: {e}")))?;
    let st = state(&req).clone();
    csrf::verify(&st, &req, Some(&current.session.sid), &form.csrf)?;
    let scopes: Vec<String> = pairs
        .into_iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v)
        .collect();
    let cur = current.clone();
    let result = web::block(move || -> Result<_, WebError> {
        let (p, _) = principal(&st, &cur)?;
        let input = NewKey {
            name: form.name,
            scopes,
            expires_in: Some(form.expires_in).filter(|e| !e.is_empty()),
            allowed_ips: vec![form.allowed_ips],
        };
        Ok(service::create(
            &st.store,
            &st.key_format,
            &p,
            input,
            st.clock.now(),
        ))
    })
    .await??;
    match result {
        Ok((key, secret)) => {
            render_keys(
                &req,
                current,
                Some((key.name, secret.expose_secret().to_owned())),
                None,
            )
            .await
        }
        Err(e) => {
            let message = page_error(e)?;
            render_keys(&req, current, None, Some(message)).await
        }
    }
}

pub async fn confirm_revoke(
    req: HttpRequest,
    id: web::Path<KeyId>,
    session: MaybeSession,
) -> Result<HttpResponse, WebError> {
    let Some(current) = session.0 else {
        return Ok(login_redirect(SETTINGS_API_KEYS));
    };
    let st = state(&req);
    let mut token = csrf::issue(st, &req, Some(&current.session.sid));
    let builder = token.builder(StatusCode::OK);
    let id = id.into_inner();
    let page = ConfirmPage {
        csrf: &token.token,
        title: "Revoke API key",
        question: format!("Revoke key {id}? Anything using it stops working at once."),
        action: format!("{SETTINGS_API_KEYS}/{id}/revoke"),
        back: SETTINGS_API_KEYS,
    };
    html(builder, &page)
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn revoke_key(
    req: HttpRequest,
    id: web::Path<KeyId>,
    form: web::Form<CsrfForm>,
    session: MaybeSession,
) -> Result<HttpResponse, WebError> {
    let Some(current) = session.0 else {
        return Ok(login_redirect(SETTINGS_API_KEYS));
    };
    let st = state(&req).clone();
    csrf::verify(&st, &req, Some(&current.session.sid), &form.csrf)?;
    let result = web::block(move || -> Result<_, WebError> {
        let (p, _) = principal(&st, &current)?;
        Ok(service::revoke(&st.store, &p, &id, st.clock.now()))
    })
    .await??;
    match result {
        Ok(()) | Err(ApiKeyError::NotFound) => Ok(see_other(SETTINGS_API_KEYS)),
        Err(ApiKeyError::Store(e)) => Err(e.into()),
        Err(ApiKeyError::NotYours | ApiKeyError::InsufficientScope(_)) => Err(WebError::Forbidden),
        Err(e) => Err(WebError::BadRequest(e.to_string())),
    }
}

async fn render_apps(
    req: &HttpRequest,
    current: CurrentSession,
    created: Option<(String, String)>,
    error: Option<String>,
) -> Result<HttpResponse, WebError> {
    let st = state(req).clone();
    let sid = current.session.sid.clone();
    let (p, is_admin, apps) = web::block(move || -> Result<_, WebError> {
        let (p, is_admin) = principal(&st, &current)?;
        let apps = st.store.list_applications(&p.org_id)?;
        Ok((p, is_admin, apps))
    })
    .await??;
    if !is_admin {
        return Err(WebError::Forbidden);
    }
    let st = state(req);
    let mut token = csrf::issue(st, req, Some(&sid));
    let builder = no_store(token.builder(StatusCode::OK));
    let apps = apps.into_iter().map(|a| {
        let created = rfc3339(a.created_at);
        (a, created)
    });
    let page = ApplicationsPage {
        csrf: &token.token,
        org: &p.org_name,
        apps: apps.collect(),
        created,
        error,
    };
    html(builder, &page)
}

pub async fn applications_page(
    req: HttpRequest,
    session: MaybeSession,
) -> Result<HttpResponse, WebError> {
    let Some(current) = session.0 else {
        return Ok(login_redirect(SETTINGS_APPLICATIONS));
    };
    render_apps(&req, current, None, None).await
}

#[derive(Deserialize)]
pub struct CreateAppForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: String,
}

pub async fn create_application(
    req: HttpRequest,
    form: web::Form<CreateAppForm>,
    session: MaybeSession,
) -> Result<HttpResponse, WebError> {
    let Some(current) = session.0 else {
        return Ok(login_redirect(SETTINGS_APPLICATIONS));
    };
    let st = state(&req).clone();
    csrf::verify(&st, &req, Some(&current.session.sid), &form.csrf)?;
    let form = form.into_inner();
    let cur = current.clone();
    let result = web::block(move || -> Result<_, WebError> {
        let (p, _) = principal(&st, &cur)?;
        Ok(service::create_application(
            &st.store,
            &st.key_format,
            &p,
            &form.name,
            &form.scope,
            st.clock.now(),
        ))
    })
    .await??;
    match result {
        Ok((app, secret)) => {
            render_apps(
                &req,
                current,
                Some((app.name, secret.expose_secret().to_owned())),
                None,
            )
            .await
        }
        Err(e) => {
            let message = page_error(e)?;
            render_apps(&req, current, None, Some(message)).await
        }
    }
}

pub async fn delete_application(
    req: HttpRequest,
    id: web::Path<ApplicationId>,
    form: web::Form<CsrfForm>,
    session: MaybeSession,
) -> Result<HttpResponse, WebError> {
    let Some(current) = session.0 else {
        return Ok(login_redirect(SETTINGS_APPLICATIONS));
    };
    let st = state(&req).clone();
    csrf::verify(&st, &req, Some(&current.session.sid), &form.csrf)?;
    let id = id.into_inner();
    let result = web::block(move || -> Result<_, WebError> {
        let (p, _) = principal(&st, &current)?;
        Ok(service::delete_application(
            &st.store,
            &p,
            id,
            st.clock.now(),
        ))
    })
    .await??;
    match result {
        Ok(()) | Err(ApiKeyError::NotFound) => Ok(see_other(SETTINGS_APPLICATIONS)),
        Err(ApiKeyError::Store(e)) => Err(e.into()),
        Err(e) => Err(WebError::BadRequest(e.to_string())),
    }
}

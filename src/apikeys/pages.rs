//! Settings > API Keys and Settings > Applications: server-rendered, usable without JavaScript
//! (a small script adds copy buttons).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::service::{self, ApiKeyError, NewKey, Principal, ROTATE_AFTER};
use super::types::{ApiKey, Application, KeyOwner};
use crate::accounts::service::{ActiveOrg, active_org};
use crate::apikeys::store::ApiKeyStore;
use crate::clock::rfc3339;
use crate::ids::{ApplicationId, KeyId};
use crate::mfa::store::FactorStore;
use crate::scopes::{API_SCOPES, role_scopes};
use crate::sessions::types::CurrentSession;
use crate::web::csrf::{CsrfForm, CsrfProtected};
use crate::web::error::WebError;
use crate::web::extractors::{SignedIn, SignedOut, SignedOutAnswer, state};
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

/// A signed-out visitor of a key's page (its revocation) signs in and comes back to the list.
pub struct BackToKeys;

impl SignedOut for BackToKeys {
    fn answer(_: &HttpRequest) -> SignedOutAnswer {
        SignedOutAnswer::SignIn(Some(SETTINGS_API_KEYS.to_owned()))
    }
}

/// A signed-out visitor of an application's page (its deletion) signs in and comes back to the
/// list.
pub struct BackToApplications;

impl SignedOut for BackToApplications {
    fn answer(_: &HttpRequest) -> SignedOutAnswer {
        SignedOutAnswer::SignIn(Some(SETTINGS_APPLICATIONS.to_owned()))
    }
}

/// These pages show a new key's secret once: no cache may keep them (RFC 9111 §5.2.2.5).
fn no_store(mut builder: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    builder.insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"));
    builder
}

/// A signed-in user acts on the pages with their role's scopes in the session's active
/// organisation (a user in several with none active is sent to the picker, back to `back`).
/// A session short of the organisation MFA requirement is refused every page here: it must
/// not mint or manage credentials that would outlive the requirement.
fn principal(
    st: &AppState,
    current: &CurrentSession,
    back: &str,
) -> Result<(Principal, bool), WebError> {
    if !st
        .store
        .factors(&current.user.id)?
        .allow(&current.session.amr)
    {
        return Err(WebError::SecondFactorRequired);
    }
    let membership = match active_org(&st.store, current)? {
        ActiveOrg::In(m) => m,
        ActiveOrg::None => {
            return Err(WebError::BadRequest(
                "You are not a member of any organisation.".into(),
            ));
        }
        ActiveOrg::Choose => {
            return Err(WebError::ChooseOrganisation {
                return_to: back.to_owned(),
            });
        }
    };
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
    let (p, keys) = web::block(move || -> Result<_, WebError> {
        let (p, _) = principal(&st, &current, SETTINGS_API_KEYS)?;
        let keys = st.store.list_api_keys(&p.org_id)?;
        Ok((p, keys))
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
    };
    html(builder, &page)
}

pub async fn api_keys_page(
    req: HttpRequest,
    signed_in: SignedIn,
) -> Result<HttpResponse, WebError> {
    render_keys(&req, signed_in.into_session(), None, None).await
}

/// The new-key form. Its scope checkboxes repeat `scope`, which a derived struct cannot hold:
/// read by hand ([`CreateKeyForm::deserialize`]).
#[derive(Default)]
pub struct CreateKeyForm {
    csrf: String,
    name: String,
    expires_in: String,
    allowed_ips: String,
    scopes: Vec<String>,
}

impl CsrfProtected for CreateKeyForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl<'de> Deserialize<'de> for CreateKeyForm {
    /// Every `scope` in order; each other field at most once (a repeat is refused, as the
    /// derived forms do), missing ones empty; unknown names ignored.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = CreateKeyForm;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("the new-key form")
            }

            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<CreateKeyForm, M::Error> {
                let mut form = CreateKeyForm::default();
                let mut seen: Vec<&'static str> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let (name, field) = match key.as_str() {
                        "scope" => {
                            form.scopes.push(map.next_value()?);
                            continue;
                        }
                        "csrf" => ("csrf", &mut form.csrf),
                        "name" => ("name", &mut form.name),
                        "expires_in" => ("expires_in", &mut form.expires_in),
                        "allowed_ips" => ("allowed_ips", &mut form.allowed_ips),
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                            continue;
                        }
                    };
                    if seen.contains(&name) {
                        return Err(serde::de::Error::duplicate_field(name));
                    }
                    seen.push(name);
                    *field = map.next_value()?;
                }
                Ok(form)
            }
        }
        d.deserialize_map(Fields)
    }
}

pub async fn create_key(
    req: HttpRequest,
    signed_in: SignedIn,
    form: CsrfForm<CreateKeyForm>,
) -> Result<HttpResponse, WebError> {
    let current = signed_in.into_session();
    let form = form.into_inner();
    let st = state(&req).clone();
    let scopes = form.scopes;
    let cur = current.clone();
    let result = web::block(move || -> Result<_, WebError> {
        let (p, _) = principal(&st, &cur, SETTINGS_API_KEYS)?;
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
    signed_in: SignedIn<BackToKeys>,
) -> Result<HttpResponse, WebError> {
    let st = state(&req);
    let mut token = csrf::issue(st, &req, Some(signed_in.sid()));
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

/// A confirmation: nothing but the token.
#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
}

impl CsrfProtected for ConfirmForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn revoke_key(
    req: HttpRequest,
    id: web::Path<KeyId>,
    signed_in: SignedIn<BackToKeys>,
    _form: CsrfForm<ConfirmForm>,
) -> Result<HttpResponse, WebError> {
    let current = signed_in.into_session();
    let st = state(&req).clone();
    let result = web::block(move || -> Result<_, WebError> {
        let (p, _) = principal(&st, &current, SETTINGS_API_KEYS)?;
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
        let (p, is_admin) = principal(&st, &current, SETTINGS_APPLICATIONS)?;
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
    signed_in: SignedIn,
) -> Result<HttpResponse, WebError> {
    render_apps(&req, signed_in.into_session(), None, None).await
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

impl CsrfProtected for CreateAppForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn create_application(
    req: HttpRequest,
    signed_in: SignedIn,
    form: CsrfForm<CreateAppForm>,
) -> Result<HttpResponse, WebError> {
    let current = signed_in.into_session();
    let st = state(&req).clone();
    let form = form.into_inner();
    let cur = current.clone();
    let result = web::block(move || -> Result<_, WebError> {
        let (p, _) = principal(&st, &cur, SETTINGS_APPLICATIONS)?;
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
    signed_in: SignedIn<BackToApplications>,
    _form: CsrfForm<ConfirmForm>,
) -> Result<HttpResponse, WebError> {
    let current = signed_in.into_session();
    let st = state(&req).clone();
    let id = id.into_inner();
    let result = web::block(move || -> Result<_, WebError> {
        let (p, _) = principal(&st, &current, SETTINGS_APPLICATIONS)?;
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

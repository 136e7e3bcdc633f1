//! The IdP's endpoints: metadata, the single sign-on service (HTTP-Redirect GET; HTTP-POST kept
//! in the inbox and continued by a same-site GET that can read the session cookie), the resume
//! after sign-in, and Settings > Security > SAML apps.

use actix_web::http::StatusCode;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::apps::{self, NewApp};
use super::error::SamlIdpError;
use super::request::Incoming;
use super::service::{self, Ctx, Next, PostForm, Resumed};
use super::store::SamlAppStore;
use super::types::SamlApp;
use crate::accounts::http::step_up_response;
use crate::audit::RequestMeta;
use crate::flows::service::FLOW_TTL;
use crate::ids::SamlAppId;
use crate::saml::{bindings, inbox};
use crate::sessions::types::CurrentSession;
use crate::signing::JWKS_MAX_AGE;
use crate::web::csrf::{CsrfForm, CsrfProtected};
use crate::web::error::WebError;
use crate::web::extractors::{MaybeSession, SignedIn, flow_secret, request_meta, state};
use crate::web::paths::{SAML_POST_SCRIPT, SAML_SSO_CONTINUE, SAML_SSO_RESUME, SETTINGS_SAML_APPS};
use crate::web::state::AppState;
use crate::web::{cookies, csrf, html, login_redirect_with, see_other};

/// The key of the pairwise persistent NameIDs, derived from the server secret.
const NAMEID_KEY_PURPOSE: &str = "saml-idp-persistent-nameid";

fn page_error(e: SamlIdpError) -> WebError {
    match e {
        SamlIdpError::Invalid(m) | SamlIdpError::Refused(m) => WebError::BadRequest(m),
        SamlIdpError::EntityIdTaken => WebError::BadRequest(e.to_string()),
        SamlIdpError::NotFound => WebError::NotFound,
        SamlIdpError::NotAdmin => WebError::Forbidden,
        SamlIdpError::SecondFactorRequired => WebError::SecondFactorRequired,
        SamlIdpError::Store(e) => e.into(),
        SamlIdpError::Signing(m) => WebError::Internal(m),
    }
}

/// `GET /saml/metadata`: cacheable like the JWKS (a rotation publishes the next key's
/// certificate before it signs).
pub async fn metadata(req: HttpRequest) -> Result<HttpResponse, WebError> {
    let st = state(&req);
    let keys = st.keys.current();
    let doc = super::metadata::document(
        st.settings.server.issuer_str(),
        &keys.rs256_published_pkcs8(),
    )
    .map_err(page_error)?;
    Ok(HttpResponse::Ok()
        .content_type("application/samlmetadata+xml")
        .insert_header((CACHE_CONTROL, format!("public, max-age={JWKS_MAX_AGE}")))
        .body(doc))
}

/// `GET /saml/sso`: HTTP-Redirect binding.
pub async fn sso_get(req: HttpRequest, session: MaybeSession) -> Result<HttpResponse, WebError> {
    let incoming = Incoming::Redirect {
        query: req.query_string().to_owned(),
    };
    sso(&req, incoming, session.0).await
}

#[derive(Deserialize)]
pub struct SsoPost {
    #[serde(rename = "SAMLRequest", default)]
    saml_request: String,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

/// `POST /saml/sso`: HTTP-POST binding. The cross-site POST carries no session cookie: the
/// message is kept and the browser continues at a same-site GET.
pub async fn sso_post(
    req: HttpRequest,
    form: web::Form<SsoPost>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    bindings::decode_post(&form.saml_request)
        .map_err(|e| WebError::BadRequest(format!("The SAML request could not be read: {e}")))?;
    if form
        .relay_state
        .as_ref()
        .is_some_and(|r| r.len() > super::request::MAX_RELAY_STATE)
    {
        return Err(WebError::BadRequest("The RelayState is too long.".into()));
    }
    let st = state(&req).clone();
    let id = web::block(move || {
        inbox::keep(
            &st.store,
            st.clock.as_ref(),
            inbox::InboxKind::Request,
            "",
            form.saml_request,
            form.relay_state,
            meta.ip.map(crate::netaddr::subscriber),
        )
    })
    .await??;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("m", &id)
        .finish();
    Ok(see_other(&format!("{SAML_SSO_CONTINUE}?{query}")))
}

#[derive(Deserialize)]
pub struct ContinueQuery {
    #[serde(default)]
    m: String,
}

/// `GET /saml/sso/continue?m=…`: takes the kept request (once) and answers it.
pub async fn sso_continue(
    req: HttpRequest,
    query: web::Query<ContinueQuery>,
    session: MaybeSession,
) -> Result<HttpResponse, WebError> {
    let st = state(&req).clone();
    let id = query.into_inner().m;
    let taken = web::block(move || {
        inbox::take(
            &st.store,
            st.clock.as_ref(),
            inbox::InboxKind::Request,
            "",
            &id,
        )
    })
    .await??;
    let Some(message) = taken else {
        return Err(WebError::BadRequest(GONE.into()));
    };
    let incoming = Incoming::Post {
        message: message.message,
        relay_state: message.relay_state,
    };
    sso(&req, incoming, session.0).await
}

const GONE: &str = "This sign-in is over or has expired. Start again from the application.";

fn ctx_parts(st: &AppState) -> [u8; 32] {
    st.secrets.derived_key(NAMEID_KEY_PURPOSE)
}

async fn sso(
    req: &HttpRequest,
    incoming: Incoming,
    current: Option<CurrentSession>,
) -> Result<HttpResponse, WebError> {
    let st = state(req).clone();
    let meta = request_meta(req);
    let client_addr = meta.ip.map(crate::netaddr::subscriber);
    let next = web::block(move || {
        let keys = st.keys.current();
        let nameid_key = ctx_parts(&st);
        let ctx = Ctx {
            issuer: st.settings.server.issuer_str(),
            keys: &keys,
            nameid_key: &nameid_key,
            meta: &meta,
            client_addr,
        };
        service::begin(
            &st.store,
            st.clock.as_ref(),
            &ctx,
            &incoming,
            current.as_ref(),
        )
    })
    .await?
    .map_err(page_error)?;
    answer_next(req, next)
}

fn answer_next(req: &HttpRequest, next: Next) -> Result<HttpResponse, WebError> {
    let st = state(req);
    match next {
        Next::SignIn { flow, reauth } => {
            let mut res = login_redirect_with(SAML_SSO_RESUME, reauth, None);
            res.add_cookie(&cookies::short_lived(
                &st.settings.server,
                cookies::FLOW,
                flow.expose().to_owned(),
                FLOW_TTL,
            ))
            .map_err(|e| WebError::Internal(e.to_string()))?;
            Ok(res)
        }
        Next::StepUp { flow, step } => step_up_response(req, &flow, step, SAML_SSO_RESUME, None),
        Next::Post(form) => post_page(&form),
    }
}

#[derive(Template)]
#[template(path = "saml/post.html")]
struct PostPage<'a> {
    acs_url: &'a str,
    saml_response: &'a str,
    relay_state: Option<&'a str>,
    script: &'a str,
}

/// The page that carries the Response to the ACS (HTTP-POST binding, Bindings §3.5.4): a form
/// that works without JavaScript, submitted by a same-origin script the CSP allows.
fn post_page(form: &PostForm) -> Result<HttpResponse, WebError> {
    let mut builder = HttpResponse::Ok();
    builder.insert_header((CACHE_CONTROL, "no-store"));
    html(
        builder,
        &PostPage {
            acs_url: &form.acs_url,
            saml_response: &form.saml_response,
            relay_state: form.relay_state.as_deref(),
            script: SAML_POST_SCRIPT,
        },
    )
}

/// `GET /saml/sso/resume`: where the sign-in made for an AuthnRequest comes back to.
pub async fn sso_resume(req: HttpRequest, session: MaybeSession) -> Result<HttpResponse, WebError> {
    let Some(flow) = flow_secret(&req) else {
        return Err(WebError::BadRequest(GONE.into()));
    };
    let Some(current) = session.0 else {
        return Ok(login_redirect_with(SAML_SSO_RESUME, false, None));
    };
    let st = state(&req).clone();
    let meta = request_meta(&req);
    let client_addr = meta.ip.map(crate::netaddr::subscriber);
    let resumed = web::block(move || {
        let keys = st.keys.current();
        let nameid_key = ctx_parts(&st);
        let ctx = Ctx {
            issuer: st.settings.server.issuer_str(),
            keys: &keys,
            nameid_key: &nameid_key,
            meta: &meta,
            client_addr,
        };
        service::resume(&st.store, st.clock.as_ref(), &ctx, &flow, &current)
    })
    .await?
    .map_err(page_error)?;
    let st = state(&req);
    let mut res = match resumed {
        Resumed::NotYet => return Ok(login_redirect_with(SAML_SSO_RESUME, true, None)),
        Resumed::Gone => return Err(WebError::BadRequest(GONE.into())),
        Resumed::Next(next) => answer_next(&req, next)?,
    };
    if !res
        .cookies()
        .any(|c| c.name() == cookies::name(&st.settings.server, cookies::FLOW))
    {
        res.add_cookie(&cookies::removal(&st.settings.server, cookies::FLOW))
            .map_err(|e| WebError::Internal(e.to_string()))?;
    }
    Ok(res)
}

// ---- Settings > Security > SAML apps ----------------------------------------------------

struct AppView {
    id: String,
    name: String,
    entity_id: String,
    acs_url: String,
    nameid_format: &'static str,
    signed_requests: bool,
    delete: String,
}

fn view(app: &SamlApp) -> AppView {
    AppView {
        id: app.id.to_string(),
        name: app.name.clone(),
        entity_id: app.entity_id.clone(),
        acs_url: app.acs_url.clone(),
        nameid_format: app.nameid_format.as_str(),
        signed_requests: app.config.signing_cert.is_some(),
        delete: crate::web::paths::SETTINGS_SAML_APP_DELETE.replace("{id}", app.id.as_str()),
    }
}

#[derive(Template)]
#[template(path = "settings/saml_apps.html")]
struct AppsPage<'a> {
    csrf: &'a str,
    org_name: &'a str,
    apps: &'a [AppView],
    metadata_url: &'a str,
    action: &'a str,
}

async fn active_org_id(
    req: &HttpRequest,
    signed_in: &SignedIn,
) -> Result<Option<crate::ids::OrgId>, WebError> {
    use crate::accounts::service::{ActiveOrg, active_org};
    let st = state(req).clone();
    let current = signed_in.session().clone();
    match web::block(move || active_org(&st.store, &current)).await?? {
        ActiveOrg::In(m) => Ok(Some(m.org.id)),
        ActiveOrg::None => Ok(None),
        ActiveOrg::Choose => Err(WebError::ChooseOrganisation {
            return_to: SETTINGS_SAML_APPS.to_owned(),
        }),
    }
}

/// `GET /settings/security/saml-apps`: the administered organisation's SAML apps.
pub async fn apps_page(req: HttpRequest, signed_in: SignedIn) -> Result<HttpResponse, WebError> {
    let active = active_org_id(&req, &signed_in).await?;
    let st = state(&req).clone();
    let (user_id, amr) = (signed_in.user().id.clone(), signed_in.amr().to_vec());
    let (org, list) = web::block(move || {
        let org = apps::administered_org(&st.store, &user_id, &amr, active.as_ref())?;
        let list = st.store.list_saml_apps(Some(&org.id))?;
        Ok::<_, SamlIdpError>((org, list))
    })
    .await?
    .map_err(page_error)?;
    let views: Vec<AppView> = list.iter().map(view).collect();
    let st = state(&req);
    let metadata_url = super::metadata::entity_id(st.settings.server.issuer_str());
    let mut token = csrf::issue(st, &req, Some(signed_in.sid()));
    let mut builder = token.builder(StatusCode::OK);
    builder.insert_header((CACHE_CONTROL, "no-store"));
    html(
        builder,
        &AppsPage {
            csrf: &token.token,
            org_name: &org.name,
            apps: &views,
            metadata_url: &metadata_url,
            action: SETTINGS_SAML_APPS,
        },
    )
}

#[derive(Deserialize)]
pub struct AddAppForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    entity_id: String,
    #[serde(default)]
    acs_url: String,
    #[serde(default)]
    metadata: String,
    #[serde(default)]
    nameid_format: String,
}

impl CsrfProtected for AddAppForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /settings/security/saml-apps`: registers an app in the administered organisation.
pub async fn add_app(
    req: HttpRequest,
    signed_in: SignedIn,
    form: CsrfForm<AddAppForm>,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let active = active_org_id(&req, &signed_in).await?;
    let st = state(&req).clone();
    let (user_id, amr) = (signed_in.user().id.clone(), signed_in.amr().to_vec());
    web::block(move || {
        let org = apps::administered_org(&st.store, &user_id, &amr, active.as_ref())?;
        apps::add(
            &st.store,
            st.clock.as_ref(),
            NewApp {
                org_id: Some(org.id),
                name: Some(form.name),
                entity_id: Some(form.entity_id),
                acs_url: Some(form.acs_url),
                metadata: Some(form.metadata),
                nameid_format: Some(form.nameid_format),
            },
        )
        .map(|_| ())
    })
    .await?
    .map_err(page_error)?;
    Ok(see_other(SETTINGS_SAML_APPS))
}

#[derive(Deserialize)]
pub struct PlainForm {
    #[serde(default)]
    csrf: String,
}

impl CsrfProtected for PlainForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /settings/security/saml-apps/{id}/delete`: 404 for an app of another organisation
/// (or an operator app).
pub async fn delete_app(
    req: HttpRequest,
    signed_in: SignedIn,
    path: web::Path<String>,
    _form: CsrfForm<PlainForm>,
) -> Result<HttpResponse, WebError> {
    let id = SamlAppId::new(path.into_inner());
    let active = active_org_id(&req, &signed_in).await?;
    let st = state(&req).clone();
    let (user_id, amr) = (signed_in.user().id.clone(), signed_in.amr().to_vec());
    web::block(move || {
        let org = apps::administered_org(&st.store, &user_id, &amr, active.as_ref())?;
        if st.store.delete_saml_app(Some(&org.id), &id)? {
            Ok(())
        } else {
            Err(SamlIdpError::NotFound)
        }
    })
    .await?
    .map_err(page_error)?;
    Ok(see_other(SETTINGS_SAML_APPS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_post_page_escapes_once() {
        let html = PostPage {
            acs_url: "https://sp/acs?a=1&b=2",
            saml_response: "abc+/=",
            relay_state: Some("state <&> 1"),
            script: SAML_POST_SCRIPT,
        }
        .render()
        .unwrap();
        assert!(html.contains("value=\"state &#60;&#38;&#62; 1\""), "{html}");
        assert!(
            html.contains("action=\"https://sp/acs?a=1&#38;b=2\""),
            "{html}"
        );
    }
}

//! Settings > Security > SSO (an organisation administrator's connections, domains and SSO
//! requirement) and "Continue with SSO" on the sign-in page.

use actix_web::http::StatusCode;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use super::connections::{self, MappingOverrides, NewOidc, NewSaml};
use super::domains;
use super::error::FederationError;
use super::policy;
use super::routing;
use super::store::SsoPolicyStore;
use super::types::{Connection, OrgDomain, Protocol};
use crate::accounts::http::{OTHER_SIGN_IN, flow_tag, login_page_response, safe_return_to};
use crate::audit::RequestMeta;
use crate::failure::Failure;
use crate::flows::service as flows;
use crate::flows::types::{Requirement, Resume};
use crate::ids::ConnectionId;
use crate::web::csrf::{CsrfForm, CsrfProtected};
use crate::web::error::WebError;
use crate::web::extractors::{SignedIn, flow_secret, state};
use crate::web::paths::{
    OIDC_CALLBACK, SETTINGS_SSO, SETTINGS_SSO_CONNECTIONS, SETTINGS_SSO_DOMAIN_VERIFY,
    SETTINGS_SSO_DOMAINS, SETTINGS_SSO_REQUIRE, SETTINGS_SSO_SAML_CONNECTIONS, resumes_flow,
};
use crate::web::{csrf, html, see_other};

fn page_error(e: FederationError) -> WebError {
    match e.failure() {
        Failure::Forbidden if matches!(e, FederationError::SecondFactorRequired) => {
            WebError::SecondFactorRequired
        }
        Failure::Forbidden => WebError::Forbidden,
        Failure::NotFound => WebError::NotFound,
        Failure::BadRequest | Failure::Unprocessable => WebError::BadRequest(e.to_string()),
        _ => match e {
            FederationError::Store(e) => e.into(),
            other => WebError::Internal(other.to_string()),
        },
    }
}

/// One connection as the page shows it.
struct ConnectionView {
    id: String,
    name: String,
    kind: &'static str,
    enabled: bool,
    issuer: String,
    client_id: String,
    callback_url: String,
    /// SAML: our SP metadata URL (also our entity ID) and ACS URL, to give the IdP.
    saml: bool,
    metadata_url: String,
    acs_url: String,
    allow_idp_initiated: bool,
}

/// One domain as the page shows it.
struct DomainView {
    domain: String,
    verified: bool,
    txt_name: String,
    challenge: String,
}

#[derive(Template)]
#[template(path = "settings/sso.html")]
struct SsoPage<'a> {
    csrf: &'a str,
    org_name: &'a str,
    connections: &'a [ConnectionView],
    domains: &'a [DomainView],
    require_sso: bool,
    add_connection: &'a str,
    add_saml: &'a str,
    claim_domain: &'a str,
    verify_domain: &'a str,
    set_require: &'a str,
}

fn view_connection(req: &HttpRequest, c: &Connection) -> ConnectionView {
    let server = &state(req).settings.server;
    let (issuer, client_id, callback_url) = match &c.protocol {
        Protocol::Oidc(oidc) => (
            oidc.issuer.clone(),
            oidc.client_id.clone(),
            server.url_for(&OIDC_CALLBACK.replace("{connection}", c.id.as_str())),
        ),
        Protocol::Saml(saml) => (saml.idp_entity_id.clone(), String::new(), String::new()),
    };
    let sp = super::saml_http::endpoints(server, &c.id);
    let (saml, allow_idp_initiated) = match &c.protocol {
        Protocol::Saml(s) => (true, s.allow_idp_initiated),
        Protocol::Oidc(_) => (false, false),
    };
    ConnectionView {
        id: c.id.to_string(),
        name: c.name.clone(),
        kind: c.protocol.kind(),
        enabled: c.enabled,
        issuer,
        client_id,
        callback_url,
        saml,
        metadata_url: sp.entity_id,
        acs_url: sp.acs_url,
        allow_idp_initiated,
    }
}

fn view_domain(d: &OrgDomain) -> DomainView {
    DomainView {
        domain: d.domain.clone(),
        verified: d.verified_at.is_some(),
        txt_name: domains::challenge_name(&d.domain),
        challenge: d.challenge.clone(),
    }
}

/// The organisation the session acts in (issue #11): the page manages that organisation's SSO;
/// a user in several with none active chooses first.
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
            return_to: SETTINGS_SSO.to_owned(),
        }),
    }
}

/// `GET /settings/security/sso`: the administered organisation's connections, domains and SSO
/// requirement; 403 for a user who administers none.
pub async fn sso_page(req: HttpRequest, signed_in: SignedIn) -> Result<HttpResponse, WebError> {
    let active = active_org_id(&req, &signed_in).await?;
    let st = state(&req).clone();
    let (user_id, amr) = (signed_in.user().id.clone(), signed_in.amr().to_vec());
    let (org, list, claims, require) = web::block(move || {
        let org = connections::administered_org(&st.store, &user_id, &amr, active.as_ref())?;
        let list = connections::list(&st.store, &org.id)?;
        let claims = domains::list(&st.store, &org.id)?;
        let require = st.store.org_requires_sso(&org.id)?;
        Ok::<_, FederationError>((org, list, claims, require))
    })
    .await?
    .map_err(page_error)?;
    let views: Vec<ConnectionView> = list.iter().map(|c| view_connection(&req, c)).collect();
    let domain_views: Vec<DomainView> = claims.iter().map(view_domain).collect();
    let st = state(&req);
    let mut token = csrf::issue(st, &req, Some(signed_in.sid()));
    let mut builder = token.builder(StatusCode::OK);
    builder.insert_header((CACHE_CONTROL, "no-store"));
    html(
        builder,
        &SsoPage {
            csrf: &token.token,
            org_name: &org.name,
            connections: &views,
            domains: &domain_views,
            require_sso: require,
            add_connection: SETTINGS_SSO_CONNECTIONS,
            add_saml: SETTINGS_SSO_SAML_CONNECTIONS,
            claim_domain: SETTINGS_SSO_DOMAINS,
            verify_domain: SETTINGS_SSO_DOMAIN_VERIFY,
            set_require: SETTINGS_SSO_REQUIRE,
        },
    )
}

/// Runs `f` on the organisation the signed-in user administers, off the event loop; errors as
/// pages; back to the SSO page.
async fn admin_action<F>(
    req: &HttpRequest,
    signed_in: &SignedIn,
    f: F,
) -> Result<HttpResponse, WebError>
where
    F: FnOnce(
            &crate::web::state::AppState,
            &crate::accounts::types::Organisation,
            &crate::ids::UserId,
        ) -> Result<(), FederationError>
        + Send
        + 'static,
{
    let active = active_org_id(req, signed_in).await?;
    let st = state(req).clone();
    let (user_id, amr) = (signed_in.user().id.clone(), signed_in.amr().to_vec());
    web::block(move || {
        let org = connections::administered_org(&st.store, &user_id, &amr, active.as_ref())?;
        f(&st, &org, &user_id)
    })
    .await?
    .map_err(page_error)?;
    Ok(see_other(SETTINGS_SSO))
}

#[derive(Deserialize)]
pub struct AddConnectionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    client_id: String,
    client_secret: Option<SecretString>,
    #[serde(default)]
    preset: String,
}

impl CsrfProtected for AddConnectionForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The add-OIDC form: the secret is sealed, never shown again.
pub async fn add_connection(
    req: HttpRequest,
    signed_in: SignedIn,
    form: CsrfForm<AddConnectionForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    admin_action(&req, &signed_in, move |st, org, actor| {
        let input = NewOidc {
            name: Some(form.name),
            issuer: form.issuer,
            client_id: form.client_id,
            client_secret: form.client_secret,
            preset: form.preset.parse()?,
            overrides: MappingOverrides::default(),
        };
        connections::add_oidc(
            &st.store,
            &st.secrets,
            st.clock.as_ref(),
            &org.id,
            input,
            Some(actor),
            &meta,
        )
        .map(|_| ())
    })
    .await
}

#[derive(Deserialize)]
pub struct AddSamlForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    metadata: String,
    #[serde(default)]
    preset: String,
    allow_idp_initiated: Option<String>,
}

impl CsrfProtected for AddSamlForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The add-SAML form: the IdP's metadata pasted; our SP key is made and sealed.
pub async fn add_saml_connection(
    req: HttpRequest,
    signed_in: SignedIn,
    form: CsrfForm<AddSamlForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    admin_action(&req, &signed_in, move |st, org, actor| {
        let input = NewSaml {
            name: Some(form.name),
            metadata: form.metadata,
            preset: form.preset.parse()?,
            overrides: MappingOverrides::default(),
            allow_idp_initiated: form.allow_idp_initiated.as_deref() == Some("true"),
        };
        connections::add_saml(
            &st.store,
            &st.secrets,
            st.clock.as_ref(),
            &org.id,
            input,
            Some(actor),
            &meta,
        )
        .map(|_| ())
    })
    .await
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

/// `POST .../connections/{id}/{disable|enable|delete}`: another organisation's id is 404.
pub async fn connection_action(
    req: HttpRequest,
    signed_in: SignedIn,
    path: web::Path<(String, String)>,
    _form: CsrfForm<PlainForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let (id, action) = path.into_inner();
    let id = ConnectionId::new(id);
    if !matches!(action.as_str(), "disable" | "enable" | "delete") {
        return Err(WebError::NotFound);
    }
    admin_action(&req, &signed_in, move |st, org, actor| {
        let clock = st.clock.as_ref();
        match action.as_str() {
            "delete" => connections::delete(&st.store, clock, &org.id, &id, Some(actor), &meta),
            other => connections::set_enabled(
                &st.store,
                clock,
                &org.id,
                &id,
                other == "enable",
                Some(actor),
                &meta,
            ),
        }
        .map(|_| ())
    })
    .await
}

#[derive(Deserialize)]
pub struct DomainForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    domain: String,
}

impl CsrfProtected for DomainForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Claims a domain (pending); the page shows the TXT record to create.
pub async fn claim_domain(
    req: HttpRequest,
    signed_in: SignedIn,
    form: CsrfForm<DomainForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    admin_action(&req, &signed_in, move |st, org, actor| {
        domains::claim(
            &st.store,
            st.clock.as_ref(),
            &org.id,
            &form.domain,
            Some(actor),
            &meta,
        )
        .map(|_| ())
    })
    .await
}

/// "Verify now": asks DNS for the claim's TXT record.
pub async fn verify_domain(
    req: HttpRequest,
    signed_in: SignedIn,
    form: CsrfForm<DomainForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    admin_action(&req, &signed_in, move |st, org, actor| {
        domains::verify_by_dns(
            &st.store,
            st.clock.as_ref(),
            st.settings.federation.dns_resolver,
            &org.id,
            &form.domain,
            Some(actor),
            &meta,
        )
        .map(|_| ())
    })
    .await
}

#[derive(Deserialize)]
pub struct RequireForm {
    #[serde(default)]
    csrf: String,
    /// The checkbox: present when checked.
    require_sso: Option<String>,
}

impl CsrfProtected for RequireForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The require-SSO checkbox.
pub async fn set_require_sso(
    req: HttpRequest,
    signed_in: SignedIn,
    form: CsrfForm<RequireForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let require = form.into_inner().require_sso.is_some();
    admin_action(&req, &signed_in, move |st, org, actor| {
        policy::set_require_sso(
            &st.store,
            st.clock.as_ref(),
            &org.id,
            &org.name,
            require,
            Some(actor),
            &meta,
        )
    })
    .await
}

#[derive(Deserialize)]
pub struct SsoLoginForm {
    #[serde(default)]
    csrf: String,
    /// An e-mail address or an organisation's name.
    #[serde(default)]
    sso: String,
    return_to: Option<String>,
    /// The pending sign-in the page was shown for (`flow_tag`).
    flow: Option<String>,
}

impl CsrfProtected for SsoLoginForm {
    /// The sign-in page's token: issued without a session.
    const SESSION_BOUND: bool = false;

    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// "Continue with SSO": to the routed connection's start (303), within the pending sign-in the
/// browser's flow cookie names when the page continues one (an authorization request), or a
/// flow begun here for the page `return_to` names (its cookie set). Nothing routed: the sign-in
/// page again with one neutral message, whatever the reason.
pub async fn continue_with_sso(
    req: HttpRequest,
    form: CsrfForm<SsoLoginForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let return_to = safe_return_to(form.return_to.as_deref());
    let resuming = resumes_flow(&return_to);
    if resuming && form.flow != flow_tag(&req) {
        return Err(WebError::BadRequest(OTHER_SIGN_IN.into()));
    }
    let st = state(&req).clone();
    let typed = form.sso.clone();
    let pending = resuming.then(|| flow_secret(&req)).flatten();
    let pending_again = pending.clone();
    let meta2 = meta.clone();
    let page = return_to.clone();
    let routed = web::block(move || {
        let Some(connection) = routing::route(&st.store, &typed)? else {
            return Ok::<_, FederationError>(None);
        };
        let fresh = match pending {
            Some(_) => None,
            None => Some(flows::begin(
                &st.store,
                st.clock.as_ref(),
                Requirement::default(),
                Resume::Page(page),
                meta.ip.map(crate::netaddr::subscriber),
            )?),
        };
        let saml = matches!(connection.protocol, Protocol::Saml(_));
        Ok(Some((connection.id, saml, fresh)))
    })
    .await?
    .map_err(page_error)?;
    let Some((connection, saml, fresh)) = routed else {
        return login_page_response(
            &req,
            StatusCode::OK,
            &return_to,
            "",
            &form.sso,
            Some(routing::NO_ROUTE),
        );
    };
    // Straight on to the IdP (this POST is CSRF-checked), within the pending sign-in or the
    // flow begun here; the typed address goes on as `login_hint` (OIDC Core §3.1.2.1).
    if saml {
        // SAML: the AuthnRequest carries no login hint (a Subject would bind the sign-in to it).
        return super::saml_http::begin_saml(
            &req,
            &connection,
            fresh.or(pending_again),
            &return_to,
            meta2,
        )
        .await;
    }
    let hint = form.sso.contains('@').then(|| form.sso.trim());
    super::oidc_http::begin_upstream(
        &req,
        &connection,
        fresh.or(pending_again),
        &return_to,
        hint,
        meta2,
    )
    .await
}

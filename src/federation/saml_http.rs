//! SAML service provider endpoints of a connection (issue #12):
//! - `GET SAML_SP_METADATA`: our SP metadata for the IdP's administrator;
//! - `GET SAML_SP_START`: a "Continue" page whose CSRF-checked POST sends the browser to the
//!   IdP with a signed AuthnRequest (HTTP-Redirect), the request id kept in its flow;
//! - `POST SAML_ACS`: the IdP's Response (HTTP-POST, cross-site: no `SameSite=Lax` cookie
//!   comes with it) is kept in the inbox and answered 303 to the same-site
//!   `GET SAML_ACS_CONTINUE?m=`, which takes it once, checks it against the browser's flow,
//!   validates it and completes the sign-in as the OIDC callback does.
//!
//! Every refusal ends on a page saying why and an `sso.refused` audit event with a reason.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::oidc_rp::UpstreamClaims;
use super::saml_signin::{self, SamlCeremony};
use super::saml_sp::{self, NAMEID_EMAIL, NAMEID_TRANSIENT, Refusal, SpEndpoints, Verified};
use super::signin_http::{audit_refusal, complete_upstream, refused};
use super::store::{ConnectionStore, SamlReplayStore};
use super::types::{Connection, Protocol, SamlConfig};
use crate::accounts::http::{outcome_response, safe_return_to};
use crate::audit::RequestMeta;
use crate::config::ServerSettings;
use crate::credentials::PlainFlowId;
use crate::flows::service::{self as flows, FLOW_TTL};
use crate::flows::store::FlowStore;
use crate::flows::types::{Requirement, Resume};
use crate::ids::ConnectionId;
use crate::saml::inbox::{self, InboxKind};
use crate::web::csrf::{self, CsrfForm, CsrfProtected};
use crate::web::error::WebError;
use crate::web::extractors::{flow_secret, state};
use crate::web::paths::{SAML_ACS, SAML_ACS_CONTINUE, SAML_SP_METADATA, SAML_SP_START};
use crate::web::{cookies, html, state::AppState};

/// Where an IdP-initiated sign-in lands once signed in.
const IDP_INITIATED_LANDING: &str = "/";
/// SAML Bindings §3.4.3 / §3.5.3: a RelayState is at most 80 bytes.
const MAX_RELAY_STATE: usize = 80;
/// The ACS form's size limit: the largest message, base64, with its RelayState.
pub const ACS_FORM_LIMIT: usize = crate::saml::bindings::MAX_MESSAGE_BYTES * 4 / 3 + 4096;

/// Our SP's entity ID (the metadata URL, SAML2Int) and ACS URL for a connection.
pub fn endpoints(server: &ServerSettings, connection: &ConnectionId) -> SpEndpoints {
    SpEndpoints {
        entity_id: server.url_for(&SAML_SP_METADATA.replace("{connection}", connection.as_str())),
        acs_url: server.url_for(&SAML_ACS.replace("{connection}", connection.as_str())),
    }
}

/// The SAML connection with this id (enabled or not), its config and its sealed SP key.
async fn saml_connection(
    st: &web::Data<AppState>,
    id: &str,
) -> Result<Option<(Connection, SamlConfig, Option<String>)>, WebError> {
    let st = st.clone();
    let id = ConnectionId::new(id);
    let found = web::block(move || st.store.find_connection(&id)).await??;
    Ok(found.and_then(|(c, secret)| match &c.protocol {
        Protocol::Saml(cfg) => {
            let cfg = cfg.clone();
            Some((c, cfg, secret))
        }
        Protocol::Oidc(_) => None,
    }))
}

fn sp_key(
    st: &AppState,
    connection: &Connection,
    sealed: Option<&str>,
) -> Result<Vec<u8>, WebError> {
    sealed
        .and_then(|s| st.secrets.open(connection.id.as_str(), s).ok())
        .ok_or_else(|| WebError::Internal("unreadable SAML SP key".into()))
}

/// `GET SAML_SP_METADATA`: our SP metadata for the connection
/// (`application/samlmetadata+xml`, SAML Metadata §4.1.1).
pub async fn metadata(req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    let st = state(&req).clone();
    let Some((connection, config, _)) = saml_connection(&st, &path).await? else {
        return Err(WebError::NotFound);
    };
    let sp = endpoints(&st.settings.server, &connection.id);
    let xml = saml_sp::sp_metadata(&config, &sp).map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/samlmetadata+xml"))
        .body(xml))
}

#[derive(Deserialize)]
pub struct StartQuery {
    return_to: Option<String>,
}

#[derive(Template)]
#[template(path = "federation/continue.html")]
struct ContinuePage<'a> {
    csrf: &'a str,
    name: &'a str,
    action: &'a str,
    return_to: &'a str,
    login_hint: &'a str,
}

/// `GET SAML_SP_START`: only a "Continue" page (a CSRF-protected form POSTing to the same
/// path): a cross-site link must not start a sign-in in the victim's browser.
pub async fn start_page(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<StartQuery>,
) -> Result<HttpResponse, WebError> {
    let st = state(&req).clone();
    let Some((connection, _, _)) = saml_connection(&st, &path).await? else {
        return Err(WebError::NotFound);
    };
    if !connection.enabled {
        return Err(WebError::NotFound);
    }
    let return_to = safe_return_to(query.return_to.as_deref());
    let action = SAML_SP_START.replace("{connection}", connection.id.as_str());
    let mut token = csrf::issue(&st, &req, None);
    let mut builder = token.builder(StatusCode::OK);
    builder.insert_header((CACHE_CONTROL, "no-store"));
    html(
        builder,
        &ContinuePage {
            csrf: &token.token,
            name: &connection.name,
            action: &action,
            return_to: &return_to,
            login_hint: "",
        },
    )
}

#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default)]
    csrf: String,
    return_to: Option<String>,
}

impl CsrfProtected for StartForm {
    const SESSION_BOUND: bool = false;

    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST SAML_SP_START` (CSRF-checked): on to the IdP.
pub async fn start(
    req: HttpRequest,
    path: web::Path<String>,
    form: CsrfForm<StartForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let return_to = safe_return_to(form.return_to.as_deref());
    let current = flow_secret(&req);
    begin_saml(
        &req,
        &ConnectionId::new(path.into_inner()),
        current,
        &return_to,
        meta,
    )
    .await
}

/// The signed AuthnRequest to the connection's IdP (303 there, the flow's cookie set), its id
/// and RelayState kept in `current` (the browser's live flow) or in a flow begun for
/// `return_to`. Called only from CSRF-checked POSTs (the interstitial, "Continue with SSO").
pub async fn begin_saml(
    req: &HttpRequest,
    connection: &ConnectionId,
    current: Option<PlainFlowId>,
    return_to: &str,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let st = state(req).clone();
    let Some((connection, config, sealed)) = saml_connection(&st, connection.as_str()).await?
    else {
        return Err(WebError::NotFound);
    };
    if !connection.enabled {
        return Err(WebError::NotFound);
    }
    let key = sp_key(&st, &connection, sealed.as_deref())?;
    let sp = endpoints(&st.settings.server, &connection.id);
    let ceremony = SamlCeremony {
        connection: connection.id.clone(),
        request_id: saml_sp::new_request_id(),
        relay_state: crate::crypto::random_token(),
    };
    let url = saml_sp::authn_request_url(
        &config,
        &sp,
        &key,
        &ceremony.request_id,
        &ceremony.relay_state,
        st.clock.now(),
    )
    .map_err(|e| WebError::Internal(e.to_string()))?;
    let org = connection.org_id.clone();
    let resume = Resume::Page(return_to.to_owned());
    let st2 = st.clone();
    let flow = web::block(move || {
        saml_signin::keep_ceremony(
            &st2.store,
            &st2.secrets,
            st2.clock.as_ref(),
            current,
            resume,
            &ceremony,
            meta.ip.map(crate::netaddr::subscriber),
            &org,
        )
    })
    .await??;
    Ok(HttpResponse::SeeOther()
        .insert_header((LOCATION, url))
        .insert_header((CACHE_CONTROL, "no-store"))
        .cookie(cookies::short_lived(
            &st.settings.server,
            cookies::FLOW,
            flow.expose().to_owned(),
            FLOW_TTL,
        ))
        .finish())
}

#[derive(Deserialize)]
pub struct AcsForm {
    #[serde(rename = "SAMLResponse", default)]
    saml_response: String,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

/// `POST SAML_ACS`: the IdP's POSTed Response, kept (as received) in the inbox under a random
/// id; 303 to the same-site continue page, whose GET carries the flow cookie.
pub async fn acs(
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<AcsForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let st = state(&req).clone();
    let Some((connection, _, _)) = saml_connection(&st, &path).await? else {
        return Err(WebError::NotFound);
    };
    let form = form.into_inner();
    if form.saml_response.trim().is_empty() {
        return Ok(refused(
            StatusCode::BAD_REQUEST,
            "No SAML response was sent.",
        ));
    }
    if form.saml_response.len() > crate::saml::bindings::MAX_MESSAGE_BYTES * 4 / 3 + 1024 {
        return Ok(refused(
            StatusCode::BAD_REQUEST,
            "The SAML response is too large.",
        ));
    }
    // Only what could be a SAML message is kept (the guard runs again when it is taken).
    if let Err(e) = crate::saml::bindings::decode_post(&form.saml_response) {
        let why = match e {
            crate::saml::bindings::BindingError::Doctype => Refusal::Doctype,
            _ => Refusal::Malformed,
        };
        audit_refusal(&st, &connection, "", why.code(), &meta).await?;
        return Ok(refused(StatusCode::BAD_REQUEST, &why.to_string()));
    }
    let relay = form
        .relay_state
        .filter(|r| !r.is_empty())
        .map(|r| r.chars().take(MAX_RELAY_STATE).collect::<String>());
    let (st2, target) = (st.clone(), connection.id.as_str().to_owned());
    let client_addr = meta.ip.map(crate::netaddr::subscriber);
    let id = web::block(move || {
        inbox::keep(
            &st2.store,
            st2.clock.as_ref(),
            InboxKind::Response,
            &target,
            form.saml_response,
            relay,
            client_addr,
        )
    })
    .await??;
    let to = format!(
        "{}?m={id}",
        SAML_ACS_CONTINUE.replace("{connection}", connection.id.as_str())
    );
    Ok(HttpResponse::SeeOther()
        .insert_header((LOCATION, to))
        .insert_header((CACHE_CONTROL, "no-store"))
        .finish())
}

#[derive(Deserialize)]
pub struct ContinueQuery {
    #[serde(default)]
    m: String,
}

/// The status a refusal is shown with: the message's fault (400) or not accepted (403).
fn status_of(r: Refusal) -> StatusCode {
    match r {
        Refusal::Doctype | Refusal::Malformed | Refusal::NotOneAssertion => StatusCode::BAD_REQUEST,
        _ => StatusCode::FORBIDDEN,
    }
}

/// `GET SAML_ACS_CONTINUE?m=`: takes the kept Response once; checks it against the browser's
/// pending SAML sign-in (RelayState, then `InResponseTo`), or as IdP-initiated when the browser
/// has none; validates it; records its assertion id (a replay, on any instance, is refused);
/// then completes the sign-in as the OIDC callback does.
pub async fn acs_continue(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ContinueQuery>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let st = state(&req).clone();
    let Some((connection, config, sealed)) = saml_connection(&st, &path).await? else {
        return Err(WebError::NotFound);
    };
    let (st2, target, m) = (
        st.clone(),
        connection.id.as_str().to_owned(),
        query.into_inner().m,
    );
    let message = web::block(move || {
        inbox::take(
            &st2.store,
            st2.clock.as_ref(),
            InboxKind::Response,
            &target,
            &m,
        )
    })
    .await??;
    let Some(message) = message else {
        audit_refusal(&st, &connection, "", "no_message", &meta).await?;
        return Ok(refused(
            StatusCode::BAD_REQUEST,
            "This SAML response has expired or was already used. Start again.",
        ));
    };
    if !connection.enabled {
        audit_refusal(&st, &connection, "", "connection_disabled", &meta).await?;
        return Ok(refused(
            StatusCode::FORBIDDEN,
            "This sign-in's SSO connection has been disabled.",
        ));
    }
    let current = flow_secret(&req);
    let (st2, conn_id, relay) = (
        st.clone(),
        connection.id.clone(),
        message.relay_state.clone(),
    );
    let taken = web::block(move || {
        saml_signin::take_ceremony(
            &st2.store,
            &st2.secrets,
            st2.clock.as_ref(),
            current.as_ref(),
            &conn_id,
            relay.as_deref(),
        )
    })
    .await??;
    let pending = match taken {
        Ok(pending) => pending,
        Err(bad) => {
            audit_refusal(&st, &connection, "", "bad_relay_state", &meta).await?;
            return Ok(refused(StatusCode::BAD_REQUEST, &bad.to_string()));
        }
    };
    let key = sp_key(&st, &connection, sealed.as_deref())?;
    let sp = endpoints(&st.settings.server, &connection.id);
    let expected = pending.as_ref().map(|(_, c)| c.request_id.clone());
    let (st2, conn2, cfg2) = (st.clone(), connection.clone(), config.clone());
    let checked = web::block(move || {
        let verified = match saml_sp::validate_response(
            &cfg2,
            &sp,
            &key,
            &message.message,
            expected.as_deref(),
            st2.clock.now(),
        ) {
            Ok(v) => v,
            Err(r) => return Ok(Err(r)),
        };
        if !st2
            .store
            .record_assertion(&conn2.id, &verified.assertion_id, verified.usable_until)?
        {
            return Ok(Err(Refusal::Replayed));
        }
        Ok::<_, crate::store::StoreError>(Ok(verified))
    })
    .await??;
    let verified = match checked {
        Ok(v) => v,
        Err(r) => {
            audit_refusal(&st, &connection, "", r.code(), &meta).await?;
            return Ok(refused(status_of(r), &r.to_string()));
        }
    };
    if verified.name_id_format.as_deref().map(str::trim) == Some(NAMEID_TRANSIENT) {
        // A transient NameID changes at every sign-in: nothing can be linked by it.
        audit_refusal(&st, &connection, "", "transient_name_id", &meta).await?;
        return Ok(refused(
            StatusCode::FORBIDDEN,
            "The identity provider sent a transient NameID: configure it to send a persistent one (or the e-mail address).",
        ));
    }
    let claims = claims_of(&verified, &config.mapping);
    let (flow, fresh) = match pending {
        Some((flow, _)) => (flow, None),
        None => {
            // IdP-initiated (the connection allows it: validation checked): a fresh flow.
            let st2 = st.clone();
            let org = connection.org_id.clone();
            let addr = meta.ip.map(crate::netaddr::subscriber);
            let begun = web::block(move || {
                let secret = flows::begin_in_org(
                    &st2.store,
                    st2.clock.as_ref(),
                    Requirement::default(),
                    Resume::Page(IDP_INITIATED_LANDING.to_owned()),
                    addr,
                    Some(org),
                )?;
                let flow = st2.store.find_flow(&secret.hash())?;
                Ok::<_, crate::store::StoreError>(flow.map(|f| (f, secret)))
            })
            .await??;
            let Some((flow, secret)) = begun else {
                return Err(WebError::Internal("flow vanished".into()));
            };
            (flow, Some(secret))
        }
    };
    let mapping = config.mapping.clone();
    match complete_upstream(&req, &st, connection, mapping, claims, flow, meta).await? {
        Ok(outcome) => {
            let mut res = outcome_response(&req, outcome)?;
            if let Some(secret) = fresh {
                let cookie = cookies::short_lived(
                    &st.settings.server,
                    cookies::FLOW,
                    secret.expose().to_owned(),
                    FLOW_TTL,
                );
                res.add_cookie(&cookie)
                    .map_err(|e| WebError::Internal(e.to_string()))?;
            }
            Ok(res)
        }
        Err(page) => Ok(page),
    }
}

/// The verified assertion as upstream claims: the NameID is the subject; each attribute a
/// string (one value) or an array of strings; `email_verified` true: SAML has no such claim,
/// and the IdP is the organisation's own, whose e-mail domain JIT still requires verified by
/// the connection's organisation.
fn claims_of(v: &Verified, mapping: &super::types::AttributeMapping) -> UpstreamClaims {
    let mut claims = serde_json::Map::new();
    for (name, values) in &v.attributes {
        let value = match values.as_slice() {
            [one] => serde_json::Value::String(one.clone()),
            many => serde_json::Value::Array(
                many.iter()
                    .map(|s| serde_json::Value::String(s.clone()))
                    .collect(),
            ),
        };
        claims.insert(name.clone(), value);
    }
    // No e-mail attribute, but an e-mail NameID (Okta's default): that address.
    if !claims.contains_key(&mapping.email)
        && v.name_id_format.as_deref().map(str::trim) == Some(NAMEID_EMAIL)
    {
        claims.insert(
            mapping.email.clone(),
            serde_json::Value::String(v.name_id.clone()),
        );
    }
    claims.insert("email_verified".into(), serde_json::Value::Bool(true));
    UpstreamClaims {
        subject: v.name_id.clone(),
        claims,
    }
}

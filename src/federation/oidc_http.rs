//! Upstream OpenID Connect sign-in endpoints: `GET /auth/oidc/{connection}/start` shows a
//! "Continue" button whose CSRF-checked POST sends the browser to the organisation's IdP, `GET /auth/oidc/{connection}/callback` comes back with a
//! code (or an error) and completes the sign-in flow. Refusals end on a page saying why.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use super::oidc_rp::Ceremony;
use super::oidc_signin::{self, BadState};
use super::store::ConnectionStore;
use super::types::{Connection, OidcConfig, Protocol};
use crate::accounts::http::safe_return_to;
use crate::audit::RequestMeta;
use crate::credentials::PlainFlowId;
use crate::flows::service::FLOW_TTL;
use crate::flows::types::Resume;
use crate::ids::ConnectionId;
use crate::web::csrf::{self, CsrfForm, CsrfProtected};
use crate::web::error::WebError;
use crate::web::extractors::{flow_secret, state};
use crate::web::paths::{OIDC_CALLBACK, OIDC_START};
use crate::web::{cookies, html, state::AppState};

/// The redirect URI registered at the IdP for a connection.
pub fn callback_url(st: &AppState, connection: &ConnectionId) -> String {
    let base = st.settings.server.issuer.as_str().trim_end_matches('/');
    format!(
        "{base}{}",
        OIDC_CALLBACK.replace("{connection}", connection.as_str())
    )
}

use super::signin_http::{audit_refusal, refused};

/// The enabled OIDC connection with this id, and its sealed secret.
async fn connection_of(
    st: &web::Data<AppState>,
    id: &str,
) -> Result<Option<(Connection, OidcConfig, Option<String>)>, WebError> {
    let st = st.clone();
    let id = ConnectionId::new(id);
    let found = web::block(move || st.store.find_connection(&id)).await??;
    Ok(found.and_then(|(c, secret)| match &c.protocol {
        Protocol::Oidc(cfg) if c.enabled => {
            let cfg = cfg.clone();
            Some((c, cfg, secret))
        }
        _ => None,
    }))
}

#[derive(Deserialize)]
pub struct StartQuery {
    return_to: Option<String>,
    /// The e-mail address typed on the sign-in page, passed on to the IdP (OIDC Core
    /// §3.1.2.1 `login_hint`).
    login_hint: Option<String>,
}

/// The interstitial before an upstream sign-in: a CSRF-protected form posting back to the start.
#[derive(Template)]
#[template(path = "federation/continue.html")]
struct ContinuePage<'a> {
    csrf: &'a str,
    name: &'a str,
    action: &'a str,
    return_to: &'a str,
    login_hint: &'a str,
}

/// The login hint worth passing on: trimmed, 1-254 characters, no control characters.
fn clean_hint(hint: Option<&str>) -> Option<&str> {
    hint.map(str::trim)
        .filter(|h| !h.is_empty() && h.len() <= 254 && !h.chars().any(char::is_control))
}

/// `GET /auth/oidc/{connection}/start`: only a page with a "Continue" button (a CSRF-protected
/// form POSTing to the same path): a cross-site link must not start an upstream sign-in in the
/// victim's browser (login CSRF: an IdP that approves at once would swap the victim's session
/// for the attacker's account). Nothing is stored.
pub async fn start_page(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<StartQuery>,
) -> Result<HttpResponse, WebError> {
    let st = state(&req).clone();
    let Some((connection, _, _)) = connection_of(&st, &path).await? else {
        return Err(WebError::NotFound);
    };
    let return_to = safe_return_to(query.return_to.as_deref());
    let hint = clean_hint(query.login_hint.as_deref()).unwrap_or_default();
    let action = OIDC_START.replace("{connection}", connection.id.as_str());
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
            login_hint: hint,
        },
    )
}

#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default)]
    csrf: String,
    return_to: Option<String>,
    login_hint: Option<String>,
}

impl CsrfProtected for StartForm {
    /// The interstitial's token: issued without a session (a signed-out browser signs in).
    const SESSION_BOUND: bool = false;

    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /auth/oidc/{connection}/start` (the interstitial's form, CSRF-checked): the upstream
/// sign-in begins, within the browser's live flow or one begun for `return_to`.
pub async fn start(
    req: HttpRequest,
    path: web::Path<String>,
    form: CsrfForm<StartForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let return_to = safe_return_to(form.return_to.as_deref());
    let current = flow_secret(&req);
    begin_upstream(
        &req,
        &ConnectionId::new(path.into_inner()),
        current,
        &return_to,
        form.login_hint.as_deref(),
        meta,
    )
    .await
}

/// The authorization request to the connection's IdP (303 there, the flow's cookie set), the
/// ceremony kept in `current` (the browser's live flow) or in a flow begun for `return_to`.
/// Called only from CSRF-checked POSTs (the interstitial, "Continue with SSO").
pub async fn begin_upstream(
    req: &HttpRequest,
    connection: &ConnectionId,
    current: Option<PlainFlowId>,
    return_to: &str,
    login_hint: Option<&str>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let st = state(req).clone();
    let Some((connection, config, _)) = connection_of(&st, connection.as_str()).await? else {
        return Err(WebError::NotFound);
    };
    let redirect = callback_url(&st, &connection.id);
    let hint = clean_hint(login_hint);
    let (url, ceremony) = match st
        .upstream
        .authorization_url(&connection.id, &config, &redirect, hint)
        .await
    {
        Ok(found) => found,
        Err(e) => {
            // The detail (URLs, the fetch's error) goes to the log only.
            tracing::warn!(connection = %connection.id.as_str(), error = %e, "upstream discovery");
            return Ok(refused(StatusCode::BAD_GATEWAY, UNAVAILABLE));
        }
    };
    let org = connection.org_id.clone();
    let resume = Resume::Page(return_to.to_owned());
    let st2 = st.clone();
    let flow = web::block(move || {
        oidc_signin::keep_ceremony(
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
        .insert_header((LOCATION, url.as_str()))
        .insert_header((CACHE_CONTROL, "no-store"))
        .cookie(cookies::short_lived(
            &st.settings.server,
            cookies::FLOW,
            flow.expose().to_owned(),
            FLOW_TTL,
        ))
        .finish())
}

/// The page's message when the IdP cannot be reached or read (the detail is logged only).
const UNAVAILABLE: &str = "The identity provider cannot be reached or is misconfigured. Try again later or ask an administrator.";
/// The page's message when the ID token does not validate (the detail is logged only).
const BAD_ID_TOKEN: &str = "The identity provider's ID token is not valid. Nothing was changed.";
/// The page's message when the IdP's answer to the code exchange is refused.
const NOT_ACCEPTED: &str =
    "The sign-in with the identity provider did not succeed. Start again or ask an administrator.";

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    /// RFC 9207: the issuer of the authorization response, when the IdP sends it.
    iss: Option<String>,
}

/// `GET /auth/oidc/{connection}/callback`: checks `state` against the flow's ceremony (once),
/// exchanges the code, validates the ID token, finds or provisions the user and records the
/// upstream sign-in in the flow, which goes on as after any other method (a second factor the
/// organisation requires, then what the flow resumes).
pub async fn callback(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<CallbackQuery>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let st = state(&req).clone();
    let Some((connection, config, sealed_secret)) = connection_of(&st, &path).await? else {
        return Err(WebError::NotFound);
    };
    let query = query.into_inner();
    let current = flow_secret(&req);
    let (st2, conn_id, state_param) = (
        st.clone(),
        connection.id.clone(),
        query.state.clone().unwrap_or_default(),
    );
    let taken = web::block(move || {
        oidc_signin::take_ceremony(
            &st2.store,
            &st2.secrets,
            st2.clock.as_ref(),
            current.as_ref(),
            &conn_id,
            &state_param,
        )
    })
    .await??;
    let (flow, ceremony) = match taken {
        Ok(found) => found,
        Err(bad) => {
            let why = match bad {
                BadState::NoFlow => "no_flow",
                BadState::Mismatch => "bad_state",
            };
            audit_refusal(&st, &connection, "", why, &meta).await?;
            return Ok(refused(StatusCode::BAD_REQUEST, &bad.to_string()));
        }
    };
    if query
        .iss
        .as_deref()
        .is_some_and(|iss| iss.trim_end_matches('/') != config.issuer.trim_end_matches('/'))
    {
        // A response from another issuer (RFC 9207 §2.4, the mix-up attack).
        audit_refusal(&st, &connection, "", "wrong_issuer", &meta).await?;
        return Ok(refused(
            StatusCode::FORBIDDEN,
            "The response did not come from this connection's identity provider.",
        ));
    }
    if let Some(error) = query.error {
        // RFC 6749 §4.1.2.1: the IdP's error code (its description is not shown: it is the
        // IdP's text, reflected through the browser).
        let code: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        audit_refusal(&st, &connection, "", &format!("idp_error:{code}"), &meta).await?;
        return Ok(refused(
            StatusCode::FORBIDDEN,
            &format!("The identity provider did not sign you in ({code}). Nothing was changed."),
        ));
    }
    let Some(code) = query.code else {
        audit_refusal(&st, &connection, "", "no_code", &meta).await?;
        return Ok(refused(
            StatusCode::BAD_REQUEST,
            "The identity provider sent no authorization code.",
        ));
    };
    let secret = match sealed_secret {
        Some(sealed) => match st.secrets.open(connection.id.as_str(), &sealed) {
            Ok(bytes) => Some(SecretString::from(
                String::from_utf8(bytes).unwrap_or_default(),
            )),
            Err(_) => return Err(WebError::Internal("unreadable connection secret".into())),
        },
        None => None,
    };
    let claims = match finish(&st, &config, secret, &connection, &code, &ceremony).await {
        Ok(claims) => claims,
        Err(e) => {
            tracing::warn!(connection = %connection.id.as_str(), error = %e, "upstream sign-in refused");
            let why = match e {
                super::oidc_rp::RpError::IdToken(_) => "bad_id_token",
                super::oidc_rp::RpError::Exchange(_) => "exchange_failed",
                _ => "idp_unavailable",
            };
            audit_refusal(&st, &connection, "", why, &meta).await?;
            let message = match why {
                "bad_id_token" => BAD_ID_TOKEN,
                "exchange_failed" => NOT_ACCEPTED,
                _ => UNAVAILABLE,
            };
            return Ok(refused(StatusCode::FORBIDDEN, message));
        }
    };
    super::signin_http::complete_upstream_response(
        &req,
        &st,
        connection,
        config.mapping.clone(),
        claims,
        flow,
        meta,
    )
    .await
}

async fn finish(
    st: &web::Data<AppState>,
    config: &OidcConfig,
    secret: Option<SecretString>,
    connection: &Connection,
    code: &str,
    ceremony: &Ceremony,
) -> Result<super::oidc_rp::UpstreamClaims, super::oidc_rp::RpError> {
    let redirect = callback_url(st, &connection.id);
    st.upstream
        .finish(config, secret, &redirect, code, ceremony)
        .await
}

//! OAuth endpoints: authorize (+ consent), token, introspection, revocation.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use serde::Deserialize;

use super::authorize::{self, AuthorizeError, AuthorizeParams, AuthorizeRequest};
use super::clients::{self, PresentedClient};
use super::consent::{self, ConsentAnswer, ConsentError, Next, Resumed};
use super::error::{ErrorCode, OAuthError};
use super::grants::{self, TokenRequest};
use super::introspect;
use super::resources;
use super::tokens::Ctx;
use super::types::{Client, describe_scope};
use crate::accounts::http::step_up_response;
use crate::credentials::PlainClientSecret;
use crate::failure::Failure;
use crate::flows::service::FLOW_TTL;
use crate::ids::ClientId;
use crate::sessions::types::CurrentSession;
use crate::web::csrf::{CsrfForm, CsrfProtected};
use crate::web::error::WebError;
use crate::web::extractors::{
    MaybeSession, SignedIn, SignedOut, SignedOutAnswer, flow_secret, request_meta, state,
};
use crate::web::paths::{ACCOUNT, AUTHORIZE_RESUME, CONSENT};
use crate::web::state::AppState;
use crate::web::{cookies, csrf, html};
use crate::web::{login_redirect_with, see_other};

/// What kind of failure an OAuth error is: RFC 6749 §5.2 answers 400 but for `invalid_client`
/// (401); a failure of ours is 500, an outage 503 (with `Retry-After`).
fn failure(code: ErrorCode) -> Failure {
    match code {
        ErrorCode::InvalidClient => Failure::Unauthenticated,
        ErrorCode::ServerError => Failure::Internal,
        ErrorCode::TemporarilyUnavailable => Failure::Unavailable,
        _ => Failure::BadRequest,
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        failure(self.code).status()
    }

    /// RFC 6749 §5.2: a JSON body; 401 with `WWW-Authenticate` for `invalid_client`.
    fn error_response(&self) -> HttpResponse {
        let mut res = failure(self.code).response();
        res.insert_header((CACHE_CONTROL, "no-store"))
            .insert_header((PRAGMA, "no-cache"));
        if self.code == ErrorCode::InvalidClient {
            res.insert_header((WWW_AUTHENTICATE, r#"Basic realm="mintgate""#));
        }
        res.json(
            serde_json::json!({"error": self.code.as_str(), "error_description": self.description}),
        )
    }
}

impl From<actix_web::error::BlockingError> for OAuthError {
    fn from(_: actix_web::error::BlockingError) -> Self {
        OAuthError::server_error()
    }
}

/// Parses a form (RFC 6749) or JSON body. Repeated parameters are refused (§3.1, §3.2).
pub fn parse_body<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    body: &[u8],
) -> Result<T, OAuthError> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/x-www-form-urlencoded" => serde_urlencoded::from_bytes(body)
            .map_err(|e| OAuthError::invalid_request(format!("the form could not be read: {e}"))),
        "application/json" => serde_json::from_slice(body).map_err(|e| {
            OAuthError::invalid_request(format!("the JSON body could not be read: {e}"))
        }),
        _ => Err(OAuthError::invalid_request(
            "send application/x-www-form-urlencoded or application/json",
        )),
    }
}

pub fn presented_client(
    req: &HttpRequest,
    id: Option<String>,
    secret: Option<PlainClientSecret>,
) -> Result<PresentedClient, OAuthError> {
    let basic = match req.headers().get(header::AUTHORIZATION) {
        Some(v) => {
            PresentedClient::parse_basic(v.to_str().map_err(|_| OAuthError::invalid_client())?)?
        }
        None => None,
    };
    Ok(PresentedClient {
        basic,
        body_id: id.filter(|s| !s.is_empty()).map(ClientId::new),
        body_secret: secret,
    })
}

fn no_store_json(body: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((PRAGMA, "no-cache"))
        .json(body)
}

pub async fn token(req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, OAuthError> {
    let st = state(&req).clone();
    let mut params: TokenRequest = parse_body(&req, &body)?;
    let presented = presented_client(&req, params.client_id.take(), params.client_secret.take())?;
    let grant_type = params.grant_type.clone();
    let exchange = move |st: &AppState, client: &Client| {
        let keys = st.keys.current();
        let ctx = Ctx {
            store: &st.store,
            clock: st.clock.as_ref(),
            keys: &keys,
            server: &st.settings.server,
            oauth: &st.settings.oauth,
            session_policy: st.session_policy,
        };
        grants::exchange(&ctx, client, &params)
    };
    let response = if st.store.reads_inline() {
        // SQLite: authenticate the client on this thread; a grant that writes nothing (a JWT
        // client_credentials token) is answered here too, the others on the blocking pool.
        let client = st
            .store
            .inline_reads(|| clients::authenticate(&st.store, &presented))?;
        if grants::writes_nothing(&client, grant_type.as_deref()) {
            st.store.inline_reads(|| exchange(&st, &client))?
        } else {
            web::block(move || exchange(&st, &client)).await??
        }
    } else {
        web::block(move || {
            let client = clients::authenticate(&st.store, &presented)?;
            exchange(&st, &client)
        })
        .await??
    };
    Ok(no_store_json(&response))
}

#[derive(Deserialize)]
pub struct TokenParam {
    token: Option<String>,
    #[allow(dead_code)]
    token_type_hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<PlainClientSecret>,
    /// For API keys: the end client's address, checked against the key's allowlist.
    client_ip: Option<String>,
}

/// RFC 7662. Only confidential clients (resource servers) may introspect.
pub async fn introspect(req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, OAuthError> {
    let st = state(&req).clone();
    let mut params: TokenParam = parse_body(&req, &body)?;
    let presented = presented_client(&req, params.client_id.take(), params.client_secret.take())?;
    let result = crate::web::read(st, move |st| -> Result<_, OAuthError> {
        let client = clients::authenticate(&st.store, &presented)?;
        if client.is_public() {
            return Err(OAuthError::invalid_client());
        }
        let token = params
            .token
            .ok_or_else(|| OAuthError::invalid_request("the token parameter is missing"))?;
        let now = st.clock.now();
        if st.key_format.looks_like_key(&token) {
            return api_key_introspection(st, &token, params.client_ip.as_deref(), now);
        }
        let keys = st.keys.current();
        let result = introspect::introspect(
            &st.store,
            &keys,
            st.settings.server.issuer_str(),
            &token,
            st.session_policy,
            now,
        )?;
        Ok(serde_json::to_value(result).unwrap_or_default())
    })
    .await??;
    Ok(no_store_json(&result))
}

/// API keys at the introspection endpoint, for resource servers: `active, scope, org, key_id,
/// exp`; with `client_ip` the key's allowlist is applied to the end client's address.
fn api_key_introspection(
    st: &AppState,
    token: &str,
    client_ip: Option<&str>,
    now: i64,
) -> Result<serde_json::Value, OAuthError> {
    use crate::apikeys::service::{self as keys, ApiKeyError};
    let ip = match client_ip {
        Some(s) => Some(
            s.trim()
                .parse::<std::net::IpAddr>()
                .map_err(|_| OAuthError::invalid_request("client_ip is not an IP address"))?
                .to_canonical(),
        ),
        None => None,
    };
    let presented = crate::credentials::PlainApiKey::new(token);
    Ok(
        match keys::verify(
            &st.store,
            &st.key_format,
            &st.key_usage,
            &presented,
            ip,
            now,
        ) {
            Ok((p, key)) => serde_json::json!({
                "active": true,
                "scope": p.scopes.to_string(),
                "org": p.org_name,
                "key_id": key.id,
                // The presented secret's own end: a secret superseded by a rotation ends with
                // its grace period, before the key does.
                "exp": p.expires_at,
                "iat": key.created_at,
                "sub": match &p.user_id {
                    Some(user_id) => user_id.to_string(),
                    None => p.org_id.to_string(),
                },
                "token_type": "api_key",
            }),
            Err(ApiKeyError::Store(e)) => return Err(e.into()),
            Err(_) => serde_json::json!({"active": false}),
        },
    )
}

/// RFC 7009: 200 whether or not the token was known.
pub async fn revoke(req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, OAuthError> {
    let st = state(&req).clone();
    let mut params: TokenParam = parse_body(&req, &body)?;
    let presented = presented_client(&req, params.client_id.take(), params.client_secret.take())?;
    web::block(move || -> Result<_, OAuthError> {
        let client = clients::authenticate(&st.store, &presented)?;
        let token = params
            .token
            .ok_or_else(|| OAuthError::invalid_request("the token parameter is missing"))?;
        let keys = st.keys.current();
        Ok(introspect::revoke(
            &st.store,
            &keys,
            st.settings.server.issuer_str(),
            &client.id,
            &token,
            st.clock.now(),
        )?)
    })
    .await??;
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .finish())
}

// ---- authorization endpoint -------------------------------------------------------------

fn authorize_error(st: &AppState, e: AuthorizeError) -> Result<HttpResponse, WebError> {
    match e {
        AuthorizeError::Page(message) => Err(WebError::BadRequest(message)),
        AuthorizeError::Store(e) => Err(e.into()),
        AuthorizeError::ChooseOrganisation { return_to } => {
            Ok(see_other(&crate::web::picker_url(&return_to)))
        }
        AuthorizeError::Redirect {
            redirect_uri,
            state,
            error,
        } => {
            let pairs = [
                ("error", error.code.as_str()),
                ("error_description", error.description.as_ref()),
            ];
            Ok(see_other(&authorize::redirect_url(
                &redirect_uri,
                st.settings.server.issuer_str(),
                &pairs,
                state.as_deref(),
            )))
        }
    }
}

pub async fn authorize_get(
    req: HttpRequest,
    session: MaybeSession,
) -> Result<HttpResponse, WebError> {
    let params =
        serde_urlencoded::from_str::<AuthorizeParams>(req.query_string()).map_err(|e| {
            WebError::BadRequest(format!("The authorization request could not be read: {e}"))
        })?;
    authorize(req, params, session).await
}

pub async fn authorize_post(
    req: HttpRequest,
    body: web::Bytes,
    session: MaybeSession,
) -> Result<HttpResponse, WebError> {
    let params = serde_urlencoded::from_bytes::<AuthorizeParams>(&body).map_err(|e| {
        WebError::BadRequest(format!("The authorization request could not be read: {e}"))
    })?;
    authorize(req, params, session).await
}

/// The authorization endpoint serves signed-out browsers too (they are sent to sign in once
/// the request is known to be valid, or refused with `login_required` under `prompt=none`), so
/// it takes a [`MaybeSession`], not a `SignedIn`.
async fn authorize(
    req: HttpRequest,
    params: AuthorizeParams,
    session: MaybeSession,
) -> Result<HttpResponse, WebError> {
    let st = state(&req).clone();
    let current = session.0;
    let (st2, signed_in) = (st.clone(), current.clone());
    let client_addr = request_meta(&req).ip.map(crate::netaddr::subscriber);
    let next = web::block(move || {
        consent::begin(
            &st2.store,
            st2.clock.as_ref(),
            st2.settings.server.issuer_str(),
            &resources::default_audience(&st2.settings.server, &st2.settings.oauth),
            params,
            signed_in.as_ref(),
            client_addr,
        )
    })
    .await?;
    match next {
        Err(e) => authorize_error(&st, e),
        Ok(next) => answer_next(&req, &st, next, current.as_ref()),
    }
}

/// The browser's answer to where an authorization request leads.
fn answer_next(
    req: &HttpRequest,
    st: &AppState,
    next: Next,
    current: Option<&CurrentSession>,
) -> Result<HttpResponse, WebError> {
    match next {
        Next::SignIn {
            flow,
            reauth,
            login_hint,
        } => {
            // The sign-in page comes back to the resume path; the request itself waits in the
            // flow the cookie names.
            let mut res = login_redirect_with(AUTHORIZE_RESUME, reauth, login_hint.as_deref());
            res.add_cookie(&cookies::short_lived(
                &st.settings.server,
                cookies::FLOW,
                flow.expose().to_owned(),
                FLOW_TTL,
            ))
            .map_err(|e| WebError::Internal(e.to_string()))?;
            Ok(res)
        }
        Next::StepUp {
            flow,
            step,
            login_hint,
        } => step_up_response(req, &flow, step, AUTHORIZE_RESUME, login_hint.as_deref()),
        Next::Consent(request) => {
            let current = current.ok_or(WebError::Internal("consent without a session".into()))?;
            consent_page(req, st, &request, current)
        }
        Next::Redirect(to) => Ok(see_other(&to)),
    }
}

/// Where the sign-in page sends the browser back: the authorization request of the completed
/// sign-in flow the cookie names goes on (taken once; the cookie is dropped). Opened before the
/// sign-in is done, it goes back to the sign-in page; without a flow, it asks the user to start
/// again from the application, which holds the request.
pub async fn authorize_resume(
    req: HttpRequest,
    session: MaybeSession,
) -> Result<HttpResponse, WebError> {
    let st = state(&req).clone();
    let Some(flow) = flow_secret(&req) else {
        return Err(WebError::BadRequest(FLOW_GONE.into()));
    };
    let Some(current) = session.0 else {
        return Ok(login_redirect_with(AUTHORIZE_RESUME, false, None));
    };
    let (st2, signed_in) = (st.clone(), current.clone());
    let client_addr = request_meta(&req).ip.map(crate::netaddr::subscriber);
    let resumed = web::block(move || {
        consent::resume(
            &st2.store,
            st2.clock.as_ref(),
            st2.settings.server.issuer_str(),
            &resources::default_audience(&st2.settings.server, &st2.settings.oauth),
            &flow,
            &signed_in,
            client_addr,
        )
    })
    .await?;
    let mut res = match resumed {
        Err(e) => authorize_error(&st, e)?,
        Ok(Resumed::NotYet) => return Ok(login_redirect_with(AUTHORIZE_RESUME, true, None)),
        Ok(Resumed::Gone) => return Err(WebError::BadRequest(FLOW_GONE.into())),
        // The consent page of a request the user signed in for keeps the flow (and its
        // cookie) for the consent answer.
        Ok(Resumed::Next(Next::Consent(request))) => {
            return answer_next(&req, &st, Next::Consent(request), Some(&current));
        }
        Ok(Resumed::Next(next)) => answer_next(&req, &st, next, Some(&current))?,
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

const FLOW_GONE: &str = "This sign-in is over or has expired. Start again from the application.";

struct ScopeLine {
    name: String,
    description: &'static str,
}

#[derive(Template)]
#[template(path = "oauth/consent.html")]
struct ConsentPage<'a> {
    csrf: &'a str,
    client_name: &'a str,
    /// The organisation that registered the client (issue #14); none for the operator's.
    registered_by: Option<&'a str>,
    username: &'a str,
    scopes: Vec<ScopeLine>,
    hidden: Vec<(&'static str, String)>,
    action: &'a str,
}

fn hidden_fields(p: &AuthorizeParams) -> Vec<(&'static str, String)> {
    let fields = [
        ("response_type", &p.response_type),
        ("client_id", &p.client_id),
        ("redirect_uri", &p.redirect_uri),
        ("scope", &p.scope),
        ("state", &p.state),
        ("nonce", &p.nonce),
        ("code_challenge", &p.code_challenge),
        ("code_challenge_method", &p.code_challenge_method),
        ("max_age", &p.max_age),
        ("resource", &p.resource),
        ("response_mode", &p.response_mode),
        ("acr_values", &p.acr_values),
        ("organization", &p.organization),
    ];
    fields
        .into_iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
        .collect()
}

fn consent_page(
    req: &HttpRequest,
    st: &AppState,
    request: &AuthorizeRequest,
    current: &CurrentSession,
) -> Result<HttpResponse, WebError> {
    let mut token = csrf::issue(st, req, Some(&current.session.sid));
    let builder = token.builder(StatusCode::OK);
    let page = ConsentPage {
        csrf: &token.token,
        client_name: &request.client.name,
        // An organisation's client makes its grants in that organisation (`tenancy`).
        registered_by: request
            .org
            .as_ref()
            .filter(|m| request.client.org_id.as_ref() == Some(&m.org.id))
            .map(|m| m.org.name.as_str()),
        username: &current.user.username,
        scopes: request
            .scope
            .iter()
            .map(|s| ScopeLine {
                name: s.to_owned(),
                description: describe_scope(s),
            })
            .collect(),
        hidden: hidden_fields(&request.params),
        action: CONSENT,
    };
    html(builder, &page)
}

#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(flatten)]
    params: AuthorizeParams,
}

impl CsrfProtected for ConsentForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The consent form makes sense only in the session that showed it: without one, the user
/// starts again from the application (which holds the request), not from the sign-in page.
pub struct SessionEnded;

impl SignedOut for SessionEnded {
    fn answer(_: &HttpRequest) -> SignedOutAnswer {
        SignedOutAnswer::Refuse(WebError::BadRequest(
            "Your session ended. Start again from the application.".into(),
        ))
    }
}

/// The consent form's answer. The request is validated again from the posted fields.
pub async fn consent(
    req: HttpRequest,
    signed_in: SignedIn<SessionEnded>,
    form: CsrfForm<ConsentForm>,
) -> Result<HttpResponse, WebError> {
    let st = state(&req).clone();
    let form = form.into_inner();
    let answer = ConsentAnswer {
        allow: form.decision == "allow",
        params: form.params,
        flow: flow_secret(&req),
    };
    let current = signed_in.into_session();
    let st2 = st.clone();
    let result = web::block(move || {
        consent::answer(
            &st2.store,
            st2.clock.as_ref(),
            st2.settings.server.issuer_str(),
            &resources::default_audience(&st2.settings.server, &st2.settings.oauth),
            answer,
            &current,
        )
    })
    .await?;
    match result {
        Ok(to) => Ok(see_other(&to)),
        Err(ConsentError::Authorize(e)) => authorize_error(&st, e),
        Err(ConsentError::Store(e)) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct RevokeConsentForm {
    #[serde(default)]
    csrf: String,
    client_id: ClientId,
}

impl CsrfProtected for RevokeConsentForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Revoking from the account page when signed out: the sign-in page, which leads back to the
/// account page.
pub struct SignInAgain;

impl SignedOut for SignInAgain {
    fn answer(_: &HttpRequest) -> SignedOutAnswer {
        SignedOutAnswer::SignIn(None)
    }
}

/// The account page's "revoke" button: forgets the consent and ends the client's tokens.
pub async fn revoke_consent(
    req: HttpRequest,
    signed_in: SignedIn<SignInAgain>,
    form: CsrfForm<RevokeConsentForm>,
) -> Result<HttpResponse, WebError> {
    let st = state(&req).clone();
    let client_id = form.into_inner().client_id;
    let user_id = signed_in.user().id.clone();
    web::block(move || consent::revoke(&st.store, st.clock.as_ref(), &user_id, &client_id))
        .await??;
    Ok(see_other(ACCOUNT))
}

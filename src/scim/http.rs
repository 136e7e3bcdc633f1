//! The SCIM endpoints under `/scim/v2` (bearer token of one organisation) and Settings >
//! Security > SCIM (an organisation administrator's tokens). Thin: extract, call the service
//! off the event loop, answer `application/scim+json`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, CACHE_CONTROL, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::Value;

use super::discovery::{self, MAX_PAYLOAD};
use super::error::ScimError;
use super::service::{self, Caller, ListParams};
use super::store::{ScimToken, ScimTokenStore};
use crate::audit::RequestMeta;
use crate::clock::rfc3339;
use crate::federation::connections::administered_org;
use crate::federation::error::FederationError;
use crate::web::csrf::{self, CsrfForm, CsrfProtected};
use crate::web::error::WebError;
use crate::web::extractors::{SignedIn, request_meta, state};
use crate::web::paths::{SCIM_BASE, SETTINGS_SCIM, SETTINGS_SCIM_TOKENS, SETTINGS_SECURITY};
use crate::web::state::AppState;
use crate::web::{html, see_other};

/// The SCIM media type (RFC 7644 §3.1).
pub const SCIM_JSON: &str = "application/scim+json";

fn respond(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, SCIM_JSON))
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(body.to_string())
}

/// A SCIM error as a response; `401` carries `WWW-Authenticate: Bearer` (RFC 6750 §3).
pub fn error_response(e: &ScimError) -> HttpResponse {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = respond(status, &e.to_json());
    if e.status == 401 {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"scim\""),
        );
    }
    r
}

fn answer(result: Result<HttpResponse, ScimError>) -> HttpResponse {
    result.unwrap_or_else(|e| error_response(&e))
}

fn base(st: &AppState) -> String {
    st.settings.server.url_for(SCIM_BASE)
}

/// The organisation the bearer token belongs to.
async fn caller(req: &HttpRequest) -> Result<Caller, ScimError> {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| {
            let (scheme, token) = h.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_owned())
        })
        .ok_or_else(ScimError::unauthorized)?;
    let st = state(req).clone();
    let meta = request_meta(req);
    web::block(move || service::authenticate(&st.store, &presented, meta))
        .await
        .map_err(|_| ScimError::unavailable())?
}

/// Runs `f` off the event loop with the caller's state.
async fn blocking<T: Send + 'static>(
    req: &HttpRequest,
    f: impl FnOnce(&AppState, &Caller) -> Result<T, ScimError> + Send + 'static,
) -> Result<T, ScimError> {
    let caller = caller(req).await?;
    let st = state(req).clone();
    web::block(move || f(&st, &caller))
        .await
        .map_err(|_| ScimError::unavailable())?
}

/// The body as JSON: `application/scim+json` or `application/json` (or none), at most
/// [`MAX_PAYLOAD`] bytes.
async fn read_body(req: &HttpRequest, payload: web::Payload) -> Result<Value, ScimError> {
    if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
        let media = ct.split(';').next().unwrap_or_default().trim();
        if media != SCIM_JSON && media != "application/json" {
            return Err(ScimError::new(
                415,
                None,
                "Send application/scim+json or application/json",
            ));
        }
    }
    let bytes = payload
        .to_bytes_limited(MAX_PAYLOAD)
        .await
        .map_err(|_| ScimError::too_large(MAX_PAYLOAD))?
        .map_err(|_| ScimError::invalid_syntax("The request body could not be read"))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| ScimError::invalid_syntax("The request body is not valid JSON"))
}

fn if_match(req: &HttpRequest) -> Result<Option<i64>, ScimError> {
    let h = req.headers().get(header::IF_MATCH);
    let h = match h {
        Some(v) => Some(v.to_str().map_err(|_| ScimError::precondition_failed())?),
        None => None,
    };
    service::parse_if_match(h)
}

/// The list parameters, names taken case-insensitively.
fn list_params(req: &HttpRequest) -> Result<ListParams, ScimError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
        .map_err(|_| ScimError::invalid_syntax("The query string is malformed"))?;
    let mut p = ListParams::default();
    let int = |name: &str, v: &str| {
        v.trim()
            .parse::<i64>()
            .map_err(|_| ScimError::invalid_value(format!("{name} must be an integer")))
    };
    let list = |v: &str| -> Vec<String> {
        v.split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    };
    for (k, v) in pairs {
        match k.to_ascii_lowercase().as_str() {
            "filter" => p.filter = Some(v),
            "startindex" => p.start_index = Some(int("startIndex", &v)?),
            "count" => p.count = Some(int("count", &v)?),
            "sortby" => p.sort_by = Some(v),
            "sortorder" => p.sort_order = Some(v),
            "attributes" => p.attributes = list(&v),
            "excludedattributes" => p.excluded_attributes = list(&v),
            _ => {}
        }
    }
    Ok(p)
}

/// One resource's answer: its `ETag`, and `Location` when it was just created.
fn resource(status: StatusCode, body: Value, etag: String, location: Option<&str>) -> HttpResponse {
    let mut r = respond(status, &body);
    if let Ok(v) = HeaderValue::from_str(&etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    if let Some(l) = location.and_then(|l| HeaderValue::from_str(l).ok()) {
        r.headers_mut().insert(header::LOCATION, l);
    }
    r
}

fn id_of(req: &HttpRequest) -> String {
    req.match_info().get("id").unwrap_or_default().to_owned()
}

/// Projection of a single resource's rendering (RFC 7644 §3.4.1 allows it on GET).
fn projected(req: &HttpRequest, mut body: Value) -> Result<Value, ScimError> {
    let p = list_params(req)?;
    super::resource::project(&mut body, &p.attributes, &p.excluded_attributes);
    Ok(body)
}

// ---- Users ----------------------------------------------------------------------------

pub async fn list_users(req: HttpRequest) -> HttpResponse {
    answer(
        async {
            let params = list_params(&req)?;
            let body = blocking(&req, move |st, c| {
                service::list_users(&st.store, st.clock.as_ref(), c, &params, &base(st))
            })
            .await?;
            Ok(respond(StatusCode::OK, &body))
        }
        .await,
    )
}

pub async fn create_user(req: HttpRequest, payload: web::Payload) -> HttpResponse {
    answer(
        async {
            let body = read_body(&req, payload).await?;
            let (json, etag, location) = blocking(&req, move |st, c| {
                let r = service::create_user(&st.store, &st.hasher, st.clock.as_ref(), c, &body)?;
                let json = service::user_json(&r, &base(st));
                let location = format!("{}/Users/{}", base(st), r.id.as_str());
                Ok((json, r.meta.etag(), location))
            })
            .await?;
            Ok(resource(StatusCode::CREATED, json, etag, Some(&location)))
        }
        .await,
    )
}

pub async fn get_user(req: HttpRequest) -> HttpResponse {
    answer(
        async {
            let id = id_of(&req);
            let (json, etag) = blocking(&req, move |st, c| {
                let r = service::get_user(&st.store, st.clock.as_ref(), c, &id)?;
                Ok((service::user_json(&r, &base(st)), r.meta.etag()))
            })
            .await?;
            Ok(resource(StatusCode::OK, projected(&req, json)?, etag, None))
        }
        .await,
    )
}

pub async fn replace_user(req: HttpRequest, payload: web::Payload) -> HttpResponse {
    answer(
        async {
            let body = read_body(&req, payload).await?;
            let (id, version) = (id_of(&req), if_match(&req)?);
            let (json, etag) = blocking(&req, move |st, c| {
                let r = service::replace_user(
                    &st.store,
                    &st.hasher,
                    st.clock.as_ref(),
                    c,
                    &id,
                    &body,
                    version,
                )?;
                Ok((service::user_json(&r, &base(st)), r.meta.etag()))
            })
            .await?;
            Ok(resource(StatusCode::OK, json, etag, None))
        }
        .await,
    )
}

pub async fn patch_user(req: HttpRequest, payload: web::Payload) -> HttpResponse {
    answer(
        async {
            let body = read_body(&req, payload).await?;
            let (id, version) = (id_of(&req), if_match(&req)?);
            let (json, etag) = blocking(&req, move |st, c| {
                let r = service::patch_user(
                    &st.store,
                    &st.hasher,
                    st.clock.as_ref(),
                    c,
                    &id,
                    &body,
                    version,
                )?;
                Ok((service::user_json(&r, &base(st)), r.meta.etag()))
            })
            .await?;
            Ok(resource(StatusCode::OK, json, etag, None))
        }
        .await,
    )
}

pub async fn delete_user(req: HttpRequest) -> HttpResponse {
    answer(
        async {
            let (id, version) = (id_of(&req), if_match(&req)?);
            blocking(&req, move |st, c| {
                service::delete_user(&st.store, st.clock.as_ref(), c, &id, version)
            })
            .await?;
            Ok(HttpResponse::NoContent().finish())
        }
        .await,
    )
}

// ---- Groups ---------------------------------------------------------------------------

pub async fn list_groups(req: HttpRequest) -> HttpResponse {
    answer(
        async {
            let params = list_params(&req)?;
            let body = blocking(&req, move |st, c| {
                service::list_groups(&st.store, c, &params, &base(st))
            })
            .await?;
            Ok(respond(StatusCode::OK, &body))
        }
        .await,
    )
}

pub async fn create_group(req: HttpRequest, payload: web::Payload) -> HttpResponse {
    answer(
        async {
            let body = read_body(&req, payload).await?;
            let (json, etag, location) = blocking(&req, move |st, c| {
                let r = service::create_group(&st.store, st.clock.as_ref(), c, &body)?;
                let location = format!("{}/Groups/{}", base(st), r.id.as_str());
                Ok((service::group_json(&r, &base(st)), r.meta.etag(), location))
            })
            .await?;
            Ok(resource(StatusCode::CREATED, json, etag, Some(&location)))
        }
        .await,
    )
}

pub async fn get_group(req: HttpRequest) -> HttpResponse {
    answer(
        async {
            let id = id_of(&req);
            let params = list_params(&req)?;
            let with_members =
                service::wants_members(&params.attributes, &params.excluded_attributes);
            let (json, etag) = blocking(&req, move |st, c| {
                let r = service::get_group(&st.store, c, &id, with_members)?;
                Ok((service::group_json(&r, &base(st)), r.meta.etag()))
            })
            .await?;
            Ok(resource(StatusCode::OK, projected(&req, json)?, etag, None))
        }
        .await,
    )
}

pub async fn replace_group(req: HttpRequest, payload: web::Payload) -> HttpResponse {
    answer(
        async {
            let body = read_body(&req, payload).await?;
            let (id, version) = (id_of(&req), if_match(&req)?);
            let (json, etag) = blocking(&req, move |st, c| {
                let r =
                    service::replace_group(&st.store, st.clock.as_ref(), c, &id, &body, version)?;
                Ok((service::group_json(&r, &base(st)), r.meta.etag()))
            })
            .await?;
            Ok(resource(StatusCode::OK, json, etag, None))
        }
        .await,
    )
}

pub async fn patch_group(req: HttpRequest, payload: web::Payload) -> HttpResponse {
    answer(
        async {
            let body = read_body(&req, payload).await?;
            let (id, version) = (id_of(&req), if_match(&req)?);
            let (json, etag) = blocking(&req, move |st, c| {
                let r = service::patch_group(&st.store, st.clock.as_ref(), c, &id, &body, version)?;
                Ok((service::group_json(&r, &base(st)), r.meta.etag()))
            })
            .await?;
            Ok(resource(StatusCode::OK, json, etag, None))
        }
        .await,
    )
}

pub async fn delete_group(req: HttpRequest) -> HttpResponse {
    answer(
        async {
            let (id, version) = (id_of(&req), if_match(&req)?);
            blocking(&req, move |st, c| {
                service::delete_group(&st.store, st.clock.as_ref(), c, &id, version)
            })
            .await?;
            Ok(HttpResponse::NoContent().finish())
        }
        .await,
    )
}

// ---- discovery ------------------------------------------------------------------------

/// Discovery needs no token (RFC 7644 §4: it describes the server, nothing of an
/// organisation).
pub async fn service_provider_config(req: HttpRequest) -> HttpResponse {
    respond(
        StatusCode::OK,
        &discovery::service_provider_config(&base(state(&req))),
    )
}

pub async fn schemas(req: HttpRequest) -> HttpResponse {
    let all = discovery::schemas(&base(state(&req)));
    let n = all.len() as i64;
    respond(StatusCode::OK, &discovery::list_response(all, n, 1))
}

pub async fn schema(req: HttpRequest) -> HttpResponse {
    let id = id_of(&req);
    match discovery::schemas(&base(state(&req)))
        .into_iter()
        .find(|s| {
            s["id"]
                .as_str()
                .is_some_and(|x| x.eq_ignore_ascii_case(&id))
        }) {
        Some(s) => respond(StatusCode::OK, &s),
        None => error_response(&ScimError::not_found()),
    }
}

pub async fn resource_types(req: HttpRequest) -> HttpResponse {
    let all = discovery::resource_types(&base(state(&req)));
    let n = all.len() as i64;
    respond(StatusCode::OK, &discovery::list_response(all, n, 1))
}

pub async fn resource_type(req: HttpRequest) -> HttpResponse {
    let id = id_of(&req);
    match discovery::resource_types(&base(state(&req)))
        .into_iter()
        .find(|s| {
            s["id"]
                .as_str()
                .is_some_and(|x| x.eq_ignore_ascii_case(&id))
        }) {
        Some(s) => respond(StatusCode::OK, &s),
        None => error_response(&ScimError::not_found()),
    }
}

/// A method the endpoint does not have.
pub async fn method_not_allowed() -> HttpResponse {
    error_response(&ScimError::new(405, None, "Method not allowed"))
}

/// Anything else under `/scim/v2` (bulk and `.search` included, which are not supported).
pub async fn other(req: HttpRequest) -> HttpResponse {
    let path = req.path().to_ascii_lowercase();
    if path.ends_with("/bulk") || path.ends_with("/.search") {
        return error_response(&ScimError::new(501, None, "Not supported"));
    }
    if req.method() == actix_web::http::Method::POST && req.match_info().get("id").is_some() {
        return error_response(&ScimError::new(405, None, "Method not allowed"));
    }
    error_response(&ScimError::not_found())
}

// ---- Settings > Security > SCIM -------------------------------------------------------

struct TokenView {
    id: String,
    description: String,
    created: String,
    revoked: Option<String>,
}

#[derive(Template)]
#[template(path = "settings/scim.html")]
struct ScimPage<'a> {
    csrf: &'a str,
    org_name: &'a str,
    tokens: &'a [TokenView],
    /// A token just created: shown this once.
    created: Option<&'a str>,
    scim_url: &'a str,
    security: &'a str,
    tokens_action: &'a str,
}

fn page_error(e: FederationError) -> WebError {
    match e {
        FederationError::SecondFactorRequired => WebError::SecondFactorRequired,
        FederationError::Store(e) => e.into(),
        _ => WebError::Forbidden,
    }
}

/// The organisation the session acts in, if the user administers it.
async fn admin_org(
    req: &HttpRequest,
    signed_in: &SignedIn,
) -> Result<crate::accounts::types::Organisation, WebError> {
    use crate::accounts::service::{ActiveOrg, active_org};
    let st = state(req).clone();
    let current = signed_in.session().clone();
    let active = match web::block(move || active_org(&st.store, &current)).await?? {
        ActiveOrg::In(m) => Some(m.org.id),
        ActiveOrg::None => None,
        ActiveOrg::Choose => {
            return Err(WebError::ChooseOrganisation {
                return_to: SETTINGS_SCIM.to_owned(),
            });
        }
    };
    let st = state(req).clone();
    let (user_id, amr) = (signed_in.user().id.clone(), signed_in.amr().to_vec());
    web::block(move || administered_org(&st.store, &user_id, &amr, active.as_ref()))
        .await?
        .map_err(page_error)
}

async fn render_page(
    req: &HttpRequest,
    signed_in: &SignedIn,
    org: &crate::accounts::types::Organisation,
    created: Option<&str>,
) -> Result<HttpResponse, WebError> {
    let st = state(req).clone();
    let org_id = org.id.clone();
    let tokens: Vec<ScimToken> = web::block(move || st.store.list_scim_tokens(&org_id)).await??;
    let views: Vec<TokenView> = tokens
        .into_iter()
        .map(|t| TokenView {
            id: t.id,
            description: t.description,
            created: rfc3339(t.created_at),
            revoked: t.revoked_at.map(rfc3339),
        })
        .collect();
    let st = state(req);
    let mut token = csrf::issue(st, req, Some(signed_in.sid()));
    let mut builder = token.builder(StatusCode::OK);
    // The page may show a new token: no cache keeps it (RFC 9111 §5.2.2.5).
    builder.insert_header((CACHE_CONTROL, "no-store"));
    html(
        builder,
        &ScimPage {
            csrf: &token.token,
            org_name: &org.name,
            tokens: &views,
            created,
            scim_url: &base(st),
            security: SETTINGS_SECURITY,
            tokens_action: SETTINGS_SCIM_TOKENS,
        },
    )
}

/// `GET /settings/security/scim`: the active organisation's tokens, for its administrators.
pub async fn scim_page(req: HttpRequest, signed_in: SignedIn) -> Result<HttpResponse, WebError> {
    let org = admin_org(&req, &signed_in).await?;
    render_page(&req, &signed_in, &org, None).await
}

#[derive(Deserialize)]
pub struct CreateTokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    description: String,
}

impl CsrfProtected for CreateTokenForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Creates a token and shows it once.
pub async fn create_token(
    req: HttpRequest,
    signed_in: SignedIn,
    form: CsrfForm<CreateTokenForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let org = admin_org(&req, &signed_in).await?;
    let form = form.into_inner();
    let st = state(&req).clone();
    let (org_id, actor) = (org.id.clone(), signed_in.user().id.clone());
    let (_, plain) = web::block(move || {
        service::create_token(
            &st.store,
            st.clock.as_ref(),
            &org_id,
            &form.description,
            Some(&actor),
            &meta,
        )
    })
    .await??;
    render_page(&req, &signed_in, &org, Some(plain.expose())).await
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
}

impl CsrfProtected for RevokeForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Revokes one of the organisation's tokens (404 for another organisation's).
pub async fn revoke_token(
    req: HttpRequest,
    signed_in: SignedIn,
    _form: CsrfForm<RevokeForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let org = admin_org(&req, &signed_in).await?;
    let id = id_of(&req);
    let st = state(&req).clone();
    let actor = signed_in.user().id.clone();
    let revoked = web::block(move || {
        service::revoke_token(
            &st.store,
            st.clock.as_ref(),
            &org.id,
            &id,
            Some(&actor),
            &meta,
        )
    })
    .await??;
    if !revoked {
        return Err(WebError::NotFound);
    }
    Ok(see_other(SETTINGS_SCIM))
}

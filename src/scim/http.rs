//! The SCIM endpoints under `/scim/v2` (bearer token of one organisation). Thin: extract, call
//! the service off the event loop, answer `application/scim+json`. The settings page is in
//! [`super::pages`].

use actix_web::http::StatusCode;
use actix_web::http::header::{self, CACHE_CONTROL, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::discovery::{self, MAX_PAYLOAD};
use super::error::ScimError;
use super::service::{self, Caller, ListParams};
use super::{groups, users};
use crate::web::extractors::{request_meta, state};
use crate::web::paths::SCIM_BASE;
use crate::web::state::AppState;

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

pub(super) fn base(st: &AppState) -> String {
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

pub(super) fn id_of(req: &HttpRequest) -> String {
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
                users::list_users(&st.store, st.clock.as_ref(), c, &params, &base(st))
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
                let r = users::create_user(&st.store, &st.hasher, st.clock.as_ref(), c, &body)?;
                let json = users::user_json(&r, &base(st));
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
                let r = users::get_user(&st.store, st.clock.as_ref(), c, &id)?;
                Ok((users::user_json(&r, &base(st)), r.meta.etag()))
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
                let r = users::replace_user(
                    &st.store,
                    &st.hasher,
                    st.clock.as_ref(),
                    c,
                    &id,
                    &body,
                    version,
                )?;
                Ok((users::user_json(&r, &base(st)), r.meta.etag()))
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
                let r = users::patch_user(
                    &st.store,
                    &st.hasher,
                    st.clock.as_ref(),
                    c,
                    &id,
                    &body,
                    version,
                )?;
                Ok((users::user_json(&r, &base(st)), r.meta.etag()))
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
                users::delete_user(&st.store, st.clock.as_ref(), c, &id, version)
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
                groups::list_groups(&st.store, c, &params, &base(st))
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
                let r = groups::create_group(&st.store, st.clock.as_ref(), c, &body)?;
                let location = format!("{}/Groups/{}", base(st), r.id.as_str());
                Ok((groups::group_json(&r, &base(st)), r.meta.etag(), location))
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
                groups::wants_members(&params.attributes, &params.excluded_attributes);
            let (json, etag) = blocking(&req, move |st, c| {
                let r = groups::get_group(&st.store, c, &id, with_members)?;
                Ok((groups::group_json(&r, &base(st)), r.meta.etag()))
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
                    groups::replace_group(&st.store, st.clock.as_ref(), c, &id, &body, version)?;
                Ok((groups::group_json(&r, &base(st)), r.meta.etag()))
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
                let r = groups::patch_group(&st.store, st.clock.as_ref(), c, &id, &body, version)?;
                Ok((groups::group_json(&r, &base(st)), r.meta.etag()))
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
                groups::delete_group(&st.store, st.clock.as_ref(), c, &id, version)
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

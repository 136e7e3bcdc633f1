//! The device authorization endpoint and the `/device` page where a signed-in user enters the
//! code shown by the CLI, sees who asks for what, and approves or denies.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::clients;
use super::device::{self, UserCodeError, UserCodeOutcome, UserCodeStep, normalise_user_code};
use super::error::{ErrorCode, OAuthError};
use super::http::{parse_body, presented_client};
use super::types::describe_scope;
use crate::accounts::http::step_up_response;
use crate::audit::RequestMeta;
use crate::flows::service as flows;
use crate::flows::types::{Requirement, Resume};
use crate::web::csrf::{CsrfForm, CsrfProtected};
use crate::web::error::WebError;
use crate::web::extractors::{SignedIn, SignedOut, SignedOutAnswer, request_meta, state};
use crate::web::paths::DEVICE;
use crate::web::{csrf, html, picker_url, see_other};

#[derive(Deserialize)]
pub struct DeviceRequest {
    scope: Option<String>,
    client_id: Option<String>,
    client_secret: Option<crate::credentials::PlainClientSecret>,
}

/// RFC 8628 §3.1–3.2.
pub async fn device_authorization(
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    let st = state(&req).clone();
    let mut params: DeviceRequest = parse_body(&req, &body)?;
    let presented = presented_client(&req, params.client_id.take(), params.client_secret.take())?;
    let client_addr = request_meta(&req).ip.map(crate::netaddr::subscriber);
    let response = web::block(move || {
        let client = clients::authenticate(&st.store, &presented)?;
        let now = st.clock.now();
        if let Some(addr) = &client_addr
            && let Err(limited) = device::check_pending_limit(&st.store, addr, now)?
        {
            return Ok(Err(limited));
        }
        device::start(
            &st.store,
            &client,
            params.scope.as_deref(),
            &st.settings.server.url_for(DEVICE),
            client_addr,
            now,
        )
        .map(Ok)
    })
    .await??;
    match response {
        Ok(response) => Ok(HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(response)),
        Err(limited) => Ok(too_many_pending(limited)),
    }
}

/// 429 with `Retry-After` and an RFC 6749 §5.2-shaped body. `slow_down` is the registered code
/// that says what to do (RFC 8628 §3.5: wait, then ask again); RFC 6749 has no rate-limit code.
fn too_many_pending(limited: device::TooManyPending) -> HttpResponse {
    HttpResponse::TooManyRequests()
        .insert_header((header::RETRY_AFTER, limited.retry_after.to_string()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({
            "error": ErrorCode::SlowDown.as_str(),
            "error_description": format!(
                "too many pending device authorizations from this address (at most {}); try again later",
                device::MAX_PENDING_PER_ADDRESS
            ),
        }))
}

struct ScopeLine {
    name: String,
    description: &'static str,
}

#[derive(Template)]
#[template(path = "oauth/device.html")]
struct DevicePage<'a> {
    csrf: &'a str,
    user_code: &'a str,
    error: Option<&'a str>,
    /// Set once a valid code was entered: the approval step.
    client_name: Option<String>,
    scopes: Vec<ScopeLine>,
    done: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct DeviceQuery {
    user_code: Option<String>,
}

/// A signed-out visitor of the page signs in and comes back with the code they opened it with
/// (`verification_uri_complete`).
pub struct BackWithCode;

impl SignedOut for BackWithCode {
    fn answer(req: &HttpRequest) -> SignedOutAnswer {
        let query = web::Query::<DeviceQuery>::from_query(req.query_string()).ok();
        let code = query
            .and_then(|q| q.into_inner().user_code)
            .unwrap_or_default();
        SignedOutAnswer::SignIn(Some(device_path(&code)))
    }
}

/// The device page, with `code` filled in when there is one.
fn device_path(code: &str) -> String {
    if code.is_empty() {
        return DEVICE.to_owned();
    }
    format!(
        "{DEVICE}?user_code={}",
        url::form_urlencoded::byte_serialize(code.as_bytes()).collect::<String>()
    )
}

pub async fn device_page(
    req: HttpRequest,
    query: web::Query<DeviceQuery>,
    signed_in: SignedIn<BackWithCode>,
) -> Result<HttpResponse, WebError> {
    let st = state(&req);
    let mut token = csrf::issue(st, &req, Some(signed_in.sid()));
    let code = query.into_inner().user_code.unwrap_or_default();
    let builder = token.builder(StatusCode::OK);
    let page = DevicePage {
        csrf: &token.token,
        user_code: &code,
        error: None,
        client_name: None,
        scopes: vec![],
        done: None,
    };
    html(builder, &page)
}

#[derive(Deserialize)]
pub struct DeviceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user_code: String,
    /// Absent on the first step (enter the code); `allow` or `deny` on the second.
    decision: Option<String>,
}

impl CsrfProtected for DeviceForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Wrong codes are throttled per session and per address, like passwords.
pub async fn device_submit(
    req: HttpRequest,
    signed_in: SignedIn,
    form: CsrfForm<DeviceForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let step = match form.decision.as_deref() {
        None => UserCodeStep::Look,
        Some(decision) => UserCodeStep::Decide(decision == "allow"),
    };
    let shown = device::display_user_code(&normalise_user_code(&form.user_code));
    let typed = form.user_code;
    let st = state(&req).clone();
    let sid = signed_in.sid().to_owned();
    let current = signed_in.into_session();
    let (st2, typed2, signed_in) = (st.clone(), typed.clone(), current.clone());
    let client_addr = meta.ip.map(crate::netaddr::subscriber);
    let outcome = web::block(move || {
        device::answer_user_code(
            &st2.store,
            &st2.throttle,
            st2.clock.now(),
            &current,
            meta.ip,
            &typed2,
            step,
        )
    })
    .await?
    .map_err(|e| match e {
        UserCodeError::UnknownClient => WebError::NotFound,
        UserCodeError::Store(e) => e.into(),
    })?;
    let token = csrf::issue(&st, &req, Some(&sid));
    let page = match outcome {
        UserCodeOutcome::Locked { retry_after } => {
            return Err(WebError::TooManyRequests { retry_after });
        }
        UserCodeOutcome::SecondFactorRequired => {
            // Step the session up (only what is missing is asked), then back to this page
            // with the code typed.
            let back = device_path(&typed);
            let resume = Resume::Page(back.clone());
            let (flow, step) = web::block(move || {
                flows::step_up_session(
                    &st.store,
                    st.clock.as_ref(),
                    Requirement::default(),
                    resume,
                    client_addr,
                    &signed_in,
                )
            })
            .await??;
            return step_up_response(&req, &flow, step, &back, None);
        }
        UserCodeOutcome::ChooseOrganisation => {
            return Ok(see_other(&picker_url(&device_path(&typed))));
        }
        UserCodeOutcome::NotMember => DevicePage {
            csrf: &token.token,
            user_code: &shown,
            error: Some(
                "This device's application belongs to an organisation you are not a member of. \
                 The request was denied.",
            ),
            client_name: None,
            scopes: vec![],
            done: None,
        },
        UserCodeOutcome::Unknown => DevicePage {
            csrf: &token.token,
            user_code: &typed,
            error: Some("That code is not valid or has expired. Check it and try again."),
            client_name: None,
            scopes: vec![],
            done: None,
        },
        UserCodeOutcome::Confirm { client_name, scope } => DevicePage {
            csrf: &token.token,
            user_code: &shown,
            error: None,
            client_name: Some(client_name),
            scopes: scope
                .iter()
                .map(|s| ScopeLine {
                    name: s.to_owned(),
                    description: describe_scope(s),
                })
                .collect(),
            done: None,
        },
        UserCodeOutcome::Decided { approved } => DevicePage {
            csrf: &token.token,
            user_code: &shown,
            error: None,
            client_name: None,
            scopes: vec![],
            done: Some(if approved {
                "Done. You can go back to your terminal."
            } else {
                "Denied. The device was not signed in."
            }),
        },
    };
    html(HttpResponse::Ok(), &page)
}

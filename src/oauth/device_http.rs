//! The device authorization endpoint and the `/device` page where a signed-in user enters the
//! code shown by the CLI, sees who asks for what, and approves or denies.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::clients;
use super::device::{self, normalise_user_code};
use super::error::{ErrorCode, OAuthError};
use super::grantable;
use super::http::{parse_body, presented_client};
use super::types::DeviceStatus;
use super::types::describe_scope;
use crate::accounts::http::login_redirect;
use crate::accounts::throttle::Locked;
use crate::oauth::store::{ClientStore, DeviceCodeStore};
use crate::web::error::WebError;
use crate::web::extractors::{MaybeSession, request_meta, state};
use crate::web::paths::DEVICE;
use crate::web::{csrf, html};

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

pub async fn device_page(
    req: HttpRequest,
    query: web::Query<DeviceQuery>,
    session: MaybeSession,
) -> Result<HttpResponse, WebError> {
    let return_to = match &query.user_code {
        Some(c) => format!(
            "{DEVICE}?user_code={}",
            url::form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>()
        ),
        None => DEVICE.to_owned(),
    };
    let Some(current) = session.0 else {
        return Ok(login_redirect(&return_to));
    };
    let st = state(&req);
    let mut token = csrf::issue(st, &req, Some(&current.session.sid));
    let code = query.user_code.clone().unwrap_or_default();
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

/// Wrong codes are throttled per session and per address, like passwords.
pub async fn device_submit(
    req: HttpRequest,
    form: web::Form<DeviceForm>,
    session: MaybeSession,
) -> Result<HttpResponse, WebError> {
    let Some(current) = session.0 else {
        return Ok(login_redirect(DEVICE));
    };
    let st = state(&req).clone();
    csrf::verify(&st, &req, Some(&current.session.sid), &form.csrf)?;
    let form = form.into_inner();
    let meta = request_meta(&req);
    let sid = current.session.sid.clone();
    let code = normalise_user_code(&form.user_code);
    let shown = device::display_user_code(&code);
    let typed = form.user_code.clone();
    let st2 = st.clone();
    let cur = current.clone();
    enum Outcome {
        Locked(u64),
        Unknown,
        Confirm(String, Vec<ScopeLine>),
        Done(&'static str),
    }
    let outcome = web::block(move || -> Result<Outcome, WebError> {
        let now = st2.clock.now();
        let throttle_key = format!("device:{sid}");
        // Guessing user codes is throttled like passwords: reserved before the lookup.
        let attempt = match st2
            .throttle
            .reserve(&st2.store, now, &throttle_key, meta.ip)?
        {
            Ok(attempt) => attempt,
            Err(Locked { retry_after }) => return Ok(Outcome::Locked(retry_after)),
        };
        let found = st2
            .store
            .find_device_code_by_user_code(&code)?
            .filter(|c| c.status == DeviceStatus::Pending && c.expires_at > now);
        let Some(found) = found else {
            attempt.failed(&st2.store, &st2.throttle, now)?;
            return Ok(Outcome::Unknown);
        };
        attempt.release(&st2.store)?;
        let client = st2
            .store
            .find_client(&found.client_id)?
            .ok_or(WebError::NotFound)?;
        // The same rule as the authorization-code flow: no API scope beyond the role.
        let allowed = grantable::for_user(&st2.store, &cur.user.id, &found.scope)?;
        match form.decision.as_deref() {
            None => Ok(Outcome::Confirm(
                client.name,
                allowed
                    .iter()
                    .map(|s| ScopeLine {
                        name: s.to_owned(),
                        description: describe_scope(s),
                    })
                    .collect(),
            )),
            Some(decision) => {
                let approved = decision == "allow";
                st2.store.decide_device_code(
                    &found.user_code,
                    approved,
                    &cur.user.id,
                    &allowed,
                    cur.session.auth_time,
                    &cur.session.amr,
                )?;
                Ok(Outcome::Done(if approved {
                    "Done. You can go back to your terminal."
                } else {
                    "Denied. The device was not signed in."
                }))
            }
        }
    })
    .await??;
    let token = csrf::issue(&st, &req, Some(&current.session.sid));
    let page = match outcome {
        Outcome::Locked(retry) => {
            return Err(WebError::TooManyRequests { retry_after: retry });
        }
        Outcome::Unknown => DevicePage {
            csrf: &token.token,
            user_code: &typed,
            error: Some("That code is not valid or has expired. Check it and try again."),
            client_name: None,
            scopes: vec![],
            done: None,
        },
        Outcome::Confirm(client_name, scopes) => DevicePage {
            csrf: &token.token,
            user_code: &shown,
            error: None,
            client_name: Some(client_name),
            scopes,
            done: None,
        },
        Outcome::Done(message) => DevicePage {
            csrf: &token.token,
            user_code: &shown,
            error: None,
            client_name: None,
            scopes: vec![],
            done: Some(message),
        },
    };
    html(HttpResponse::Ok(), &page)
}

//! "Forgot your password?" from the sign-in page: asking for a link, and the link's page.

use actix_web::http::StatusCode;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use super::error::{FieldErrors, SelfServiceError};
use super::http::page_error;
use super::reset;
use super::types::PlainEmailLink;
use crate::audit::RequestMeta;
use crate::web::csrf::{self, CsrfForm, CsrfProtected};
use crate::web::error::WebError;
use crate::web::extractors::state;
use crate::web::paths::{LOGIN, PASSWORD_FORGOT, PASSWORD_RESET};
use crate::web::{html, see_other};

#[derive(Template)]
#[template(path = "accounts/forgot.html")]
struct ForgotPage<'a> {
    csrf: &'a str,
    action: &'a str,
    login_page: &'a str,
    /// The request was taken: the one answer, whatever happened.
    sent: bool,
    login: &'a str,
}

fn forgot_page(req: &HttpRequest, sent: bool, login: &str) -> Result<HttpResponse, WebError> {
    let st = state(req);
    let mut token = csrf::issue(st, req, None);
    html(
        token.builder(StatusCode::OK),
        &ForgotPage {
            csrf: &token.token,
            action: PASSWORD_FORGOT,
            login_page: LOGIN,
            sent,
            login,
        },
    )
}

/// `GET /login/forgot`.
pub async fn forgot_form(req: HttpRequest) -> Result<HttpResponse, WebError> {
    forgot_page(&req, false, "")
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login: String,
}

impl CsrfProtected for ForgotForm {
    /// Asked for signed out, like the sign-in form.
    const SESSION_BOUND: bool = false;

    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /login/forgot`: always the same answer, given at once; the lookup, the throttles and
/// the link are handled off the response, so its timing says nothing about the account.
pub async fn forgot_submit(
    req: HttpRequest,
    form: CsrfForm<ForgotForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let login: String = form.into_inner().login.chars().take(254).collect();
    let st = state(&req).clone();
    let base = st.settings.server.issuer.as_str().to_owned();
    let typed = login.clone();
    actix_web::rt::spawn(async move {
        let result = web::block(move || {
            reset::request_reset(
                &st.store,
                &*st.mailer,
                st.clock.as_ref(),
                &base,
                &typed,
                &meta,
            )
        })
        .await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "a password-reset request failed"),
            Err(e) => tracing::error!(error = %e, "a password-reset request failed"),
        }
    });
    forgot_page(&req, true, &login)
}

#[derive(Template)]
#[template(path = "accounts/reset.html")]
struct ResetPage<'a> {
    csrf: &'a str,
    action: &'a str,
    token: &'a str,
    username: &'a str,
    errors: &'a FieldErrors,
}

fn reset_page(
    req: &HttpRequest,
    status: StatusCode,
    token: &str,
    username: &str,
    errors: &FieldErrors,
) -> Result<HttpResponse, WebError> {
    let st = state(req);
    let mut csrf = csrf::issue(st, req, None);
    let mut builder = csrf.builder(status);
    // The page carries the link's secret: no cache keeps it (RFC 9111 §5.2.2.5).
    builder.insert_header((CACHE_CONTROL, "no-store"));
    html(
        builder,
        &ResetPage {
            csrf: &csrf.token,
            action: PASSWORD_RESET,
            token,
            username,
            errors,
        },
    )
}

/// An unusable link: one 400 page, not cached.
fn invalid_link() -> HttpResponse {
    let mut res =
        actix_web::ResponseError::error_response(&page_error(SelfServiceError::InvalidLink));
    res.headers_mut().insert(
        CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    res
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// `GET /login/reset?token=`: the new-password form, or one 400 page for a link that cannot be
/// used (nothing is spent here).
pub async fn reset_form(
    req: HttpRequest,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, WebError> {
    let token = PlainEmailLink::new(query.token.clone());
    let st = state(&req).clone();
    let user =
        web::block(move || reset::pending_reset(&st.store, st.clock.as_ref(), &token)).await?;
    match user {
        Ok(user) => reset_page(
            &req,
            StatusCode::OK,
            &query.token,
            &user.username,
            &FieldErrors::default(),
        ),
        Err(SelfServiceError::InvalidLink) => Ok(invalid_link()),
        Err(e) => Err(page_error(e)),
    }
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default = "empty_secret")]
    new_password: SecretString,
    #[serde(default = "empty_secret")]
    repeat_password: SecretString,
}

fn empty_secret() -> SecretString {
    SecretString::from("")
}

impl CsrfProtected for ResetForm {
    const SESSION_BOUND: bool = false;

    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /login/reset`: sets the new password with the link, signs out every session of the
/// account, and sends the browser to sign in.
pub async fn reset_submit(
    req: HttpRequest,
    form: CsrfForm<ResetForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let raw = form.token.clone();
    let token = PlainEmailLink::new(form.token);
    let st = state(&req).clone();
    let result = web::block(move || {
        reset::reset_password(
            &st.store,
            &st.hasher,
            st.clock.as_ref(),
            &token,
            &form.new_password,
            &form.repeat_password,
            &meta,
        )
    })
    .await?;
    match result {
        Ok(_) => Ok(see_other(&format!("{LOGIN}?reset=done"))),
        Err(SelfServiceError::Form(errors)) => {
            let token = PlainEmailLink::new(raw.clone());
            let st = state(&req).clone();
            let user =
                web::block(move || reset::pending_reset(&st.store, st.clock.as_ref(), &token))
                    .await?;
            match user {
                Ok(user) => {
                    reset_page(&req, StatusCode::BAD_REQUEST, &raw, &user.username, &errors)
                }
                Err(_) => Ok(invalid_link()),
            }
        }
        Err(SelfServiceError::InvalidLink) => Ok(invalid_link()),
        Err(e) => Err(page_error(e)),
    }
}

//! The profile on the account page: the display name, and the e-mail address (a change or a
//! verification, confirmed through a link sent by e-mail; the link's page is here too).

use actix_web::http::StatusCode;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::email;
use super::error::SelfServiceError;
use super::http::page_error;
use super::service;
use super::types::{LinkKind, PlainEmailLink};
use crate::accounts::http::{ProfileState, render_account};
use crate::audit::RequestMeta;
use crate::web::csrf::{self, CsrfForm, CsrfProtected};
use crate::web::error::WebError;
use crate::web::extractors::{SignedIn, SignedOut, SignedOutAnswer, state};
use crate::web::paths::{ACCOUNT, ACCOUNT_EMAIL_CONFIRM};
use crate::web::{html, see_other};

/// The server's public base, for links in mail.
fn base(req: &HttpRequest) -> String {
    state(req).settings.server.issuer.as_str().to_owned()
}

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    display_name: String,
}

impl CsrfProtected for ProfileForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /account/profile`: the display name.
pub async fn update_profile(
    req: HttpRequest,
    signed_in: SignedIn,
    form: CsrfForm<ProfileForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let typed = form.into_inner().display_name;
    let st = state(&req).clone();
    let user = signed_in.user().clone();
    let name = typed.clone();
    let result = web::block(move || {
        service::set_display_name(&st.store, st.clock.as_ref(), &user, &name, &meta)
    })
    .await?;
    match result {
        Ok(_) => Ok(see_other(&format!("{ACCOUNT}?saved=name"))),
        Err(SelfServiceError::Form(errors)) => {
            let state = ProfileState {
                name: Some(typed),
                name_error: errors.get("display_name").map(str::to_owned),
                ..ProfileState::default()
            };
            render_account(&req, &signed_in, StatusCode::BAD_REQUEST, state).await
        }
        Err(e) => Err(page_error(e)),
    }
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    /// `verify`: send a link proving the current address instead.
    #[serde(default)]
    action: String,
}

impl CsrfProtected for EmailForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /account/email`: sends a link confirming a new address to it (or, with
/// `action=verify`, one proving the current address).
pub async fn request_email(
    req: HttpRequest,
    signed_in: SignedIn,
    form: CsrfForm<EmailForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let st = state(&req).clone();
    let user = signed_in.user().clone();
    let base = base(&req);
    let verify = form.action == "verify";
    let typed = form.email.clone();
    let result = web::block(move || {
        if verify {
            email::request_verification(
                &st.store,
                &*st.mailer,
                st.clock.as_ref(),
                &base,
                &user,
                &meta,
            )
            .map(|_| ())
        } else {
            email::request_change(
                &st.store,
                &*st.mailer,
                st.clock.as_ref(),
                &base,
                &user,
                &form.email,
                &meta,
            )
        }
    })
    .await?;
    match result {
        Ok(()) if verify => Ok(see_other(&format!("{ACCOUNT}?sent=verify"))),
        Ok(()) => Ok(see_other(&format!("{ACCOUNT}?sent=change"))),
        Err(SelfServiceError::Form(errors)) => {
            let state = ProfileState {
                email: typed,
                email_error: errors.get("email").map(str::to_owned),
                ..ProfileState::default()
            };
            render_account(&req, &signed_in, StatusCode::BAD_REQUEST, state).await
        }
        Err(e) => Err(page_error(e)),
    }
}

/// Signed out at a link's page: sign in, then back to the same page with its token.
pub struct BackToLink;

impl SignedOut for BackToLink {
    fn answer(req: &HttpRequest) -> SignedOutAnswer {
        let query = req.query_string();
        SignedOutAnswer::SignIn(Some(if query.is_empty() {
            req.path().to_owned()
        } else {
            format!("{}?{query}", req.path())
        }))
    }
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Template)]
#[template(path = "account/email_confirm.html")]
struct ConfirmPage<'a> {
    csrf: &'a str,
    action: &'a str,
    token: &'a str,
    email: &'a str,
    change: bool,
    error: Option<&'a str>,
}

fn confirm_page(
    req: &HttpRequest,
    signed_in: &SignedIn<BackToLink>,
    status: StatusCode,
    token: &str,
    email: &str,
    change: bool,
    error: Option<&str>,
) -> Result<HttpResponse, WebError> {
    let st = state(req);
    let mut csrf = csrf::issue(st, req, Some(signed_in.sid()));
    let mut builder = csrf.builder(status);
    // The page carries the link's secret: no cache keeps it (RFC 9111 §5.2.2.5).
    builder.insert_header((CACHE_CONTROL, "no-store"));
    html(
        builder,
        &ConfirmPage {
            csrf: &csrf.token,
            action: ACCOUNT_EMAIL_CONFIRM,
            token,
            email,
            change,
            error,
        },
    )
}

/// `GET /account/email/confirm?token=`: what the link confirms, and a button that does it (a
/// mail scanner that fetches the link spends nothing). Signed out: sign in, then back here.
pub async fn confirm_email_page(
    req: HttpRequest,
    signed_in: SignedIn<BackToLink>,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, WebError> {
    let token = PlainEmailLink::new(query.token.clone());
    let st = state(&req).clone();
    let user = signed_in.user().clone();
    let link = web::block(move || email::pending(&st.store, st.clock.as_ref(), &user, &token))
        .await?
        .map_err(page_error)?;
    confirm_page(
        &req,
        &signed_in,
        StatusCode::OK,
        &query.token,
        &link.email,
        link.kind == LinkKind::EmailChange,
        None,
    )
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
}

impl CsrfProtected for ConfirmForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /account/email/confirm`: spends the link and sets the address, proven.
pub async fn confirm_email(
    req: HttpRequest,
    signed_in: SignedIn<BackToLink>,
    form: CsrfForm<ConfirmForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let raw = form.into_inner().token;
    let token = PlainEmailLink::new(raw.clone());
    let st = state(&req).clone();
    let user = signed_in.user().clone();
    let result = web::block(move || {
        email::confirm(
            &st.store,
            &*st.mailer,
            st.clock.as_ref(),
            &user,
            &token,
            &meta,
        )
    })
    .await?;
    match result {
        Ok(done) if done.kind == LinkKind::EmailChange => {
            Ok(see_other(&format!("{ACCOUNT}?saved=email")))
        }
        Ok(_) => Ok(see_other(&format!("{ACCOUNT}?saved=verified"))),
        Err(SelfServiceError::Form(errors)) => {
            // The address is taken: the page again, with why (nothing was spent).
            let token = PlainEmailLink::new(raw.clone());
            let st = state(&req).clone();
            let user = signed_in.user().clone();
            let link =
                web::block(move || email::pending(&st.store, st.clock.as_ref(), &user, &token))
                    .await?
                    .map_err(page_error)?;
            confirm_page(
                &req,
                &signed_in,
                StatusCode::CONFLICT,
                &raw,
                &link.email,
                link.kind == LinkKind::EmailChange,
                errors.get("email"),
            )
        }
        Err(e) => Err(page_error(e)),
    }
}

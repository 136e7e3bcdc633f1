//! The invitee's page `INVITATION?token=` (issue #14): what the invitation is for, and the ways
//! to accept it: signed in with the invited address; signing in first (back here after); with
//! the organisation's SSO; or creating an account (not when the organisation requires SSO).
//! The token travels only in this page's own query and its forms, and every answer carrying it
//! is `Cache-Control: no-store` (and `Referrer-Policy: no-referrer` is server-wide).

use actix_web::http::StatusCode;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use super::invitations::{
    self, AccountErrors, InvitationView, LinkError, NewAccount, NewAccountError,
};
use super::store::PlainInvitation;
use crate::audit::RequestMeta;
use crate::clock::rfc3339;
use crate::web::csrf::{self, CsrfForm, CsrfProtected};
use crate::web::error::{ErrorPage, WebError};
use crate::web::extractors::{MaybeSession, SignedIn, state};
use crate::web::paths::{ACCOUNT, INVITATION, INVITATION_ACCOUNT, LOGIN_SSO};
use crate::web::{html, login_url_with, see_other};

#[derive(Template)]
#[template(path = "accounts/invitation.html")]
struct InvitationPage<'a> {
    csrf: &'a str,
    token: &'a str,
    org_name: &'a str,
    role: &'a str,
    inviter: Option<&'a str>,
    email: &'a str,
    expires: String,
    /// The signed-in account's username and whether its address is the invited one.
    signed_in: Option<(&'a str, bool)>,
    sign_in_href: &'a str,
    sso: bool,
    password: bool,
    accept_action: &'a str,
    account_action: &'a str,
    sso_action: &'a str,
    here: &'a str,
    username: &'a str,
    display_name: &'a str,
    errors: &'a AccountErrors,
}

/// One 400 page for every unusable link, never cached.
fn unusable(message: &str) -> HttpResponse {
    HttpResponse::BadRequest()
        .insert_header((CACHE_CONTROL, "no-store"))
        .content_type("text/html; charset=utf-8")
        .body(ErrorPage::html(StatusCode::BAD_REQUEST, message))
}

fn link_error(e: LinkError) -> Result<HttpResponse, WebError> {
    match e {
        LinkError::Store(e) => Err(e.into()),
        other => Ok(unusable(&other.to_string())),
    }
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

async fn load(
    req: &HttpRequest,
    token: &str,
) -> Result<Result<InvitationView, LinkError>, WebError> {
    let st = state(req).clone();
    let token = PlainInvitation::new(token);
    Ok(web::block(move || invitations::view(&st.store, st.clock.as_ref(), &token)).await?)
}

#[allow(clippy::too_many_arguments)]
fn render(
    req: &HttpRequest,
    session: &MaybeSession,
    view: &InvitationView,
    token: &str,
    status: StatusCode,
    input: (&str, &str),
    errors: &AccountErrors,
) -> Result<HttpResponse, WebError> {
    let st = state(req);
    let current = session.0.as_ref();
    let mut csrf_token = csrf::issue(st, req, current.map(|c| &c.session.sid));
    let here = format!(
        "{INVITATION}?{}",
        serde_urlencoded::to_string([("token", token)]).unwrap_or_default()
    );
    let sign_in_href = login_url_with(&here, false, Some(&view.invitation.email));
    let signed_in = current.map(|c| {
        (
            c.user.username.as_str(),
            c.user.email.to_lowercase() == view.invitation.email.to_lowercase(),
        )
    });
    let mut builder = csrf_token.builder(status);
    builder.insert_header((CACHE_CONTROL, "no-store"));
    html(
        builder,
        &InvitationPage {
            csrf: &csrf_token.token,
            token,
            org_name: &view.org.name,
            role: view.invitation.role.as_str(),
            inviter: view.inviter.as_deref(),
            email: &view.invitation.email,
            expires: rfc3339(view.invitation.expires_at),
            signed_in,
            sign_in_href: &sign_in_href,
            sso: view.sso,
            password: view.offers_password(),
            accept_action: INVITATION,
            account_action: INVITATION_ACCOUNT,
            sso_action: LOGIN_SSO,
            here: &here,
            username: input.0,
            display_name: input.1,
            errors,
        },
    )
}

/// `GET INVITATION?token=`: the invitation, or one 400 page for a link that cannot be used.
pub async fn invitation_page(
    req: HttpRequest,
    session: MaybeSession,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, WebError> {
    let token = query.into_inner().token;
    let view = match load(&req, &token).await? {
        Ok(view) => view,
        Err(e) => return link_error(e),
    };
    let none = AccountErrors::default();
    render(
        &req,
        &session,
        &view,
        &token,
        StatusCode::OK,
        ("", ""),
        &none,
    )
}

#[derive(Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
}

impl CsrfProtected for AcceptForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST INVITATION`: the signed-in account accepts (only with the invited address), then on
/// to the account page.
pub async fn accept(
    req: HttpRequest,
    signed_in: SignedIn,
    form: CsrfForm<AcceptForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let st = state(&req).clone();
    let user = signed_in.user().clone();
    let token = PlainInvitation::new(form.token);
    let result =
        web::block(move || invitations::accept(&st.store, st.clock.as_ref(), &token, &user, &meta))
            .await?;
    match result {
        Ok(_) => Ok(see_other(ACCOUNT)),
        Err(e) => link_error(e),
    }
}

#[derive(Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
}

impl CsrfProtected for AccountForm {
    /// The form of a visitor without a session.
    const SESSION_BOUND: bool = false;

    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST INVITATION_ACCOUNT`: creates the account and its membership, then to the sign-in
/// page with the new username filled in; the form again with the input and a message next to
/// the field when refused.
pub async fn create_account(
    req: HttpRequest,
    session: MaybeSession,
    form: CsrfForm<AccountForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let view = match load(&req, &form.token).await? {
        Ok(view) => view,
        Err(e) => return link_error(e),
    };
    let st = state(&req).clone();
    let token = PlainInvitation::new(form.token.clone());
    let input = NewAccount {
        username: form.username.clone(),
        display_name: form.display_name.clone(),
        password: SecretString::from(form.password),
        password_again: SecretString::from(form.password_again),
    };
    let result = web::block(move || {
        invitations::create_account(
            &st.store,
            &st.hasher,
            st.clock.as_ref(),
            &token,
            &input,
            &meta,
        )
    })
    .await?;
    match result {
        Ok(user) => Ok(see_other(&login_url_with(
            ACCOUNT,
            false,
            Some(&user.username),
        ))),
        Err(NewAccountError::Input(errors)) => render(
            &req,
            &session,
            &view,
            &form.token,
            StatusCode::BAD_REQUEST,
            (&form.username, &form.display_name),
            &errors,
        ),
        Err(NewAccountError::Link(e)) => link_error(e),
        Err(NewAccountError::Busy(_)) => Err(WebError::Unavailable),
    }
}

//! Account > Security: change the password; Account > Sessions: where the user is signed in,
//! and signing out one or all other sessions.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use super::error::{FieldErrors, SelfServiceError};
use super::service::{self, PasswordChange};
use super::store::SelfServiceStore;
use crate::accounts::store::UserStore;
use crate::audit::RequestMeta;
use crate::clock::rfc3339;
use crate::web::csrf::{self, CsrfForm, CsrfProtected};
use crate::web::error::WebError;
use crate::web::extractors::{SignedIn, state};
use crate::web::paths::{
    ACCOUNT_PASSWORD, ACCOUNT_SESSION_REVOKE, ACCOUNT_SESSIONS, ACCOUNT_SESSIONS_REVOKE_OTHERS,
};
use crate::web::{html, see_other};

/// The page error of a self-service failure that is not a form's (those re-render the form).
pub fn page_error(e: SelfServiceError) -> WebError {
    match e {
        SelfServiceError::Form(_)
        | SelfServiceError::NoPassword
        | SelfServiceError::EmailManaged
        | SelfServiceError::InvalidLink
        | SelfServiceError::WrongUser
        | SelfServiceError::CurrentSession => WebError::BadRequest(e.to_string()),
        SelfServiceError::NotFound => WebError::NotFound,
        SelfServiceError::Throttled { retry_after } => WebError::TooManyRequests { retry_after },
        SelfServiceError::Busy(_) => WebError::TooManyRequests { retry_after: 1 },
        SelfServiceError::Template(e) => WebError::Internal(e),
        SelfServiceError::Store(e) => e.into(),
    }
}

#[derive(Template)]
#[template(path = "account/password.html")]
struct PasswordPage<'a> {
    csrf: &'a str,
    action: &'a str,
    has_password: bool,
    /// Signed in within the re-authentication window: no current password asked.
    fresh: bool,
    errors: &'a FieldErrors,
    sign_out_others: bool,
    notice: Option<&'a str>,
}

struct PasswordState<'a> {
    errors: FieldErrors,
    sign_out_others: bool,
    notice: Option<&'a str>,
}

async fn render_password(
    req: &HttpRequest,
    signed_in: &SignedIn,
    status: StatusCode,
    page: PasswordState<'_>,
) -> Result<HttpResponse, WebError> {
    let st = state(req).clone();
    let user_id = signed_in.user().id.clone();
    let has_password = web::block(move || st.store.password_hash(&user_id))
        .await??
        .is_some();
    let st = state(req);
    let fresh = service::fresh_sign_in(st.clock.as_ref(), signed_in.session());
    let mut token = csrf::issue(st, req, Some(signed_in.sid()));
    html(
        token.builder(status),
        &PasswordPage {
            csrf: &token.token,
            action: ACCOUNT_PASSWORD,
            has_password,
            fresh,
            errors: &page.errors,
            sign_out_others: page.sign_out_others,
            notice: page.notice,
        },
    )
}

/// `GET /account/password`.
pub async fn password_page(
    req: HttpRequest,
    signed_in: SignedIn,
) -> Result<HttpResponse, WebError> {
    let page = PasswordState {
        errors: FieldErrors::default(),
        sign_out_others: true,
        notice: None,
    };
    render_password(&req, &signed_in, StatusCode::OK, page).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default = "empty_secret")]
    current_password: SecretString,
    #[serde(default = "empty_secret")]
    new_password: SecretString,
    #[serde(default = "empty_secret")]
    repeat_password: SecretString,
    /// A checkbox: present when checked.
    sign_out_others: Option<String>,
}

fn empty_secret() -> SecretString {
    SecretString::from("")
}

impl CsrfProtected for PasswordForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /account/password`: changes the password; the form again with a message next to the
/// field on bad input (the password fields are never filled in again).
pub async fn change_password(
    req: HttpRequest,
    signed_in: SignedIn,
    form: CsrfForm<PasswordForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let sign_out_others = form.sign_out_others.is_some();
    let input = PasswordChange {
        current: form.current_password,
        new: form.new_password,
        repeat: form.repeat_password,
        sign_out_others,
    };
    let st = state(&req).clone();
    let current = signed_in.session().clone();
    let result = web::block(move || {
        service::change_password(
            &st.store,
            &st.hasher,
            st.clock.as_ref(),
            &st.throttle,
            &current,
            input,
            &meta,
        )
    })
    .await?;
    let (status, errors, notice) = match result {
        Ok(0) => (
            StatusCode::OK,
            FieldErrors::default(),
            "Your password was changed.".to_owned(),
        ),
        Ok(n) => (
            StatusCode::OK,
            FieldErrors::default(),
            format!(
                "Your password was changed, and {n} other session{} signed out.",
                if n == 1 { " was" } else { "s were" }
            ),
        ),
        Err(SelfServiceError::Form(errors)) => (StatusCode::BAD_REQUEST, errors, String::new()),
        Err(SelfServiceError::Throttled { retry_after }) => (
            StatusCode::TOO_MANY_REQUESTS,
            FieldErrors::one(
                "current_password",
                format!("Too many wrong passwords. Try again in {retry_after} seconds."),
            ),
            String::new(),
        ),
        Err(e) => return Err(page_error(e)),
    };
    let page = PasswordState {
        errors,
        sign_out_others,
        notice: (!notice.is_empty()).then_some(notice.as_str()),
    };
    render_password(&req, &signed_in, status, page).await
}

/// One session as the sessions page shows it.
struct SessionView {
    sid: String,
    /// The user agent, cut to a readable length; `device_full` is the whole of it.
    device: String,
    device_full: String,
    address: String,
    started: String,
    last_seen: String,
    organisation: String,
    current: bool,
    revoke_action: String,
}

/// How much of a user agent the table shows (the whole is in the cell's title).
const DEVICE_CHARS: usize = 60;

fn shortened(ua: &str) -> String {
    if ua.chars().count() <= DEVICE_CHARS {
        ua.to_owned()
    } else {
        let mut short: String = ua.chars().take(DEVICE_CHARS).collect();
        short.push('…');
        short
    }
}

#[derive(Template)]
#[template(path = "account/sessions.html")]
struct SessionsPage<'a> {
    csrf: &'a str,
    sessions: &'a [SessionView],
    revoke_others: &'a str,
    notice: Option<&'a str>,
}

async fn render_sessions(
    req: &HttpRequest,
    signed_in: &SignedIn,
    notice: Option<&str>,
) -> Result<HttpResponse, WebError> {
    let st = state(req).clone();
    let user = signed_in.user().clone();
    let (sessions, memberships) = web::block(move || {
        let sessions =
            service::live_sessions(&st.store, st.clock.as_ref(), st.session_policy, &user)?;
        let memberships = st.store.memberships(&user.id)?;
        Ok::<_, SelfServiceError>((sessions, memberships))
    })
    .await?
    .map_err(page_error)?;
    let current = signed_in.sid();
    let views: Vec<SessionView> = sessions
        .into_iter()
        .map(|s| {
            let ua = s.user_agent.clone().unwrap_or_default();
            let organisation = s
                .org_id
                .as_ref()
                .and_then(|id| memberships.iter().find(|m| &m.org.id == id))
                .map(|m| m.org.name.clone())
                .unwrap_or_else(|| "none".to_owned());
            SessionView {
                sid: s.sid.as_str().to_owned(),
                device: if ua.is_empty() {
                    "unknown".to_owned()
                } else {
                    shortened(&ua)
                },
                device_full: ua,
                address: s.ip.clone().unwrap_or_else(|| "unknown".to_owned()),
                started: rfc3339(s.created_at),
                last_seen: rfc3339(s.last_seen_at),
                organisation,
                current: &s.sid == current,
                revoke_action: ACCOUNT_SESSION_REVOKE.replace("{id}", s.sid.as_str()),
            }
        })
        .collect();
    let st = state(req);
    let mut token = csrf::issue(st, req, Some(signed_in.sid()));
    html(
        token.builder(StatusCode::OK),
        &SessionsPage {
            csrf: &token.token,
            sessions: &views,
            revoke_others: ACCOUNT_SESSIONS_REVOKE_OTHERS,
            notice,
        },
    )
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    ended: Option<String>,
}

/// `GET /account/sessions`.
pub async fn sessions_page(
    req: HttpRequest,
    signed_in: SignedIn,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, WebError> {
    let notice = match query.ended.as_deref() {
        Some("one") => Some("The session was signed out."),
        Some("others") => Some("Your other sessions were signed out."),
        _ => None,
    };
    render_sessions(&req, &signed_in, notice).await
}

#[derive(Deserialize)]
pub struct SessionForm {
    #[serde(default)]
    csrf: String,
}

impl CsrfProtected for SessionForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /account/sessions/{id}/revoke`: signs out one other session of the user (another
/// user's: 404).
pub async fn revoke_session(
    req: HttpRequest,
    signed_in: SignedIn,
    _form: CsrfForm<SessionForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let sid = req.match_info().get("id").unwrap_or_default().to_owned();
    let st = state(&req).clone();
    let current = signed_in.session().clone();
    web::block(move || {
        service::revoke_session(&st.store, st.clock.as_ref(), &current, &sid, &meta)
    })
    .await?
    .map_err(page_error)?;
    Ok(see_other(&format!("{ACCOUNT_SESSIONS}?ended=one")))
}

/// `POST /account/sessions/revoke-others`: signs out every other session of the user.
pub async fn revoke_other_sessions(
    req: HttpRequest,
    signed_in: SignedIn,
    _form: CsrfForm<SessionForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let st = state(&req).clone();
    let current = signed_in.session().clone();
    web::block(move || {
        service::revoke_other_sessions(&st.store, st.clock.as_ref(), &current, &meta)
    })
    .await?
    .map_err(page_error)?;
    Ok(see_other(&format!("{ACCOUNT_SESSIONS}?ended=others")))
}

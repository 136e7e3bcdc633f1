//! The browser side of the authorization endpoint, free of HTTP: what a request leads to (sign
//! in, the consent page, or straight back to the client with a code), the consent form's
//! answer, remembered per user and client, and its revocation from the account page.
//! Blocking (store): call from `web::block`.

use super::authorize::{self, AuthorizeError, AuthorizeParams, AuthorizeRequest, Step};
use super::clients;
use super::error::ErrorCode;
use super::store::OAuthStore;
use crate::clock::Clock;
use crate::ids::{ClientId, UserId};
use crate::sessions::types::CurrentSession;
use crate::store::StoreError;

/// Where an authorization request goes next.
#[derive(Debug)]
pub enum Next {
    /// To the sign-in page (forced when `reauth`), then back to the authorization endpoint with
    /// `params`.
    SignIn {
        params: Box<AuthorizeParams>,
        reauth: bool,
        login_hint: Option<String>,
    },
    /// The consent page, for this request (narrowed to what the user may grant).
    Consent(Box<AuthorizeRequest>),
    /// Back to the client with a code: the URL to send the browser to.
    Redirect(String),
}

/// Validates the request, narrows it to what the signed-in user may grant, and decides with
/// the remembered consent ([`authorize::next_step`]); issues the code when nothing is left to
/// ask. `issuer` goes into the redirect (RFC 9207), `default_audience` into the grant
/// (RFC 8707).
pub fn begin<S: OAuthStore>(
    store: &S,
    clock: &dyn Clock,
    issuer: &str,
    default_audience: &str,
    params: AuthorizeParams,
    current: Option<&CurrentSession>,
) -> Result<Next, AuthorizeError> {
    let mut request = authorize::validate(store, params, default_audience)?;
    let remembered = match current {
        // Signed in: only what this user may grant is asked for, remembered or issued.
        Some(c) => {
            authorize::narrow_to_user(store, &mut request, &c.user.id)?;
            // A consent that cannot be read is asked for again.
            store
                .find_consent(&c.user.id, &request.client.id)
                .ok()
                .flatten()
        }
        None => None,
    };
    match authorize::next_step(&request, current, remembered.as_ref(), clock.now())? {
        Step::SignIn { reauth } => {
            // Back here after signing in, without the prompt or max_age that sent us there: the
            // sign-in about to happen satisfies both (with max_age kept, max_age=0 would send
            // the user back to sign in as soon as the clock ticks, forever). The ID token's
            // auth_time still tells the client when that was (OIDC Core §3.1.2.1).
            let mut params = request.params;
            params.prompt = None;
            params.max_age = None;
            Ok(Next::SignIn {
                params: Box::new(params),
                reauth,
                login_hint: request.login_hint,
            })
        }
        Step::Consent => Ok(Next::Consent(Box::new(request))),
        Step::Issue => {
            let current = current.ok_or_else(|| {
                AuthorizeError::Page("The code cannot be issued without a session.".into())
            })?;
            issue(store, clock, issuer, &request, current).map(Next::Redirect)
        }
    }
}

/// The code, and the redirect that carries it to the client (RFC 6749 §4.1.2).
fn issue<S: OAuthStore>(
    store: &S,
    clock: &dyn Clock,
    issuer: &str,
    request: &AuthorizeRequest,
    current: &CurrentSession,
) -> Result<String, AuthorizeError> {
    let code = authorize::issue_code(store, request, current, clock.now())?;
    Ok(authorize::redirect_url(
        &request.redirect_uri,
        issuer,
        &[("code", code.expose())],
        request.state.as_deref(),
    ))
}

/// The consent form's answer: the request, as posted back, and the button pressed.
pub struct ConsentAnswer {
    pub params: AuthorizeParams,
    pub allow: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConsentError {
    /// The request is refused, or denied by the user: shown or sent back as
    /// [`AuthorizeError`] says.
    #[error("the authorization request was not granted")]
    Authorize(AuthorizeError),
    /// The consent could not be remembered.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<AuthorizeError> for ConsentError {
    fn from(e: AuthorizeError) -> Self {
        ConsentError::Authorize(e)
    }
}

/// Validates the posted request again (nothing of it is trusted from the page), then denies
/// (`access_denied`, RFC 6749 §4.1.2.1) or remembers the consent, adding to what the user
/// granted the client before, and issues the code. Returns the redirect to the client.
pub fn answer<S: OAuthStore>(
    store: &S,
    clock: &dyn Clock,
    issuer: &str,
    default_audience: &str,
    answer: ConsentAnswer,
    current: &CurrentSession,
) -> Result<String, ConsentError> {
    let mut request = authorize::validate(store, answer.params, default_audience)?;
    authorize::narrow_to_user(store, &mut request, &current.user.id)?;
    if !answer.allow {
        return Err(request
            .fail(ErrorCode::AccessDenied, "the user denied the request")
            .into());
    }
    let user_id = &current.user.id;
    let previous = store
        .find_consent(user_id, &request.client.id)?
        .unwrap_or_default();
    store.save_consent(
        user_id,
        &request.client.id,
        &previous.union(&request.scope),
        clock.now(),
    )?;
    Ok(issue(store, clock, issuer, &request, current)?)
}

/// The account page's "revoke": forgets the consent and ends the client's tokens. An id no
/// client can have names no consent: nothing to revoke.
pub fn revoke<S: OAuthStore>(
    store: &S,
    clock: &dyn Clock,
    user_id: &UserId,
    client_id: &ClientId,
) -> Result<(), StoreError> {
    if clients::plausible_client_id(client_id) {
        store.revoke_consent(user_id, client_id, clock.now())?;
    }
    Ok(())
}

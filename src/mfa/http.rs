//! The pages of the factors: the sign-in flow's second-factor page, and Settings > Security.

use actix_web::http::StatusCode;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::totp_service::{self, TotpError, TotpState};
use super::types::Factors;
use crate::accounts::http::{OTHER_SIGN_IN, flow_tag};
use crate::flows::service::{self as flows, FlowPolicy};
use crate::web::error::WebError;
use crate::web::extractors::{SignedIn, SignedOut, flow_secret, state};
use crate::web::{csrf, html};

/// What the flow waits for when a factor page is shown for a flow that no longer waits.
pub const FACTOR_GONE: &str =
    "This sign-in is over or has expired. Start again from the application or the sign-in page.";

#[derive(Template)]
#[template(path = "accounts/factor.html")]
pub struct FactorPage<'a> {
    pub csrf: &'a str,
    /// The tag of the flow this page was shown for ([`flow_tag`]): each form carries it back.
    pub flow: &'a str,
    pub factors: Factors,
    pub error: Option<&'a str>,
}

/// Renders the second-factor page for the flow the browser's cookie names, with `status` and
/// an `error` from a failed attempt.
pub fn factor_response(
    req: &HttpRequest,
    factors: Factors,
    status: StatusCode,
    error: Option<&str>,
) -> Result<HttpResponse, WebError> {
    let st = state(req);
    let tag = flow_tag(req).ok_or_else(|| WebError::BadRequest(FACTOR_GONE.into()))?;
    let mut token = csrf::issue(st, req, None);
    let builder = token.builder(status);
    html(
        builder,
        &FactorPage {
            csrf: &token.token,
            flow: &tag,
            factors,
            error,
        },
    )
}

/// `GET /login/factor`: asks for a second factor of the flow's user.
pub async fn factor_page(req: HttpRequest) -> Result<HttpResponse, WebError> {
    let secret = flow_secret(&req).ok_or_else(|| WebError::BadRequest(FACTOR_GONE.into()))?;
    let st = state(&req).clone();
    let pending = web::block(move || {
        flows::awaiting_factor(
            &st.store,
            st.clock.as_ref(),
            &FlowPolicy::default(),
            &secret,
        )
    })
    .await??;
    let Some((_, _, factors)) = pending else {
        return Err(WebError::BadRequest(FACTOR_GONE.into()));
    };
    factor_response(&req, factors, StatusCode::OK, None)
}

/// Checks that a factor form was posted from the page shown for the browser's current flow.
pub fn check_flow_tag(req: &HttpRequest, posted: &str) -> Result<(), WebError> {
    match flow_tag(req) {
        Some(tag) if crate::crypto::ct_eq(tag.as_bytes(), posted.as_bytes()) => Ok(()),
        _ => Err(WebError::BadRequest(OTHER_SIGN_IN.into())),
    }
}

#[derive(Template)]
#[template(path = "settings/security.html")]
struct SecurityPage<'a> {
    csrf: &'a str,
    username: &'a str,
    factors: Factors,
    totp: &'a TotpState,
    notice: &'a TotpNotice,
    /// The passkeys section: whether passkeys can be registered here, and those registered.
    passkeys: PasskeyList,
}

/// A registered passkey as the security page lists it.
struct PasskeyItem {
    id: String,
    name: String,
    created: String,
    last_used: String,
}

struct PasskeyList {
    available: bool,
    items: Vec<PasskeyItem>,
}

/// What a TOTP action adds to the security page it answers with.
#[derive(Debug, Default)]
pub struct TotpNotice {
    /// Recovery codes just made: shown this once.
    pub codes: Vec<String>,
    pub error: Option<String>,
    /// A sign-in flow waited for this enrolment: where it goes on.
    pub continue_to: Option<String>,
}

/// `GET /settings/security`: the user's second factors.
pub async fn security_page(
    req: HttpRequest,
    signed_in: SignedIn,
) -> Result<HttpResponse, WebError> {
    security_response(&req, &signed_in, StatusCode::OK, &TotpNotice::default()).await
}

/// Renders Settings > Security with `status` and what a TOTP action adds.
pub async fn security_response<A: SignedOut>(
    req: &HttpRequest,
    signed_in: &SignedIn<A>,
    status: StatusCode,
    notice: &TotpNotice,
) -> Result<HttpResponse, WebError> {
    let st = state(req).clone();
    let user = signed_in.user().clone();
    let (factors, totp, passkeys) = web::block(move || {
        let factors = super::store::FactorStore::factors(&st.store, &user.id)?;
        let issuer = st.settings.server.issuer.host_str().unwrap_or("mintgate");
        let totp = totp_service::state_of(&st.store, &st.secrets, &user, issuer)?;
        let passkeys = super::store::PasskeyStore::passkeys_of(&st.store, &user.id)?;
        Ok::<_, TotpError>((factors, totp, passkeys))
    })
    .await?
    .map_err(totp_web_error)?;
    let st = state(req);
    let passkeys = PasskeyList {
        available: st.relying_party.is_some(),
        items: passkeys
            .into_iter()
            .map(|p| PasskeyItem {
                id: p.id,
                name: p.name,
                created: crate::clock::rfc3339(p.created_at),
                last_used: p
                    .last_used_at
                    .map_or_else(|| "never".to_owned(), crate::clock::rfc3339),
            })
            .collect(),
    };
    let mut token = csrf::issue(st, req, Some(signed_in.sid()));
    let mut builder = token.builder(status);
    // The page shows a pending TOTP key and new recovery codes: no cache may keep it
    // (RFC 9111 §5.2.2.5).
    builder.insert_header((CACHE_CONTROL, "no-store"));
    html(
        builder,
        &SecurityPage {
            csrf: &token.token,
            username: &signed_in.user().username,
            factors,
            totp: &totp,
            notice,
            passkeys,
        },
    )
}

/// The error page of a TOTP failure no form answers (a store error, a seed that does not open).
pub fn totp_web_error(e: TotpError) -> WebError {
    match e {
        TotpError::Store(e) => e.into(),
        TotpError::Sealed(e) => WebError::Internal(e.to_string()),
        e => WebError::BadRequest(e.to_string()),
    }
}

//! The authorization endpoint's logic (RFC 6749 §4.1.1, OIDC Core §3.1.2), free of HTTP:
//! validate the request, decide whether sign-in or consent is needed, issue the code.

use serde::{Deserialize, Serialize};

use super::error::{ErrorCode, OAuthError};
use super::grantable;
use super::pkce;
use super::resources;
use super::store::OAuthStore;
use super::tenancy::{self, GrantOrg, OrgRefusal};
use super::tokens::CODE_TTL;
use super::types::*;
use crate::accounts::types::Membership;
use crate::authn;
use crate::clock::UnixTime;
use crate::credentials::PlainAuthCode;
use crate::crypto;
use crate::ids::{ClientId, GrantId};
use crate::mfa::types::Factors;
use crate::scopes::Scopes;
use crate::sessions::types::CurrentSession;

/// The request parameters, as received (query string or form).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct AuthorizeParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_challenge: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_challenge_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_hint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_mode: Option<String>,
    /// OIDC Core §3.1.2.1: the authentication context classes asked for, by preference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr_values: Option<String>,
    /// The organisation to act in (issue #11): its name, case-insensitively, or its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
}

impl AuthorizeParams {
    /// The same request as far as its consent form says: the fields the consent page carries
    /// and a client could tell apart (who, where to, for what, with which state and PKCE).
    pub fn same_request(&self, other: &AuthorizeParams) -> bool {
        self.client_id == other.client_id
            && self.redirect_uri == other.redirect_uri
            && self.scope == other.scope
            && self.state == other.state
            && self.nonce == other.nonce
            && self.code_challenge == other.code_challenge
            && self.resource == other.resource
            && self.acr_values == other.acr_values
            && self.organization == other.organization
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    None,
    Login,
    Consent,
    SelectAccount,
}

/// A request that passed validation: the client and redirect URI are trusted from here on.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    pub client: Client,
    pub redirect_uri: String,
    pub scope: Scopes,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompts: Vec<Prompt>,
    pub max_age: Option<i64>,
    /// The `acr` the sign-in must meet ([`authn::requested_acr`] of `acr_values`): values
    /// mintgate does not know are ignored, as the parameter is a voluntary claim request.
    pub acr: Option<&'static str>,
    pub login_hint: Option<String>,
    /// RFC 8707 resources checked against the client's registration; bound to the grant.
    pub resources: Vec<String>,
    pub params: AuthorizeParams,
    /// The user signed in for this very request (its sign-in flow completed): `prompt=login`
    /// and `max_age` are met, whatever the clock says now.
    pub fresh_sign_in: bool,
    /// The organisation the grant is made in, with the user's role there ([`tenancy`]): set
    /// by [`narrow_to_user`] once the user is known.
    pub org: Option<Membership>,
}

#[derive(Debug)]
pub enum AuthorizeError {
    /// Unknown client or unregistered redirect URI: shown on our own page, never redirected
    /// (RFC 6749 §4.1.2.1, open-redirect protection).
    Page(String),
    /// Returned to the client at its redirect URI, with `state` and `iss`.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: OAuthError,
    },
    /// The user is in several organisations and the session has none active: the picker asks,
    /// then the request goes on at `return_to`.
    ChooseOrganisation { return_to: String },
    /// Storage failed: shown on our own page with the status every page gives it (a value the
    /// database cannot hold is a 400, an outage a 503).
    Store(crate::store::StoreError),
}

impl From<crate::store::StoreError> for AuthorizeError {
    fn from(e: crate::store::StoreError) -> Self {
        if !matches!(e, crate::store::StoreError::Unstorable) {
            tracing::error!(error = %e, "storage failed at the authorization endpoint");
        }
        AuthorizeError::Store(e)
    }
}

impl AuthorizeRequest {
    pub fn fail(&self, code: ErrorCode, description: &'static str) -> AuthorizeError {
        AuthorizeError::Redirect {
            redirect_uri: self.redirect_uri.clone(),
            state: self.state.clone(),
            error: OAuthError::new(code, description),
        }
    }
}

/// `default_audience`: the `aud` of access tokens when no resource is named (RFC 8707).
pub fn validate<S: OAuthStore>(
    store: &S,
    params: AuthorizeParams,
    default_audience: &str,
) -> Result<AuthorizeRequest, AuthorizeError> {
    let client_id = params
        .client_id
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            AuthorizeError::Page(
                "The application did not say who it is (client_id is missing).".into(),
            )
        })?;
    let unknown = || {
        AuthorizeError::Page("This application is not registered here (unknown client_id).".into())
    };
    if !super::clients::plausible_client_id(client_id) {
        return Err(unknown());
    }
    let client = store
        .find_client(&ClientId::new(client_id))?
        .ok_or_else(unknown)?;
    // OIDC requires redirect_uri; we require it for every client so the token request can check it.
    let redirect_uri = params
        .redirect_uri
        .clone()
        .filter(|r| client.redirect_uri_allowed(r))
        .ok_or_else(|| {
            AuthorizeError::Page(
                "The application sent a redirect URI that is not registered for it.".into(),
            )
        })?;
    let state = params.state.clone();
    let fail = |code, description: &'static str| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        error: OAuthError::new(code, description),
    };
    match params.response_type.as_deref() {
        Some("code") => {}
        None | Some("") => return Err(fail(ErrorCode::InvalidRequest, "response_type is missing")),
        Some(_) => {
            return Err(fail(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
    }
    if params
        .response_mode
        .as_deref()
        .is_some_and(|m| m != "query")
    {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "only response_mode=query is supported",
        ));
    }
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(fail(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code grant",
        ));
    }
    let code_challenge = match (
        params.code_challenge.as_deref(),
        params.code_challenge_method.as_deref(),
    ) {
        (None, None) if client.is_public() => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "PKCE (code_challenge with S256) is required for public clients",
            ));
        }
        (None, None) => None,
        (None, Some(_)) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "code_challenge_method without code_challenge",
            ));
        }
        (Some(_), Some("plain")) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "PKCE method plain is not allowed; use S256",
            ));
        }
        (Some(c), Some("S256")) if pkce::valid_challenge(c) => Some(c.to_owned()),
        (Some(_), Some("S256")) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "code_challenge is malformed",
            ));
        }
        (Some(_), None) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "code_challenge_method must be S256",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "unsupported code_challenge_method",
            ));
        }
    };
    let scope = match params.scope.as_deref() {
        None | Some("") => client.scopes.without(SCOPE_OFFLINE),
        Some(s) => {
            let asked = Scopes::parse(s)
                .ok_or_else(|| fail(ErrorCode::InvalidScope, "the scope is malformed"))?;
            // Narrowed to what the client may ask for (RFC 6749 §3.3).
            asked.intersection(&client.scopes)
        }
    };
    let mut prompts = Vec::new();
    for p in params
        .prompt
        .as_deref()
        .unwrap_or("")
        .split(' ')
        .filter(|p| !p.is_empty())
    {
        prompts.push(match p {
            "none" => Prompt::None,
            "login" => Prompt::Login,
            "consent" => Prompt::Consent,
            "select_account" => Prompt::SelectAccount,
            _ => return Err(fail(ErrorCode::InvalidRequest, "unknown prompt value")),
        });
    }
    if prompts.contains(&Prompt::None) && prompts.len() > 1 {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "prompt=none cannot be combined with other values",
        ));
    }
    let max_age = match params.max_age.as_deref() {
        None | Some("") => None,
        Some(v) => Some(v.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| {
            fail(
                ErrorCode::InvalidRequest,
                "max_age must be a number of seconds",
            )
        })?),
    };
    if params.nonce.as_ref().is_some_and(|n| n.len() > 512)
        || params.state.as_ref().is_some_and(|s| s.len() > 2048)
    {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "nonce or state is too long",
        ));
    }
    // The nonce is stored with the code (and PostgreSQL cannot store a NUL).
    if params
        .nonce
        .as_ref()
        .is_some_and(|n| n.chars().any(char::is_control))
    {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "nonce contains a control character",
        ));
    }
    // RFC 8707 §2: an unknown, malformed or unregistered resource is `invalid_target`, returned
    // to the (validated) redirect URI like the other errors of RFC 6749 §4.1.2.1.
    let resources = resources::for_new_grant(
        &client,
        default_audience,
        params.resource.as_deref().filter(|r| !r.is_empty()),
    )
    .map_err(|error| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        error,
    })?;
    Ok(AuthorizeRequest {
        client,
        redirect_uri: redirect_uri.clone(),
        scope,
        state: state.clone(),
        nonce: params.nonce.clone(),
        code_challenge,
        prompts,
        max_age,
        acr: params.acr_values.as_deref().and_then(authn::requested_acr),
        // A hint is a login (at most 254 characters, like the sign-in form's) or nothing: a
        // longer one or one with control characters is dropped, not carried into the flow.
        login_hint: params
            .login_hint
            .clone()
            .filter(|h| h.chars().count() <= 254 && !h.chars().any(char::is_control)),
        resources,
        params,
        fresh_sign_in: false,
        org: None,
    })
}

/// Settles the organisation the grant is made in ([`tenancy::grant_org`]: refused with
/// `access_denied` for a user who is not a member of the client's or the asked organisation;
/// the picker when one must be chosen, at `return_to`, or `interaction_required` under
/// `prompt=none`), then narrows the request to what the signed-in user may grant there
/// ([`grantable`]): the consent page offers, the remembered consent records and the code
/// carries no API scope beyond the user's role. Dropped, not refused: the token response's
/// `scope` tells the client what it got.
pub fn narrow_to_user<S: OAuthStore>(
    store: &S,
    req: &mut AuthorizeRequest,
    current: &CurrentSession,
    return_to: impl FnOnce() -> String,
) -> Result<(), AuthorizeError> {
    let user_id = &current.user.id;
    let chosen = tenancy::grant_org(
        store,
        &req.client,
        current,
        req.params.organization.as_deref(),
    )?;
    req.org = match chosen {
        Ok(GrantOrg::In(org)) => org,
        Ok(GrantOrg::Choose) if req.prompts.contains(&Prompt::None) => {
            return Err(req.fail(
                ErrorCode::InteractionRequired,
                "the user must choose an organization",
            ));
        }
        Ok(GrantOrg::Choose) => {
            return Err(AuthorizeError::ChooseOrganisation {
                return_to: return_to(),
            });
        }
        Err(OrgRefusal::ClientOrg) => {
            return Err(req.fail(
                ErrorCode::AccessDenied,
                "the user is not a member of the organization this client belongs to",
            ));
        }
        Err(OrgRefusal::Asked) => {
            return Err(req.fail(
                ErrorCode::AccessDenied,
                "the user is not a member of the requested organization",
            ));
        }
    };
    let org_id = req.org.as_ref().map(|m| m.org.id.clone());
    req.scope = grantable::for_user(store, user_id, org_id.as_ref(), &req.scope)?;
    Ok(())
}

/// What the endpoint does next.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Send the user to the sign-in page (forced when `reauth`).
    SignIn { reauth: bool },
    /// The session is recent enough but falls short of the request's `acr` or of the user's
    /// organisation MFA requirement ([`meets_authentication`]): step it up (ask only what is
    /// missing), or, under `prompt=none`, answer the client.
    StepUp,
    /// Ask for consent.
    Consent,
    /// Issue the code.
    Issue,
}

/// A sign-in at `auth_time` no longer meets `max_age` (OIDC Core §3.1.2.1): more than
/// `max_age` seconds ago, or at all when `max_age` is 0, which asks for a sign-in made for the
/// request like `prompt=login` (the same second is not fresh enough: times are whole seconds).
pub fn older_than(auth_time: UnixTime, max_age: i64, now: UnixTime) -> bool {
    max_age <= 0 || now - auth_time > max_age
}

/// Whether a sign-in with `amr` may be answered this request: it meets the `acr` asked for and
/// the organisation MFA requirement of the user ([`Factors::allow`]). The one rule both the
/// endpoint ([`next_step`]) and the consent answer apply before a code is issued.
pub fn meets_authentication(req: &AuthorizeRequest, amr: &[String], factors: &Factors) -> bool {
    req.acr.is_none_or(|acr| authn::meets(amr, acr)) && factors.allow(amr)
}

/// OIDC Core §3.1.2.3: sign-in if there is no session, `prompt=login`/`select_account`, or the
/// session is older than `max_age` (unless the user signed in for this request); a step-up if
/// the session falls short of [`meets_authentication`] (`factors`: the signed-in user's);
/// consent unless remembered or the client skips it.
pub fn next_step(
    req: &AuthorizeRequest,
    session: Option<&CurrentSession>,
    factors: &Factors,
    remembered: Option<&Scopes>,
    now: UnixTime,
) -> Result<Step, AuthorizeError> {
    let silent = req.prompts.contains(&Prompt::None);
    let too_old = |s: &CurrentSession| {
        !req.fresh_sign_in
            && req
                .max_age
                .is_some_and(|max| older_than(s.session.auth_time, max, now))
    };
    match session {
        None if silent => {
            return Err(req.fail(ErrorCode::LoginRequired, "the user is not signed in"));
        }
        None => return Ok(Step::SignIn { reauth: false }),
        Some(s) if too_old(s) => {
            if silent {
                return Err(req.fail(
                    ErrorCode::LoginRequired,
                    "the sign-in is older than max_age",
                ));
            }
            return Ok(Step::SignIn { reauth: true });
        }
        Some(_)
            if !req.fresh_sign_in
                && req
                    .prompts
                    .iter()
                    .any(|p| matches!(p, Prompt::Login | Prompt::SelectAccount)) =>
        {
            return Ok(Step::SignIn { reauth: true });
        }
        Some(s) if !meets_authentication(req, &s.session.amr, factors) => {
            return Ok(Step::StepUp);
        }
        Some(_) => {}
    }
    let covered = remembered.is_some_and(|r| req.scope.is_subset(r));
    let needs_consent =
        req.prompts.contains(&Prompt::Consent) || (!req.client.skip_consent && !covered);
    if needs_consent {
        if silent {
            return Err(req.fail(ErrorCode::ConsentRequired, "the user has not consented"));
        }
        return Ok(Step::Consent);
    }
    Ok(Step::Issue)
}

/// Creates the grant and a single-use code bound to client, redirect URI, PKCE challenge and
/// nonce. Families without `offline_access` are bound to the session (`sid`).
pub fn issue_code<S: OAuthStore>(
    store: &S,
    req: &AuthorizeRequest,
    session: &CurrentSession,
    now: UnixTime,
) -> Result<PlainAuthCode, AuthorizeError> {
    // Whatever the caller narrowed already: the grant never holds more than the role allows.
    let org_id = req.org.as_ref().map(|m| m.org.id.clone());
    let scope = grantable::for_user(store, &session.user.id, org_id.as_ref(), &req.scope)?;
    let offline = scope.contains(SCOPE_OFFLINE);
    let grant = Grant {
        id: GrantId::generate(),
        client_id: req.client.id.clone(),
        user_id: Some(session.user.id.clone()),
        sid: (!offline).then(|| session.session.sid.clone()),
        scope: scope.clone(),
        auth_time: session.session.auth_time,
        amr: session.session.amr.clone(),
        created_at: now,
        last_used_at: now,
        expires_at: if offline {
            now + req.client.refresh_absolute_ttl
        } else {
            session.session.expires_at
        },
        revoked_at: None,
        resources: req.resources.clone(),
        org_id,
    };
    store.create_grant(&grant)?;
    let code = PlainAuthCode::new(crypto::random_base62(43));
    store.insert_code(&AuthCode {
        code_hash: code.hash(),
        grant_id: grant.id,
        client_id: req.client.id.clone(),
        redirect_uri: req.redirect_uri.clone(),
        scope,
        nonce: req.nonce.clone(),
        code_challenge: req.code_challenge.clone(),
        resource: req.resources.first().cloned(),
        expires_at: now + CODE_TTL,
        used_at: None,
    })?;
    Ok(code)
}

/// The redirect back to the client (RFC 6749 §4.1.2), always with `iss` (RFC 9207).
pub fn redirect_url(
    redirect_uri: &str,
    issuer: &str,
    pairs: &[(&str, &str)],
    state: Option<&str>,
) -> String {
    let mut url =
        url::Url::parse(redirect_uri).expect("registered redirect URIs are absolute URLs");
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
        if let Some(state) = state {
            q.append_pair("state", state);
        }
        q.append_pair("iss", issuer);
    }
    url.to_string()
}

//! The authorization endpoint's decisions (RFC 6749 §4.1.1, OIDC Core §3.1.2): which requests
//! are trusted enough to redirect, then sign-in, consent or a code.

use super::{NOW, REDIRECT, World, client, session, world};
use crate::credentials::HashedAuthCode;
use crate::mfa::types::Factors;
use crate::oauth::authorize::{
    AuthorizeError, AuthorizeParams, AuthorizeRequest, Step, issue_code, next_step, validate,
};
use crate::oauth::error::ErrorCode;
use crate::oauth::store::{ClientStore, GrantStore};
use crate::oauth::types::SCOPE_OFFLINE;
use crate::scopes::Scopes;
use crate::sessions::types::CurrentSession;

const AUDIENCE: &str = "https://id.example";
const NO_FACTORS: Factors = Factors {
    totp: false,
    passkeys: false,
    org_requires_mfa: false,
};

fn params(scope: &str) -> AuthorizeParams {
    AuthorizeParams {
        response_type: Some("code".into()),
        client_id: Some("mg_client_app".into()),
        redirect_uri: Some(REDIRECT.into()),
        scope: Some(scope.into()),
        state: Some("st4te".into()),
        ..AuthorizeParams::default()
    }
}

fn request(w: &World, params: AuthorizeParams) -> AuthorizeRequest {
    validate(&w.store, params, AUDIENCE).unwrap()
}

fn with_prompt(prompt: &str) -> AuthorizeParams {
    AuthorizeParams {
        prompt: Some(prompt.into()),
        ..params("openid profile")
    }
}

fn signed_in(w: &World) -> CurrentSession {
    session(&w.alice, "sid-1", NOW - 60)
}

/// The error returned to the client, with the request's `state`, at its redirect URI.
fn redirected(result: Result<Step, AuthorizeError>) -> ErrorCode {
    match result {
        Err(AuthorizeError::Redirect {
            redirect_uri,
            state,
            error,
        }) => {
            assert_eq!(redirect_uri, REDIRECT);
            assert_eq!(state.as_deref(), Some("st4te"));
            error.code
        }
        other => panic!("expected a redirected error, got {other:?}"),
    }
}

fn scopes(s: &str) -> Scopes {
    Scopes::parse(s).unwrap()
}

#[test]
fn an_unknown_client_or_unregistered_redirect_is_never_followed() {
    let w = world();
    let evil = AuthorizeParams {
        redirect_uri: Some("https://evil.example/cb".into()),
        ..params("openid")
    };
    let stranger = AuthorizeParams {
        client_id: Some("mg_client_unknown".into()),
        ..params("openid")
    };
    for p in [evil, stranger] {
        assert!(matches!(
            validate(&w.store, p, AUDIENCE),
            Err(AuthorizeError::Page(_))
        ));
    }
}

#[test]
fn a_public_client_must_use_pkce() {
    let w = world();
    let public = crate::oauth::types::Client {
        secret_hash: None,
        ..client("mg_client_spa")
    };
    w.store.create_client(&public).unwrap();
    let p = AuthorizeParams {
        client_id: Some("mg_client_spa".into()),
        ..params("openid")
    };
    let e = validate(&w.store, p.clone(), AUDIENCE).map(|_| Step::Issue);
    assert_eq!(redirected(e), ErrorCode::InvalidRequest);
    let with_pkce = AuthorizeParams {
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        code_challenge_method: Some("S256".into()),
        ..p
    };
    assert!(validate(&w.store, with_pkce, AUDIENCE).is_ok());
}

#[test]
fn the_scope_narrows_to_what_the_client_may_ask() {
    let w = world();
    let req = request(&w, params("openid profile admin"));
    assert_eq!(req.scope, scopes("openid profile"));
}

#[test]
fn without_a_session_the_user_signs_in_unless_prompt_none() {
    let w = world();
    let req = request(&w, params("openid"));
    assert_eq!(
        next_step(&req, None, &NO_FACTORS, None, NOW).unwrap(),
        Step::SignIn { reauth: false }
    );
    let silent = request(&w, with_prompt("none"));
    assert_eq!(
        redirected(next_step(&silent, None, &NO_FACTORS, None, NOW)),
        ErrorCode::LoginRequired
    );
}

#[test]
fn prompt_login_signs_in_again() {
    let w = world();
    let s = signed_in(&w);
    let consented = scopes("openid profile");
    let req = request(&w, with_prompt("login"));
    assert_eq!(
        next_step(&req, Some(&s), &NO_FACTORS, Some(&consented), NOW).unwrap(),
        Step::SignIn { reauth: true }
    );
    let plain = request(&w, params("openid profile"));
    assert_eq!(
        next_step(&plain, Some(&s), &NO_FACTORS, Some(&consented), NOW).unwrap(),
        Step::Issue
    );
}

#[test]
fn a_sign_in_done_for_the_request_meets_prompt_login_and_max_age() {
    let w = world();
    let consented = scopes("openid profile");
    let mut req = request(
        &w,
        AuthorizeParams {
            max_age: Some("0".into()),
            ..with_prompt("login")
        },
    );
    // The same request straight from the browser: sign in again, however recent the session.
    let s = session(&w.alice, "sid-1", NOW - 1);
    assert_eq!(
        next_step(&req, Some(&s), &NO_FACTORS, Some(&consented), NOW).unwrap(),
        Step::SignIn { reauth: true }
    );
    // Resumed from its sign-in flow: the sign-in done for it counts, the clock ticking or not.
    req.fresh_sign_in = true;
    assert_eq!(
        next_step(&req, Some(&s), &NO_FACTORS, Some(&consented), NOW).unwrap(),
        Step::Issue
    );
    // Still no code without a session.
    assert_eq!(
        next_step(&req, None, &NO_FACTORS, None, NOW).unwrap(),
        Step::SignIn { reauth: false }
    );
}

#[test]
fn a_sign_in_older_than_max_age_is_repeated() {
    let w = world();
    let consented = scopes("openid profile");
    let req = request(
        &w,
        AuthorizeParams {
            max_age: Some("300".into()),
            ..params("openid profile")
        },
    );
    let old = session(&w.alice, "sid-old", NOW - 301);
    assert_eq!(
        next_step(&req, Some(&old), &NO_FACTORS, Some(&consented), NOW).unwrap(),
        Step::SignIn { reauth: true }
    );
    let recent = session(&w.alice, "sid-new", NOW - 300);
    assert_eq!(
        next_step(&req, Some(&recent), &NO_FACTORS, Some(&consented), NOW).unwrap(),
        Step::Issue
    );
}

#[test]
fn consent_is_asked_for_scopes_not_yet_consented() {
    let w = world();
    let s = signed_in(&w);
    let req = request(&w, params("openid profile email"));
    assert_eq!(
        next_step(&req, Some(&s), &NO_FACTORS, None, NOW).unwrap(),
        Step::Consent
    );
    assert_eq!(
        next_step(
            &req,
            Some(&s),
            &NO_FACTORS,
            Some(&scopes("openid profile")),
            NOW
        )
        .unwrap(),
        Step::Consent
    );
    assert_eq!(
        next_step(
            &req,
            Some(&s),
            &NO_FACTORS,
            Some(&scopes("openid profile email")),
            NOW
        )
        .unwrap(),
        Step::Issue
    );
}

#[test]
fn prompt_consent_asks_again_and_prompt_none_never_asks() {
    let w = world();
    let s = signed_in(&w);
    let all = scopes("openid profile");
    let again = request(&w, with_prompt("consent"));
    assert_eq!(
        next_step(&again, Some(&s), &NO_FACTORS, Some(&all), NOW).unwrap(),
        Step::Consent
    );
    let silent = request(&w, with_prompt("none"));
    assert_eq!(
        redirected(next_step(&silent, Some(&s), &NO_FACTORS, None, NOW)),
        ErrorCode::ConsentRequired
    );
}

#[test]
fn a_client_that_skips_consent_is_not_asked_for_it() {
    let w = world();
    let first_party = crate::oauth::types::Client {
        skip_consent: true,
        ..client("mg_client_portal")
    };
    w.store.create_client(&first_party).unwrap();
    let req = request(
        &w,
        AuthorizeParams {
            client_id: Some("mg_client_portal".into()),
            ..params("openid profile")
        },
    );
    assert_eq!(
        next_step(&req, Some(&signed_in(&w)), &NO_FACTORS, None, NOW).unwrap(),
        Step::Issue
    );
}

#[test]
fn a_code_is_stored_hashed_and_its_grant_bound_to_the_session() {
    let w = world();
    let s = signed_in(&w);
    let req = request(&w, params("openid profile"));
    let code = issue_code(&w.store, &req, &s, NOW).unwrap();
    let plain_as_key = HashedAuthCode::from_stored(code.expose().to_owned());
    assert!(
        w.store.find_code(&plain_as_key).unwrap().is_none(),
        "only the hash"
    );
    let stored = w.store.find_code(&code.hash()).unwrap().unwrap();
    assert_eq!(stored.redirect_uri, REDIRECT);
    let grant = w.store.find_grant(&stored.grant_id).unwrap().unwrap();
    assert_eq!(grant.sid.as_deref(), Some("sid-1"));
    assert_eq!(grant.expires_at, s.session.expires_at);
}

#[test]
fn an_offline_grant_outlives_the_session() {
    let w = world();
    let s = signed_in(&w);
    let req = request(&w, params("openid offline_access"));
    let code = issue_code(&w.store, &req, &s, NOW).unwrap();
    let stored = w.store.find_code(&code.hash()).unwrap().unwrap();
    assert!(stored.scope.contains(SCOPE_OFFLINE));
    let grant = w.store.find_grant(&stored.grant_id).unwrap().unwrap();
    assert_eq!(grant.sid, None);
    assert_eq!(grant.expires_at, NOW + req.client.refresh_absolute_ttl);
}

#[test]
fn a_code_never_carries_an_api_scope_beyond_the_users_role() {
    let w = world();
    let mut req = request(&w, params("openid read:org write:org"));
    assert_eq!(req.scope, scopes("openid read:org write:org"));
    // The grant is in alice's organisation (her only one).
    req.org = crate::accounts::store::UserStore::memberships(&w.store, &w.alice.id)
        .unwrap()
        .into_iter()
        .next();
    let code = issue_code(&w.store, &req, &signed_in(&w), NOW).unwrap();
    let stored = w.store.find_code(&code.hash()).unwrap().unwrap();
    // Alice is a member: `write:org` is dropped, not refused.
    assert_eq!(stored.scope, scopes("openid read:org"));
}

#[test]
fn a_session_short_of_the_acr_or_the_organisation_requirement_is_stepped_up() {
    let w = world();
    let s = signed_in(&w);
    let all = scopes("openid profile");
    let asks_mfa = request(
        &w,
        AuthorizeParams {
            acr_values: Some("urn:mintgate:acr:mfa".into()),
            ..params("openid profile")
        },
    );
    assert_eq!(asks_mfa.acr, Some(crate::authn::ACR_MFA));
    assert_eq!(
        next_step(&asks_mfa, Some(&s), &NO_FACTORS, Some(&all), NOW).unwrap(),
        Step::StepUp
    );
    let unknown = request(
        &w,
        AuthorizeParams {
            acr_values: Some("urn:other:gold".into()),
            ..params("openid profile")
        },
    );
    assert_eq!(unknown.acr, None, "an unknown acr is ignored");
    assert_eq!(
        next_step(&unknown, Some(&s), &NO_FACTORS, Some(&all), NOW).unwrap(),
        Step::Issue
    );
    let required = Factors {
        org_requires_mfa: true,
        ..NO_FACTORS
    };
    let plain = request(&w, params("openid profile"));
    assert_eq!(
        next_step(&plain, Some(&s), &required, Some(&all), NOW).unwrap(),
        Step::StepUp
    );
    let mut mfa = signed_in(&w);
    mfa.session.amr = vec!["pwd".into(), "otp".into(), "mfa".into()];
    assert_eq!(
        next_step(&asks_mfa, Some(&mfa), &required, Some(&all), NOW).unwrap(),
        Step::Issue
    );
}

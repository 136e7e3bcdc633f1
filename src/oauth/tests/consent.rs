//! The consent service (`consent.rs`): what a browser's authorization request leads to, the
//! consent answer remembered per user and client, and its revocation from the account page.

use std::collections::HashMap;

use super::{NOW, REDIRECT, World, session, world};
use crate::clock::ManualClock;
use crate::credentials::PlainAuthCode;
use crate::flows::store::FlowStore;
use crate::flows::types::Resume;
use crate::oauth::authorize::{AuthorizeError, AuthorizeParams};
use crate::oauth::consent::{self, ConsentAnswer, ConsentError, Next};
use crate::oauth::error::ErrorCode;
use crate::oauth::store::{ConsentStore, GrantStore};
use crate::scopes::Scopes;
use crate::sessions::types::CurrentSession;

const ISSUER: &str = "https://id.example";
const AUDIENCE: &str = "https://id.example";
const CLIENT: &str = "mg_client_app";

fn params(scope: &str) -> AuthorizeParams {
    AuthorizeParams {
        response_type: Some("code".into()),
        client_id: Some(CLIENT.into()),
        redirect_uri: Some(REDIRECT.into()),
        scope: Some(scope.into()),
        state: Some("st4te".into()),
        ..AuthorizeParams::default()
    }
}

fn scopes(s: &str) -> Scopes {
    Scopes::parse(s).unwrap()
}

fn signed_in(w: &World) -> CurrentSession {
    session(&w.alice, "sid-1", NOW - 60)
}

fn begin(w: &World, params: AuthorizeParams, s: Option<&CurrentSession>) -> Next {
    consent::begin(
        &w.store,
        &ManualClock::new(NOW),
        ISSUER,
        AUDIENCE,
        params,
        s,
        None,
    )
    .unwrap()
}

fn answer(w: &World, scope: &str, allow: bool, s: &CurrentSession) -> Result<String, ConsentError> {
    let answer = ConsentAnswer {
        params: params(scope),
        allow,
        flow: None,
    };
    consent::answer(
        &w.store,
        &ManualClock::new(NOW),
        ISSUER,
        AUDIENCE,
        answer,
        s,
    )
}

/// The query of a redirect to the client.
fn query(to: &str) -> HashMap<String, String> {
    assert!(to.starts_with(REDIRECT), "{to}");
    url::Url::parse(to)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn remembered(w: &World) -> Option<Scopes> {
    w.store.find_consent(&w.alice.id, &CLIENT.into()).unwrap()
}

#[test]
fn signed_out_the_request_waits_whole_in_a_sign_in_flow() {
    let w = world();
    let asked = AuthorizeParams {
        prompt: Some("login".into()),
        max_age: Some("0".into()),
        login_hint: Some("alice".into()),
        ..params("openid")
    };
    match begin(&w, asked, None) {
        Next::SignIn {
            flow,
            reauth,
            login_hint,
        } => {
            assert!(!reauth);
            assert_eq!(login_hint.as_deref(), Some("alice"));
            let stored = w.store.find_flow(&flow.hash()).unwrap().expect("stored");
            assert_eq!(stored.requirement.max_age, Some(0));
            assert!(stored.requirement.force_login, "prompt=login is recorded");
            let Resume::Authorize(json) = &stored.resume else {
                panic!("an authorization request to resume");
            };
            // Kept whole: prompt and max_age are met by the flow, not stripped.
            let params: AuthorizeParams = serde_json::from_str(json).unwrap();
            assert_eq!(
                (params.prompt.as_deref(), params.max_age.as_deref()),
                (Some("login"), Some("0"))
            );
            assert_eq!(params.client_id.as_deref(), Some(CLIENT));
            assert_eq!(params.login_hint.as_deref(), Some("alice"));
            // Not signed in for it yet: nothing to resume.
            let s = signed_in(&w);
            assert!(matches!(
                consent::resume(
                    &w.store,
                    &ManualClock::new(NOW),
                    ISSUER,
                    AUDIENCE,
                    &flow,
                    &s,
                    None,
                )
                .unwrap(),
                consent::Resumed::NotYet
            ));
        }
        other => panic!("expected sign-in, got {other:?}"),
    }
}

#[test]
fn the_consent_page_offers_only_what_the_user_may_grant() {
    let w = world();
    let s = signed_in(&w);
    match begin(&w, params("openid read:org write:org"), Some(&s)) {
        // alice is a member: write:org is not hers to grant.
        Next::Consent(request) => assert_eq!(request.scope, scopes("openid read:org")),
        other => panic!("expected the consent page, got {other:?}"),
    }
}

#[test]
fn allowing_remembers_the_consent_adds_to_it_and_issues_a_code() {
    let w = world();
    let s = signed_in(&w);
    let q = query(&answer(&w, "openid", true, &s).unwrap());
    assert!(q.contains_key("code"));
    assert_eq!(q["state"], "st4te");
    assert_eq!(q["iss"], ISSUER);
    assert_eq!(remembered(&w), Some(scopes("openid")));
    answer(&w, "profile write:org", true, &s).unwrap();
    assert_eq!(remembered(&w), Some(scopes("openid profile")));
    // Covered by the remembered consent: straight back with a code.
    match begin(&w, params("openid profile"), Some(&s)) {
        Next::Redirect(to) => assert!(query(&to).contains_key("code")),
        other => panic!("expected a code, got {other:?}"),
    }
}

#[test]
fn denying_remembers_nothing_and_tells_the_client() {
    let w = world();
    let s = signed_in(&w);
    match answer(&w, "openid", false, &s) {
        Err(ConsentError::Authorize(AuthorizeError::Redirect {
            redirect_uri,
            state,
            error,
        })) => {
            assert_eq!(redirect_uri, REDIRECT);
            assert_eq!(state.as_deref(), Some("st4te"));
            assert_eq!(error.code, ErrorCode::AccessDenied);
        }
        other => panic!("expected access_denied, got {other:?}"),
    }
    assert_eq!(remembered(&w), None);
}

#[test]
fn revoking_forgets_the_consent_and_ends_the_clients_grants() {
    let w = world();
    let s = signed_in(&w);
    let code = query(&answer(&w, "openid", true, &s).unwrap())["code"].clone();
    let grant_id = w
        .store
        .find_code(&PlainAuthCode::new(code).hash())
        .unwrap()
        .unwrap()
        .grant_id;
    let clock = ManualClock::new(NOW);
    // An id no client can have names nothing.
    consent::revoke(&w.store, &clock, &w.alice.id, &"a\u{0}".into()).unwrap();
    assert!(remembered(&w).is_some());
    consent::revoke(&w.store, &clock, &w.alice.id, &CLIENT.into()).unwrap();
    assert_eq!(remembered(&w), None);
    let grant = w.store.find_grant(&grant_id).unwrap().unwrap();
    assert!(grant.revoked_at.is_some());
}

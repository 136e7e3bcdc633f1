//! What an organisation's IdP and an organisation's SSO requirement reach (issue #11, found by
//! attacking the running server): a federated sign-in acts only in the organisation of its
//! connection, an account linked to an IdP stays in that organisation, a disabled connection
//! ends the sign-ins it let in, and requiring SSO holds for sessions and grants already live.

use serde_json::json;

use crate::both;
use crate::helpers::*;
use crate::oauth_support::*;
use crate::sso_idp_support::{account, connect, sso_sign_in, verify_domain};
use mintgate::accounts::service::AccountError;
use mintgate::accounts::types::Role;
use mintgate::accounts::{members, service};

both!(
    an_account_in_other_organisations_is_not_linked,
    a_linked_account_cannot_join_another_organisation,
    a_disabled_connection_ends_its_sign_ins,
    requiring_sso_ends_what_a_password_session_reaches
);

const PW: &str = "correct horse battery";

/// bob is in `default` (the connection's organisation) and in Beta: an IdP of `default` must
/// not sign him in, since the session could act in Beta (or enrol credentials that do).
async fn an_account_in_other_organisations_is_not_linked(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("bob", PW).await;
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        let (s, c, m) = (&state.store, state.clock.as_ref(), &Default::default());
        service::create_org(s, c, "Beta").unwrap();
        members::add_member(s, c, "beta", "bob", Role::Owner, m).unwrap();
    })
    .await
    .unwrap();
    let accounts = json!({ "bob@example.com": account("idp-bob", "bob@example.com", true, &[]) });
    let Some(sso) = connect(&app, accounts).await else {
        return;
    };
    verify_domain(&app, &sso.org, "example.com").await;
    let b = new_client();
    let (status, page) = sso_sign_in(&app, &b, &sso, "bob@example.com").await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("other organisations"), "{page}");
    assert!(app.account_page_with(&b).await.is_none(), "not signed in");
}

/// Once linked through `default`'s connection, the account cannot be added to Beta.
async fn a_linked_account_cannot_join_another_organisation(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("bob", PW).await;
    let accounts = json!({ "bob@example.com": account("idp-bob", "bob@example.com", true, &[]) });
    let Some(sso) = connect(&app, accounts).await else {
        return;
    };
    verify_domain(&app, &sso.org, "example.com").await;
    let (status, _) = sso_sign_in(&app, &new_client(), &sso, "bob@example.com").await;
    assert_eq!(status, 303, "linked");
    let state = app.state.clone();
    let added = tokio::task::spawn_blocking(move || {
        let (s, c, m) = (&state.store, state.clock.as_ref(), &Default::default());
        service::create_org(s, c, "Beta").unwrap();
        members::add_member(s, c, "beta", "bob", Role::Member, m)
    })
    .await
    .unwrap();
    assert!(
        matches!(added, Err(AccountError::ManagedElsewhere)),
        "{added:?}"
    );
}

async fn a_disabled_connection_ends_its_sign_ins(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let accounts = json!({ "alice@acme.test": account("idp-alice", "alice@acme.test", true, &[]) });
    let Some(sso) = connect(&app, accounts).await else {
        return;
    };
    let b = new_client();
    let (status, _) = sso_sign_in(&app, &b, &sso, "alice@acme.test").await;
    assert_eq!(status, 303);
    assert!(app.account_page_with(&b).await.is_some(), "signed in");
    let (state, org, id) = (app.state.clone(), sso.org.clone(), sso.connection.clone());
    tokio::task::spawn_blocking(move || {
        mintgate::federation::connections::set_enabled(
            &state.store,
            state.clock.as_ref(),
            &org,
            &id,
            false,
            None,
            &Default::default(),
        )
        .unwrap();
    })
    .await
    .unwrap();
    assert!(
        app.account_page_with(&b).await.is_none(),
        "the session ended"
    );
}

/// carol (member of `default` and of Beta, not an owner) signs in with her password and gets a
/// refresh token in Beta; then Beta requires SSO. Her session no longer acts in Beta, cannot
/// switch or authorize into it, and the refresh token is refused.
async fn requiring_sso_ends_what_a_password_session_reaches(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("carol", PW).await;
    let state = app.state.clone();
    let beta = tokio::task::spawn_blocking(move || {
        let (s, c, m) = (&state.store, state.clock.as_ref(), &Default::default());
        let beta = service::create_org(s, c, "Beta").unwrap();
        members::add_member(s, c, "beta", "carol", Role::Admin, m).unwrap();
        beta
    })
    .await
    .unwrap();
    let mut spec = client_spec("tenant app");
    spec.skip_consent = true;
    spec.grant_types = vec!["authorization_code".into(), "refresh_token".into()];
    let client = register(&app, spec).await;
    let b = new_client();
    app.post_login_with(&b, "carol", PW, None).await;
    let url = auth_url(&app, &client.id, &[("organization", "Beta")]);
    let to = first_stop(&b, &url).await;
    let tokens = redeem_code(&app, &client, &to).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    let (state, id) = (app.state.clone(), beta.id.clone());
    tokio::task::spawn_blocking(move || {
        mintgate::federation::policy::set_require_sso(
            &state.store,
            state.clock.as_ref(),
            &id,
            "Beta",
            true,
            None,
            &Default::default(),
        )
        .unwrap();
    })
    .await
    .unwrap();

    let page = app.account_page_with(&b).await.expect("still signed in");
    assert!(!page.contains("id=\"active-org-banner\">Beta"), "{page}");
    let to = first_stop(&b, &url).await;
    assert!(to.contains("error=access_denied"), "{to}");
    let (status, body) = post_form(
        &app,
        "/oauth/token",
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
}

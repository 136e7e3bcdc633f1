//! Upstream OpenID Connect sign-in against an independent OpenID Provider (`oidc-provider`):
//! JIT provisioning, linking, IdP groups, and the refusals, which create or link nothing.

use serde_json::json;

use crate::both;
use crate::helpers::{Backend, audit_kinds, new_client, spawn_app};
use crate::mfa_support::require_mfa;
use crate::sso_idp_support::{
    account, answer, connect, from_login, groups_of, org_named, sso_sign_in, to_callback,
    users_with_email, verify_domain,
};

both!(
    first_sign_in_creates_the_user_and_the_second_links_to_it,
    an_existing_member_is_linked_by_verified_email,
    an_unverified_email_is_refused,
    a_domain_of_another_organisation_is_refused,
    a_bad_or_replayed_state_is_refused,
    access_denied_at_the_idp_is_refused,
    mfa_policy_applies_to_sso_sign_ins,
);

async fn first_sign_in_creates_the_user_and_the_second_links_to_it(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let accounts = json!({
        "alice@acme.test": account("idp-alice", "alice@acme.test", true, &["Engineering", "admins"]),
    });
    let Some(sso) = connect(&app, accounts).await else {
        return;
    };
    // A group made by hand with a name the IdP also sends: the IdP does not grant it.
    let (state, org) = (app.state.clone(), sso.org.clone());
    tokio::task::spawn_blocking(move || {
        mintgate::accounts::store::UserStore::create_group(&state.store, &org, "admins", 0).unwrap()
    })
    .await
    .unwrap();

    // From the sign-in page: the e-mail's domain routes to the connection.
    let b = new_client();
    let callback = from_login(&app, &b, "alice@acme.test").await;
    let (status, to) = answer(&b, &callback).await;
    assert_eq!((status, to.as_str()), (303, "/account"));
    let page = app.account_page_with(&b).await.expect("signed in");
    assert!(page.contains("alice"), "{page}");
    assert!(
        page.contains("default"),
        "the organisation is shown: {page}"
    );
    let users = users_with_email(&app, "alice@acme.test").await;
    assert_eq!(users.len(), 1, "one user created");
    let alice = users[0].clone();
    assert_eq!(groups_of(&app, &alice.id, &sso.org).await, ["Engineering"]);
    let kinds = audit_kinds(&app).await;
    assert!(kinds.contains(&"sso.user.created".to_owned()), "{kinds:?}");
    assert!(kinds.contains(&"sso.signin".to_owned()), "{kinds:?}");

    // A second sign-in, from another browser: the same user, linked by (connection, sub).
    let b2 = new_client();
    let (status, to) = sso_sign_in(&app, &b2, &sso, "alice@acme.test").await;
    assert_eq!((status, to.as_str()), (303, "/account"));
    let users = users_with_email(&app, "alice@acme.test").await;
    assert_eq!(users.len(), 1, "no second user");
    assert_eq!(users[0].id, alice.id);
    let created = audit_kinds(&app)
        .await
        .iter()
        .filter(|k| *k == "sso.user.created")
        .count();
    assert_eq!(created, 1);
}

async fn an_existing_member_is_linked_by_verified_email(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let bob = app.create_user("bob", "bob's long password").await;
    // `create_user` gives bob@example.com; the IdP says bob@acme.test: make them match.
    let accounts = json!({ "bob@example.com": account("idp-bob", "bob@example.com", true, &[]) });
    let Some(sso) = connect(&app, accounts).await else {
        return;
    };
    verify_domain(&app, &sso.org, "example.com").await;
    let b = new_client();
    let (status, to) = sso_sign_in(&app, &b, &sso, "bob@example.com").await;
    assert_eq!((status, to.as_str()), (303, "/account"));
    let users = users_with_email(&app, "bob@example.com").await;
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].id, bob.id, "linked, not created");
    let kinds = audit_kinds(&app).await;
    assert!(kinds.contains(&"sso.user.linked".to_owned()), "{kinds:?}");
    assert!(!kinds.contains(&"sso.user.created".to_owned()), "{kinds:?}");
}

async fn an_unverified_email_is_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let accounts = json!({ "eve@acme.test": account("idp-eve", "eve@acme.test", false, &[]) });
    let Some(sso) = connect(&app, accounts).await else {
        return;
    };
    let b = new_client();
    let (status, page) = sso_sign_in(&app, &b, &sso, "eve@acme.test").await;
    assert_eq!(status, 403);
    assert!(page.contains("not verified"), "{page}");
    assert!(users_with_email(&app, "eve@acme.test").await.is_empty());
    assert!(app.account_page_with(&b).await.is_none(), "not signed in");
    assert!(audit_kinds(&app).await.contains(&"sso.refused".to_owned()));
}

async fn a_domain_of_another_organisation_is_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let other = org_named(&app, "Other Org").await;
    verify_domain(&app, &other, "other.test").await;
    let accounts = json!({
        "mallory@other.test": account("idp-mallory", "mallory@other.test", true, &[]),
        "nobody@unclaimed.test": account("idp-nobody", "nobody@unclaimed.test", true, &[]),
    });
    let Some(sso) = connect(&app, accounts).await else {
        return;
    };
    for email in ["mallory@other.test", "nobody@unclaimed.test"] {
        let b = new_client();
        let (status, page) = sso_sign_in(&app, &b, &sso, email).await;
        assert_eq!(status, 403, "{email}");
        assert!(page.contains("domain does not belong"), "{page}");
        assert!(users_with_email(&app, email).await.is_empty(), "{email}");
    }
}

async fn a_bad_or_replayed_state_is_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let accounts = json!({ "alice@acme.test": account("idp-alice", "alice@acme.test", true, &[]) });
    let Some(sso) = connect(&app, accounts).await else {
        return;
    };
    let b = new_client();
    let callback = to_callback(&app, &b, &sso.start_path("alice@acme.test")).await;
    let mut url = url::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                format!("{v}x")
            } else {
                v.into()
            };
            (k.into(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(&pairs);
    let (status, _) = answer(&b, url.as_str()).await;
    assert_eq!(status, 400, "a state that does not match");
    assert!(users_with_email(&app, "alice@acme.test").await.is_empty());
    // Another browser (no flow cookie) with the genuine callback URL.
    let (status, _) = answer(&new_client(), &callback).await;
    assert_eq!(status, 400, "not the browser that started");
    // The genuine callback once, then replayed.
    let (status, _) = answer(&b, &callback).await;
    assert_eq!(status, 303);
    let (status, _) = answer(&b, &callback).await;
    assert_eq!(status, 400, "a state is single use");
    assert_eq!(users_with_email(&app, "alice@acme.test").await.len(), 1);
}

async fn access_denied_at_the_idp_is_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let accounts = json!({ "alice@acme.test": account("idp-alice", "alice@acme.test", true, &[]) });
    let Some(sso) = connect(&app, accounts).await else {
        return;
    };
    let b = new_client();
    let (status, page) = sso_sign_in(&app, &b, &sso, "deny").await;
    assert_eq!(status, 403);
    assert!(page.contains("access_denied"), "{page}");
    assert!(app.account_page_with(&b).await.is_none());
    assert!(audit_kinds(&app).await.contains(&"sso.refused".to_owned()));
}

async fn mfa_policy_applies_to_sso_sign_ins(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let accounts = json!({ "alice@acme.test": account("idp-alice", "alice@acme.test", true, &[]) });
    let Some(sso) = connect(&app, accounts).await else {
        return;
    };
    require_mfa(&app, true).await;
    let b = new_client();
    let (status, to) = sso_sign_in(&app, &b, &sso, "alice@acme.test").await;
    assert_eq!(
        (status, to.as_str()),
        (303, "/settings/security"),
        "the organisation's second factor is enrolled first"
    );
}

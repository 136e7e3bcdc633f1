//! Upstream OIDC sign-in hardening: the start only from a CSRF-checked POST (login CSRF), every
//! discovered endpoint under the issuer's https rule, converging JIT provisioning under
//! concurrent callbacks, and e-mail / connection input normalised or refused.

use mintgate::federation::connections::{self, MappingOverrides, NewOidc};
use mintgate::federation::store::ExternalIdentityStore;
use secrecy::SecretString;
use serde_json::json;

use crate::both;
use crate::helpers::*;
use crate::sso_idp_support::{
    account, answer, connect, continue_page, default_org, sso_sign_in, to_callback,
    users_with_email, verify_domain,
};
use crate::sso_support::{add_connection, spawn_discovery};

both!(
    a_cross_site_get_start_never_redirects_to_the_idp,
    discovered_endpoints_over_plain_http_are_refused,
    concurrent_first_sign_ins_converge_on_one_user,
    a_trailing_dot_in_the_email_domain_links_the_same_user,
    bad_issuers_and_empty_claim_names_are_refused,
);

async fn a_cross_site_get_start_never_redirects_to_the_idp(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let org = default_org(&app).await;
    let issuer = spawn_discovery("{issuer}/token");
    let c = add_connection(&app, &org, &issuer).await;
    let start = app.url(&format!("/auth/oidc/{}/start?return_to=/account", c.id));
    // A link from another site: a page with the "Continue" form, nothing begun.
    let b = new_client();
    let res = b.get(&start).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        !set_cookies(res.headers())
            .iter()
            .any(|c| c.starts_with("mg_flow=")),
        "no sign-in flow (no ceremony) stored"
    );
    let page = res.text().await.unwrap();
    assert!(page.contains("Continue to sign in with"), "{page}");
    assert!(!page.contains("/authorize"), "{page}");
    let post = start.split('?').next().unwrap();
    // A cross-site POST has no valid token: refused.
    for token in ["", "forged"] {
        let res = new_client()
            .post(post)
            .form(&[("csrf", token), ("return_to", "/account")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "token {token:?}");
    }
    // The page's own form: on to the IdP, the flow's cookie set.
    let res = continue_page(&b, &start, &page).await;
    assert_eq!(res.status(), 303);
    assert!(location(res.headers()).starts_with(&format!("{issuer}/authorize?")));
    assert!(
        set_cookies(res.headers())
            .iter()
            .any(|c| c.starts_with("mg_flow="))
    );
}

async fn discovered_endpoints_over_plain_http_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let org = default_org(&app).await;
    // The issuer is loopback http, but its token endpoint would carry the client secret over
    // plain http to another host.
    let issuer = spawn_discovery("http://idp.example.com/token");
    let c = add_connection(&app, &org, &issuer).await;
    let b = new_client();
    let start = app.url(&format!("/auth/oidc/{}/start", c.id));
    let page = b.get(&start).send().await.unwrap().text().await.unwrap();
    let res = continue_page(&b, &start, &page).await;
    assert_eq!(res.status(), 502);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("cannot be reached or is misconfigured"),
        "{page}"
    );
    assert!(!page.contains("idp.example.com"), "no fetched URL: {page}");
    assert!(!page.contains("127.0.0.1"), "no fetched URL: {page}");
}

async fn concurrent_first_sign_ins_converge_on_one_user(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let accounts =
        json!({ "carol@acme.test": account("idp-carol", "carol@acme.test", true, &["eng"]) });
    let Some(sso) = connect(&app, accounts).await else {
        return;
    };
    // Six browsers, each with its own flow and state, back at the callback together.
    let mut pending = Vec::new();
    for _ in 0..6 {
        let b = new_client();
        let callback = to_callback(&app, &b, &sso.start_path("carol@acme.test")).await;
        pending.push((b, callback));
    }
    let answers = futures::future::join_all(pending.iter().map(|(b, url)| answer(b, url))).await;
    for (status, page) in &answers {
        assert!(
            *status == 303 || *status == 403 || *status == 409,
            "{status}: {page}"
        );
    }
    assert!(answers.iter().any(|(s, _)| *s == 303), "{answers:?}");
    let users = users_with_email(&app, "carol@acme.test").await;
    assert_eq!(users.len(), 1, "one user, no orphan: {users:?}");
    let now = mintgate::clock::Clock::now(&app.clock);
    let (state, conn) = (app.state.clone(), sso.connection.clone());
    let linked = tokio::task::spawn_blocking(move || {
        state.store.find_external(&conn, "idp-carol", now).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(linked, Some(users[0].id.clone()), "one link, to that user");
}

async fn a_trailing_dot_in_the_email_domain_links_the_same_user(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let bob = app.create_user("bob", "bob's long password").await;
    // `create_user` gives bob@example.com; the IdP says `Bob@example.com.`.
    let accounts = json!({ "bob@example.com": account("idp-bob", "Bob@example.com.", true, &[]) });
    let Some(sso) = connect(&app, accounts).await else {
        return;
    };
    verify_domain(&app, &sso.org, "example.com").await;
    let b = new_client();
    let (status, to) = sso_sign_in(&app, &b, &sso, "bob@example.com").await;
    assert_eq!((status, to.as_str()), (303, "/account"), "{to}");
    let users = users_with_email(&app, "bob@example.com").await;
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].id, bob.id, "linked, not a second user");
    assert!(users_with_email(&app, "bob@example.com.").await.is_empty());
}

async fn bad_issuers_and_empty_claim_names_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let org = default_org(&app).await;
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        let add = |issuer: &str, overrides: MappingOverrides| {
            let input = NewOidc {
                name: None,
                issuer: issuer.to_owned(),
                client_id: "mintgate".into(),
                client_secret: Some(SecretString::from("upstream secret")),
                preset: Default::default(),
                overrides,
            };
            connections::add_oidc(
                &state.store,
                &state.secrets,
                state.clock.as_ref(),
                &org,
                input,
                None,
                &Default::default(),
            )
        };
        for issuer in [
            "https://idp.example.com\r\nX-Evil: 1",
            "https://idp.example.com/\n",
            "https://idp.exa mple.com",
        ] {
            assert!(add(issuer, Default::default()).is_err(), "{issuer:?}");
        }
        let empty = MappingOverrides {
            email: Some(String::new()),
            ..Default::default()
        };
        assert!(
            add("https://idp.example.com", empty).is_err(),
            "empty claim"
        );
        assert!(add("https://idp.example.com", Default::default()).is_ok());
    })
    .await
    .unwrap();
}

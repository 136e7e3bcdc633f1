//! Upstream OIDC rules over time: a linked identity signs in only while its user is a member
//! of the connection's organisation and not disabled; a disabled connection starts nothing.

use serde_json::json;

use crate::both;
use crate::helpers::{Backend, audit_kinds, new_client, spawn_app};
use crate::sso_idp_support::{
    account, answer, connect, sso_sign_in, to_callback, users_with_email,
};

both!(
    a_linked_user_signs_in_only_while_a_member_and_enabled,
    a_disabled_connection_starts_nothing,
    a_response_from_another_issuer_is_refused
);

/// RFC 9207: `oidc-provider` sends `iss` with its authorization response; another value is a
/// mix-up and is refused.
async fn a_response_from_another_issuer_is_refused(backend: Backend) {
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
            let v = if k == "iss" {
                "https://evil.example".into()
            } else {
                v.into()
            };
            (k.into(), v)
        })
        .collect();
    assert!(pairs.iter().any(|(k, _)| k == "iss"), "{callback}");
    url.query_pairs_mut().clear().extend_pairs(&pairs);
    let (status, page) = answer(&b, url.as_str()).await;
    assert_eq!(status, 403, "{page}");
    assert!(users_with_email(&app, "alice@acme.test").await.is_empty());
}

async fn a_linked_user_signs_in_only_while_a_member_and_enabled(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let accounts = json!({
        "alice@acme.test": account("idp-alice", "alice@acme.test", true, &[]),
        "bob@acme.test": account("idp-bob", "bob@acme.test", true, &[]),
    });
    let Some(sso) = connect(&app, accounts).await else {
        return;
    };
    for who in ["alice@acme.test", "bob@acme.test"] {
        let (status, _) = sso_sign_in(&app, &new_client(), &sso, who).await;
        assert_eq!(status, 303, "{who} signs in");
    }
    let alice = users_with_email(&app, "alice@acme.test").await.remove(0);
    let bob = users_with_email(&app, "bob@acme.test").await.remove(0);
    let (state, org) = (app.state.clone(), sso.org.clone());
    tokio::task::spawn_blocking(move || {
        use mintgate::accounts::store::UserStore;
        let membership = state
            .store
            .memberships(&alice.id)
            .unwrap()
            .into_iter()
            .find(|m| m.org.id == org)
            .unwrap();
        let clock = state.clock.as_ref();
        let meta = Default::default();
        mintgate::deprovision::service::remove_from_org(
            &state.store,
            clock,
            &membership.org,
            &alice,
            None,
            &meta,
        )
        .unwrap();
        mintgate::deprovision::service::disable(&state.store, clock, &bob, None, &meta).unwrap();
    })
    .await
    .unwrap();
    let (status, page) = sso_sign_in(&app, &new_client(), &sso, "alice@acme.test").await;
    assert_eq!(status, 403);
    // Removed from its home organisation, a managed account is also disabled: either refusal.
    assert!(
        page.contains("no longer a member") || page.contains("disabled"),
        "{page}"
    );
    let (status, page) = sso_sign_in(&app, &new_client(), &sso, "bob@acme.test").await;
    assert_eq!(status, 403);
    assert!(page.contains("disabled"), "{page}");
    assert_eq!(
        users_with_email(&app, "alice@acme.test").await.len(),
        1,
        "nobody new"
    );
    let refused = audit_kinds(&app)
        .await
        .iter()
        .filter(|k| *k == "sso.refused")
        .count();
    assert_eq!(refused, 2);
}

async fn a_disabled_connection_starts_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let accounts = json!({ "alice@acme.test": account("idp-alice", "alice@acme.test", true, &[]) });
    let Some(sso) = connect(&app, accounts).await else {
        return;
    };
    let (state, org, id) = (app.state.clone(), sso.org.clone(), sso.connection.clone());
    let now = mintgate::clock::Clock::now(&app.clock);
    tokio::task::spawn_blocking(move || {
        use mintgate::federation::store::ConnectionStore;
        assert!(
            state
                .store
                .set_connection_enabled(&org, &id, false, now)
                .unwrap()
        );
    })
    .await
    .unwrap();
    let res = new_client()
        .get(app.url(&sso.start_path("alice@acme.test")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = new_client()
        .get(app.url(&format!(
            "/auth/oidc/{}/callback?code=x&state=y",
            sso.connection.as_str()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

//! Deprovisioning: removal from an organisation ends what is bound to it (a session acting in
//! it, a refresh family issued for it, the user's API keys there) at once and on every
//! instance, and nothing else; disabling ends everything, and enabling brings none of it back.

use mintgate::clock::Clock;

use crate::access_support::{key_in, key_works, refresh_token, refreshes};
use crate::both;
use crate::helpers::*;
use crate::mfa_support::{confirm_totp, start_totp, totp_key};
use crate::oauth_support::{client_spec, register};

const PASSWORD: &str = "rita-password-1";

/// Creates the organisation `name` and makes `user` a member.
async fn join_new_org(app: &TestApp, name: &str, user: &mintgate::accounts::types::User) -> String {
    let state = app.state.clone();
    let (name, user) = (name.to_owned(), user.id.clone());
    tokio::task::spawn_blocking(move || {
        use mintgate::accounts::store::UserStore;
        let clock = state.clock.as_ref();
        let org = mintgate::accounts::service::create_org(&state.store, clock, &name).unwrap();
        let role = mintgate::accounts::types::Role::Member;
        state
            .store
            .add_membership(&org.id, &user, role, clock.now())
            .unwrap();
        org.id.into_string()
    })
    .await
    .unwrap()
}

/// An API key of `owner` in the organisation `org`: its secret.
async fn removal_from_an_org_ends_what_is_bound_to_it(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let clock = mintgate::clock::ManualClock::starting_now();
    let a = spawn_on(&db, clock.clone(), |_| {}).await;
    let b = spawn_on(&db, clock.clone(), |_| {}).await;
    let rita = a.create_user("rita", PASSWORD).await;
    join_new_org(&a, "acme", &rita).await;
    let mut spec = client_spec("rp");
    spec.skip_consent = true;
    let client = register(&a, spec).await;

    // A session acting in acme with a refresh family issued there, and one in default.
    let in_acme = signed_in(&a, "rita", PASSWORD).await;
    // The `organization` parameter makes each session act where its grant is issued.
    let acme_refresh = refresh_token(&a, &in_acme, &client, "acme").await;
    let in_default = signed_in(&a, "rita", PASSWORD).await;
    let default_refresh = refresh_token(&a, &in_default, &client, "default").await;
    let acme_key = key_in(&a, "acme", &rita.id).await;
    let default_key = key_in(&a, "default", &rita.id).await;
    assert!(b.account_page_with(&in_acme).await.is_some());
    assert!(refreshes(&b, &client, &acme_refresh).await);
    assert!(key_works(&b, &acme_key).await);

    let ended = a.remove_member("acme", "rita").await;
    assert_eq!(
        (ended.sessions, ended.grants, ended.api_keys),
        (1, 1, 1),
        "{ended:?}"
    );
    assert!(!ended.disabled);

    // Ended at once, seen from the other instance too.
    assert!(
        b.account_page_with(&in_acme).await.is_none(),
        "acme session ended"
    );
    assert!(
        !refreshes(&b, &client, &acme_refresh).await,
        "acme family ended"
    );
    assert!(!key_works(&b, &acme_key).await, "acme key revoked");
    // What is bound to the other organisation lives on.
    assert!(b.account_page_with(&in_default).await.is_some());
    assert!(refreshes(&b, &client, &default_refresh).await);
    assert!(key_works(&b, &default_key).await);
    assert!(
        audit_kinds(&a)
            .await
            .contains(&"membership.removed".to_owned())
    );
}

async fn disabling_ends_everything_and_enabling_brings_nothing_back(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let rita = app.create_user("rita", PASSWORD).await;
    let mut spec = client_spec("rp");
    spec.skip_consent = true;
    let client = register(&app, spec).await;
    let browser = signed_in(&app, "rita", PASSWORD).await;
    let refresh = refresh_token(&app, &browser, &client, "default").await;
    let key = key_in(&app, "default", &rita.id).await;
    assert!(key_works(&app, &key).await);

    let ended = app.disable_user("rita").await;
    assert_eq!(
        (ended.sessions, ended.grants, ended.api_keys),
        (1, 1, 1),
        "{ended:?}"
    );
    assert!(app.account_page_with(&browser).await.is_none());

    app.enable_user("rita").await;
    assert!(
        app.account_page_with(&browser).await.is_none(),
        "old cookie refused"
    );
    assert!(
        !refreshes(&app, &client, &refresh).await,
        "old refresh token refused"
    );
    assert!(!key_works(&app, &key).await, "old API key refused");
    // The account itself works again: a fresh sign-in.
    let again = signed_in(&app, "rita", PASSWORD).await;
    assert!(app.account_page_with(&again).await.is_some());
    let kinds = audit_kinds(&app).await;
    assert!(
        kinds.contains(&"user.disabled".to_owned()) && kinds.contains(&"user.enabled".to_owned())
    );
}

async fn disabling_ends_a_pending_sign_in(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("rita", PASSWORD).await;
    let enrolled = signed_in(&app, "rita", PASSWORD).await;
    let (_, page) = start_totp(&app, &enrolled).await;
    let seed = totp_key(&page);
    let (status, page) = confirm_totp(&app, &enrolled, &seed.code_at(app.clock.now())).await;
    assert_eq!(status, 200, "{page}");
    app.clock.advance(30);

    // The password is accepted; the flow waits for the second factor.
    let b = new_client();
    let res = app.post_login_with(&b, "rita", PASSWORD, None).await;
    assert_eq!(res.status(), 303);
    let page = b.get(app.url("/login/factor")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    let (csrf, flow) = (
        form_value(&page, "csrf").unwrap(),
        form_value(&page, "flow").unwrap(),
    );

    let ended = app.disable_user("rita").await;
    assert_eq!(ended.flows, 1, "{ended:?}");
    app.enable_user("rita").await;
    let code = seed.code_at(app.clock.now());
    let res = b
        .post(app.url("/login/factor/totp"))
        .form(&[("csrf", &csrf), ("flow", &flow), ("code", &code)])
        .send()
        .await
        .unwrap();
    assert!(
        res.status() != 303 || location(res.headers()).starts_with("/login"),
        "the flow ended: {}",
        res.status()
    );
    assert!(
        app.account_page_with(&b).await.is_none(),
        "not signed in by the old flow"
    );
}

async fn a_managed_account_removed_from_its_org_is_disabled(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        use mintgate::accounts::store::UserStore;
        use mintgate::accounts::{service, types::Email};
        let (store, clock, meta) = (&state.store, state.clock.as_ref(), &Default::default());
        let acme = service::create_org(store, clock, "acme").unwrap();
        let email = Email::parse("mo@acme.example").unwrap();
        let mo =
            service::create_managed_user(store, clock, &acme.id, "mo", &email, "", meta).unwrap();
        let ended =
            mintgate::deprovision::remove_from_org(store, clock, &acme, &mo, None, meta).unwrap();
        assert!(ended.disabled);
        assert!(store.find_user(&mo.id).unwrap().unwrap().disabled);
        assert!(store.memberships(&mo.id).unwrap().is_empty());
    })
    .await
    .unwrap();
}

async fn disabling_denies_an_unredeemed_device_authorisation(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("rita", PASSWORD).await;
    let browser = signed_in(&app, "rita", PASSWORD).await;
    let started = crate::device::start(&app).await;
    let (user_code, device_code) = (
        started["user_code"].as_str().unwrap(),
        started["device_code"].as_str().unwrap(),
    );
    let res = crate::device::answer(&app, &browser, user_code, Some("allow")).await;
    assert!(res.status().is_success() || res.status().is_redirection());

    let ended = app.disable_user("rita").await;
    assert_eq!(ended.device_codes, 1, "{ended:?}");
    app.enable_user("rita").await;
    app.clock.advance(10);
    let (status, body) = crate::device::poll(&app, device_code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("access_denied")),
        "{body}"
    );
}

both!(
    disabling_denies_an_unredeemed_device_authorisation,
    a_managed_account_removed_from_its_org_is_disabled,
    removal_from_an_org_ends_what_is_bound_to_it,
    disabling_ends_everything_and_enabling_brings_nothing_back,
    disabling_ends_a_pending_sign_in,
);

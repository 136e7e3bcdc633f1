//! Organisation > Policies (issue #14): API key lifetime ceiling, legacy query switch and
//! session lifetimes set on the page (CSRF, bounds, audited), and the lifetimes enforced.

use mintgate::accounts::store::OrgStore;
use secrecy::SecretString;

use crate::both;
use crate::helpers::*;
use crate::sso_support::post_form;

const PAGE: &str = "/settings/organisation";
const FORM: &str = "/settings/organisation/policies";

async fn default_org(app: &TestApp) -> mintgate::accounts::types::Organisation {
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || state.store.find_org("default").unwrap().unwrap())
        .await
        .unwrap()
}

async fn set(
    app: &TestApp,
    client: &reqwest::Client,
    key: &str,
    idle: &str,
    absolute: &str,
) -> reqwest::Response {
    post_form(
        app,
        client,
        PAGE,
        FORM,
        &[
            ("api_key_max_lifetime", key),
            ("session_idle_timeout", idle),
            ("session_absolute_timeout", absolute),
        ],
    )
    .await
}

async fn csrf_bounds_and_audit(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let res = admin.get(app.url(PAGE)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("<h1>Policies</h1>"), "{page}");
    assert!(
        page.contains("href=\"/settings/security/sso\""),
        "the SSO requirement's page"
    );

    // Without the CSRF token: refused, nothing changed.
    let res = admin
        .post(app.url(FORM))
        .form(&[("session_idle_timeout", "10m")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    assert_eq!(default_org(&app).await.session_idle_timeout, None);

    // Out of the server's bounds (5 minutes .. 30m idle, 10h absolute): re-rendered with the
    // input and a message next to each field.
    let res = set(&app, &admin, "soon", "4m", "11h").await;
    assert_eq!(res.status(), 400);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"session_idle_timeout-error\""), "{page}");
    assert!(page.contains("at least 5 minutes"));
    assert!(page.contains("id=\"session_absolute_timeout-error\""));
    assert!(page.contains("id=\"api_key_max_lifetime-error\""));
    assert!(page.contains("value=\"4m\"") && page.contains("value=\"11h\""));
    let res = set(&app, &admin, "", "31m", "").await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("at most the server"));
    let org = default_org(&app).await;
    assert_eq!(org.session_idle_timeout, None);
    assert_eq!(org.session_absolute_timeout, None);

    // Within bounds: stored and audited with what changed.
    let res = set(&app, &admin, "7d", "10m", "8h").await;
    assert_eq!(res.status(), 303);
    let org = default_org(&app).await;
    assert_eq!(org.api_key_max_lifetime, Some(7 * 86_400));
    assert_eq!(org.session_idle_timeout, Some(600));
    assert_eq!(org.session_absolute_timeout, Some(8 * 3600));
    // The checkbox was not sent: the legacy query switch is off.
    assert!(!org.api_key_legacy_query);
    assert!(
        audit_kinds(&app)
            .await
            .contains(&"org.policy.set".to_owned())
    );
    let page = admin
        .get(app.url(PAGE))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("value=\"7d\"") && page.contains("value=\"10m\""));
    // Empty is the server's again.
    assert_eq!(set(&app, &admin, "", "", "").await.status(), 303);
    let org = default_org(&app).await;
    assert_eq!(org.session_idle_timeout, None);
    assert_eq!(org.api_key_max_lifetime, None);
}

async fn an_organisations_idle_timeout_ends_its_sessions(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // erin has no organisation: the server's 30 minutes apply to her.
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        mintgate::accounts::service::create_user(
            &state.store,
            &state.hasher,
            state.clock.as_ref(),
            mintgate::accounts::service::CreateUser {
                username: "erin".into(),
                email: "erin@example.com".into(),
                display_name: None,
                password: Some(SecretString::from("erin's long passphrase here")),
                org: None,
                role: mintgate::accounts::types::Role::Member,
            },
            &Default::default(),
        )
        .unwrap()
    })
    .await
    .unwrap();
    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    assert_eq!(set(&app, &admin, "", "10m", "").await.status(), 303);
    let erin = signed_in(&app, "erin", "erin's long passphrase here").await;
    assert!(app.account_page_with(&admin).await.is_some());
    assert!(app.account_page_with(&erin).await.is_some());

    app.clock.advance(11 * 60);
    assert!(
        app.account_page_with(&admin).await.is_none(),
        "idle 11 minutes in an organisation with a 10-minute idle timeout: ended"
    );
    assert!(
        app.account_page_with(&erin).await.is_some(),
        "a session without that organisation stays"
    );
}

async fn an_organisations_absolute_lifetime_counts_from_the_start(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    // Active all along (every 4 minutes), but past the organisation's 15 minutes from sign-in.
    assert_eq!(set(&app, &admin, "", "", "15m").await.status(), 303);
    for _ in 0..3 {
        app.clock.advance(4 * 60);
        assert!(app.account_page_with(&admin).await.is_some());
    }
    app.clock.advance(4 * 60);
    assert!(app.account_page_with(&admin).await.is_none());
}

async fn the_key_ceiling_from_the_page_applies_to_a_new_key(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    assert_eq!(set(&app, &admin, "1d", "", "").await.status(), 303);
    let state = app.state.clone();
    let (long, short) = tokio::task::spawn_blocking(move || {
        use mintgate::apikeys::service::{self, NewKey};
        let org = state.store.find_org("default").unwrap().unwrap();
        let key = |expires: &str| {
            service::create_for_operator(
                &state.store,
                &state.key_format,
                &org,
                None,
                NewKey {
                    name: format!("k{expires}"),
                    scopes: vec!["read:evaluations".into()],
                    expires_in: Some(expires.into()),
                    allowed_ips: vec![],
                },
                state.clock.now(),
            )
            .map(|_| ())
        };
        (key("7d"), key("12h"))
    })
    .await
    .unwrap();
    assert!(long.is_err(), "7 days is past the organisation's 1 day");
    assert!(short.is_ok(), "{short:?}");
}

both!(
    csrf_bounds_and_audit,
    an_organisations_idle_timeout_ends_its_sessions,
    an_organisations_absolute_lifetime_counts_from_the_start,
    the_key_ceiling_from_the_page_applies_to_a_new_key,
);

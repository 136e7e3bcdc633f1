use crate::both;
use crate::helpers::*;

async fn csrf_of_account_page(app: &TestApp, client: &reqwest::Client) -> String {
    let page = app.account_page_with(client).await.expect("signed in");
    form_value(&page, "csrf").unwrap()
}

async fn sign_out_ends_the_session(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let res = app.post_login(ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let session_cookie = set_cookies(res.headers())
        .into_iter()
        .find(|c| c.starts_with("mg_session="))
        .unwrap();
    let value = session_cookie.split(';').next().unwrap().to_owned();
    let csrf = csrf_of_account_page(&app, &app.client).await;
    let res = app
        .client
        .post(app.url("/logout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(
        set_cookies(res.headers())
            .iter()
            .any(|c| c.starts_with("mg_session=;") && c.contains("Max-Age=0"))
    );
    assert!(app.account_page().await.is_none());
    // Replaying the old cookie value does not bring the session back.
    let replay = new_client()
        .get(app.url("/account"))
        .header("cookie", value)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 303);
}

async fn sign_in_issues_a_fresh_session_id(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // An attacker plants a cookie of the right shape; signing in must not adopt it.
    let planted = "A".repeat(43);
    let bare = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = bare.get(app.url("/login")).send().await.unwrap();
    let csrf_cookie = set_cookies(res.headers())
        .into_iter()
        .find(|c| c.starts_with("mg_csrf="))
        .unwrap();
    let csrf_cookie = csrf_cookie.split(';').next().unwrap().to_owned();
    let token = form_value(&res.text().await.unwrap(), "csrf").unwrap();
    let res = bare
        .post(app.url("/login"))
        .header("cookie", format!("mg_session={planted}; {csrf_cookie}"))
        .form(&[
            ("csrf", token.as_str()),
            ("login", ADMIN_USERNAME),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let issued = set_cookies(res.headers())
        .into_iter()
        .find(|c| c.starts_with("mg_session="))
        .unwrap();
    assert!(!issued.contains(&planted));
    let with_planted = bare
        .get(app.url("/account"))
        .header("cookie", format!("mg_session={planted}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        with_planted.status(),
        303,
        "the planted id is not a session"
    );
    let issued = issued.split(';').next().unwrap().to_owned();
    let with_issued = bare
        .get(app.url("/account"))
        .header("cookie", issued)
        .send()
        .await
        .unwrap();
    assert_eq!(with_issued.status(), 200);
}

async fn idle_expiry(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.sign_in_admin().await;
    let idle = app.settings.sessions.idle_timeout.as_secs() as i64;
    app.clock.advance(idle - 5);
    assert!(
        app.account_page().await.is_some(),
        "still within the idle window"
    );
    // That request counted as activity: another almost-idle period is fine.
    app.clock.advance(idle - 5);
    assert!(app.account_page().await.is_some());
    app.clock.advance(idle + 1);
    assert!(app.account_page().await.is_none(), "idle too long");
}

async fn absolute_expiry(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.sign_in_admin().await;
    let idle = app.settings.sessions.idle_timeout.as_secs() as i64;
    let absolute = app.settings.sessions.absolute_timeout.as_secs() as i64;
    let mut elapsed = 0;
    while elapsed + idle / 2 < absolute {
        app.clock.advance(idle / 2);
        elapsed += idle / 2;
        assert!(app.account_page().await.is_some(), "active at {elapsed}s");
    }
    app.clock.advance(absolute - elapsed);
    assert!(
        app.account_page().await.is_none(),
        "absolute lifetime reached"
    );
}

async fn disabled_user_is_signed_out_at_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("frank", "frank-password-1").await;
    assert_eq!(
        app.post_login("frank", "frank-password-1").await.status(),
        303
    );
    assert!(app.account_page().await.is_some());
    app.disable_user("frank").await;
    assert!(app.account_page().await.is_none());
}

async fn logout_requires_csrf(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.sign_in_admin().await;
    let res = app
        .client
        .post(app.url("/logout"))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = app
        .client
        .post(app.url("/logout"))
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(app.account_page().await.is_some(), "still signed in");
}

both!(
    sign_out_ends_the_session,
    sign_in_issues_a_fresh_session_id,
    idle_expiry,
    absolute_expiry,
    disabled_user_is_signed_out_at_once,
    logout_requires_csrf,
);

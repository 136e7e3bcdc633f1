//! Forgot password (issue #14): one answer whether or not the account exists, throttled per
//! account and per address, a single-use link valid 30 minutes that a newer one replaces, no
//! link for members of an organisation that requires SSO, and a reset that signs out every
//! session (with their refresh families) and clears the sign-in lockout.

use crate::account_support::*;
use crate::both;
use crate::helpers::*;
use crate::mail_support::wait_for_mail;

async fn forgot(app: &TestApp, login: &str) -> (u16, String) {
    let b = new_client();
    let res = post_with_csrf(
        app,
        &b,
        "/login/forgot",
        "/login/forgot",
        &[("login", login)],
    )
    .await;
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

/// The reset link of the `n`th message to `to`: its path and query.
async fn reset_link(app: &TestApp, to: &str, n: usize) -> String {
    let mail = wait_for_mail(app, to, n).await;
    let url = url::Url::parse(&mail.link("/login/reset")).unwrap();
    format!("{}?{}", url.path(), url.query().unwrap())
}

async fn reset(app: &TestApp, link: &str, new: &str) -> reqwest::Response {
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let b = new_client();
    // The form's CSRF token comes from the page; an unusable link has no form, so take one
    // from the forgot page then.
    let res = b.get(app.url(link)).send().await.unwrap();
    let page = if res.status() == 200 {
        link
    } else {
        "/login/forgot"
    };
    post_with_csrf(
        app,
        &b,
        page,
        "/login/reset",
        &[
            ("token", &token),
            ("new_password", new),
            ("repeat_password", new),
        ],
    )
    .await
}

/// Lets the off-response work of earlier requests finish: a later message to someone else has
/// arrived, so the earlier requests were handled.
async fn settle(app: &TestApp) {
    let n = mail_count(app, "admin@");
    let _ = forgot(app, "admin").await;
    wait_for_mail(app, "admin@", n + 1).await;
}

async fn the_answer_is_the_same_for_unknown_accounts(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    member(&app, "rob").await;
    let (status_known, known) = forgot(&app, "rob").await;
    let (status_unknown, unknown) = forgot(&app, "nobody-here").await;
    assert_eq!((status_known, status_unknown), (200, 200));
    assert_eq!(known, unknown, "one answer");
    assert!(known.contains("If an account with that username or e-mail address exists"));
    let mail = wait_for_mail(&app, "rob@example.com", 1).await;
    assert!(mail.text.contains("30 minutes"), "{}", mail.text);
    // By e-mail address too.
    forgot(&app, "ROB@example.com").await;
    wait_for_mail(&app, "rob@example.com", 2).await;
    // The login page links here.
    let login = app.get("/login").await.text().await.unwrap();
    assert!(login.contains("href=\"/login/forgot\""), "{login}");
}

async fn requests_are_throttled_per_account(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    member(&app, "tess").await;
    for _ in 0..7 {
        let (status, page) = forgot(&app, "tess").await;
        assert_eq!(status, 200);
        assert!(page.contains("If an account with that username"));
    }
    wait_for_mail(&app, "tess@example.com", 5).await;
    settle(&app).await;
    assert_eq!(
        mail_count(&app, "tess@example.com"),
        5,
        "5 an hour per account"
    );
    app.clock.advance(60 * 60 + 1);
    forgot(&app, "tess").await;
    wait_for_mail(&app, "tess@example.com", 6).await;
}

async fn requests_are_throttled_per_address(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // 20 an hour from one address, whichever accounts they name.
    for i in 0..20 {
        forgot(&app, &format!("nobody-{i}")).await;
    }
    member(&app, "ugo").await;
    forgot(&app, "ugo").await;
    settle_without_mail(&app).await;
    assert_eq!(
        mail_count(&app, "ugo@example.com"),
        0,
        "the address is throttled"
    );
}

/// Without any mail to wait for (the address is throttled): a short pause for the
/// off-response work.
async fn settle_without_mail(_app: &TestApp) {
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
}

async fn a_link_works_once_and_ends_every_session(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    member(&app, "lena").await;
    let phone = signed_in(&app, "lena", PASSWORD).await;
    let (client, refresh) = bound_refresh(&app, &phone).await;
    let (offline_client, offline) = offline_refresh(&app, &phone).await;
    // Locked out by wrong guesses: the reset clears the lock.
    for _ in 0..5 {
        login_status(&app, "lena", "wrong-guess").await;
    }
    assert_eq!(login_status(&app, "lena", PASSWORD).await, 429);

    forgot(&app, "lena").await;
    let link = reset_link(&app, "lena@example.com", 1).await;
    let res = new_client().get(app.url(&link)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["referrer-policy"], "no-referrer");
    // A weak password re-renders the form with zxcvbn's feedback; the link stays usable.
    let res = reset(&app, &link, WEAK_PASSWORD).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("too easy to guess"));

    let res = reset(&app, &link, NEW_PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(res.headers()), "/login?reset=done");
    let login = app.get("/login?reset=done").await.text().await.unwrap();
    assert!(login.contains("Your password was changed"), "{login}");
    assert!(!signed_in_still(&app, &phone).await, "sessions end");
    assert!(
        !refreshes(&app, &client, &refresh).await,
        "refresh families end"
    );
    assert!(
        !refreshes(&app, &offline_client, &offline).await,
        "offline grants end too: account recovery ends what the old password minted"
    );
    assert_eq!(
        login_status(&app, "lena", NEW_PASSWORD).await,
        303,
        "lock cleared"
    );
    assert!(
        audit_kinds(&app)
            .await
            .contains(&"password.reset".to_owned())
    );

    // Single use.
    let res = new_client().get(app.url(&link)).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let res = reset(&app, &link, "another-fine-passphrase-7").await;
    assert_eq!(res.status(), 400);
    assert_eq!(login_status(&app, "lena", NEW_PASSWORD).await, 303);

    // The link proved the address.
    let b = signed_in(&app, "lena", NEW_PASSWORD).await;
    let page = app.account_page_with(&b).await.unwrap();
    assert!(!page.contains("not verified"), "{page}");
}

async fn a_link_expires_after_30_minutes_and_a_newer_one_replaces_it(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    member(&app, "kim").await;
    forgot(&app, "kim").await;
    let first = reset_link(&app, "kim@example.com", 1).await;
    forgot(&app, "kim").await;
    let second = reset_link(&app, "kim@example.com", 2).await;
    assert_eq!(
        reset(&app, &first, NEW_PASSWORD).await.status(),
        400,
        "replaced"
    );
    app.clock.advance(30 * 60 + 1);
    assert_eq!(
        reset(&app, &second, NEW_PASSWORD).await.status(),
        400,
        "expired"
    );
    forgot(&app, "kim").await;
    let third = reset_link(&app, "kim@example.com", 3).await;
    app.clock.advance(29 * 60);
    assert_eq!(reset(&app, &third, NEW_PASSWORD).await.status(), 303);
    assert_eq!(login_status(&app, "kim", NEW_PASSWORD).await, 303);
}

async fn no_link_for_sso_required_members_or_disabled_accounts(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    member(&app, "sue").await;
    member(&app, "dan").await;
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        let org = mintgate::accounts::service::org_named(&state.store, "default").unwrap();
        mintgate::federation::policy::set_require_sso(
            &state.store,
            state.clock.as_ref(),
            &org.id,
            &org.name,
            true,
            None,
            &Default::default(),
        )
        .unwrap();
    })
    .await
    .unwrap();
    app.disable_user("dan").await;
    let (status, page) = forgot(&app, "sue").await;
    assert_eq!(status, 200);
    assert!(page.contains("If an account with that username"));
    forgot(&app, "dan").await;
    // The owner keeps a password (break-glass) and may reset it: `settle` waits for its link.
    settle(&app).await;
    assert_eq!(mail_count(&app, "sue@example.com"), 0);
    assert_eq!(mail_count(&app, "dan@example.com"), 0);
}

/// A reset link sent before the password or the address changed is worthless afterwards: the
/// old mailbox cannot take the account back (attack review, issue #14).
async fn a_new_password_or_address_spends_pending_links(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    member(&app, "tess").await;
    forgot(&app, "tess").await;
    let before_password = reset_link(&app, "tess@example.com", 1).await;
    let b = signed_in(&app, "tess", PASSWORD).await;
    let res = post_with_csrf(
        &app,
        &b,
        "/account/password",
        "/account/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", NEW_PASSWORD),
            ("repeat_password", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        reset(&app, &before_password, "another-fine-passphrase-7")
            .await
            .status(),
        400
    );

    forgot(&app, "tess").await;
    let before_address = reset_link(&app, "tess@example.com", 2).await;
    let res = post_with_csrf(
        &app,
        &b,
        "/account",
        "/account/email",
        &[("email", "tess@new.example")],
    )
    .await;
    assert_eq!(res.status(), 303);
    let mail = wait_for_mail(&app, "tess@new.example", 1).await;
    let confirm = url::Url::parse(&mail.link("/account/email/confirm")).unwrap();
    let confirm = format!("{}?{}", confirm.path(), confirm.query().unwrap());
    let token = confirm.split("token=").nth(1).unwrap().to_owned();
    let res = post_with_csrf(
        &app,
        &b,
        &confirm,
        "/account/email/confirm",
        &[("token", &token)],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        reset(&app, &before_address, "another-fine-passphrase-7")
            .await
            .status(),
        400
    );
    assert_eq!(login_status(&app, "tess", NEW_PASSWORD).await, 303);
}

both!(
    a_new_password_or_address_spends_pending_links,
    the_answer_is_the_same_for_unknown_accounts,
    requests_are_throttled_per_account,
    requests_are_throttled_per_address,
    a_link_works_once_and_ends_every_session,
    a_link_expires_after_30_minutes_and_a_newer_one_replaces_it,
    no_link_for_sso_required_members_or_disabled_accounts,
);

//! Account self-service in headless Chromium (issue #14): changing the password on the page
//! and signing in with the new one; "forgot password" through a real SMTP server, following
//! the link from the received message, then signing in. Every page visited passes axe-core.

use crate::account_support::*;
use crate::browser::*;
use crate::helpers::*;
use crate::mail_support::SmtpSink;

async fn sign_in(page: &chromiumoxide::Page, app: &TestApp, login: &str, password: &str) {
    page.goto(app.url("/login")).await.unwrap();
    type_into(page, "#login", login).await;
    type_into(page, "#password", password).await;
    click(page, "form[action=\"/login\"] button[type=submit]").await;
    wait_for_url(page, |u| u.ends_with("/account")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_the_password_in_a_browser_then_sign_in_with_it() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    member(&app, "petra").await;
    let Some((mut browser, _profile, pump)) = launch().await else {
        return;
    };
    let page = browser.new_page(app.url("/login")).await.unwrap();
    sign_in(&page, &app, "petra", PASSWORD).await;
    assert_accessible(&page).await;

    // Past the re-authentication window: the current password is asked.
    app.clock.advance(6 * 60);
    page.goto(app.url("/account/password")).await.unwrap();
    assert!(text_of(&page, "#current_password").await.is_some());
    assert_accessible(&page).await;
    // A weak password first: the message stands next to the field.
    type_into(&page, "#current_password", PASSWORD).await;
    type_into(&page, "#new_password", WEAK_PASSWORD).await;
    type_into(&page, "#repeat_password", WEAK_PASSWORD).await;
    click(&page, "#change-password button[type=submit]").await;
    let error = text_of(&page, "#new_password-error").await.unwrap();
    assert!(error.contains("too easy to guess"), "{error}");
    assert_accessible(&page).await;

    type_into(&page, "#current_password", PASSWORD).await;
    type_into(&page, "#new_password", NEW_PASSWORD).await;
    type_into(&page, "#repeat_password", NEW_PASSWORD).await;
    click(&page, "#change-password button[type=submit]").await;
    let notice = text_of(&page, "#notice").await.unwrap();
    assert!(notice.contains("Your password was changed"), "{notice}");
    assert_accessible(&page).await;

    page.goto(app.url("/account/sessions")).await.unwrap();
    assert!(
        text_of(&page, "#sessions")
            .await
            .unwrap()
            .contains("This session")
    );
    assert_accessible(&page).await;

    // Sign out, then in with the new password.
    page.goto(app.url("/account")).await.unwrap();
    click(&page, "form[action=\"/logout\"] button[type=submit]").await;
    wait_for_url(&page, |u| u.contains("/login")).await;
    sign_in(&page, &app, "petra", NEW_PASSWORD).await;
    assert_eq!(text_of(&page, "#username").await.as_deref(), Some("petra"));

    browser.close().await.unwrap();
    let _ = browser.wait().await;
    pump.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_password_through_a_real_smtp_server() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let Some(db) = TestDb::new(Backend::Sqlite) else {
        return;
    };
    let url = sink.url();
    let app = spawn_on(&db, mintgate::clock::ManualClock::starting_now(), |s| {
        s.mail.smtp_url = Some(url.into());
    })
    .await;
    member(&app, "fred").await;
    let Some((mut browser, _profile, pump)) = launch().await else {
        return;
    };
    let page = browser.new_page(app.url("/login")).await.unwrap();
    assert!(text_of(&page, "#login").await.is_some());
    click(&page, "#forgot-password").await;
    wait_for_url(&page, |u| u.contains("/login/forgot")).await;
    assert_accessible(&page).await;
    type_into(&page, "#login", "fred").await;
    click(&page, "#forgot-form button[type=submit]").await;
    assert!(text_of(&page, "#forgot-sent").await.is_some());
    assert_accessible(&page).await;

    let mail = sink.wait_for("fred@example.com", 1).await;
    let link = mail.link("/login/reset");
    page.goto(link.as_str()).await.unwrap();
    assert_eq!(
        text_of(&page, "#reset-username").await.as_deref(),
        Some("fred")
    );
    assert_accessible(&page).await;
    type_into(&page, "#new_password", NEW_PASSWORD).await;
    type_into(&page, "#repeat_password", NEW_PASSWORD).await;
    click(&page, "#reset-form button[type=submit]").await;
    wait_for_url(&page, |u| u.contains("/login?reset=done")).await;
    assert!(
        text_of(&page, "#notice")
            .await
            .unwrap()
            .contains("Your password was changed")
    );
    assert_accessible(&page).await;
    sign_in(&page, &app, "fred", NEW_PASSWORD).await;
    assert_eq!(text_of(&page, "#username").await.as_deref(), Some("fred"));

    browser.close().await.unwrap();
    let _ = browser.wait().await;
    pump.abort();
}

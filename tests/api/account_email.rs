//! The profile on the account page (issue #14): the display name, and the e-mail address,
//! changed or verified through a single-use link (24 hours, only its hash stored) that only the
//! same user, signed in, can follow; `email_verified` in the ID token and userinfo afterwards.

use crate::account_support::*;
use crate::both;
use crate::helpers::*;
use crate::mail_support::wait_for_mail;
use crate::oauth_support::{authorize_with, jwt_claims, redeem_code, session_client, session_url};

async fn ask_change(app: &TestApp, b: &reqwest::Client, to: &str) -> reqwest::Response {
    post_with_csrf(app, b, "/account", "/account/email", &[("email", to)]).await
}

/// The link of the `n`th message to `to`: its path and query.
async fn link_to(app: &TestApp, to: &str, n: usize) -> String {
    let mail = wait_for_mail(app, to, n).await;
    let url = url::Url::parse(&mail.link("/account/email/confirm")).unwrap();
    format!("{}?{}", url.path(), url.query().unwrap())
}

fn token_of(link: &str) -> String {
    link.split("token=").nth(1).unwrap().to_owned()
}

async fn confirm(app: &TestApp, b: &reqwest::Client, link: &str) -> reqwest::Response {
    // The form's CSRF token comes from the link's page; an unusable link has no form, so take
    // one from the account page then.
    let res = b.get(app.url(link)).send().await.unwrap();
    let page = if res.status() == 200 {
        link
    } else {
        "/account"
    };
    post_with_csrf(
        app,
        b,
        page,
        "/account/email/confirm",
        &[("token", &token_of(link))],
    )
    .await
}

async fn name_is_saved_and_bad_names_re_render(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    member(&app, "nina").await;
    let b = signed_in(&app, "nina", PASSWORD).await;
    let res = post_with_csrf(
        &app,
        &b,
        "/account",
        "/account/profile",
        &[("display_name", "Nina Q.")],
    )
    .await;
    assert_eq!(res.status(), 303);
    let page = app.account_page_with(&b).await.unwrap();
    assert!(page.contains("Nina Q."), "{page}");
    let long = "n".repeat(201);
    let res = post_with_csrf(
        &app,
        &b,
        "/account",
        "/account/profile",
        &[("display_name", &long)],
    )
    .await;
    assert_eq!(res.status(), 400);
    let page = res.text().await.unwrap();
    assert!(page.contains(&long), "the input is shown again");
    assert!(page.contains("display_name-error"), "{page}");
}

async fn an_email_change_is_confirmed_once_by_the_same_user(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    member(&app, "ella").await;
    member(&app, "mal").await;
    let b = signed_in(&app, "ella", PASSWORD).await;
    let page = app.account_page_with(&b).await.unwrap();
    assert!(page.contains("not verified"), "{page}");

    // Bad input re-renders with what was typed.
    let res = ask_change(&app, &b, "not an address").await;
    assert_eq!(res.status(), 400);
    let page = res.text().await.unwrap();
    assert!(page.contains("value=\"not an address\""), "{page}");
    assert!(page.contains("email-error"), "{page}");

    let res = ask_change(&app, &b, "ella@new.example").await;
    assert_eq!(res.status(), 303);
    let link = link_to(&app, "ella@new.example", 1).await;
    // Nothing changed yet.
    let page = app.account_page_with(&b).await.unwrap();
    assert!(page.contains("ella@example.com"));

    // Another user signed in gets a refusal and spends nothing.
    let mal = signed_in(&app, "mal", PASSWORD).await;
    let (status, _) = page_of(&app, &mal, &link).await;
    assert_eq!(status, 400);
    let res = confirm(&app, &mal, &link).await;
    assert!(res.status().is_client_error());
    // Signed out: sign in, then back to the same link.
    let res = new_client().get(app.url(&link)).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let to = location(res.headers());
    assert!(to.starts_with("/login?return_to="), "{to}");
    assert!(
        to.contains("token"),
        "the link comes back after sign-in: {to}"
    );

    // The GET page spends nothing (a mail scanner may fetch it); it is not cached.
    let res = b.get(app.url(&link)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let res = confirm(&app, &b, &link).await;
    assert_eq!(res.status(), 303);
    let page = app.account_page_with(&b).await.unwrap();
    assert!(page.contains("ella@new.example"), "{page}");
    assert!(!page.contains("not verified"), "{page}");
    // The old address is told.
    let notice = wait_for_mail(&app, "ella@example.com", 1).await;
    assert!(notice.text.contains("ella@new.example"));
    assert!(
        audit_kinds(&app)
            .await
            .contains(&"email.changed".to_owned())
    );

    // Single use.
    let res = confirm(&app, &b, &link).await;
    assert_eq!(res.status(), 400);
    let (status, _) = page_of(&app, &b, &link).await;
    assert_eq!(status, 400);
}

async fn page_of(app: &TestApp, b: &reqwest::Client, link: &str) -> (u16, String) {
    page(app, b, link).await
}

async fn an_email_link_expires_and_a_newer_one_replaces_it(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    member(&app, "xena").await;
    let b = signed_in(&app, "xena", PASSWORD).await;
    assert_eq!(ask_change(&app, &b, "xena@one.example").await.status(), 303);
    let first = link_to(&app, "xena@one.example", 1).await;
    assert_eq!(ask_change(&app, &b, "xena@two.example").await.status(), 303);
    let second = link_to(&app, "xena@two.example", 1).await;
    assert_eq!(confirm(&app, &b, &first).await.status(), 400, "replaced");
    app.clock.advance(24 * 60 * 60 + 1);
    // Keep the session alive across the day: sign in again.
    let b = signed_in(&app, "xena", PASSWORD).await;
    assert_eq!(confirm(&app, &b, &second).await.status(), 400, "expired");
    let page = app.account_page_with(&b).await.unwrap();
    assert!(page.contains("xena@example.com"), "{page}");
}

async fn a_taken_address_is_refused_with_a_message(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    member(&app, "tom").await;
    member(&app, "tim").await;
    let b = signed_in(&app, "tom", PASSWORD).await;
    assert_eq!(ask_change(&app, &b, "TIM@example.com").await.status(), 303);
    let link = link_to(&app, "TIM@example.com", 1).await;
    let res = confirm(&app, &b, &link).await;
    assert_eq!(res.status(), 409);
    let page = res.text().await.unwrap();
    assert!(page.contains("Another account already uses"), "{page}");
    let page = app.account_page_with(&b).await.unwrap();
    assert!(page.contains("tom@example.com"));
}

async fn email_verified_reaches_id_tokens_and_userinfo(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    member(&app, "vera").await;
    let b = signed_in(&app, "vera", PASSWORD).await;
    let client = session_client(&app, "verify-rp").await;
    let claims = |tokens: &serde_json::Value| jwt_claims(tokens["id_token"].as_str().unwrap());
    let to = authorize_with(&app, &b, &session_url(&app, &client, &[])).await;
    let tokens = redeem_code(&app, &client, &to).await;
    assert_eq!(claims(&tokens)["email_verified"], false);

    let res = post_with_csrf(
        &app,
        &b,
        "/account",
        "/account/email",
        &[("action", "verify")],
    )
    .await;
    assert_eq!(res.status(), 303);
    let link = link_to(&app, "vera@example.com", 1).await;
    assert_eq!(confirm(&app, &b, &link).await.status(), 303);
    assert!(
        audit_kinds(&app)
            .await
            .contains(&"email.verified".to_owned())
    );

    let to = authorize_with(&app, &b, &session_url(&app, &client, &[])).await;
    let tokens = redeem_code(&app, &client, &to).await;
    assert_eq!(claims(&tokens)["email_verified"], true);
    let info: serde_json::Value = reqwest::Client::new()
        .get(app.url("/oauth/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["email_verified"], true, "{info}");
    assert_eq!(info["email"], "vera@example.com");
}

/// Links sent from the account page share the forgot-password budget per account: a signed-in
/// user cannot make the server mail any address without end (attack review, issue #14).
async fn link_requests_are_throttled(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    member(&app, "mia").await;
    let b = signed_in(&app, "mia", PASSWORD).await;
    for n in 0..5 {
        let res = ask_change(&app, &b, &format!("target{n}@victim.example")).await;
        assert_eq!(res.status(), 303, "request {n}");
    }
    let res = ask_change(&app, &b, "target5@victim.example").await;
    assert_eq!(res.status(), 429);
}

both!(
    link_requests_are_throttled,
    name_is_saved_and_bad_names_re_render,
    an_email_change_is_confirmed_once_by_the_same_user,
    an_email_link_expires_and_a_newer_one_replaces_it,
    a_taken_address_is_refused_with_a_message,
    email_verified_reaches_id_tokens_and_userinfo,
);

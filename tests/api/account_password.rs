//! Account > password and sessions (issue #14): changing the password (current password or a
//! fresh sign-in, the strength rule with zxcvbn's feedback, other sessions signed out with the
//! grants bound to them, the sign-in throttle), and the sessions page (list, sign out one or
//! all others, another user's session 404). CSRF on every form.

use crate::account_support::*;
use crate::both;
use crate::helpers::*;

/// Past the re-authentication window: the current password is asked.
const LATER: i64 = 6 * 60;

async fn change(
    app: &TestApp,
    b: &reqwest::Client,
    current: &str,
    new: &str,
    repeat: &str,
    sign_out_others: bool,
) -> (u16, String) {
    let mut form = vec![
        ("current_password", current),
        ("new_password", new),
        ("repeat_password", repeat),
    ];
    if sign_out_others {
        form.push(("sign_out_others", "on"));
    }
    let res = post_with_csrf(app, b, "/account/password", "/account/password", &form).await;
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

async fn wrong_current_password_is_refused_and_throttled(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    member(&app, "wanda").await;
    let b = signed_in(&app, "wanda", PASSWORD).await;
    app.clock.advance(LATER);
    let (status, page) = change(&app, &b, "", NEW_PASSWORD, NEW_PASSWORD, true).await;
    assert_eq!(status, 400);
    assert!(page.contains("Enter your current password."), "{page}");
    let (status, page) = change(&app, &b, "not-it-at-all", NEW_PASSWORD, NEW_PASSWORD, true).await;
    assert_eq!(status, 400);
    assert!(
        page.contains("This is not your current password."),
        "{page}"
    );
    assert!(page.contains("aria-invalid=\"true\""), "{page}");
    assert!(
        audit_kinds(&app)
            .await
            .contains(&"sign_in.failed".to_owned())
    );
    // Wrong guesses count against the sign-in throttle (5 by default): then even the right
    // password waits.
    for _ in 0..4 {
        change(&app, &b, "not-it-at-all", NEW_PASSWORD, NEW_PASSWORD, true).await;
    }
    let (status, page) = change(&app, &b, PASSWORD, NEW_PASSWORD, NEW_PASSWORD, true).await;
    assert_eq!(status, 429, "{page}");
    assert_eq!(login_status(&app, "wanda", PASSWORD).await, 429);
    // Nothing changed: once the lock has passed the old password still signs in.
    app.clock.advance(60 * 60);
    assert_eq!(login_status(&app, "wanda", NEW_PASSWORD).await, 401);
    assert_eq!(login_status(&app, "wanda", PASSWORD).await, 303);
}

async fn weak_passwords_are_refused_with_feedback(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    member(&app, "wes").await;
    let b = signed_in(&app, "wes", PASSWORD).await;
    // Just signed in: no current password needed.
    let (status, page) = page(&app, &b, "/account/password").await;
    assert_eq!(status, 200);
    assert!(!page.contains("id=\"current_password\""), "{page}");
    let (status, page) = change(&app, &b, "", WEAK_PASSWORD, WEAK_PASSWORD, true).await;
    assert_eq!(status, 400);
    assert!(
        page.contains("This password is too easy to guess."),
        "{page}"
    );
    assert!(page.contains("new_password-error"), "{page}");
    // The account's own words count against it.
    let (status, page) = change(&app, &b, "", "wes@example.com1", "wes@example.com1", true).await;
    assert_eq!(status, 400, "{page}");
    let (status, page) = change(&app, &b, "", "short", "short", true).await;
    assert_eq!(status, 400);
    assert!(page.contains("8 to 1024 characters"), "{page}");
    let (status, page) = change(&app, &b, "", NEW_PASSWORD, "something-else-99", true).await;
    assert_eq!(status, 400);
    assert!(
        page.contains("The two passwords are not the same."),
        "{page}"
    );
    assert_eq!(login_status(&app, "wes", PASSWORD).await, 303);
}

async fn changing_the_password_signs_out_other_sessions(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    member(&app, "olive").await;
    let here = signed_in(&app, "olive", PASSWORD).await;
    let other = signed_in(&app, "olive", PASSWORD).await;
    let kept = signed_in(&app, "olive", PASSWORD).await;
    let (client, refresh) = bound_refresh(&app, &other).await;
    assert!(refreshes(&app, &client, &refresh).await);
    let (offline_client, offline) = offline_refresh(&app, &other).await;
    let (kept_client, kept_bound) = bound_refresh(&app, &here).await;
    app.clock.advance(LATER);
    let (status, page) = change(&app, &here, PASSWORD, NEW_PASSWORD, NEW_PASSWORD, true).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("2 other sessions were signed out"), "{page}");
    assert!(signed_in_still(&app, &here).await, "this session stays");
    assert!(
        !signed_in_still(&app, &other).await,
        "the other session ended"
    );
    assert!(!signed_in_still(&app, &kept).await);
    assert!(
        !refreshes(&app, &client, &refresh).await,
        "its session-bound refresh token is refused"
    );
    assert!(
        !refreshes(&app, &offline_client, &offline).await,
        "an offline grant minted elsewhere ends with the old password (attack review)"
    );
    assert!(
        refreshes(&app, &kept_client, &kept_bound).await,
        "the grant bound to this session stays"
    );
    assert_eq!(login_status(&app, "olive", PASSWORD).await, 401);
    assert_eq!(login_status(&app, "olive", NEW_PASSWORD).await, 303);
    assert!(
        audit_kinds(&app)
            .await
            .contains(&"password.changed".to_owned())
    );

    // Unchecked: the other sessions stay.
    let second = signed_in(&app, "olive", NEW_PASSWORD).await;
    let (status, _) = change(&app, &here, NEW_PASSWORD, PASSWORD, PASSWORD, false).await;
    assert_eq!(status, 200);
    assert!(signed_in_still(&app, &second).await);
}

async fn sessions_page_lists_and_signs_out(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    member(&app, "sam").await;
    member(&app, "eve").await;
    let here = signed_in(&app, "sam", PASSWORD).await;
    let phone = signed_in(&app, "sam", PASSWORD).await;
    let laptop = signed_in(&app, "sam", PASSWORD).await;
    let eve = signed_in(&app, "eve", PASSWORD).await;
    let (status, page) = page(&app, &here, "/account/sessions").await;
    assert_eq!(status, 200);
    let res = here.get(app.url("/account/sessions")).send().await.unwrap();
    assert_eq!(
        res.headers()["cache-control"],
        "no-store",
        "a signed-in page (addresses, devices) is kept by no cache"
    );
    assert_eq!(page.matches("<tr id=\"session-").count(), 3, "{page}");
    assert_eq!(page.matches("This session").count(), 1, "{page}");
    assert!(page.contains("127.0.0.1"), "{page}");
    let sids: Vec<String> = page
        .split("<tr id=\"session-")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect();
    let current = page
        .split("<tr id=\"session-")
        .skip(1)
        .find(|s| s.contains("This session"))
        .map(|s| s.split('"').next().unwrap().to_owned())
        .unwrap();

    // Another user cannot end sam's session: 404, and it lives on.
    let victim = sids.iter().find(|s| **s != current).unwrap().clone();
    let res = post_with_csrf(
        &app,
        &eve,
        "/account/sessions",
        &format!("/account/sessions/{victim}/revoke"),
        &[],
    )
    .await;
    assert_eq!(res.status(), 404);
    assert!(signed_in_still(&app, &phone).await && signed_in_still(&app, &laptop).await);
    // Without a CSRF token: refused.
    let res = here
        .post(app.url(&format!("/account/sessions/{victim}/revoke")))
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // Sam ends one: exactly one of the two others is gone.
    let res = post_with_csrf(
        &app,
        &here,
        "/account/sessions",
        &format!("/account/sessions/{victim}/revoke"),
        &[],
    )
    .await;
    assert_eq!(res.status(), 303);
    let alive =
        signed_in_still(&app, &phone).await as u8 + signed_in_still(&app, &laptop).await as u8;
    assert_eq!(alive, 1);
    assert!(
        audit_kinds(&app)
            .await
            .contains(&"session.revoked".to_owned())
    );
    // The current session cannot be ended here (sign out is for that).
    let res = post_with_csrf(
        &app,
        &here,
        "/account/sessions",
        &format!("/account/sessions/{current}/revoke"),
        &[],
    )
    .await;
    assert_eq!(res.status(), 400);

    // All others.
    let res = post_with_csrf(
        &app,
        &here,
        "/account/sessions",
        "/account/sessions/revoke-others",
        &[],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert!(!signed_in_still(&app, &phone).await && !signed_in_still(&app, &laptop).await);
    assert!(signed_in_still(&app, &here).await);
    assert!(
        signed_in_still(&app, &eve).await,
        "another user's sessions stay"
    );
    let (_, page) = crate::account_support::page(&app, &here, "/account/sessions").await;
    assert_eq!(page.matches("<tr id=\"session-").count(), 1, "{page}");
}

async fn every_new_form_refuses_a_missing_csrf_token(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    member(&app, "cora").await;
    let b = signed_in(&app, "cora", PASSWORD).await;
    for (path, form) in [
        (
            "/account/password",
            vec![
                ("new_password", NEW_PASSWORD),
                ("repeat_password", NEW_PASSWORD),
            ],
        ),
        ("/account/sessions/revoke-others", vec![]),
        ("/account/profile", vec![("display_name", "Mallory")]),
        ("/account/email", vec![("email", "mallory@example.net")]),
        ("/account/email/confirm", vec![("token", "x")]),
        ("/login/forgot", vec![("login", "cora")]),
        (
            "/login/reset",
            vec![
                ("token", "x"),
                ("new_password", NEW_PASSWORD),
                ("repeat_password", NEW_PASSWORD),
            ],
        ),
    ] {
        let form = if form.is_empty() {
            vec![("x", "y")]
        } else {
            form
        };
        let res = b.post(app.url(path)).form(&form).send().await.unwrap();
        assert_eq!(res.status(), 403, "{path}");
        let res = b
            .post(app.url(path))
            .form(&[&form[..], &[("csrf", "forged")]].concat())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{path} with a forged token");
    }
    assert_eq!(login_status(&app, "cora", PASSWORD).await, 303);
    let page = app.account_page_with(&b).await.unwrap();
    assert!(!page.contains("Mallory"));
    assert_eq!(mail_count(&app, "cora@example.com"), 0);
}

both!(
    wrong_current_password_is_refused_and_throttled,
    weak_passwords_are_refused_with_feedback,
    changing_the_password_signs_out_other_sessions,
    sessions_page_lists_and_signs_out,
    every_new_form_refuses_a_missing_csrf_token,
);

//! Organisation > Invitations and the invitee's page (issue #14): the link is single-use, valid
//! 7 days, dead once revoked or replaced; a signed-in account accepts only with the invited
//! address; "Create your account" makes an account with the invited role and a proven address.

use mintgate::accounts::types::Role;

use crate::both;
use crate::helpers::*;
use crate::mail_support::wait_for_mail;
use crate::org_members::{INVITATIONS, org, role_of, signed_in_as};
use crate::sso_support::post_form;

/// Invites `email` as `role` from `admin`'s page; the response.
pub async fn invite(
    app: &TestApp,
    admin: &reqwest::Client,
    email: &str,
    role: &str,
) -> reqwest::Response {
    post_form(
        app,
        admin,
        INVITATIONS,
        INVITATIONS,
        &[("email", email), ("role", role)],
    )
    .await
}

/// The invitation link's path and query (`/invitation?token=…`) from the `n`th mail to `to`.
pub async fn link_in_mail(app: &TestApp, to: &str, n: usize) -> String {
    let mail = wait_for_mail(app, to, n).await;
    let link = mail.link("/invitation");
    let url = url::Url::parse(&link).unwrap();
    format!("{}?{}", url.path(), url.query().unwrap())
}

fn token_of(path: &str) -> String {
    path.split("token=").nth(1).unwrap().to_owned()
}

/// Creates the account on the invitation page at `link` with a fresh browser.
async fn create_account(
    app: &TestApp,
    link: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    let b = new_client();
    let page = b.get(app.url(link)).send().await.unwrap();
    if page.status() != 200 {
        return page;
    }
    let page = page.text().await.unwrap();
    let csrf = form_value(&page, "csrf").unwrap();
    b.post(app.url("/invitation/account"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("token", &token_of(link)),
            ("username", username),
            ("display_name", "New Person"),
            ("password", password),
            ("password_again", password),
        ])
        .send()
        .await
        .unwrap()
}

/// Whether a server account `username` exists.
async fn users_named(app: &TestApp, username: &str) -> bool {
    let (state, username) = (app.state.clone(), username.to_owned());
    tokio::task::spawn_blocking(move || {
        use mintgate::accounts::store::UserStore;
        state
            .store
            .find_user_by_username(&username)
            .unwrap()
            .is_some()
    })
    .await
    .unwrap()
}

const STRONG: &str = "correct horse battery staple 42";

async fn invitation_creates_an_account_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let res = invite(&app, &admin, "New.Person@Example.com", "admin").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let page = res.text().await.unwrap();
    assert!(page.contains("Invitation sent"), "{page}");
    assert!(page.contains("New.Person@Example.com"));
    let link = link_in_mail(&app, "New.Person@Example.com", 1).await;

    // The page: no-store, the organisation and the role.
    let b = new_client();
    let res = b.get(app.url(&link)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let page = res.text().await.unwrap();
    assert!(page.contains("default") && page.contains("admin"), "{page}");
    assert!(page.contains("id=\"account-form\""));

    // A weak password is refused next to the field, with the input kept; nothing is used.
    let csrf = form_value(&page, "csrf").unwrap();
    let res = b
        .post(app.url("/invitation/account"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("token", &token_of(&link)),
            ("username", "newperson"),
            ("display_name", "New Person"),
            ("password", "password1"),
            ("password_again", "password1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"password-error\""), "{page}");
    assert!(page.contains("value=\"newperson\""));
    // Without the CSRF token: refused.
    let res = b
        .post(app.url("/invitation/account"))
        .form(&[("token", token_of(&link).as_str()), ("username", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // A taken username re-renders with a message, and uses nothing.
    let res = create_account(&app, &link, ADMIN_USERNAME, STRONG).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("id=\"username-error\""));

    // Two submissions at once: the link is used by one of them only.
    let (a, b) = tokio::join!(
        create_account(&app, &link, "newperson", STRONG),
        create_account(&app, &link, "newperson-twin", STRONG),
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [303, 400]);
    let res = if a.status() == 303 { a } else { b };
    let winner = if users_named(&app, "newperson").await {
        "newperson"
    } else {
        "newperson-twin"
    };
    assert_eq!(res.status(), 303);
    assert!(location(res.headers()).starts_with("/login"));
    // Signs in with the new password; a member with the invited role; the address is proven.
    let newbie = signed_in(&app, winner, STRONG).await;
    assert!(app.account_page_with(&newbie).await.is_some());
    let id = user_id(&app, winner).await;
    assert_eq!(role_of(&app, "default", &id).await, Some(Role::Admin));
    let state = app.state.clone();
    let user = tokio::task::spawn_blocking(move || {
        use mintgate::accounts::store::UserStore;
        state.store.find_user(&id).unwrap().unwrap()
    })
    .await
    .unwrap();
    assert!(user.email_verified);
    assert_eq!(user.email, "New.Person@Example.com");

    // Single use: the link is dead now.
    let res = new_client().get(app.url(&link)).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let res = create_account(&app, &link, "another", STRONG).await;
    assert_eq!(res.status(), 400);
    let kinds = audit_kinds(&app).await;
    for k in ["invitation.created", "membership.added", "user.created"] {
        assert!(kinds.iter().any(|x| x == k), "{k}");
    }
}

async fn expired_revoked_replaced_and_unknown_links_are_dead(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    // Expiry: 7 days.
    invite(&app, &admin, "late@example.com", "member").await;
    let link = link_in_mail(&app, "late@example.com", 1).await;
    app.clock.advance(7 * 24 * 3600 - 60);
    assert_eq!(
        new_client()
            .get(app.url(&link))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.clock.advance(120);
    assert_eq!(
        new_client()
            .get(app.url(&link))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        create_account(&app, &link, "late", STRONG).await.status(),
        400
    );
    // (The administrator's session did not last the week either.)
    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;

    // Replaced: inviting the address again kills the first link.
    invite(&app, &admin, "twice@example.com", "member").await;
    let first = link_in_mail(&app, "twice@example.com", 1).await;
    invite(&app, &admin, "TWICE@example.com", "admin").await;
    let second = link_in_mail(&app, "TWICE@example.com", 1).await;
    assert_eq!(
        new_client()
            .get(app.url(&first))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        new_client()
            .get(app.url(&second))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let page = admin
        .get(app.url(INVITATIONS))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(page.matches("id=\"invitation-").count(), 1, "{page}");

    // Revoked: the link dies; another organisation's invitation is 404 here.
    let id = page
        .split("id=\"invitation-")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let res = post_form(
        &app,
        &admin,
        INVITATIONS,
        &format!("{INVITATIONS}/{id}/revoke"),
        &[],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        new_client()
            .get(app.url(&second))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let res = post_form(
        &app,
        &admin,
        INVITATIONS,
        &format!("{INVITATIONS}/{id}/revoke"),
        &[],
    )
    .await;
    assert_eq!(res.status(), 404);

    org(&app, "beta").await;
    // Beta's invitation, made through the service, is not default's to revoke.
    let state = app.state.clone();
    let beta_id = tokio::task::spawn_blocking(move || {
        use mintgate::members::store::{HashedInvitation, Invitation, InvitationStore};
        let beta = mintgate::accounts::service::org_named(&state.store, "beta").unwrap();
        let now = state.clock.now();
        let hash = HashedInvitation::from_stored("b".repeat(64));
        let inv = Invitation {
            id: hash.as_str().to_owned(),
            org_id: beta.id,
            email: "someone@beta.example".into(),
            role: Role::Member,
            created_by: None,
            created_at: now,
            expires_at: now + 3600,
        };
        state.store.create_invitation(&hash, &inv).unwrap();
        inv.id
    })
    .await
    .unwrap();
    let res = post_form(
        &app,
        &admin,
        INVITATIONS,
        &format!("{INVITATIONS}/{beta_id}/revoke"),
        &[],
    )
    .await;
    assert_eq!(res.status(), 404);

    // Unknown or malformed tokens: the same 400.
    for path in [
        "/invitation?token=nope",
        "/invitation",
        &format!("/invitation?token={}", "A".repeat(43)),
    ] {
        let res = new_client().get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 400, "{path}");
    }
}

async fn signed_in_accounts_accept_only_their_own_invitation(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    invite(&app, &admin, "BOB@example.com", "member").await;
    let link = link_in_mail(&app, "BOB@example.com", 1).await;

    // Someone else signed in: told whom it is for, and the POST is refused.
    let eve = signed_in_as(&app, "eve", Role::Member).await;
    let page = eve
        .get(app.url(&link))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"wrong-account\""), "{page}");
    let csrf = form_value(&page, "csrf").unwrap();
    let res = eve
        .post(app.url("/invitation"))
        .form(&[("csrf", csrf.as_str()), ("token", &token_of(&link))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("BOB@example.com"));

    // carol@example.com accepts an invitation of hers: the account joins with the role.
    let carol = signed_in_as(&app, "carol", Role::Member).await;
    let carol_id = user_id(&app, "carol").await;
    invite(&app, &admin, "Carol@Example.com", "admin").await;
    let link = link_in_mail(&app, "Carol@Example.com", 1).await;
    let page = carol
        .get(app.url(&link))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"accept-form\""), "{page}");
    let csrf = form_value(&page, "csrf").unwrap();
    let res = carol
        .post(app.url("/invitation"))
        .form(&[("csrf", csrf.as_str()), ("token", &token_of(&link))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    // Already a member: raised to the invited role, never lowered.
    assert_eq!(role_of(&app, "default", &carol_id).await, Some(Role::Admin));
    // Used: a second POST is refused.
    let res = carol
        .post(app.url("/invitation"))
        .form(&[("csrf", csrf.as_str()), ("token", &token_of(&link))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // Signed out: "Sign in to accept" comes back to the invitation once signed in.
    app.create_user("dave", "dave-password-long-1").await;
    invite(&app, &admin, "dave@example.com", "admin").await;
    let link = link_in_mail(&app, "dave@example.com", 1).await;
    let b = new_client();
    let page = b
        .get(app.url(&link))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc = scraper::Html::parse_document(&page);
    let sel = scraper::Selector::parse("#sign-in-to-accept").unwrap();
    let href = doc
        .select(&sel)
        .next()
        .unwrap()
        .value()
        .attr("href")
        .unwrap()
        .to_owned();
    let return_to = url::Url::parse(&app.url(&href))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "return_to")
        .unwrap()
        .1
        .into_owned();
    assert_eq!(return_to, link);
    let res = app
        .post_login_with(&b, "dave", "dave-password-long-1", Some(&return_to))
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(res.headers()), link);
    let page = b
        .get(app.url(&link))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"accept-form\""), "{page}");

    // Signed out, the POST goes to sign in.
    let res = new_client()
        .post(app.url("/invitation"))
        .form(&[("csrf", "x"), ("token", "y")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection());
}

async fn only_owners_invite_owners(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ada = signed_in_as(&app, "ada", Role::Admin).await;
    // Without the CSRF token: refused, nothing sent.
    let res = ada
        .post(app.url(INVITATIONS))
        .form(&[("email", "boss@example.com"), ("role", "member")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = invite(&app, &ada, "boss@example.com", "owner").await;
    assert_eq!(res.status(), 400);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"role-error\""), "{page}");
    assert!(page.contains("value=\"boss@example.com\""));
    let res = invite(&app, &ada, "not an address", "member").await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("id=\"email-error\""));
    let owner = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let res = invite(&app, &owner, "boss@example.com", "owner").await;
    assert_eq!(res.status(), 200);
}

/// An invitation dies with its inviter's authority: an admin who is demoted (or removed) cannot
/// come back through a link they sent themselves before (attack review, issue #14).
async fn an_invitation_ends_with_the_inviters_authority(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let rogue = signed_in_as(&app, "rogue", Role::Admin).await;
    let res = invite(&app, &rogue, "rogue-alt@evil.example", "admin").await;
    assert_eq!(res.status(), 200);
    let link = link_in_mail(&app, "rogue-alt@evil.example", 1).await;
    assert_eq!(
        new_client()
            .get(app.url(&link))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    crate::org_members::set_role(&app, "default", "rogue", Role::Member).await;
    let res = create_account(&app, &link, "rogue2", STRONG).await;
    assert_eq!(res.status(), 400, "the demoted inviter's link is dead");
    assert!(!users_named(&app, "rogue2").await);
}

both!(
    an_invitation_ends_with_the_inviters_authority,
    invitation_creates_an_account_once,
    expired_revoked_replaced_and_unknown_links_are_dead,
    signed_in_accounts_accept_only_their_own_invitation,
    only_owners_invite_owners,
);

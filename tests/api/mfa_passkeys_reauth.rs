//! Registering or removing a passkey needs a sign-in within the last five minutes, as turning
//! TOTP off does (`mfa::reauth`), with the same way back: sign in again at
//! `/login?reauth=1&return_to=/settings/security`, and back to the page. A sign-in that waits
//! for an organisation-required enrolment (its session was just made) registers without it.

use webauthn_authenticator_rs::softpasskey::SoftPasskey;

use crate::both;
use crate::helpers::*;
use crate::mfa_passkeys::{
    discoverable_answer, enrol_for_the_sign_in, json_of, password_for, register, register_client,
    security_page, spawn_localhost,
};
use crate::mfa_support::require_mfa;
use crate::oauth_support::amr;

const SIGN_IN_AGAIN: &str = "/login?return_to=%2Fsettings%2Fsecurity&reauth=1";

/// The security page's CSRF token and the id of its first passkey.
async fn first_passkey(app: &TestApp, client: &reqwest::Client) -> (String, String) {
    let page = security_page(app, client).await;
    let doc = scraper::Html::parse_document(&page);
    let sel = scraper::Selector::parse("tr[data-passkey-id]").unwrap();
    let id = doc
        .select(&sel)
        .next()
        .expect("a passkey listed")
        .value()
        .attr("data-passkey-id")
        .unwrap()
        .to_owned();
    (form_value(&page, "csrf").unwrap(), id)
}

async fn passkey_changes_need_a_recent_sign_in(backend: Backend) {
    let Some(app) = spawn_localhost(backend).await else {
        return;
    };
    app.sign_in_admin().await;
    let mut auth = SoftPasskey::new(true);
    let credential_id = register(&app, &app.client, &mut auth, "Laptop").await;
    app.clock.advance(301);

    // Registering: the script is told to sign in again first.
    let (csrf, id) = first_passkey(&app, &app.client).await;
    let res = app
        .client
        .post(app.url("/settings/security/passkeys/begin"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(
        !set_cookies(res.headers())
            .iter()
            .any(|c| c.starts_with("mg_passkey_reg=")),
        "no ceremony begun"
    );
    let (status, body) = json_of(res).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["location"], SIGN_IN_AGAIN, "{body}");
    assert!(body["error"].is_string());
    // Removing: the form goes to the sign-in page.
    let res = app
        .client
        .post(app.url(&format!("/settings/security/passkeys/{id}/delete")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(res.headers()), SIGN_IN_AGAIN);
    assert_eq!(first_passkey(&app, &app.client).await.1, id, "still there");

    // Signing in again (with the passkey itself) comes back to the page.
    let page = app
        .client
        .get(app.url(SIGN_IN_AGAIN))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let login_csrf = form_value(&page, "csrf").unwrap();
    let return_to = form_value(&page, "return_to").unwrap();
    assert_eq!(return_to, "/settings/security");
    let fields = [
        ("csrf", login_csrf.as_str()),
        ("return_to", return_to.as_str()),
    ];
    let res = app
        .client
        .post(app.url("/login/passkey/begin"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    let (status, options) = json_of(res).await;
    assert_eq!(status, 200, "{options}");
    let handle = mintgate::mfa::passkeys::user_handle(&user_id(&app, ADMIN_USERNAME).await);
    let answer = discoverable_answer(&app, &mut auth, options, &credential_id, handle.as_bytes());
    let res = app
        .client
        .post(app.url("/login/passkey/finish"))
        .form(&[
            ("csrf", login_csrf.as_str()),
            ("return_to", return_to.as_str()),
            ("credential", answer.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(res).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["location"], "/settings/security");

    // Now both work.
    register(&app, &app.client, &mut SoftPasskey::new(true), "Phone").await;
    let (csrf, id) = first_passkey(&app, &app.client).await;
    let res = app
        .client
        .post(app.url(&format!("/settings/security/passkeys/{id}/delete")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(res.headers()), "/settings/security");
    assert_ne!(first_passkey(&app, &app.client).await.1, id, "removed");
}

/// A member sent to enrol by their organisation's MFA requirement registers a passkey even
/// when the password was given more than five minutes ago: the sign-in waits for this very
/// enrolment, and its session was made for it.
async fn enrolment_the_organisation_requires_needs_no_reauth(backend: Backend) {
    let Some(app) = spawn_localhost(backend).await else {
        return;
    };
    require_mfa(&app, true).await;
    let client = register_client(&app).await;
    let (b, to) = password_for(&app, &client.id).await;
    assert_eq!(to, "/settings/security");
    app.clock.advance(301);
    let claims = enrol_for_the_sign_in(&app, &b, &client).await;
    assert_eq!(amr(&claims), ["pwd", "swk", "mfa"]);
}

both!(
    passkey_changes_need_a_recent_sign_in,
    enrolment_the_organisation_requires_needs_no_reauth,
);

//! Passkeys in headless Chromium with a CDP virtual authenticator (CTAP2, internal, resident
//! keys, user verification): register a discoverable passkey from the settings page, sign
//! out, sign in usernameless with it for an authorization request, and read `amr` and `acr` in
//! the ID token.

use chromiumoxide::cdp::browser_protocol::web_authn::{
    AddVirtualAuthenticatorParams, AuthenticatorProtocol, AuthenticatorTransport, EnableParams,
    VirtualAuthenticatorOptions,
};

use super::{click, launch, text_of, type_into, wait_for_url};
use crate::helpers::*;
use crate::mfa_passkeys::spawn_localhost;
use crate::oauth_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkey_registered_then_usernameless_sign_in() {
    let Some(app) = spawn_localhost(Backend::Sqlite).await else {
        return;
    };
    let Some((mut browser, _profile, pump)) = launch().await else {
        return;
    };
    // The browser talks to the issuer's origin, http://localhost:<port>.
    let base = app
        .settings
        .server
        .issuer
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    let page = browser
        .new_page(format!("{base}/settings/security"))
        .await
        .unwrap();
    page.execute(EnableParams::builder().enable_ui(false).build())
        .await
        .unwrap();
    let options = VirtualAuthenticatorOptions::builder()
        .protocol(AuthenticatorProtocol::Ctap2)
        .transport(AuthenticatorTransport::Internal)
        .has_resident_key(true)
        .has_user_verification(true)
        .is_user_verified(true)
        .automatic_presence_simulation(true)
        .build()
        .unwrap();
    page.execute(AddVirtualAuthenticatorParams::new(options))
        .await
        .unwrap();

    wait_for_url(&page, |u| u.contains("/login")).await;
    type_into(&page, "#login", ADMIN_USERNAME).await;
    type_into(&page, "#password", ADMIN_PASSWORD).await;
    click(&page, "form[action='/login'] button[type=submit]").await;
    wait_for_url(&page, |u| u.ends_with("/settings/security")).await;
    type_into(&page, "#passkey-name", " in Chromium").await;
    click(&page, "#passkey-add").await;
    let list = text_of(&page, "#passkey-list").await.unwrap_or_default();
    let html = page.content().await.unwrap_or_default();
    assert!(
        html.contains("Passkey in Chromium"),
        "registered: {list} {html}"
    );

    // Sign out, then an authorization request signed in with the passkey alone.
    click(&page, "form[action='/logout'] button").await;
    wait_for_url(&page, |u| u.contains("/login")).await;
    let redirect = format!("{base}/rp/callback");
    let mut spec = client_spec("Passkey browser RP");
    spec.redirect_uris = vec![redirect.clone()];
    spec.skip_consent = true;
    let client = register(&app, spec).await;
    let auth = format!(
        "{base}/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=s1&nonce=n1",
        client.id,
        url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>()
    );
    page.goto(auth).await.unwrap();
    wait_for_url(&page, |u| u.contains("/login")).await;
    // The button, unless autofill (conditional UI, which the virtual authenticator answers at
    // once) already signed in: no username typed either way.
    let _ = page
        .evaluate(
            "(() => { const b = document.querySelector('#passkey-button'); if (b) b.click(); })()",
        )
        .await;
    let url = wait_for_url(&page, |u| u.starts_with(&redirect)).await;
    assert!(
        url.starts_with(&redirect),
        "{url}: {}",
        page.content().await.unwrap_or_default()
    );
    let code = query_of(&url)["code"].clone();
    let (status, body) = post_form(
        &app,
        "/oauth/token",
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let claims = jwt_claims(body["id_token"].as_str().unwrap());
    assert_eq!(
        claims["amr"],
        serde_json::json!(["swk", "user", "mfa"]),
        "{claims}"
    );
    assert_eq!(claims["acr"], "urn:mintgate:acr:mfa", "{claims}");
    browser.close().await.unwrap();
    let _ = browser.wait().await;
    pump.abort();
}

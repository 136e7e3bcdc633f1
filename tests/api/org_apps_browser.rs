//! The organisation console's OAuth applications and groups in headless Chromium: an admin
//! registers a confidential client on the page, the test reads its id and secret from the
//! page and completes an authorization-code flow with PKCE through the `openidconnect` crate,
//! the browser signing in and consenting (the consent page names the organisation); the ID
//! token verifies. Then a group is created on its page. Every page visited passes axe-core.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    RedirectUrl, Scope, TokenResponse,
};

use crate::browser::*;
use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_registers_a_client_and_an_rp_signs_in_with_it() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let Some((mut browser, _profile, pump)) = launch().await else {
        return;
    };
    let apps = "/settings/organisation/oauth-apps";
    let page = browser.new_page(app.url(apps)).await.unwrap();
    wait_for_url(&page, |u| u.contains("/login")).await;
    type_into(&page, "#login", ADMIN_USERNAME).await;
    type_into(&page, "#password", ADMIN_PASSWORD).await;
    click(&page, "form[action='/login'] button[type=submit]").await;
    wait_for_url(&page, |u| u.ends_with(apps)).await;
    assert!(text_of(&page, "#no-apps").await.is_some());
    assert_accessible(&page).await;

    let redirect = app.url("/rp/callback");
    type_into(&page, "#name", "Browser portal").await;
    type_into(&page, "#redirect_uris", &redirect).await;
    click(&page, "#save").await;
    let secret = text_of(&page, "#client-secret")
        .await
        .expect("the secret is shown once")
        .trim()
        .to_owned();
    let client_id = text_of(&page, "#client-id")
        .await
        .unwrap()
        .trim()
        .to_owned();
    assert!(secret.starts_with("mg_secret_"), "{secret}");
    assert_accessible(&page).await;

    let http = openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let provider =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.address.clone()).unwrap(), &http)
            .await
            .unwrap();
    let rp = CoreClient::from_provider_metadata(
        provider,
        ClientId::new(client_id.clone()),
        Some(ClientSecret::new(secret)),
    )
    .set_redirect_uri(RedirectUrl::new(redirect.clone()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    page.goto(url.as_str()).await.unwrap();
    assert_eq!(
        text_of(&page, "#client-name").await.as_deref(),
        Some("Browser portal")
    );
    assert_eq!(
        text_of(&page, "#client-org")
            .await
            .as_deref()
            .map(str::trim),
        Some("Registered by default"),
        "the consent page names the organisation"
    );
    assert_accessible(&page).await;
    click(&page, "#allow").await;
    let back = wait_for_url(&page, |u| u.starts_with(&redirect)).await;
    let q = crate::oauth_support::query_of(&back);
    assert_eq!(q["state"], *state.secret());
    let tokens = rp
        .exchange_code(AuthorizationCode::new(q["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("the code exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token
        .claims(&rp.id_token_verifier(), &nonce)
        .expect("the ID token verifies");
    assert_eq!(
        claims.preferred_username().unwrap().as_str(),
        ADMIN_USERNAME
    );

    // The client's page and its delete confirmation.
    page.goto(app.url(&format!("{apps}/{client_id}")))
        .await
        .unwrap();
    assert_eq!(
        text_of(&page, "#client-id").await.as_deref(),
        Some(client_id.as_str())
    );
    assert_accessible(&page).await;
    click(&page, "#delete").await;
    wait_for_url(&page, |u| u.ends_with("/delete")).await;
    assert!(text_of(&page, "#confirm").await.is_some());
    assert_accessible(&page).await;

    // Groups: create one and open its page.
    page.goto(app.url("/settings/organisation/groups"))
        .await
        .unwrap();
    assert!(text_of(&page, "#no-groups").await.is_some());
    assert_accessible(&page).await;
    type_into(&page, "#name", "Engineering").await;
    click(&page, "#create").await;
    wait_for_url(&page, |u| u.contains("/groups/grp_")).await;
    type_into(&page, "#login", ADMIN_USERNAME).await;
    click(&page, "#add").await;
    let members = text_of(&page, "#members").await.expect("the members table");
    assert!(members.contains(ADMIN_USERNAME), "{members}");
    assert_accessible(&page).await;
    browser.close().await.unwrap();
    let _ = browser.wait().await;
    pump.abort();
}

//! What ends when access ends, as the tests observe it: a refresh token issued in an
//! organisation, an API key of a user there, and whether each still works.

use mintgate::apikeys::service::{NewKey, create_for_operator};
use mintgate::ids::UserId;
use secrecy::ExposeSecret;

use crate::apikeys::call;
use crate::helpers::*;
use crate::oauth_support::{TestClient, auth_url, authorize_with, post_form, redeem_code};

/// A refresh token for the user signed in on `browser`, issued in organisation `org`.
pub async fn refresh_token(
    app: &TestApp,
    browser: &reqwest::Client,
    client: &TestClient,
    org: &str,
) -> String {
    let url = auth_url(app, &client.id, &[("organization", org)]);
    let to = authorize_with(app, browser, &url).await;
    let tokens = redeem_code(app, client, &to).await;
    tokens["refresh_token"].as_str().unwrap().to_owned()
}

/// Whether a refresh token still refreshes (refused: `invalid_grant`, nothing else).
pub async fn refreshes(app: &TestApp, client: &TestClient, token: &str) -> bool {
    let form = [("grant_type", "refresh_token"), ("refresh_token", token)];
    let (status, body) = post_form(app, "/oauth/token", client, &form).await;
    assert!(
        status == 200 || body["error"] == "invalid_grant",
        "{status} {body}"
    );
    status == 200
}

/// A `read:org` API key of `owner` in organisation `org` (made as the operator would).
pub async fn key_in(app: &TestApp, org: &str, owner: &UserId) -> String {
    let state = app.state.clone();
    let (org, owner) = (org.to_owned(), owner.clone());
    tokio::task::spawn_blocking(move || {
        let org = mintgate::accounts::service::org_named(&state.store, &org).unwrap();
        let input = NewKey {
            name: "tests".into(),
            scopes: vec!["read:org".into()],
            expires_in: None,
            allowed_ips: vec![],
        };
        let now = state.clock.now();
        let (_, secret) = create_for_operator(
            &state.store,
            &state.key_format,
            &org,
            Some(&owner),
            input,
            now,
        )
        .unwrap();
        secret.expose_secret().to_owned()
    })
    .await
    .unwrap()
}

/// Whether an API key still verifies at `/v1/auth/verify`.
pub async fn key_works(app: &TestApp, secret: &str) -> bool {
    let (status, body, _) = call(
        app,
        reqwest::Method::GET,
        "/v1/auth/verify",
        Some(secret),
        None,
    )
    .await;
    assert!(status == 200 || status == 401, "{status} {body}");
    status == 200
}

//! Helpers of the account self-service tests (issue #14).

pub use crate::access_support::refreshes;
use crate::helpers::*;
use crate::oauth_support::{TestClient, authorize_with, redeem_code, session_client, session_url};

/// A password zxcvbn scores 4 (the tests' new passwords).
pub const NEW_PASSWORD: &str = "quartz-harbour-lantern-47";
/// A password the strength rule refuses (long enough, guessable).
pub const WEAK_PASSWORD: &str = "password123";
/// The test users' first password.
pub const PASSWORD: &str = "violet-anchor-meadow-12";

/// POSTs `form` to `path` with `browser`'s CSRF token read from `page`; `page` must render
/// with a form.
pub async fn post_with_csrf(
    app: &TestApp,
    browser: &reqwest::Client,
    page: &str,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    crate::sso_support::post_form(app, browser, page, path, form).await
}

/// The text of a page.
pub async fn page(app: &TestApp, browser: &reqwest::Client, path: &str) -> (u16, String) {
    let res = browser.get(app.url(path)).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

/// Whether `browser`'s session still works (the account page answers it).
pub async fn signed_in_still(app: &TestApp, browser: &reqwest::Client) -> bool {
    app.account_page_with(browser).await.is_some()
}

/// A session-bound refresh token for the user signed in on `browser`, and its client.
pub async fn bound_refresh(app: &TestApp, browser: &reqwest::Client) -> (TestClient, String) {
    let client = session_client(app, "account-tests").await;
    let to = authorize_with(app, browser, &session_url(app, &client, &[])).await;
    let tokens = redeem_code(app, &client, &to).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    (client, refresh)
}

/// An offline refresh token (`offline_access`: not bound to the session) for the user signed
/// in on `browser`, and its client.
pub async fn offline_refresh(app: &TestApp, browser: &reqwest::Client) -> (TestClient, String) {
    let mut spec = crate::oauth_support::client_spec("offline-tests");
    spec.skip_consent = true;
    let client = crate::oauth_support::register(app, spec).await;
    let to = authorize_with(
        app,
        browser,
        &crate::oauth_support::auth_url(app, &client.id, &[]),
    )
    .await;
    let tokens = redeem_code(app, &client, &to).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    (client, refresh)
}

/// A new member of `default` called `name` (`name@example.com`) with [`PASSWORD`].
pub async fn member(app: &TestApp, name: &str) -> mintgate::accounts::types::User {
    app.create_user(name, PASSWORD).await
}

/// The status of a sign-in with `login` and `password` in a new browser.
pub async fn login_status(app: &TestApp, login: &str, password: &str) -> u16 {
    let b = new_client();
    app.post_login_with(&b, login, password, None)
        .await
        .status()
        .as_u16()
}

/// How many messages `app`'s mail folder holds for `to`.
pub fn mail_count(app: &TestApp, to: &str) -> usize {
    crate::mail_support::mail_folder(app)
        .iter()
        .filter(|m| m.to.contains(to))
        .count()
}

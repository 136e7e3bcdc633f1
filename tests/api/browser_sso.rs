//! Enterprise SSO in headless Chromium: from the sign-in page, through the organisation's
//! independent IdP (`oidc-provider`), signed in at the user's organisation.

use serde_json::json;

use crate::browser::{click, launch, text_of, type_into, wait_for_url};
use crate::helpers::{Backend, spawn_app};
use crate::sso_idp_support::{account, connect};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_sign_in_in_a_real_browser() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let accounts = json!({
        "alice@acme.test": account("idp-alice", "alice@acme.test", true, &["Engineering"]),
    });
    let Some(_sso) = connect(&app, accounts).await else {
        return;
    };
    let Some((mut browser, _profile, pump)) = launch().await else {
        return;
    };
    let page = browser.new_page(app.url("/account")).await.unwrap();
    wait_for_url(&page, |u| u.contains("/login")).await;
    type_into(&page, "#sso", "alice@acme.test").await;
    click(&page, "#sso-sign-in button[type=submit]").await;
    let url = wait_for_url(&page, |u| u.ends_with("/account")).await;
    assert!(
        url.ends_with("/account"),
        "{url}: {}",
        page.content().await.unwrap_or_default()
    );
    assert_eq!(text_of(&page, "#username").await.as_deref(), Some("alice"));
    let html = page.content().await.unwrap();
    assert!(
        html.contains("default"),
        "the organisation is shown: {html}"
    );
    browser.close().await.unwrap();
    let _ = browser.wait().await;
    pump.abort();
}

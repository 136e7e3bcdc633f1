//! The console's navigation in headless Chromium (issue #14): an owner signs in and reaches
//! every page of the navigation by clicking its link; each page loads (no error page) and
//! passes axe-core, as do the signed-out pages (sign-in, forgot password).

use crate::browser::*;
use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_of_the_navigation_loads_and_is_accessible() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let Some((mut browser, _profile, pump)) = launch().await else {
        return;
    };
    let page = browser.new_page(app.url("/login")).await.unwrap();
    assert!(text_of(&page, "#login").await.is_some());
    assert_accessible(&page).await;
    click(&page, "#forgot-password").await;
    wait_for_url(&page, |u| u.contains("/login/forgot")).await;
    assert_accessible(&page).await;

    page.goto(app.url("/login")).await.unwrap();
    type_into(&page, "#login", ADMIN_USERNAME).await;
    type_into(&page, "#password", ADMIN_PASSWORD).await;
    click(&page, "button[type=submit]").await;
    wait_for_url(&page, |u| u.ends_with("/account")).await;
    assert!(
        text_of(&page, "nav.site").await.is_some(),
        "the navigation is shown"
    );

    let hrefs: Vec<String> = page
        .evaluate("Array.from(document.querySelectorAll('nav.site a[href^=\"/\"]')).map(a => a.getAttribute('href'))")
        .await
        .unwrap()
        .into_value()
        .unwrap();
    // The account's pages and, for an owner, the organisation's.
    for expected in [
        "/account",
        "/account/password",
        "/account/sessions",
        "/settings/security",
        "/settings/api-keys",
        "/settings/applications",
        "/settings/organisation/members",
        "/settings/organisation/oauth-apps",
        "/settings/organisation/groups",
        "/settings/security/sso",
        "/settings/security/saml-apps",
        "/settings/security/scim",
        "/settings/organisation/audit",
        "/settings/organisation",
    ] {
        assert!(
            hrefs.iter().any(|h| h == expected),
            "{expected} in {hrefs:?}"
        );
    }
    for href in hrefs
        .iter()
        .filter(|h| !h.starts_with("/account/organisation"))
    {
        click(&page, &format!("nav.site a[href=\"{href}\"]")).await;
        let url = wait_for_url(&page, |u| u.ends_with(href.as_str())).await;
        assert!(url.ends_with(href.as_str()), "{href}: {url}");
        assert!(
            text_of(&page, "nav.site a[aria-current=page]")
                .await
                .is_some(),
            "{href} marks itself current"
        );
        let heading = text_of(&page, "h1").await.unwrap_or_default();
        assert!(
            !heading.is_empty() && !heading.contains("not") && !heading.contains("Error"),
            "{href}: {heading}"
        );
        assert_accessible(&page).await;
    }
    browser.close().await.unwrap();
    let _ = browser.wait().await;
    pump.abort();
}

//! The audit log and the Policies page in headless Chromium (issue #14): an owner opens the
//! log, filters it by event type, pages older and newer, then sets a policy (a refused value
//! first); every page passes axe-core.

use mintgate::audit::AuditKind;

use crate::browser::*;
use crate::helpers::*;
use crate::org_audit::{T0, org_id, seed};

async fn rows(page: &chromiumoxide::Page) -> i64 {
    page.evaluate("document.querySelectorAll('#events tbody tr').length")
        .await
        .unwrap()
        .into_value()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_and_policies_in_a_browser() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let default = org_id(&app, "default").await;
    seed(
        &app,
        &default,
        55,
        AuditKind::GroupCreated,
        "alpha",
        T0,
        None,
    )
    .await;
    let Some((mut browser, _profile, pump)) = launch().await else {
        return;
    };
    let page = browser.new_page(app.url("/login")).await.unwrap();
    type_into(&page, "#login", ADMIN_USERNAME).await;
    type_into(&page, "#password", ADMIN_PASSWORD).await;
    click(&page, "button[type=submit]").await;
    wait_for_url(&page, |u| u.ends_with("/account")).await;

    click(&page, "nav.site a[href=\"/settings/organisation/audit\"]").await;
    wait_for_url(&page, |u| u.ends_with("/settings/organisation/audit")).await;
    assert_eq!(text_of(&page, "h1").await.unwrap(), "Audit log");
    assert!(rows(&page).await > 0);
    assert_accessible(&page).await;

    // Filter by type: 55 events, 50 on the first page.
    page.evaluate("document.querySelector('#kind').value = 'group.created'")
        .await
        .unwrap();
    click(&page, "#audit-filter button[type=submit]").await;
    wait_for_url(&page, |u| u.contains("kind=group.created")).await;
    assert_eq!(rows(&page).await, 50);
    assert_accessible(&page).await;

    click(&page, "#older").await;
    wait_for_url(&page, |u| u.contains("before=")).await;
    assert_eq!(rows(&page).await, 5);
    assert!(
        page.url()
            .await
            .unwrap()
            .unwrap()
            .contains("kind=group.created")
    );
    assert_accessible(&page).await;
    click(&page, "#newer").await;
    wait_for_url(&page, |u| u.contains("after=")).await;
    assert_eq!(rows(&page).await, 50);

    // Policies: a value out of bounds is refused next to its field, then a good one saved.
    page.goto(app.url("/settings/organisation")).await.unwrap();
    assert_eq!(text_of(&page, "h1").await.unwrap(), "Policies");
    assert_accessible(&page).await;
    type_into(&page, "#session_idle_timeout", "4m").await;
    click(&page, "#save-policies").await;
    let mut error = None;
    for _ in 0..100 {
        error = text_of(&page, "#session_idle_timeout-error").await;
        if error.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(error.unwrap().contains("at least 5 minutes"));
    assert_accessible(&page).await;
    page.evaluate("document.querySelector('#session_idle_timeout').value = '10m'")
        .await
        .unwrap();
    click(&page, "#save-policies").await;
    wait_for_url(&page, |u| u.contains("saved=1")).await;
    assert!(text_of(&page, "#saved").await.is_some());
    assert_accessible(&page).await;

    browser.close().await.unwrap();
    let _ = browser.wait().await;
    pump.abort();
}

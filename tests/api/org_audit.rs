//! Organisation > Audit log (issue #14): only the active organisation's events, filtered by
//! actor, type and time, in keyset pages of 50, exported as JSON lines; members get 403.

use mintgate::audit::{AuditEvent, AuditKind, AuditStore, RequestMeta};
use mintgate::ids::{OrgId, UserId};

use crate::both;
use crate::helpers::*;
use crate::scim_support::new_org;

/// 2026-12-08T09:30:00Z.
pub(crate) const T0: i64 = 1_796_722_200;

pub(crate) async fn org_id(app: &TestApp, name: &str) -> OrgId {
    let (state, name) = (app.state.clone(), name.to_owned());
    tokio::task::spawn_blocking(move || {
        mintgate::accounts::service::org_named(&state.store, &name)
            .unwrap()
            .id
    })
    .await
    .unwrap()
}

/// Records `n` events of `kind` in `org`, subjects `{prefix}-{i}`, at `at + i`, by `user`.
pub(crate) async fn seed(
    app: &TestApp,
    org: &OrgId,
    n: usize,
    kind: AuditKind,
    prefix: &str,
    at: i64,
    user: Option<&UserId>,
) {
    let (state, org, prefix, user) = (
        app.state.clone(),
        org.clone(),
        prefix.to_owned(),
        user.cloned(),
    );
    tokio::task::spawn_blocking(move || {
        for i in 0..n {
            let mut e = AuditEvent::new(at + i as i64, kind, &RequestMeta::default())
                .org(&org)
                .subject(&format!("{prefix}-{i}"));
            if let Some(u) = &user {
                e = e.user(u);
            }
            state.store.record_event(&e).unwrap();
        }
    })
    .await
    .unwrap()
}

/// The page's event ids, in order.
fn event_ids(page: &str) -> Vec<i64> {
    page.split("id=\"event-")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().parse().unwrap())
        .collect()
}

/// The href of the link with this id, unescaped.
fn link(page: &str, id: &str) -> Option<String> {
    let rest = page.split(&format!("id=\"{id}\" href=\"")).nth(1)?;
    Some(
        rest.split('"')
            .next()?
            .replace("&amp;", "&")
            .replace("&#38;", "&"),
    )
}

async fn get_page(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String) {
    let res = client.get(app.url(path)).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

async fn export_lines(
    app: &TestApp,
    client: &reqwest::Client,
    query: &str,
) -> Vec<serde_json::Value> {
    let res = client
        .get(app.url(&format!("/settings/organisation/audit/export?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/x-ndjson");
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    res.text()
        .await
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

async fn pages_export_and_isolation(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let default = org_id(&app, "default").await;
    let beta = new_org(&app, "beta").await;
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
    seed(&app, &beta, 5, AuditKind::GroupCreated, "beta", T0, None).await;
    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;

    // Unfiltered: the organisation's events only, never beta's.
    let (status, page) = get_page(&app, &admin, "/settings/organisation/audit").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("alpha-54"));
    assert!(!page.contains("beta-"), "another organisation's events");

    // 55 events: a page of 50 and one of 5, newest first, no duplicates, no gaps.
    let (_, first) = get_page(
        &app,
        &admin,
        "/settings/organisation/audit?kind=group.created",
    )
    .await;
    let first_ids = event_ids(&first);
    assert_eq!(first_ids.len(), 50);
    assert!(first_ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    assert!(link(&first, "newer").is_none());
    let older = link(&first, "older").expect("an Older link");
    assert!(
        older.contains("kind=group.created"),
        "keeps the filter: {older}"
    );
    let (_, second) = get_page(&app, &admin, &older).await;
    let second_ids = event_ids(&second);
    assert_eq!(second_ids.len(), 5, "{second}");
    assert!(link(&second, "older").is_none());
    let mut all: Vec<i64> = first_ids.iter().chain(&second_ids).copied().collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 55);
    assert!(first_ids.last().unwrap() > second_ids.first().unwrap());
    assert!(!second.contains("beta-"));
    let newer = link(&second, "newer").expect("a Newer link");
    let (_, back) = get_page(&app, &admin, &newer).await;
    assert_eq!(
        event_ids(&back),
        first_ids,
        "Newer goes back to the first page"
    );

    // The export: the same filter, every matching event, this organisation's only.
    let lines = export_lines(&app, &admin, "kind=group.created").await;
    assert_eq!(lines.len(), 55);
    assert!(lines.iter().all(|l| l["org_id"] == default.as_str()));
    assert!(lines.iter().all(|l| l["event"] == "group.created"));
    let mut ids: Vec<i64> = lines.iter().map(|l| l["id"].as_i64().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, all);
    for field in ["at", "at_unix", "actor_id", "subject", "ip", "detail"] {
        assert!(lines[0].get(field).is_some(), "{field}");
    }
    // Filtered to a few: the export holds exactly the page's events.
    // (`to` with seconds names that second.)
    let q = "kind=group.created&from=2026-12-08T09:30&to=2026-12-08T09:30:09";
    let (_, page) = get_page(&app, &admin, &format!("/settings/organisation/audit?{q}")).await;
    let page_ids = event_ids(&page);
    assert_eq!(page_ids.len(), 10);
    let exported: Vec<i64> = export_lines(&app, &admin, q)
        .await
        .iter()
        .map(|l| l["id"].as_i64().unwrap())
        .collect();
    assert_eq!(exported, page_ids);
    assert!(
        audit_kinds(&app)
            .await
            .contains(&"audit.exported".to_owned())
    );

    // Beta's admin sees beta's events only (and the export too).
    let bob = app.create_user("bob", "bob's long passphrase here").await;
    tokio::task::spawn_blocking({
        let (state, beta) = (app.state.clone(), beta.clone());
        move || {
            use mintgate::accounts::store::UserStore;
            state
                .store
                .add_membership(&beta, &bob.id, mintgate::accounts::types::Role::Admin, 0)
        }
    })
    .await
    .unwrap()
    .unwrap();
    bob_admin_of_beta_only(&app, &beta).await;
}

/// Signs bob in, switches him to beta (he administers it, and is a member of default) and
/// checks his view of the log.
async fn bob_admin_of_beta_only(app: &TestApp, beta: &OrgId) {
    let bob = signed_in(app, "bob", "bob's long passphrase here").await;
    // In default bob is a member: 403.
    let pick = crate::sso_support::post_form(
        app,
        &bob,
        "/account/organisation",
        "/account/organisation",
        &[("org", beta.as_str())],
    )
    .await;
    assert_eq!(pick.status(), 303);
    let (status, page) =
        get_page(app, &bob, "/settings/organisation/audit?kind=group.created").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(event_ids(&page).len(), 5);
    assert!(page.contains("beta-4") && !page.contains("alpha-"));
    let lines = export_lines(app, &bob, "").await;
    assert!(lines.iter().all(|l| l["org_id"] == beta.as_str()));
    assert!(!lines.is_empty());
}

async fn filters_by_actor_type_and_time(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let default = org_id(&app, "default").await;
    let admin_id = user_id(&app, ADMIN_USERNAME).await;
    let carol = app
        .create_user("carol", "carol's long passphrase here")
        .await;
    seed(
        &app,
        &default,
        2,
        AuditKind::MemberAdded,
        "by-admin",
        T0,
        Some(&admin_id),
    )
    .await;
    seed(
        &app,
        &default,
        3,
        AuditKind::MemberRoleChanged,
        "by-carol",
        T0 + 3600,
        Some(&carol.id),
    )
    .await;
    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let base = "/settings/organisation/audit";

    let (_, page) = get_page(&app, &admin, &format!("{base}?actor=admin")).await;
    assert!(
        page.contains("by-admin-1") && !page.contains("by-carol"),
        "{page}"
    );
    // By e-mail address, case-insensitively.
    let (_, page) = get_page(&app, &admin, &format!("{base}?actor=Carol%40example.com")).await;
    assert!(page.contains("by-carol-2") && !page.contains("by-admin"));
    assert_eq!(page.matches(">by-carol-").count(), 3);
    // An unknown actor: an empty result with a message, not an error.
    let (status, page) = get_page(&app, &admin, &format!("{base}?actor=nobody")).await;
    assert_eq!(status, 200);
    assert!(event_ids(&page).is_empty());
    assert!(page.contains("id=\"notice\""), "{page}");
    assert!(page.contains("value=\"nobody\""), "keeps the input");

    // By type, and by a family of types.
    let (_, page) = get_page(
        &app,
        &admin,
        &format!("{base}?kind=membership.role_changed"),
    )
    .await;
    assert_eq!(event_ids(&page).len(), 3);
    let (_, page) = get_page(&app, &admin, &format!("{base}?kind=membership.")).await;
    assert!(page.contains("by-admin-0") && page.contains("by-carol-0"));

    // By time (UTC, `datetime-local`): from is inclusive, to includes its minute.
    let (_, page) = get_page(
        &app,
        &admin,
        &format!("{base}?from=2026-12-08T10:00&kind=membership."),
    )
    .await;
    assert!(page.contains("by-carol-0") && !page.contains("by-admin"));
    let (_, page) = get_page(
        &app,
        &admin,
        &format!("{base}?to=2026-12-08T09:45&kind=membership."),
    )
    .await;
    assert!(page.contains("by-admin-1") && !page.contains("by-carol"));

    // A bad date re-renders the form with the input and a message next to the field.
    let (status, page) =
        get_page(&app, &admin, &format!("{base}?from=yesterday&actor=admin")).await;
    assert_eq!(status, 400);
    assert!(page.contains("id=\"from-error\""), "{page}");
    assert!(page.contains("value=\"yesterday\"") && page.contains("value=\"admin\""));
    assert!(event_ids(&page).is_empty());
    let res = admin
        .get(app.url("/settings/organisation/audit/export?to=13%2F45"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

async fn members_get_403(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("dave", "dave's long passphrase here").await;
    let dave = signed_in(&app, "dave", "dave's long passphrase here").await;
    for path in [
        "/settings/organisation/audit",
        "/settings/organisation/audit/export",
        "/settings/organisation",
    ] {
        let res = dave.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 403, "{path}");
    }
    let res = crate::sso_support::post_form(
        &app,
        &dave,
        "/account",
        "/settings/organisation/policies",
        &[("api_key_max_lifetime", "1d")],
    )
    .await;
    assert_eq!(res.status(), 403);
}

/// Admin actions on the console land in the organisation's log, not in another's.
async fn admin_actions_are_in_the_log(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let res = crate::sso_support::post_form(
        &app,
        &admin,
        "/settings/organisation",
        "/settings/organisation/policies",
        &[("session_idle_timeout", "10m")],
    )
    .await;
    assert_eq!(res.status(), 303);
    let beta = new_org(&app, "beta").await;
    seed(&app, &beta, 1, AuditKind::GroupCreated, "beta", T0, None).await;
    let _ = export_lines(&app, &admin, "").await;
    let (_, page) = get_page(&app, &admin, "/settings/organisation/audit").await;
    assert!(page.contains("org.policy.set"), "{page}");
    assert!(page.contains("session_idle_timeout none→10m"));
    assert!(page.contains("audit.exported"));
    assert!(page.contains(">admin<"), "the actor's username");
    assert!(!page.contains("beta-0"));
}

both!(
    admin_actions_are_in_the_log,
    pages_export_and_isolation,
    filters_by_actor_type_and_time,
    members_get_403,
);

//! Organisation > Groups (issue #14): hand-made groups created, renamed, deleted and filled by
//! the organisation's administrators, reaching the `groups` claim of the next token; groups an
//! IdP or SCIM manages are read-only (also when an action is posted directly); another
//! organisation's groups are 404, members get 403, forms need their CSRF token.

use mintgate::accounts::store::UserStore;
use mintgate::accounts::types::Role;
use mintgate::ids::GroupId;

use crate::both;
use crate::helpers::*;
use crate::oauth_support::{self, REDIRECT, client_spec, jwt_claims, query_of};
use crate::sso_support::{PASSWORD, member_of, org_id, post_form};

const GROUPS: &str = "/settings/organisation/groups";

fn text(page: &str, selector: &str) -> Option<String> {
    crate::org_apps::text(page, selector)
}

/// The groups claim of an ID token `username` gets now for an operator client (no consent).
async fn groups_claim(
    app: &TestApp,
    client: &oauth_support::TestClient,
    username: &str,
) -> Vec<String> {
    let browser = signed_in(app, username, PASSWORD).await;
    let url = oauth_support::auth_url(app, &client.id, &[]).replace("offline_access", "groups");
    let to = oauth_support::authorize_with(app, &browser, &url).await;
    assert!(to.starts_with(REDIRECT), "{to}");
    let code = query_of(&to)["code"].clone();
    let (status, tokens) = oauth_support::redeem(app, client, &code, None).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    claims["groups"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

async fn group_of(app: &TestApp, org: &mintgate::ids::OrgId, name: &str) -> GroupId {
    let (state, org, name) = (app.state.clone(), org.clone(), name.to_owned());
    tokio::task::spawn_blocking(move || state.store.find_group(&org, &name).unwrap().unwrap())
        .await
        .unwrap()
}

async fn admins_manage_groups_and_the_claim_follows(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let default = org_id(&app, "default").await;
    member_of(&app, "default", "max", "example.com", Role::Member).await;
    member_of(&app, "beta", "bob", "beta.test", Role::Owner).await;
    let mut spec = client_spec("Operator RP");
    spec.skip_consent = true;
    spec.scopes = Some("openid profile email groups".into());
    let rp = oauth_support::register(&app, spec).await;
    assert!(groups_claim(&app, &rp, "max").await.is_empty());

    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let res = admin.get(app.url(GROUPS)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("No groups yet"));
    let res = post_form(&app, &admin, GROUPS, GROUPS, &[("name", "Engineering")]).await;
    assert_eq!(res.status(), 303);
    let group = group_of(&app, &default, "engineering").await;
    let path = format!("{GROUPS}/{group}");
    assert_eq!(location(res.headers()), path);
    // A taken name (case-insensitively) and a blank one come back with a message.
    for (name, says) in [("ENGINEERING", "already has a group"), ("  ", "1 to 100")] {
        let res = post_form(&app, &admin, GROUPS, GROUPS, &[("name", name)]).await;
        assert_eq!(res.status(), 400, "{name:?}");
        let page = res.text().await.unwrap();
        assert!(text(&page, "#name-error").unwrap().contains(says), "{page}");
    }

    // Members of this organisation only, by username or e-mail.
    let add = format!("{path}/add-member");
    let res = post_form(&app, &admin, &path, &add, &[("login", "max")]).await;
    assert_eq!(res.status(), 303);
    for login in ["nobody", "bob", "bob@beta.test", "max"] {
        let res = post_form(&app, &admin, &path, &add, &[("login", login)]).await;
        assert_eq!(res.status(), 400, "{login}");
        let page = res.text().await.unwrap();
        assert!(text(&page, "#login-error").is_some(), "{login}: {page}");
        assert!(
            page.contains(&format!("value=\"{login}\"")),
            "the input is kept"
        );
    }
    let res = post_form(&app, &admin, &path, &add, &[("login", "admin@localhost")]).await;
    assert_eq!(res.status(), 303, "by e-mail");
    let page = admin
        .get(app.url(&path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let members = text(&page, "#members").unwrap();
    assert!(
        members.contains("max") && members.contains("admin"),
        "{members}"
    );
    assert_eq!(groups_claim(&app, &rp, "max").await, ["Engineering"]);

    // Renamed: the next token says so; removed: the next token has no group.
    let res = post_form(
        &app,
        &admin,
        &path,
        &format!("{path}/rename"),
        &[("name", "Platform")],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(groups_claim(&app, &rp, "max").await, ["Platform"]);
    let max_id = user_id(&app, "max").await;
    let res = post_form(
        &app,
        &admin,
        &path,
        &format!("{path}/remove-member"),
        &[("user_id", max_id.as_str())],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert!(groups_claim(&app, &rp, "max").await.is_empty());
    let res = post_form(&app, &admin, &path, &format!("{path}/delete"), &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(res.headers()), GROUPS);
    assert_eq!(
        admin.get(app.url(&path)).send().await.unwrap().status(),
        404
    );
    let kinds = audit_kinds(&app).await;
    for kind in [
        "group.created",
        "group.member_added",
        "group.renamed",
        "group.member_removed",
        "group.deleted",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
}

async fn managed_groups_are_read_only(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let default = org_id(&app, "default").await;
    let (state, org) = (app.state.clone(), default.clone());
    let scim = tokio::task::spawn_blocking(move || {
        use mintgate::scim::store::ScimGroupStore;
        let id = GroupId::generate();
        let now = mintgate::clock::Clock::now(state.clock.as_ref());
        state
            .store
            .create_scim_group(&org, &id, "Okta admins", None, &[], now)
            .unwrap();
        id
    })
    .await
    .unwrap();
    let max = app.create_user("max", "max-password-1").await;
    // A group an SSO connection fills at sign-in.
    let (state, org, max_id) = (app.state.clone(), default.clone(), max.id.clone());
    let idp = tokio::task::spawn_blocking(move || {
        use mintgate::federation::store::ManagedGroupStore;
        let now = mintgate::clock::Clock::now(state.clock.as_ref());
        let connection = mintgate::ids::ConnectionId::new("conn_test");
        let names = ["Okta sales".to_owned()];
        state
            .store
            .sync_managed_groups(&org, &connection, &max_id, &names, now)
            .unwrap();
        state.store.find_group(&org, "okta sales").unwrap().unwrap()
    })
    .await
    .unwrap();
    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let list = admin
        .get(app.url(GROUPS))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let table = text(&list, "#groups").unwrap();
    assert!(table.contains("SCIM (read-only)"), "{list}");
    assert!(
        table.contains("your identity provider (SSO) (read-only)"),
        "{list}"
    );
    let idp_path = format!("{GROUPS}/{idp}");
    let remove = format!("{idp_path}/remove-member");
    let res = post_form(
        &app,
        &admin,
        &idp_path,
        &remove,
        &[("user_id", max.id.as_str())],
    )
    .await;
    assert_eq!(res.status(), 403);
    let page = res.text().await.unwrap();
    assert!(
        text(&page, "#group-error")
            .unwrap()
            .contains("identity provider"),
        "{page}"
    );
    assert!(
        text(&page, "#members").unwrap().contains("max"),
        "still a member"
    );
    let path = format!("{GROUPS}/{scim}");
    let page = admin
        .get(app.url(&path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text(&page, "#managed").unwrap().contains("Managed by SCIM"));
    assert!(text(&page, "#add-member").is_none() && text(&page, "#rename").is_none());
    // Posted anyway: refused with the reason, nothing changed.
    let max_id = user_id(&app, "max").await;
    for (action, field, value) in [
        ("rename", "name", "Mine now"),
        ("delete", "name", ""),
        ("add-member", "login", "max"),
        ("remove-member", "user_id", max_id.as_str()),
    ] {
        let res = post_form(
            &app,
            &admin,
            &path,
            &format!("{path}/{action}"),
            &[(field, value)],
        )
        .await;
        assert_eq!(res.status(), 403, "{action}");
        let page = res.text().await.unwrap();
        assert!(
            text(&page, "#group-error")
                .unwrap()
                .contains("managed by SCIM"),
            "{action}: {page}"
        );
    }
    let page = admin
        .get(app.url(&path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text(&page, "#group-name").unwrap(), "Okta admins");
    assert!(text(&page, "#no-members").is_some());
}

async fn other_organisations_groups_are_404_and_members_403(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let beta = member_of(&app, "beta", "bob", "beta.test", Role::Owner).await;
    let (state, org) = (app.state.clone(), beta.clone());
    let theirs = tokio::task::spawn_blocking(move || {
        let now = mintgate::clock::Clock::now(state.clock.as_ref());
        state.store.create_group(&org, "Beta team", now).unwrap()
    })
    .await
    .unwrap();
    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let res = post_form(&app, &admin, GROUPS, GROUPS, &[("name", "Ours")]).await;
    assert_eq!(res.status(), 303);
    let ours = location(res.headers());
    let bob_id = user_id(&app, "bob").await;
    for id in [theirs.as_str(), "grp_nosuchgroup"] {
        let path = format!("{GROUPS}/{id}");
        assert_eq!(
            admin.get(app.url(&path)).send().await.unwrap().status(),
            404
        );
        for (action, field, value) in [
            ("rename", "name", "Taken over"),
            ("delete", "name", ""),
            ("add-member", "login", "admin"),
            ("remove-member", "user_id", bob_id.as_str()),
        ] {
            let res = post_form(
                &app,
                &admin,
                &ours,
                &format!("{path}/{action}"),
                &[(field, value)],
            )
            .await;
            assert_eq!(res.status(), 404, "{action} {id}");
        }
    }
    let res = post_form(&app, &admin, &ours, &format!("{ours}/explode"), &[]).await;
    assert_eq!(res.status(), 404);
    let list = admin
        .get(app.url(GROUPS))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!list.contains("Beta team"));
    let bob = signed_in(&app, "bob", PASSWORD).await;
    let list = bob
        .get(app.url(GROUPS))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("Beta team") && !list.contains("Ours"));

    // A member: 403 on every page and action.
    app.create_user("max", "max-password-1").await;
    let max = signed_in(&app, "max", "max-password-1").await;
    assert_eq!(max.get(app.url(GROUPS)).send().await.unwrap().status(), 403);
    assert_eq!(max.get(app.url(&ours)).send().await.unwrap().status(), 403);
    let res = post_form(&app, &max, "/account", GROUPS, &[("name", "Max's")]).await;
    assert_eq!(res.status(), 403);
    for action in ["rename", "delete", "add-member", "remove-member"] {
        let res = post_form(
            &app,
            &max,
            "/account",
            &format!("{ours}/{action}"),
            &[("name", "x"), ("login", "max")],
        )
        .await;
        assert_eq!(res.status(), 403, "{action}");
    }
    // No CSRF token: refused, nothing created or deleted.
    let res = admin
        .post(app.url(GROUPS))
        .form(&[("name", "Forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = admin
        .post(app.url(&format!("{ours}/delete")))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let list = admin
        .get(app.url(GROUPS))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("Ours") && !list.contains("Forged"));
}

both!(
    admins_manage_groups_and_the_claim_follows,
    managed_groups_are_read_only,
    other_organisations_groups_are_404_and_members_403,
);

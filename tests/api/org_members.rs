//! Organisation > Members (issue #14): list, search and paging; isolation (403 for members, 404
//! for another organisation's members and invitations, CSRF); the role rules and the last
//! owner (also under a race); disable through the deprovision rule; MFA reset.

use mintgate::accounts::types::Role;
use mintgate::ids::{OrgId, UserId};

use crate::both;
use crate::helpers::*;
use crate::sso_support::post_form;

pub const MEMBERS: &str = "/settings/organisation/members";
pub const INVITATIONS: &str = "/settings/organisation/invitations";

/// Creates `username` (no password) as a member of `org` with `role`.
pub async fn member(app: &TestApp, org: &str, username: &str, role: Role) -> UserId {
    let state = app.state.clone();
    let (org, username) = (org.to_owned(), username.to_owned());
    tokio::task::spawn_blocking(move || {
        let input = mintgate::accounts::service::CreateUser {
            username: username.clone(),
            email: format!("{username}@example.com"),
            display_name: Some(format!("Person {username}")),
            password: None,
            org: Some(org),
            role,
        };
        mintgate::accounts::service::create_user(
            &state.store,
            &state.hasher,
            state.clock.as_ref(),
            input,
            &Default::default(),
        )
        .unwrap()
        .0
        .id
    })
    .await
    .unwrap()
}

/// Creates the organisation `name`.
pub async fn org(app: &TestApp, name: &str) -> OrgId {
    crate::sso_idp_support::org_named(app, name).await
}

/// A signed-in user with `role` in `default` (a password account).
pub async fn signed_in_as(app: &TestApp, username: &str, role: Role) -> reqwest::Client {
    let password = format!("{username}-password-1");
    app.create_user(username, &password).await;
    if role != Role::Member {
        set_role(app, "default", username, role).await;
    }
    signed_in(app, username, &password).await
}

pub async fn set_role(app: &TestApp, org: &str, username: &str, role: Role) {
    let state = app.state.clone();
    let (org, username) = (org.to_owned(), username.to_owned());
    tokio::task::spawn_blocking(move || {
        mintgate::accounts::members::add_member(
            &state.store,
            state.clock.as_ref(),
            &org,
            &username,
            role,
            &Default::default(),
        )
        .unwrap();
    })
    .await
    .unwrap();
}

/// The member's role in `org`, if a member.
pub async fn role_of(app: &TestApp, org: &str, user: &UserId) -> Option<Role> {
    let state = app.state.clone();
    let (org, user) = (org.to_owned(), user.clone());
    tokio::task::spawn_blocking(move || {
        use mintgate::accounts::store::UserStore;
        let org = mintgate::accounts::service::org_named(&state.store, &org).unwrap();
        state
            .store
            .membership(&user, &org.id)
            .unwrap()
            .map(|m| m.role)
    })
    .await
    .unwrap()
}

/// POSTs the member action with the CSRF token `csrf` (read beforehand: a race's requests).
async fn act_with(
    app: &TestApp,
    b: &reqwest::Client,
    csrf: &str,
    user: &UserId,
    action: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut fields = vec![("csrf", csrf)];
    fields.extend_from_slice(form);
    b.post(app.url(&format!("{MEMBERS}/{user}/{action}")))
        .form(&fields)
        .send()
        .await
        .unwrap()
}

/// POSTs the member action with `b`'s CSRF token (read from the members list).
pub async fn act(
    app: &TestApp,
    b: &reqwest::Client,
    user: &UserId,
    action: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    post_form(app, b, MEMBERS, &format!("{MEMBERS}/{user}/{action}"), form).await
}

async fn list_search_and_paging(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for i in 0..54 {
        member(&app, "default", &format!("user{i:02}"), Role::Member).await;
    }
    member(&app, "default", "Zed_Searchable", Role::Admin).await;
    // Another organisation's people never show.
    org(&app, "beta").await;
    member(&app, "beta", "beta-only", Role::Member).await;
    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;

    let page = admin.get(app.url(MEMBERS)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert_eq!(page.matches("id=\"member-").count(), 50, "{page}");
    assert!(page.contains("id=\"next-page\"") && !page.contains("id=\"prev-page\""));
    assert!(!page.contains("beta-only"));
    let next = admin
        .get(app.url(&format!("{MEMBERS}?page=2")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // 54 + Zed + the first-run owner = 56: 6 on the second page.
    assert_eq!(next.matches("id=\"member-").count(), 6, "{next}");
    assert!(next.contains("id=\"prev-page\"") && !next.contains("id=\"next-page\""));
    assert!(!next.contains("beta-only"));

    // Case-insensitive search on username, e-mail and name; wildcards are literal.
    for q in ["zed_search", "ZED_SEARCHABLE@EXAMPLE", "person zed"] {
        let url = format!("{MEMBERS}?q={}", urlencode(q));
        let found = admin
            .get(app.url(&url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(found.matches("id=\"member-").count(), 1, "{q}: {found}");
        assert!(found.contains("Zed_Searchable"));
    }
    for q in ["%", "_", "beta-only"] {
        let url = format!("{MEMBERS}?q={}", urlencode(q));
        let found = admin
            .get(app.url(&url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let n = found.matches("id=\"member-").count();
        assert!(q == "_" && n == 1 || n == 0, "{q}: {n}");
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn members_get_403_and_other_orgs_404(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let max = signed_in_as(&app, "max", Role::Member).await;
    let someone = member(&app, "default", "someone", Role::Member).await;
    for path in [
        MEMBERS.to_owned(),
        format!("{MEMBERS}/{someone}"),
        INVITATIONS.to_owned(),
    ] {
        let res = max.get(app.url(&path)).send().await.unwrap();
        assert_eq!(res.status(), 403, "{path}");
    }
    // A member's POSTs: 403 too (the CSRF token comes from a page they can see).
    let csrf = crate::sso_support::page_csrf(&app, &max, "/account").await;
    for action in ["role", "disable", "enable", "remove", "reset-mfa"] {
        let res = max
            .post(app.url(&format!("{MEMBERS}/{someone}/{action}")))
            .form(&[("csrf", csrf.as_str()), ("role", "owner")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{action}");
    }
    for path in [INVITATIONS.to_owned(), format!("{INVITATIONS}/x/revoke")] {
        let res = max
            .post(app.url(&path))
            .form(&[
                ("csrf", csrf.as_str()),
                ("email", "x@example.com"),
                ("role", "member"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{path}");
    }

    // An admin of default: another organisation's member is 404 for every action.
    org(&app, "beta").await;
    let outsider = member(&app, "beta", "outsider", Role::Member).await;
    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let res = admin
        .get(app.url(&format!("{MEMBERS}/{outsider}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    for action in ["role", "disable", "enable", "remove", "reset-mfa"] {
        let res = act(&app, &admin, &outsider, action, &[("role", "member")]).await;
        assert_eq!(res.status(), 404, "{action}");
    }
    assert_eq!(role_of(&app, "beta", &outsider).await, Some(Role::Member));
    // An unknown action is 404 too.
    let res = act(&app, &admin, &someone, "delete", &[]).await;
    assert_eq!(res.status(), 404);

    // Without the CSRF token: refused, nothing changed.
    let res = admin
        .post(app.url(&format!("{MEMBERS}/{someone}/role")))
        .form(&[("role", "admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(role_of(&app, "default", &someone).await, Some(Role::Member));
    let res = act(&app, &admin, &someone, "role", &[("role", "admin")]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(role_of(&app, "default", &someone).await, Some(Role::Admin));
    assert!(
        audit_kinds(&app)
            .await
            .contains(&"membership.role_changed".to_owned())
    );
}

async fn role_rules_and_the_last_owner(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let owner = user_id(&app, ADMIN_USERNAME).await;
    let admin_b = signed_in_as(&app, "ada", Role::Admin).await;
    let ada = user_id(&app, "ada").await;
    let plain = member(&app, "default", "plain", Role::Member).await;

    // An admin cannot grant owner, nor act on an owner.
    let res = act(&app, &admin_b, &plain, "role", &[("role", "owner")]).await;
    assert_eq!(res.status(), 403);
    assert_eq!(role_of(&app, "default", &plain).await, Some(Role::Member));
    for (action, role) in [("role", "member"), ("remove", "")] {
        let res = act(&app, &admin_b, &owner, action, &[("role", role)]).await;
        assert_eq!(res.status(), 403, "{action}");
    }
    assert_eq!(role_of(&app, "default", &owner).await, Some(Role::Owner));
    // An admin changes a member's role; a bad role re-renders with a message.
    let res = act(&app, &admin_b, &plain, "role", &[("role", "root")]).await;
    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Choose owner, admin or member")
    );

    // The last owner can be neither demoted nor removed, even by themselves.
    let owner_b = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let res = act(&app, &owner_b, &owner, "role", &[("role", "admin")]).await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("last owner"));
    let res = act(&app, &owner_b, &owner, "remove", &[]).await;
    assert_eq!(res.status(), 409);
    assert_eq!(role_of(&app, "default", &owner).await, Some(Role::Owner));

    // Two owners demote each other at once: at most one wins, an owner remains.
    let res = act(&app, &owner_b, &ada, "role", &[("role", "owner")]).await;
    assert_eq!(res.status(), 303);
    for _ in 0..3 {
        let csrf_o = crate::sso_support::page_csrf(&app, &owner_b, MEMBERS).await;
        let csrf_a = crate::sso_support::page_csrf(&app, &admin_b, MEMBERS).await;
        let (a, b) = tokio::join!(
            act_with(&app, &owner_b, &csrf_o, &ada, "role", &[("role", "member")]),
            act_with(
                &app,
                &admin_b,
                &csrf_a,
                &owner,
                "role",
                &[("role", "member")]
            ),
        );
        let won = [a.status(), b.status()]
            .iter()
            .filter(|s| s.as_u16() == 303)
            .count();
        assert!(won <= 1, "{} {}", a.status(), b.status());
        let owners = [
            role_of(&app, "default", &owner).await,
            role_of(&app, "default", &ada).await,
        ]
        .iter()
        .filter(|r| **r == Some(Role::Owner))
        .count();
        assert_eq!(owners, 1);
        // Back to two owners for the next round.
        set_role(&app, "default", ADMIN_USERNAME, Role::Owner).await;
        set_role(&app, "default", "ada", Role::Owner).await;
    }
    // Two concurrent removals of the two owners: one stays.
    let csrf_o = crate::sso_support::page_csrf(&app, &owner_b, MEMBERS).await;
    let csrf_a = crate::sso_support::page_csrf(&app, &admin_b, MEMBERS).await;
    let (a, b) = tokio::join!(
        act_with(&app, &owner_b, &csrf_o, &ada, "remove", &[]),
        act_with(&app, &admin_b, &csrf_a, &owner, "remove", &[]),
    );
    // (A removed owner's own request may be sent to sign in: the state is what counts.)
    let _ = (a.status(), b.status());
    let owners = [
        role_of(&app, "default", &owner).await,
        role_of(&app, "default", &ada).await,
    ]
    .iter()
    .filter(|r| **r == Some(Role::Owner))
    .count();
    assert_eq!(owners, 1);
    let kinds = audit_kinds(&app).await;
    assert!(kinds.contains(&"membership.role_changed".to_owned()));
}

both!(
    list_search_and_paging,
    members_get_403_and_other_orgs_404,
    role_rules_and_the_last_owner,
);

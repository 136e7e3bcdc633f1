//! Settings > Security > SCIM (an organisation administrator's tokens: shown once, `no-store`,
//! CSRF, revocable) and `mintgate scim token create|list|revoke`.

use crate::both;
use crate::cli::run;
use crate::helpers::*;
use crate::scim_support::*;
use crate::sso_support::post_form;

/// The token a page shows, if any.
fn shown_token(page: &str) -> Option<String> {
    let start = page.find("mg_scim_")?;
    let rest = &page[start..];
    let end = rest.find('<')?;
    Some(rest[..end].to_owned())
}

async fn admins_create_and_revoke_tokens(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let res = admin
        .get(app.url("/settings/security/scim"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let page = res.text().await.unwrap();
    assert!(page.contains("No token yet"), "{page}");

    let res = post_form(
        &app,
        &admin,
        "/settings/security/scim",
        "/settings/security/scim/tokens",
        &[("description", "Okta")],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let page = res.text().await.unwrap();
    let token = shown_token(&page).expect("the new token, once");
    assert!(page.contains("Okta"));
    assert_eq!(get(&app, "/scim/v2/Users", &token).await.0, 200);
    // Shown once: the list page does not show it again.
    let page = admin
        .get(app.url("/settings/security/scim"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(shown_token(&page).is_none());
    assert!(!page.contains(&token));

    // Without the CSRF token: refused, nothing created.
    let res = admin
        .post(app.url("/settings/security/scim/tokens"))
        .form(&[("description", "x")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());

    // Revoke: 303 back, and the token stops working.
    let id = page
        .split("id=\"token-")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let res = post_form(
        &app,
        &admin,
        "/settings/security/scim",
        &format!("/settings/security/scim/tokens/{id}/revoke"),
        &[],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(get(&app, "/scim/v2/Users", &token).await.0, 401);
    // Revoked twice, or another organisation's token: 404.
    let res = post_form(
        &app,
        &admin,
        "/settings/security/scim",
        &format!("/settings/security/scim/tokens/{id}/revoke"),
        &[],
    )
    .await;
    assert_eq!(res.status(), 404);
    let beta = new_org(&app, "beta").await;
    let beta_token = token_for(&app, &beta).await;
    let beta_id = {
        let state = app.state.clone();
        tokio::task::spawn_blocking(move || {
            use mintgate::scim::store::ScimTokenStore;
            state.store.list_scim_tokens(&beta).unwrap()[0].id.clone()
        })
        .await
        .unwrap()
    };
    let res = post_form(
        &app,
        &admin,
        "/settings/security/scim",
        &format!("/settings/security/scim/tokens/{beta_id}/revoke"),
        &[],
    )
    .await;
    assert_eq!(res.status(), 404);
    assert_eq!(get(&app, "/scim/v2/Users", &beta_token).await.0, 200);
    let kinds = audit_kinds(&app).await;
    assert!(kinds.contains(&"scim.token.created".to_owned()));
    assert!(kinds.contains(&"scim.token.revoked".to_owned()));
}

async fn members_cannot_manage_tokens(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("max", "max-password-1").await;
    let max = signed_in(&app, "max", "max-password-1").await;
    let res = max
        .get(app.url("/settings/security/scim"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let signed_out = new_client();
    let res = signed_out
        .get(app.url("/settings/security/scim"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection(), "to the sign-in page");
}

async fn operator_commands(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let (code, out, err) = run(
        &db,
        &["scim", "token", "create", "--org", "default", "--json"],
        "",
    );
    assert_eq!(code, 0, "{err}");
    let created: serde_json::Value = serde_json::from_str(&out).unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("mg_scim_"));
    let (code, out, _) = run(
        &db,
        &["scim", "token", "list", "--org", "default", "--json"],
        "",
    );
    assert_eq!(code, 0);
    assert!(!out.contains(&token), "listed without its value");
    let id = created["id"].as_str().unwrap();
    assert!(out.contains(id));
    let app = spawn_on(&db, mintgate::clock::ManualClock::starting_now(), |_| {}).await;
    assert_eq!(get(&app, "/scim/v2/Users", &token).await.0, 200);
    let (code, _, _) = run(
        &db,
        &["scim", "token", "revoke", "--org", "default", id],
        "",
    );
    assert_eq!(code, 0);
    assert_eq!(get(&app, "/scim/v2/Users", &token).await.0, 401);
    let (code, _, err) = run(
        &db,
        &["scim", "token", "revoke", "--org", "default", id],
        "",
    );
    assert_eq!(code, 1, "{err}");
    let (code, _, _) = run(&db, &["scim", "token", "create", "--org", "nope"], "");
    assert_ne!(code, 0);
}

both!(
    admins_create_and_revoke_tokens,
    members_cannot_manage_tokens,
    operator_commands,
);

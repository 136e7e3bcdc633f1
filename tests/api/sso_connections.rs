//! SSO connections: the operator commands and Settings > Security > SSO.

use mintgate::accounts::types::Role;
use mintgate::federation::store::ConnectionStore;
use mintgate::ids::ConnectionId;

use crate::both;
use crate::cli::run;
use crate::helpers::*;
use crate::sso_support::*;

both!(
    cli_adds_lists_disables_and_deletes_connections,
    page_adds_a_connection_for_admins_only,
    page_actions_on_another_orgs_connection_are_not_found,
);

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

async fn cli_adds_lists_disables_and_deletes_connections(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    tokio::task::spawn_blocking(move || {
        let (code, _, err) = run(&db, &["org", "create", "Acme"], "");
        assert_eq!(code, 0, "{err}");
        let add = [
            "sso",
            "add-oidc",
            "--org",
            "acme",
            "--issuer",
            "https://idp.example.com",
            "--client-id",
            "mintgate-rp",
            "--client-secret-stdin",
            "--preset",
            "entra",
            "--json",
        ];
        let (code, out, err) = run(&db, &add, "upstream-s3cret\n");
        assert_eq!(code, 0, "{err}");
        let added = json(&out);
        let id = added["id"].as_str().unwrap().to_owned();
        assert!(id.starts_with("conn_"), "{id}");
        assert!(
            added["callback_url"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/auth/oidc/{id}/callback")),
            "{added}"
        );

        // Sealed at rest, never printed again.
        let store = mintgate::store::Store::connect_on_demand(&db.url).unwrap();
        let (conn, sealed) = store
            .find_connection(&ConnectionId::new(id.as_str()))
            .unwrap()
            .unwrap();
        let sealed = sealed.expect("the secret is stored");
        assert!(sealed.starts_with("v1:") && !sealed.contains("upstream-s3cret"));
        let mintgate::federation::types::Protocol::Oidc(oidc) = &conn.protocol else {
            panic!("an OIDC connection: {conn:?}");
        };
        assert_eq!(oidc.mapping.groups, "roles", "the Entra ID preset");
        let (code, out, _) = run(&db, &["sso", "list", "--org", "acme", "--json"], "");
        assert_eq!(code, 0);
        assert!(!out.contains("upstream-s3cret"));
        let list = json(&out);
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert_eq!(list[0]["enabled"], true);
        assert_eq!(list[0]["issuer"], "https://idp.example.com");

        // Only https, or http on loopback.
        let mut bad = add;
        bad[5] = "http://idp.example.com";
        let (code, _, err) = run(&db, &bad, "x\n");
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("https"), "{err}");
        let mut local = add;
        local[5] = "http://127.0.0.1:9999";
        assert_eq!(run(&db, &local, "x\n").0, 0);

        // Another organisation's connection is not found.
        let (code, _, err) = run(&db, &["sso", "disable", "--org", "default", &id], "");
        assert_eq!(code, 1);
        assert!(err.contains("no such connection"), "{err}");

        let (code, out, _) = run(&db, &["sso", "disable", "--org", "acme", &id, "--json"], "");
        assert_eq!(code, 0);
        assert_eq!(json(&out)["enabled"], false);
        let (code, out, _) = run(&db, &["sso", "enable", "--org", "acme", &id, "--json"], "");
        assert_eq!(code, 0);
        assert_eq!(json(&out)["enabled"], true);
        let (code, _, _) = run(&db, &["sso", "delete", "--org", "acme", &id], "");
        assert_eq!(code, 0);
        let list = json(&run(&db, &["sso", "list", "--org", "acme", "--json"], "").1);
        assert_eq!(
            list.as_array().unwrap().len(),
            1,
            "only the loopback one is left"
        );
        let kinds: Vec<String> = mintgate::audit::AuditStore::recent_events(&store, 50)
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        for kind in [
            "sso.connection.added",
            "sso.connection.disabled",
            "sso.connection.enabled",
            "sso.connection.deleted",
        ] {
            assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
        }

        // Domains: the claim prints the TXT record; the operator verifies.
        let (code, out, err) = run(
            &db,
            &[
                "org",
                "add-domain",
                "--org",
                "acme",
                "Acme.Example.",
                "--json",
            ],
            "",
        );
        assert_eq!(code, 0, "{err}");
        let claim = json(&out);
        assert_eq!(claim["domain"], "acme.example");
        assert_eq!(claim["txt_name"], "_mintgate-challenge.acme.example");
        assert_eq!(claim["verified"], false);
        let (code, _, err) = run(
            &db,
            &["org", "verify-domain", "--org", "acme", "acme.example"],
            "",
        );
        assert_eq!(code, 0, "{err}");
        let (code, _, err) = run(
            &db,
            &["org", "verify-domain", "--org", "default", "acme.example"],
            "",
        );
        assert_eq!(code, 1);
        assert!(
            err.contains("already verified by another organisation"),
            "{err}"
        );
        let (code, _, _) = run(
            &db,
            &["org", "add-domain", "--org", "acme", "localhost"],
            "",
        );
        assert_eq!(code, 2, "a domain has a dot");
    })
    .await
    .unwrap();
}

async fn page_adds_a_connection_for_admins_only(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.sign_in_admin().await;
    let page = app.get("/settings/security/sso").await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let security = app.get("/settings/security").await.text().await.unwrap();
    assert!(security.contains("/settings/security/sso"), "linked");

    let form = [
        ("name", "Okta"),
        ("issuer", "https://acme.okta.example"),
        ("client_id", "rp-1"),
        ("client_secret", "page-s3cret"),
        ("preset", "okta"),
    ];
    // Without the form's token: refused, nothing added.
    let res = app
        .client
        .post(app.url("/settings/security/sso/connections"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = post_form(
        &app,
        &app.client,
        "/settings/security/sso",
        "/settings/security/sso/connections",
        &form,
    )
    .await;
    assert_eq!(res.status(), 303);
    let html = app
        .get("/settings/security/sso")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("https://acme.okta.example"));
    assert!(html.contains("/callback"), "the redirect URI to register");
    assert!(
        !html.contains("page-s3cret"),
        "the secret is never shown again"
    );
    assert_eq!(html.matches("class=\"card\" id=\"connection-").count(), 1);

    // A bad issuer is a 400 with the reason.
    let res = post_form(
        &app,
        &app.client,
        "/settings/security/sso",
        "/settings/security/sso/connections",
        &[("issuer", "http://idp.example.com"), ("client_id", "x")],
    )
    .await;
    assert_eq!(res.status(), 400);

    // A member of the organisation: 403 on the page and its forms.
    member_of(&app, "default", "mia", "example.com", Role::Member).await;
    let member = signed_in(&app, "mia", PASSWORD).await;
    let res = member
        .get(app.url("/settings/security/sso"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let csrf = page_csrf(&app, &member, "/settings/security").await;
    let res = member
        .post(app.url("/settings/security/sso/connections"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("issuer", "https://evil.example"),
            ("client_id", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

async fn page_actions_on_another_orgs_connection_are_not_found(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.sign_in_admin().await;
    let other = org_id(&app, "Other").await;
    let theirs = add_connection(&app, &other, "https://other.example").await;
    let default = org_id(&app, "default").await;
    let ours = add_connection(&app, &default, "https://ours.example").await;
    let html = app
        .get("/settings/security/sso")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(ours.id.as_str()) && !html.contains(theirs.id.as_str()));
    for action in ["disable", "enable", "delete"] {
        let path = format!("/settings/security/sso/connections/{}/{action}", theirs.id);
        let res = post_form(&app, &app.client, "/settings/security/sso", &path, &[]).await;
        assert_eq!(res.status(), 404, "{action}");
    }
    let state = app.state.clone();
    let id = theirs.id.clone();
    let still = tokio::task::spawn_blocking(move || state.store.find_connection(&id).unwrap())
        .await
        .unwrap();
    assert!(still.expect("not deleted").0.enabled, "not disabled");

    let path = format!("/settings/security/sso/connections/{}/disable", ours.id);
    let res = post_form(&app, &app.client, "/settings/security/sso", &path, &[]).await;
    assert_eq!(res.status(), 303);
    let html = app
        .get("/settings/security/sso")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(">Enable</button>"));
}

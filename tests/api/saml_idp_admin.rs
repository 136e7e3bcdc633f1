//! SAML apps managed by the operator (`mintgate saml-app`) and by organisation admins (Settings >
//! Security > SAML apps).

use mintgate::saml_idp::store::SamlAppStore;

use crate::both;
use crate::cli::run;
use crate::helpers::*;
use crate::saml_idp_support::register;

const PASSWORD: &str = "a long enough password for saml";
const PAGE: &str = "/settings/security/saml-apps";

async fn apps_of(app: &TestApp) -> Vec<String> {
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        state
            .store
            .list_all_saml_apps()
            .unwrap()
            .into_iter()
            .map(|a| a.entity_id)
            .collect()
    })
    .await
    .unwrap()
}

async fn add(app: &TestApp, b: &reqwest::Client, csrf: &str, entity: &str, acs: &str) -> u16 {
    b.post(app.url(PAGE))
        .form(&[
            ("csrf", csrf),
            ("entity_id", entity),
            ("acs_url", acs),
            ("nameid_format", "email"),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn admins_manage_their_organisation_apps(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.sign_in_admin().await;
    let admin = &app.client;
    let res = admin.get(app.url(PAGE)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let page = res.text().await.unwrap();
    let csrf = form_value(&page, "csrf").unwrap();
    assert!(page.contains(&app.url("/saml/metadata")));

    assert_eq!(
        add(
            &app,
            admin,
            &csrf,
            "https://sp.example.com",
            "https://sp.example.com/acs"
        )
        .await,
        303
    );
    assert_eq!(
        add(
            &app,
            admin,
            "wrong",
            "https://csrf.example.com",
            "https://sp.example.com/acs"
        )
        .await,
        403,
        "CSRF"
    );
    assert_eq!(
        add(
            &app,
            admin,
            &csrf,
            "https://plain.example.com",
            "http://sp.example.com/acs"
        )
        .await,
        400,
        "https only"
    );
    assert_eq!(
        add(
            &app,
            admin,
            &csrf,
            "https://sp.example.com",
            "https://sp.example.com/acs"
        )
        .await,
        400,
        "entity ID taken"
    );
    assert_eq!(
        apps_of(&app).await,
        vec!["https://sp.example.com".to_owned()]
    );
    let page = admin
        .get(app.url(PAGE))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("https://sp.example.com/acs"));

    // Members may not see or change the page.
    app.create_user("alice", PASSWORD).await;
    let member = signed_in(&app, "alice", PASSWORD).await;
    assert_eq!(
        member.get(app.url(PAGE)).send().await.unwrap().status(),
        403
    );
    assert_eq!(
        add(
            &app,
            &member,
            &csrf,
            "https://m.example.com",
            "https://m.example.com/acs"
        )
        .await,
        403
    );

    // Another organisation's app (and an operator app) is not found from here.
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        mintgate::accounts::service::create_org(&state.store, state.clock.as_ref(), "other")
            .unwrap();
    })
    .await
    .unwrap();
    let other = register(
        &app,
        Some("other"),
        "https://other.example.com",
        "https://other.example.com/acs",
        "email",
        None,
    )
    .await;
    let operator = register(
        &app,
        None,
        "https://op.example.com",
        "https://op.example.com/acs",
        "email",
        None,
    )
    .await;
    for id in [other.id.as_str(), operator.id.as_str(), "sapp_nothing"] {
        let res = admin
            .post(app.url(&format!("{PAGE}/{id}/delete")))
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{id}");
    }
    assert_eq!(apps_of(&app).await.len(), 3);
    let own = page
        .split("saml-app-")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let res = admin
        .post(app.url(&format!("{PAGE}/{own}/delete")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(
        !apps_of(&app)
            .await
            .contains(&"https://sp.example.com".to_owned())
    );
}

async fn operator_commands(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let (code, out, err) = run(
        &db,
        &[
            "--json",
            "saml-app",
            "add",
            "--entity-id",
            "https://sp.example.com",
            "--acs-url",
            "https://sp.example.com/acs",
            "--nameid",
            "persistent",
        ],
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    let added: serde_json::Value = serde_json::from_str(&out).unwrap();
    let id = added["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("sapp_"));
    let (code, _, _) = run(
        &db,
        &[
            "saml-app",
            "add",
            "--entity-id",
            "https://x.example.com",
            "--acs-url",
            "http://x.example.com/acs",
        ],
        "",
    );
    assert_eq!(code, 2, "http ACS refused");
    let (code, _, _) = run(
        &db,
        &[
            "saml-app",
            "add",
            "--org",
            "default",
            "--entity-id",
            "https://sp.example.com",
            "--acs-url",
            "https://sp.example.com/acs",
        ],
        "",
    );
    assert_eq!(code, 2, "entity ID taken");
    let (code, out, _) = run(&db, &["--json", "saml-app", "list"], "");
    assert_eq!(code, 0);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list[0]["nameid_format"], "persistent");
    assert_eq!(list[0]["org_id"], serde_json::Value::Null);
    let (code, _, _) = run(&db, &["saml-app", "delete", &id], "");
    assert_eq!(code, 0);
    let (code, _, _) = run(&db, &["saml-app", "delete", &id], "");
    assert_eq!(code, 1);
}

both!(admins_manage_their_organisation_apps, operator_commands);

//! Organisations as tenants (issue #11): the session's active organisation (picker, switch,
//! `organization`), the grant's organisation in every token, and organisations' clients.

use serde_json::Value;

use crate::both;
use crate::helpers::*;
use crate::oauth_support::*;
use mintgate::accounts::types::Role;
use mintgate::accounts::{members, service};
use mintgate::oauth::types::TokenFormat;

const PW: &str = "correct horse battery";

/// carol: member of `default` (group `dev`) and admin of `Beta` (group `ops`); dave: `default`
/// only. Returns Beta's id.
async fn world(app: &TestApp) -> String {
    app.create_user("carol", PW).await;
    app.create_user("dave", PW).await;
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        let (s, c, m) = (&state.store, state.clock.as_ref(), &Default::default());
        let beta = service::create_org(s, c, "Beta").unwrap();
        members::add_member(s, c, "beta", "carol", Role::Admin, m).unwrap();
        members::create_group(s, c, "default", "dev", m).unwrap();
        members::create_group(s, c, "beta", "ops", m).unwrap();
        members::add_group_member(s, c, "default", "dev", "carol", m).unwrap();
        members::add_group_member(s, c, "beta", "ops", "carol", m).unwrap();
        beta.id.into_string()
    })
    .await
    .unwrap()
}

/// A first-party client with JWT access tokens (no consent page).
async fn jwt_client(app: &TestApp, org: Option<&str>) -> TestClient {
    let mut spec = client_spec("tenant app");
    spec.skip_consent = true;
    spec.access_token_format = TokenFormat::Jwt;
    spec.grant_types = vec!["authorization_code".into(), "refresh_token".into()];
    spec.org_id = org.map(mintgate::ids::OrgId::new);
    register(app, spec).await
}

fn url_with_groups(app: &TestApp, client: &TestClient, extra: &[(&str, &str)]) -> String {
    auth_url(app, &client.id, extra).replace("offline_access", "offline_access+groups")
}

/// Picks `org_id` on the picker page `to`; returns where the browser goes next.
async fn pick(app: &TestApp, b: &reqwest::Client, to: &str, org_id: &str) -> String {
    assert!(to.starts_with("/account/organisation"), "the picker: {to}");
    let page = b
        .get(app.url(to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Beta") && page.contains("default"), "{page}");
    let csrf = form_value(&page, "csrf").unwrap();
    let return_to = form_value(&page, "return_to").unwrap();
    let res = b
        .post(app.url("/account/organisation"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("org", org_id),
            ("return_to", &return_to),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    location(res.headers())
}

async fn userinfo(app: &TestApp, token: &str) -> Value {
    new_client()
        .get(app.url("/oauth/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A user in two organisations picks one at the authorization endpoint; every token says
/// that organisation and lists only its groups. Switching then changes what new grants get.
async fn picker_and_org_claims(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let beta = world(&app).await;
    let client = jwt_client(&app, None).await;
    // Signing in on the sign-in page, a user in several organisations is asked first; one in
    // a single organisation acts in it.
    let b = new_client();
    let res = app.post_login_with(&b, "carol", PW, None).await;
    assert_eq!(
        location(res.headers()),
        "/account/organisation?return_to=%2Faccount"
    );
    let page = app.account_page_with(&b).await.unwrap();
    assert!(page.contains("no organisation chosen") && page.contains("switch-org"));
    let d = new_client();
    let res = app.post_login_with(&d, "dave", PW, None).await;
    assert_eq!(location(res.headers()), "/account");
    let page = app.account_page_with(&d).await.unwrap();
    assert!(page.contains("id=\"active-org-banner\">default"), "{page}");
    let to = first_stop(&b, &url_with_groups(&app, &client, &[])).await;
    let back = pick(&app, &b, &to, &beta).await;
    assert!(back.starts_with("/oauth/authorize?"), "{back}");
    let to = follow(&app, &b, back).await;
    let tokens = redeem_code(&app, &client, &to).await;
    let id = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["org_id"], beta.as_str());
    assert_eq!(id["org_name"], "Beta");
    assert_eq!(id["groups"], serde_json::json!(["ops"]), "{id}");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(jwt_claims(access)["org_id"], beta.as_str());
    let info = userinfo(&app, access).await;
    assert_eq!(info["org_id"], beta.as_str());
    assert_eq!(info["groups"], serde_json::json!(["ops"]));
    let seen = introspect(&app, &client, access).await;
    assert_eq!(seen["org_name"], "Beta");
    assert_eq!(seen["groups"], serde_json::json!(["ops"]), "{seen}");
    assert!(
        audit_kinds(&app)
            .await
            .contains(&"session.org.switched".to_owned())
    );
    // The account page shows the active organisation; switching to default changes new grants.
    let page = app.account_page_with(&b).await.unwrap();
    assert!(page.contains("Beta (admin)"), "{page}");
    // Every signed-in page shows it, with the way to switch.
    let page = b.get(app.url("/settings/security")).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(
        page.contains(r#"<span class="org" id="active-org-banner">Beta · <a href="/account/organisation?return_to=%2Fsettings%2Fsecurity">switch</a>"#),
        "{page}"
    );
    let default_id = {
        let state = app.state.clone();
        tokio::task::spawn_blocking(move || {
            mintgate::accounts::store::OrgStore::find_org(&state.store, "default")
                .unwrap()
                .unwrap()
                .id
                .into_string()
        })
        .await
        .unwrap()
    };
    let back = pick(
        &app,
        &b,
        "/account/organisation?return_to=/account",
        &default_id,
    )
    .await;
    assert_eq!(back, "/account");
    let to = first_stop(&b, &url_with_groups(&app, &client, &[])).await;
    let tokens = redeem_code(&app, &client, &to).await;
    let id = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["org_name"], "default");
    assert_eq!(id["groups"], serde_json::json!(["dev"]));
    // Picking an organisation the user is not a member of is refused.
    let page = b
        .get(app.url("/account/organisation"))
        .send()
        .await
        .unwrap();
    let csrf = form_value(&page.text().await.unwrap(), "csrf").unwrap();
    let res = b
        .post(app.url("/account/organisation"))
        .form(&[("csrf", csrf.as_str()), ("org", "org_nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

/// `organization` preselects (by name, any case, or id) without the picker, and is refused
/// with `access_denied` for an organisation the user is not in, existing or not.
async fn organization_parameter(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let beta = world(&app).await;
    let client = jwt_client(&app, None).await;
    let b = signed_in(&app, "carol", PW).await;
    let to = first_stop(
        &b,
        &url_with_groups(&app, &client, &[("organization", "BETA")]),
    )
    .await;
    let tokens = redeem_code(&app, &client, &to).await;
    let id = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["org_id"], beta.as_str());
    // It became the session's active organisation: no picker without the parameter.
    let to = first_stop(&b, &url_with_groups(&app, &client, &[])).await;
    assert!(to.starts_with(REDIRECT), "{to}");
    let d = signed_in(&app, "dave", PW).await;
    for asked in ["Beta", beta.as_str(), "no-such-org"] {
        let to = first_stop(
            &d,
            &url_with_groups(&app, &client, &[("organization", asked)]),
        )
        .await;
        let q = query_of(&to);
        assert_eq!(q["error"], "access_denied", "{to}");
        assert_eq!(
            q["error_description"],
            "the user is not a member of the requested organization"
        );
    }
    // A signed-out browser with `organization`: the session it signs in to acts there.
    let fresh = new_client();
    let login = first_stop(
        &fresh,
        &url_with_groups(&app, &client, &[("organization", "beta")]),
    )
    .await;
    let to = sign_in_at(&app, &fresh, &login, ("carol", PW)).await;
    let to = follow(&app, &fresh, to).await;
    let tokens = redeem_code(&app, &client, &to).await;
    assert_eq!(
        jwt_claims(tokens["id_token"].as_str().unwrap())["org_name"],
        "Beta"
    );
    let page = app.account_page_with(&fresh).await.unwrap();
    assert!(page.contains("Beta (admin)"), "{page}");
}

/// An organisation's client admits only its members (their grant is in its organisation
/// whatever the session's), and a refresh after removal from the grant's organisation fails.
async fn organisation_clients(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let beta = world(&app).await;
    let client = jwt_client(&app, Some(&beta)).await;
    let d = signed_in(&app, "dave", PW).await;
    let to = first_stop(&d, &url_with_groups(&app, &client, &[])).await;
    assert_eq!(query_of(&to)["error"], "access_denied", "{to}");
    let b = signed_in(&app, "carol", PW).await;
    let to = first_stop(&b, &url_with_groups(&app, &client, &[])).await;
    let tokens = redeem_code(&app, &client, &to).await;
    assert_eq!(
        jwt_claims(tokens["id_token"].as_str().unwrap())["org_id"],
        beta.as_str()
    );
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        let (s, c) = (&state.store, state.clock.as_ref());
        let org = service::org_named(s, "beta").unwrap();
        let user = service::user_named(s, "carol").unwrap();
        mintgate::deprovision::remove_from_org(s, c, &org, &user, None, &Default::default())
            .unwrap();
    })
    .await
    .unwrap();
    let (status, body) = post_form(
        &app,
        "/oauth/token",
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    // Client credentials tokens of an organisation's client carry its organisation.
    let mut spec = client_spec("beta service");
    spec.grant_types = vec!["client_credentials".into()];
    spec.scopes = Some("read:org".into());
    spec.access_token_format = TokenFormat::Jwt;
    spec.org_id = Some(mintgate::ids::OrgId::new(beta.as_str()));
    let service = register(&app, spec).await;
    let (status, body) = post_form(
        &app,
        "/oauth/token",
        &service,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        jwt_claims(body["access_token"].as_str().unwrap())["org_id"],
        beta.as_str()
    );
}

both!(
    picker_and_org_claims,
    organization_parameter,
    organisation_clients
);

/// The device flow: an organisation's client is denied for a non-member (the device gets
/// `access_denied`); a member's approval is in the client's organisation.
async fn device_flow_organisation_client(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let beta = world(&app).await;
    let mut spec = client_spec("beta tv");
    spec.public = true;
    spec.redirect_uris = vec![];
    spec.grant_types = vec!["urn:ietf:params:oauth:grant-type:device_code".into()];
    spec.scopes = Some("openid groups".into());
    spec.access_token_format = TokenFormat::Jwt;
    spec.org_id = Some(mintgate::ids::OrgId::new(beta.as_str()));
    let tv = register(&app, spec).await;
    for (user, approved) in [("dave", false), ("carol", true)] {
        let start: Value = new_client()
            .post(app.url("/oauth/device_authorization"))
            .form(&[("client_id", tv.id.as_str()), ("scope", "openid groups")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let code = start["user_code"].as_str().unwrap();
        let b = signed_in(&app, user, PW).await;
        let page = b
            .get(app.url("/device"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = form_value(&page, "csrf").unwrap();
        let page = b
            .post(app.url("/device"))
            .form(&[("csrf", csrf.as_str()), ("user_code", code)])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if approved {
            let csrf = form_value(&page, "csrf").unwrap();
            let res = b
                .post(app.url("/device"))
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("user_code", code),
                    ("decision", "allow"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
        } else {
            assert!(page.contains("not a member"), "{page}");
        }
        let res = new_client()
            .post(app.url("/oauth/token"))
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", start["device_code"].as_str().unwrap()),
                ("client_id", tv.id.as_str()),
            ])
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        if approved {
            let id = jwt_claims(body["id_token"].as_str().unwrap());
            assert_eq!(id["org_id"], beta.as_str(), "{body}");
            assert_eq!(id["groups"], serde_json::json!(["ops"]));
        } else {
            assert_eq!(body["error"], "access_denied", "{body}");
        }
    }
}

both!(device_flow_organisation_client);

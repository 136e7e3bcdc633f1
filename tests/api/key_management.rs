//! Rotating and revoking API keys obey the rules of creation (no credential takes over or takes
//! down a stronger one), and a key never outlives its creator's user or membership.

use mintgate::apikeys::service::{self, ApiKeyError, Principal};
use mintgate::clock::Clock;
use mintgate::ids::KeyId;
use mintgate::scopes::Scopes;
use mintgate::scopes::role_scopes;
use serde_json::json;

use crate::apikeys::{call, invalid_key_body, key_for};
use crate::both;
use crate::helpers::*;

/// `POST /v1/api-keys/{id}/rotate` with `credential`.
async fn rotate(app: &TestApp, id: &str, credential: &str) -> (u16, serde_json::Value) {
    let (status, body, _) = call(
        app,
        reqwest::Method::POST,
        &format!("/v1/api-keys/{id}/rotate"),
        Some(credential),
        None,
    )
    .await;
    (status, body)
}

/// The listed key whose scopes are exactly `scopes` (an application's key, here).
async fn listed_key_with_scopes(app: &TestApp, admin: &str, scopes: serde_json::Value) -> String {
    let (status, keys, _) =
        call(app, reqwest::Method::GET, "/v1/api-keys", Some(admin), None).await;
    assert_eq!(status, 200);
    keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["scopes"] == scopes)
        .expect("the key is listed")["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The organisation `default` limits key lifetimes to 7 days (as `mintgate org set` does).
async fn limit_keys_to_a_week(app: &TestApp) {
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        use mintgate::accounts::store::OrgStore;
        let org = state.store.find_org("default").unwrap().unwrap();
        state
            .store
            .set_org_key_policy(&org.id, Some(7 * 86_400), true)
            .unwrap();
    })
    .await
    .unwrap();
}

async fn write_org_cannot_rotate_or_revoke_an_admin_key(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (admin_id, admin_secret) = key_for(&app, None, "admin", Some("never"), "").await;
    let (_, limited) = key_for(&app, Some("admin"), "read:org,write:org", Some("1d"), "").await;
    for (method, path) in [
        (
            reqwest::Method::POST,
            format!("/v1/api-keys/{admin_id}/rotate"),
        ),
        (reqwest::Method::DELETE, format!("/v1/api-keys/{admin_id}")),
    ] {
        let (status, body, _) = call(&app, method.clone(), &path, Some(&limited), None).await;
        assert_eq!(
            (
                status,
                body["code"].as_str(),
                body["required_scope"].as_str()
            ),
            (403, Some("AUTH_INSUFFICIENT_SCOPE"), Some("admin")),
            "{method} {path}: {body}"
        );
    }
    // The admin key is untouched: same secret, still working.
    let (status, _, _) = call(
        &app,
        reqwest::Method::GET,
        "/v1/auth/verify",
        Some(&admin_secret),
        None,
    )
    .await;
    assert_eq!(status, 200);
    // Within its own scopes the limited key still manages keys.
    let (weaker, _) = key_for(&app, Some("admin"), "read:org", Some("1h"), "").await;
    let (status, _) = rotate(&app, &weaker, &limited).await;
    assert_eq!(status, 200);
}

async fn a_rotated_secret_never_outlives_the_caller(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, caller) = key_for(&app, Some("admin"), "admin", Some("30m"), "").await;
    let (forever, _) = key_for(&app, Some("admin"), "read:org", Some("never"), "").await;
    let (longer, _) = key_for(&app, Some("admin"), "read:org", Some("7d"), "").await;
    for id in [&forever, &longer] {
        let (status, body) = rotate(&app, id, &caller).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("VALIDATION_FAILED")),
            "{body}"
        );
    }
    let (shorter, _) = key_for(&app, Some("admin"), "read:org", Some("10m"), "").await;
    let (status, _) = rotate(&app, &shorter, &caller).await;
    assert_eq!(status, 200);
}

async fn application_keys_are_managed_only_with_admin(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, admin) = key_for(&app, None, "admin", Some("never"), "").await;
    let (status, created, _) = call(
        &app,
        reqwest::Method::POST,
        "/v1/applications",
        Some(&admin),
        Some(json!({"name": "deployer", "scope": "ci"})),
    )
    .await;
    assert_eq!(status, 201);
    let app_secret = created["key"].as_str().unwrap().to_owned();
    let app_key_id = listed_key_with_scopes(&app, &admin, json!(["ci"])).await;
    // Every scope of the target, but not `admin`.
    let (_, strong) = key_for(
        &app,
        Some("admin"),
        "read:org,write:org,ci,read:evaluations,write:evaluations",
        Some("1d"),
        "",
    )
    .await;
    for (method, path) in [
        (
            reqwest::Method::POST,
            format!("/v1/api-keys/{app_key_id}/rotate"),
        ),
        (
            reqwest::Method::DELETE,
            format!("/v1/api-keys/{app_key_id}"),
        ),
    ] {
        let (status, body, _) = call(&app, method, &path, Some(&strong), None).await;
        assert_eq!(
            (status, body["required_scope"].as_str()),
            (403, Some("admin")),
            "{body}"
        );
    }
    let (status, _, _) = call(
        &app,
        reqwest::Method::GET,
        "/v1/auth/verify",
        Some(&app_secret),
        None,
    )
    .await;
    assert_eq!(status, 200, "the application key still works");
    let (status, _, _) = call(
        &app,
        reqwest::Method::DELETE,
        &format!("/v1/api-keys/{app_key_id}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, 204, "admin may");
}

/// Members hold no `write:org` today, so no member credential reaches this rule over HTTP; the
/// service is called as every path (pages, `/v1`, CLI) calls it, on the real store.
async fn members_manage_only_their_own_keys(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mallory = app.create_user("mallory", "mallory-password-1").await;
    let (own, _) = key_for(&app, Some("mallory"), "read:org", Some("1d"), "").await;
    let (admins, _) = key_for(&app, Some("admin"), "read:org", Some("1d"), "").await;
    let (own, admins) = (KeyId::new(own), KeyId::new(admins));
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        use mintgate::accounts::store::OrgStore;
        use mintgate::accounts::types::Role;
        let org = state.store.find_org("default").unwrap().unwrap();
        let mut scopes = role_scopes(Role::Member);
        scopes = Scopes::parse(&format!("{scopes} write:org")).unwrap();
        let member = Principal {
            org_id: org.id.clone(),
            org_name: org.name.clone(),
            org_max_lifetime: None,
            legacy_query: true,
            user_id: Some(mallory.id.clone()),
            role: Some(Role::Member),
            key_id: None,
            application_id: None,
            scopes,
            expires_at: None,
        };
        let now = state.clock.now();
        assert!(matches!(
            service::revoke(&state.store, &member, &admins, now),
            Err(ApiKeyError::NotYours)
        ));
        assert!(matches!(
            service::rotate(&state.store, &state.key_format, &member, &admins, now),
            Err(ApiKeyError::NotYours)
        ));
        service::revoke(&state.store, &member, &own, now).expect("their own key");
        // An owner acting with the same scopes manages anyone's key.
        let owner = Principal {
            role: Some(Role::Owner),
            ..member
        };
        service::revoke(&state.store, &owner, &admins, now).expect("owners manage every key");
    })
    .await
    .unwrap();
}

async fn removing_a_user_or_membership_revokes_their_keys(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mallory = app.create_user("mallory", "mallory-password-1").await;
    let trent = app.create_user("trent", "trent-password-1").await;
    let (mallory_key, mallory_secret) = key_for(&app, Some("mallory"), "read:org", None, "").await;
    let (trent_key, trent_secret) = key_for(&app, Some("trent"), "read:org", None, "").await;
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        use mintgate::accounts::service as accounts;
        use mintgate::apikeys::store::ApiKeyStore;
        let meta = Default::default();
        accounts::delete_user(&state.store, state.clock.as_ref(), "mallory", &meta).unwrap();
        let org = accounts::org_named(&state.store, "default").unwrap();
        let clock = state.clock.as_ref();
        mintgate::deprovision::remove_from_org(&state.store, clock, &org, &trent, None, &meta)
            .unwrap();
        for id in [&mallory_key, &trent_key] {
            let key = state
                .store
                .find_api_key(&KeyId::new(id.as_str()))
                .unwrap()
                .unwrap();
            assert!(key.revoked_at.is_some(), "{id} revoked with its owner");
        }
        let _ = (mallory, trent);
    })
    .await
    .unwrap();
    for secret in [&mallory_secret, &trent_secret] {
        let (status, body, _) = call(
            &app,
            reqwest::Method::GET,
            "/v1/auth/verify",
            Some(secret),
            None,
        )
        .await;
        assert_eq!((status, body), (401, invalid_key_body()));
    }
    // Operator keys (no user) keep working: they are marked as the organisation's.
    let (_, operator) = key_for(&app, None, "read:org", None, "").await;
    let (status, _, _) = call(
        &app,
        reqwest::Method::GET,
        "/v1/auth/verify",
        Some(&operator),
        None,
    )
    .await;
    assert_eq!(status, 200);
}

/// A key created by an organisation-owned key belongs to the organisation too.
async fn keys_made_by_an_organisation_key_work(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, admin) = key_for(&app, None, "admin", Some("never"), "").await;
    let (status, created, _) = call(
        &app,
        reqwest::Method::POST,
        "/v1/api-keys",
        Some(&admin),
        Some(json!({"name": "child", "scopes": ["read:org"], "expires_in": "1d"})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, body, _) = call(
        &app,
        reqwest::Method::GET,
        "/v1/auth/verify",
        Some(created["key"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!((status, body["scopes"].clone()), (200, json!(["read:org"])));
}

async fn verify_status(app: &TestApp, secret: &str) -> u16 {
    call(
        app,
        reqwest::Method::GET,
        "/v1/auth/verify",
        Some(secret),
        None,
    )
    .await
    .0
}

/// A secret superseded by a rotation acts only until its grace period ends: it cannot take the
/// key back, demote the new secret, or mint anything that outlives it.
async fn a_superseded_secret_cannot_outlive_its_grace(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (id, old) = key_for(&app, Some("admin"), "read:org,write:org", Some("never"), "").await;
    let (status, rotated) = rotate(&app, &id, &old).await;
    assert_eq!(status, 200);
    let new = rotated["key"].as_str().unwrap().to_owned();
    let (status, body) = rotate(&app, &id, &old).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("VALIDATION_FAILED")),
        "{body}"
    );
    for expires_in in ["never", "30d"] {
        let (status, body, _) = call(
            &app,
            reqwest::Method::POST,
            "/v1/api-keys",
            Some(&old),
            Some(json!({"name": "persist", "scopes": ["read:org"], "expires_in": expires_in})),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("VALIDATION_FAILED")),
            "{body}"
        );
    }
    let (status, _, _) = call(
        &app,
        reqwest::Method::POST,
        "/v1/api-keys",
        Some(&old),
        Some(json!({"name": "short", "scopes": ["read:org"], "expires_in": "1h"})),
    )
    .await;
    assert_eq!(status, 201, "within its grace it still works");
    app.clock.advance(25 * 3600);
    assert_eq!(verify_status(&app, &old).await, 401);
    assert_eq!(
        verify_status(&app, &new).await,
        200,
        "the new secret is current"
    );
}

async fn an_expiring_credential_cannot_create_an_application(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, short) = key_for(&app, Some("admin"), "admin", Some("30m"), "").await;
    let (status, body, _) = call(
        &app,
        reqwest::Method::POST,
        "/v1/applications",
        Some(&short),
        Some(json!({"name": "escape", "scope": "admin"})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("VALIDATION_FAILED")),
        "{body}"
    );
    let (_, forever) = key_for(&app, Some("admin"), "admin", Some("never"), "").await;
    let (status, _, _) = call(
        &app,
        reqwest::Method::POST,
        "/v1/applications",
        Some(&forever),
        Some(json!({"name": "deployer", "scope": "ci"})),
    )
    .await;
    assert_eq!(status, 201);
}

/// Concurrent rotations of one key leave exactly one current secret, and the listed hint is
/// that secret's.
async fn concurrent_rotations_leave_one_current_secret(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, admin) = key_for(&app, None, "admin", Some("never"), "").await;
    let (id, _) = key_for(&app, Some("admin"), "read:org", Some("never"), "").await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let url = app.url(&format!("/v1/api-keys/{id}/rotate"));
            let admin = admin.clone();
            tokio::spawn(async move {
                let res = new_client()
                    .post(url)
                    .bearer_auth(admin)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200);
                let body: serde_json::Value = res.json().await.unwrap();
                (
                    body["key"].as_str().unwrap().to_owned(),
                    body["hint"].as_str().unwrap().to_owned(),
                )
            })
        })
        .collect();
    let mut secrets = Vec::new();
    for t in tasks {
        secrets.push(t.await.unwrap());
    }
    app.clock.advance(25 * 3600);
    let mut current = Vec::new();
    for (secret, hint) in &secrets {
        if verify_status(&app, secret).await == 200 {
            current.push(hint.clone());
        }
    }
    assert_eq!(current.len(), 1, "exactly one secret is current");
    let (_, keys, _) = call(
        &app,
        reqwest::Method::GET,
        "/v1/api-keys",
        Some(&admin),
        None,
    )
    .await;
    let listed = keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == json!(id))
        .unwrap()["hint"]
        .clone();
    assert_eq!(
        listed,
        json!(current[0]),
        "the list shows the current secret's hint"
    );
}

async fn rotation_obeys_the_lifetime_ceiling(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, admin) = key_for(&app, None, "admin", Some("never"), "").await;
    let (long, _) = key_for(&app, Some("admin"), "read:org", Some("90d"), "").await;
    let (short, _) = key_for(&app, Some("admin"), "read:org", Some("3d"), "").await;
    limit_keys_to_a_week(&app).await;
    let (status, body) = rotate(&app, &long, &admin).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("VALIDATION_FAILED")),
        "{body}"
    );
    assert_eq!(rotate(&app, &short, &admin).await.0, 200);
}

/// An allowlist written as IPv4-mapped IPv6 admits the IPv4 client.
async fn mapped_allowlists_admit_ipv4_clients(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = key_for(&app, Some("admin"), "read:org", None, "::ffff:127.0.0.1").await;
    assert_eq!(verify_status(&app, &key).await, 200);
}

/// Under a lifetime ceiling an application's key expires at the ceiling like every key, and can
/// be rotated like every key within it.
async fn application_keys_obey_the_lifetime_ceiling(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, admin) = key_for(&app, None, "admin", Some("never"), "").await;
    limit_keys_to_a_week(&app).await;
    let (status, created, _) = call(
        &app,
        reqwest::Method::POST,
        "/v1/applications",
        Some(&admin),
        Some(json!({"name": "ci", "scope": "ci"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["key"].as_str().unwrap().to_owned();
    let (status, seen, _) = call(
        &app,
        reqwest::Method::GET,
        "/v1/auth/verify",
        Some(&secret),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let expires = chrono::DateTime::parse_from_rfc3339(seen["expires_at"].as_str().unwrap())
        .unwrap()
        .timestamp();
    assert_eq!(expires, app.clock.now() + 7 * 86_400, "{seen}");
    let id = listed_key_with_scopes(&app, &admin, json!(["ci"])).await;
    let (status, body) = rotate(&app, &id, &admin).await;
    assert_eq!(status, 200, "{body}");
}

/// Introspection of a superseded secret reports the end of its grace period as `exp`.
async fn introspection_reports_a_superseded_secrets_end(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let rs =
        crate::oauth_support::register(&app, crate::oauth_support::client_spec("Resource server"))
            .await;
    let (id, old) = key_for(&app, Some("admin"), "read:org,write:org", Some("never"), "").await;
    let (status, _) = rotate(&app, &id, &old).await;
    assert_eq!(status, 200);
    let seen = crate::oauth_support::introspect(&app, &rs, &old).await;
    assert_eq!(seen["active"], true);
    assert_eq!(seen["exp"], json!(app.clock.now() + 24 * 3600), "{seen}");
}

both!(
    write_org_cannot_rotate_or_revoke_an_admin_key,
    a_rotated_secret_never_outlives_the_caller,
    application_keys_are_managed_only_with_admin,
    members_manage_only_their_own_keys,
    removing_a_user_or_membership_revokes_their_keys,
    keys_made_by_an_organisation_key_work,
    a_superseded_secret_cannot_outlive_its_grace,
    an_expiring_credential_cannot_create_an_application,
    concurrent_rotations_leave_one_current_secret,
    rotation_obeys_the_lifetime_ceiling,
    mapped_allowlists_admit_ipv4_clients,
    application_keys_obey_the_lifetime_ceiling,
    introspection_reports_a_superseded_secrets_end,
);

/// Answers actix gives before a handler runs still have the `/v1` body.
#[tokio::test]
async fn v1_errors_before_a_handler_have_the_v1_body() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let client = new_client();
    for (res, status, code) in [
        (
            client.put(app.url("/v1/api-keys")).send().await.unwrap(),
            405,
            "METHOD_NOT_ALLOWED",
        ),
        (
            client
                .get(app.url("/v1/nothing/here"))
                .send()
                .await
                .unwrap(),
            404,
            "NOT_FOUND",
        ),
    ] {
        assert_eq!(res.status(), status);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["code"], code, "{body}");
    }
}

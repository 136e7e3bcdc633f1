//! Rotating and revoking API keys obey the rules of creation (no credential takes over or takes
//! down a stronger one), and a key never outlives its creator's user or membership.

use mintgate::apikeys::service::{self, ApiKeyError, Principal};
use mintgate::apikeys::types::role_scopes;
use mintgate::oauth::types::Scopes;
use serde_json::json;

use crate::apikeys::{call, invalid_key_body, key_for};
use crate::both;
use crate::helpers::*;

async fn write_org_cannot_rotate_or_revoke_an_admin_key(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (admin_id, admin_secret) = key_for(&app, None, "admin", None, "").await;
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
    let (status, _, _) = call(
        &app,
        reqwest::Method::POST,
        &format!("/v1/api-keys/{weaker}/rotate"),
        Some(&limited),
        None,
    )
    .await;
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
        let (status, body, _) = call(
            &app,
            reqwest::Method::POST,
            &format!("/v1/api-keys/{id}/rotate"),
            Some(&caller),
            None,
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("VALIDATION_FAILED")),
            "{body}"
        );
    }
    let (shorter, _) = key_for(&app, Some("admin"), "read:org", Some("10m"), "").await;
    let (status, _, _) = call(
        &app,
        reqwest::Method::POST,
        &format!("/v1/api-keys/{shorter}/rotate"),
        Some(&caller),
        None,
    )
    .await;
    assert_eq!(status, 200);
}

async fn application_keys_are_managed_only_with_admin(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, admin) = key_for(&app, None, "admin", None, "").await;
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
    let (status, keys, _) = call(
        &app,
        reqwest::Method::GET,
        "/v1/api-keys",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let app_key_id = keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["scopes"] == json!(["ci"]))
        .expect("the application's key is listed")["id"]
        .as_str()
        .unwrap()
        .to_owned();
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
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        use mintgate::accounts::types::Role;
        use mintgate::store::OrgStore;
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
        use mintgate::store::ApiKeyStore;
        let meta = Default::default();
        accounts::delete_user(&state.store, state.clock.as_ref(), "mallory", &meta).unwrap();
        accounts::remove_member(
            &state.store,
            state.clock.as_ref(),
            "default",
            "trent",
            &meta,
        )
        .unwrap();
        for id in [&mallory_key, &trent_key] {
            let key = state.store.find_api_key(id).unwrap().unwrap();
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
    let (_, admin) = key_for(&app, None, "admin", None, "").await;
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

both!(
    write_org_cannot_rotate_or_revoke_an_admin_key,
    a_rotated_secret_never_outlives_the_caller,
    application_keys_are_managed_only_with_admin,
    members_manage_only_their_own_keys,
    removing_a_user_or_membership_revokes_their_keys,
    keys_made_by_an_organisation_key_work,
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

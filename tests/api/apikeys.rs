//! API keys and the `/v1` API: every documented error, scope and expiry ceilings, rotation,
//! allowlists, applications, introspection of keys.

use mintgate::apikeys::service::{self, NewKey};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;
use crate::oauth_support::{TestClient, client_spec, register};

/// An operator-made key in `default`, owned by `owner` (a username) if given.
pub(crate) async fn key_for(
    app: &TestApp,
    owner: Option<&str>,
    scopes: &str,
    expires_in: Option<&str>,
    ips: &str,
) -> (String, String) {
    let state = app.state.clone();
    let (owner, scopes, expires_in, ips) = (
        owner.map(str::to_owned),
        scopes.to_owned(),
        expires_in.map(str::to_owned),
        ips.to_owned(),
    );
    tokio::task::spawn_blocking(move || {
        use mintgate::accounts::store::{OrgStore, UserStore};
        let org = state.store.find_org("default").unwrap().unwrap();
        let user = owner.map(|u| state.store.find_user_by_username(&u).unwrap().unwrap().id);
        let input = NewKey {
            name: "test key".into(),
            scopes: scopes.split(',').map(str::to_owned).collect(),
            expires_in,
            allowed_ips: if ips.is_empty() { vec![] } else { vec![ips] },
        };
        let (key, secret) = service::create_for_operator(
            &state.store,
            &state.key_format,
            &org,
            user.as_ref(),
            input,
            state.clock.now(),
        )
        .unwrap();
        (key.id.into_string(), secret.expose_secret().to_owned())
    })
    .await
    .unwrap()
}

pub(crate) async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut req = new_client().request(method, app.url(path));
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        headers,
    )
}

pub(crate) fn invalid_key_body() -> Value {
    json!({"error": "unauthorized", "message": "Invalid or expired API key", "code": "AUTH_INVALID_KEY"})
}

async fn create_list_delete(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, admin) = key_for(&app, Some("admin"), "admin", None, "").await;
    let body = json!({"name": "CI", "scopes": ["read:evaluations", "ci"], "expires_in": "7d", "allowed_ips": "10.0.0.0/8,192.168.1.0/24"});
    let (status, created, _) = call(
        &app,
        reqwest::Method::POST,
        "/v1/api-keys",
        Some(&admin),
        Some(body),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().unwrap();
    assert!(
        key.starts_with("mg_key_prod_") && key.len() >= "mg_key_prod_".len() + 32,
        "{key}"
    );
    assert!(created["id"].as_str().unwrap().starts_with("key_"));
    assert_eq!(created["scopes"], json!(["ci", "read:evaluations"]));
    assert_eq!(
        created["allowed_ips"],
        json!(["10.0.0.0/8", "192.168.1.0/24"])
    );
    assert_eq!(created["last_used_at"], Value::Null);
    assert!(created["expires_at"].as_str().unwrap().ends_with('Z'));
    assert!(
        created["hint"]
            .as_str()
            .unwrap()
            .ends_with(&key[key.len() - 4..])
    );
    let (status, list, _) = call(
        &app,
        reqwest::Method::GET,
        "/v1/api-keys",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let listed = list["data"].as_array().unwrap();
    assert!(
        listed.iter().all(|k| k.get("key").is_none()),
        "the secret is shown once"
    );
    assert!(listed.iter().any(|k| k["id"] == created["id"]));
    let id = created["id"].as_str().unwrap();
    let (status, _, _) = call(
        &app,
        reqwest::Method::DELETE,
        &format!("/v1/api-keys/{id}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _, _) = call(
        &app,
        reqwest::Method::DELETE,
        &format!("/v1/api-keys/{id}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, 404);
}

async fn documented_errors(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // Missing, malformed, unknown.
    for key in [
        None,
        Some("garbage"),
        Some("mg_key_prod_00000000000000000000000000000000000000000"),
    ] {
        let (status, body, headers) =
            call(&app, reqwest::Method::GET, "/v1/auth/verify", key, None).await;
        assert_eq!(status, 401, "{key:?}");
        assert_eq!(body, invalid_key_body());
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
    }
    // Expired.
    let (_, short) = key_for(&app, Some("admin"), "read:org", Some("30m"), "").await;
    assert_eq!(
        call(
            &app,
            reqwest::Method::GET,
            "/v1/auth/verify",
            Some(&short),
            None
        )
        .await
        .0,
        200
    );
    app.clock.advance(31 * 60);
    let (status, body, _) = call(
        &app,
        reqwest::Method::GET,
        "/v1/auth/verify",
        Some(&short),
        None,
    )
    .await;
    assert_eq!((status, body), (401, invalid_key_body()));
    // Insufficient scope.
    let (_, reader) = key_for(&app, Some("admin"), "read:org", None, "").await;
    let (status, body, _) = call(
        &app,
        reqwest::Method::POST,
        "/v1/api-keys",
        Some(&reader),
        Some(json!({"name": "x", "scopes": ["read:org"]})),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        body,
        json!({"error": "forbidden", "message": "Insufficient permissions for this operation",
               "code": "AUTH_INSUFFICIENT_SCOPE", "required_scope": "write:org"})
    );
    // Bad input.
    let (_, admin) = key_for(&app, Some("admin"), "admin", None, "").await;
    let (status, body, _) = call(
        &app,
        reqwest::Method::POST,
        "/v1/api-keys",
        Some(&admin),
        Some(json!({"name": 5})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("INVALID_REQUEST"))
    );
    assert_eq!(body["error"], "bad_request");
    for bad in [
        json!({"name": "x", "scopes": ["fly"]}),
        json!({"name": "x", "scopes": ["read:org"], "expires_in": "7w"}),
        json!({"name": "x", "scopes": ["read:org"], "allowed_ips": ["10.0.0.0/33"]}),
        json!({"name": "", "scopes": ["read:org"]}),
    ] {
        let (status, body, _) = call(
            &app,
            reqwest::Method::POST,
            "/v1/api-keys",
            Some(&admin),
            Some(bad.clone()),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("VALIDATION_FAILED")),
            "{bad}"
        );
    }
    let (status, body, _) = call(
        &app,
        reqwest::Method::DELETE,
        "/v1/api-keys/key_nope",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (404, Some("NOT_FOUND")));
    // Another organisation's key.
    let state = app.state.clone();
    let (other_key, _) = tokio::task::spawn_blocking(move || {
        let org = mintgate::accounts::service::create_org(
            &state.store,
            state.clock.as_ref(),
            "Other Org",
        )
        .unwrap();
        let input = NewKey {
            name: "theirs".into(),
            scopes: vec!["read:org".into()],
            expires_in: None,
            allowed_ips: vec![],
        };
        let (k, s) = service::create_for_operator(
            &state.store,
            &state.key_format,
            &org,
            None,
            input,
            state.clock.now(),
        )
        .unwrap();
        (k.id, s.expose_secret().to_owned())
    })
    .await
    .unwrap();
    let (status, body, _) = call(
        &app,
        reqwest::Method::DELETE,
        &format!("/v1/api-keys/{other_key}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("NOT_FOUND")),
        "another organisation's key is not to be seen"
    );
}

async fn scope_and_expiry_escalation_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, limited) = key_for(&app, Some("admin"), "read:org,write:org", Some("7d"), "").await;
    let (status, body, _) = call(
        &app,
        reqwest::Method::POST,
        "/v1/api-keys",
        Some(&limited),
        Some(json!({"name": "more", "scopes": ["write:policies"], "expires_in": "1d"})),
    )
    .await;
    assert_eq!(
        (
            status,
            body["code"].as_str(),
            body["required_scope"].as_str()
        ),
        (403, Some("AUTH_INSUFFICIENT_SCOPE"), Some("write:policies"))
    );
    for expiry in ["30d", "never"] {
        let (status, body, _) = call(
            &app,
            reqwest::Method::POST,
            "/v1/api-keys",
            Some(&limited),
            Some(json!({"name": "longer", "scopes": ["read:org"], "expires_in": expiry})),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("VALIDATION_FAILED")),
            "{expiry}"
        );
    }
    let (status, _, _) = call(
        &app,
        reqwest::Method::POST,
        "/v1/api-keys",
        Some(&limited),
        Some(json!({"name": "ok", "scopes": ["read:org"], "expires_in": "24h"})),
    )
    .await;
    assert_eq!(status, 201);
}

async fn member_keys_follow_the_member(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let member = app.create_user("mallory", "mallory-password-1").await;
    let (_, key) = key_for(&app, Some("mallory"), "read:org,write:org", None, "").await;
    let (status, body, _) = call(
        &app,
        reqwest::Method::GET,
        "/v1/auth/verify",
        Some(&key),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["scopes"],
        json!(["read:org"]),
        "limited to what a member holds"
    );
    app.remove_member("default", &member.username).await;
    let (status, body, _) = call(
        &app,
        reqwest::Method::GET,
        "/v1/auth/verify",
        Some(&key),
        None,
    )
    .await;
    assert_eq!(
        (status, body),
        (401, invalid_key_body()),
        "a removed member's key stops"
    );
}

async fn rotation_keeps_the_old_secret_for_the_grace_period(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, admin) = key_for(&app, Some("admin"), "admin", None, "").await;
    let (id, old) = key_for(&app, Some("admin"), "read:org", None, "").await;
    let (status, rotated, _) = call(
        &app,
        reqwest::Method::POST,
        &format!("/v1/api-keys/{id}/rotate"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    assert_eq!(rotated["id"], id.as_str(), "same metadata");
    let new = rotated["key"].as_str().unwrap();
    assert_ne!(new, old);
    for k in [old.as_str(), new] {
        assert_eq!(
            call(&app, reqwest::Method::GET, "/v1/auth/verify", Some(k), None)
                .await
                .0,
            200
        );
    }
    app.clock.advance(24 * 3600 + 1);
    assert_eq!(
        call(
            &app,
            reqwest::Method::GET,
            "/v1/auth/verify",
            Some(&old),
            None
        )
        .await
        .0,
        401
    );
    assert_eq!(
        call(
            &app,
            reqwest::Method::GET,
            "/v1/auth/verify",
            Some(new),
            None
        )
        .await
        .0,
        200
    );
}

async fn verify_and_introspection(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (id, key) = key_for(
        &app,
        Some("admin"),
        "read:evaluations,ci",
        Some("7d"),
        "10.0.0.0/8",
    )
    .await;
    let rs: TestClient = register(&app, client_spec("Product API")).await;
    let ask = |ip: Option<&'static str>| {
        let mut form = vec![("token", key.clone())];
        if let Some(ip) = ip {
            form.push(("client_ip", ip.to_owned()));
        }
        let url = app.url("/oauth/introspect");
        let (cid, secret) = (rs.id.clone(), rs.secret.clone().unwrap());
        async move {
            let res = new_client()
                .post(url)
                .basic_auth(cid, Some(secret))
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()
        }
    };
    let inside = ask(Some("10.20.30.40")).await;
    assert_eq!(inside["active"], true);
    assert_eq!(inside["key_id"], id.as_str());
    assert_eq!(inside["org"], "default");
    assert_eq!(inside["scope"], "ci read:evaluations");
    assert!(inside["exp"].as_i64().is_some());
    assert_eq!(
        ask(Some("203.0.113.5")).await["active"],
        false,
        "outside the allowlist"
    );
    assert_eq!(
        ask(None).await["active"],
        false,
        "an allowlisted key needs the client address"
    );
    let (_, open_key) = key_for(&app, Some("admin"), "read:org", None, "").await;
    let res = new_client()
        .post(app.url("/oauth/introspect"))
        .basic_auth(&rs.id, rs.secret.as_ref())
        .form(&[("token", open_key.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.json::<Value>().await.unwrap()["active"],
        true,
        "no allowlist, no client_ip needed"
    );
    // /v1/auth/verify with a key and with an OAuth access token.
    let (status, body, _) = call(
        &app,
        reqwest::Method::GET,
        "/v1/auth/verify",
        Some(&open_key),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["valid"], true);
    assert_eq!(body["organization"], "default");
    assert_eq!(
        body["expires_at"].as_str().map(|s| s.ends_with('Z')),
        Some(true)
    );
    let code = crate::oauth_support::code_for(&app, &rs, None).await;
    let (_, tokens) = crate::oauth_support::redeem(&app, &rs, &code, None).await;
    let (status, body, _) = call(
        &app,
        reqwest::Method::GET,
        "/v1/auth/verify",
        tokens["access_token"].as_str(),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["key_id"], Value::Null);
}

async fn allowlists_and_the_trusted_proxy_rule(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let app = spawn_on(&db, mintgate::clock::ManualClock::starting_now(), |s| {
        s.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let (_, v4) = key_for(&app, Some("admin"), "read:org", None, "10.0.0.0/8").await;
    let (_, v6) = key_for(&app, Some("admin"), "read:org", None, "2001:db8::/32").await;
    let verify = |key: String, xff: Option<&'static str>| {
        let url = app.url("/v1/auth/verify");
        async move {
            let mut req = new_client().get(url).bearer_auth(key);
            if let Some(x) = xff {
                req = req.header("x-forwarded-for", x);
            }
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = verify(v4.clone(), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("AUTH_IP_NOT_ALLOWED")),
        "the proxy itself is not allowed"
    );
    assert_eq!(verify(v4.clone(), Some("10.1.2.3")).await.0, 200);
    assert_eq!(
        verify(v4.clone(), Some("10.1.2.3, 198.51.100.1")).await.0,
        403,
        "right-most untrusted entry counts"
    );
    assert_eq!(verify(v6.clone(), Some("2001:db8::42")).await.0, 200);
    assert_eq!(verify(v6, Some("2001:db9::42")).await.0, 403);
    // Without the trusted proxy setting the header is ignored.
    let plain = spawn_on(&db, mintgate::clock::ManualClock::starting_now(), |_| {}).await;
    let res = new_client()
        .get(plain.url("/v1/auth/verify"))
        .bearer_auth(&v4)
        .header("x-forwarded-for", "10.1.2.3")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

async fn legacy_query_parameter(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = key_for(&app, Some("admin"), "read:org", None, "").await;
    let res = new_client()
        .get(app.url(&format!("/v1/auth/verify?api_key={key}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["deprecation"]
            .to_str()
            .unwrap()
            .starts_with('@')
    );
    assert!(
        res.headers()["link"]
            .to_str()
            .unwrap()
            .contains("rel=\"deprecation\"")
    );
    let res = new_client()
        .get(app.url("/v1/auth/verify"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("deprecation").is_none());
    // OAuth access tokens are never accepted in the URL.
    let rs = register(&app, client_spec("RP")).await;
    let code = crate::oauth_support::code_for(&app, &rs, None).await;
    let (_, tokens) = crate::oauth_support::redeem(&app, &rs, &code, None).await;
    let res = new_client()
        .get(app.url(&format!(
            "/v1/auth/verify?api_key={}",
            tokens["access_token"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // Switched off globally.
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let off = spawn_on(&db, mintgate::clock::ManualClock::starting_now(), |s| {
        s.api_keys.legacy_query = false
    })
    .await;
    let (_, key) = key_for(&off, Some("admin"), "read:org", None, "").await;
    let res = new_client()
        .get(off.url(&format!("/v1/auth/verify?api_key={key}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

async fn applications(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // An application's key never expires: only a credential that never expires creates one.
    let (_, admin) = key_for(&app, Some("admin"), "admin", Some("never"), "").await;
    let (status, created, _) = call(
        &app,
        reqwest::Method::POST,
        "/v1/applications",
        Some(&admin),
        Some(json!({"name": "GitHub CI", "scope": "ci"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert!(created["id"].is_i64());
    assert_eq!(created["scope"], "ci");
    let app_key = created["key"].as_str().unwrap().to_owned();
    let (status, me, _) = call(
        &app,
        reqwest::Method::GET,
        "/v1/application",
        Some(&app_key),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(me["name"], "GitHub CI");
    assert_eq!(me["account"]["login"], "default");
    assert_eq!(me["account"]["type"], "Organization");
    let (status, body, _) = call(
        &app,
        reqwest::Method::GET,
        "/v1/applications",
        Some(&app_key),
        None,
    )
    .await;
    assert_eq!(
        (status, body["required_scope"].as_str()),
        (403, Some("admin")),
        "a ci key is not an admin"
    );
    let (status, list, _) = call(
        &app,
        reqwest::Method::GET,
        "/v1/applications",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!((status, list["data"].as_array().unwrap().len()), (200, 1));
    let (status, _, _) = call(
        &app,
        reqwest::Method::POST,
        "/v1/applications",
        Some(&admin),
        Some(json!({"name": "x", "scope": "root"})),
    )
    .await;
    assert_eq!(status, 422);
    let id = created["id"].as_i64().unwrap();
    let (status, _, _) = call(
        &app,
        reqwest::Method::DELETE,
        &format!("/v1/applications/{id}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, body, _) = call(
        &app,
        reqwest::Method::GET,
        "/v1/application",
        Some(&app_key),
        None,
    )
    .await;
    assert_eq!(
        (status, body),
        (401, invalid_key_body()),
        "deleting the application revokes its key at once"
    );
}

async fn last_used_is_recorded_without_a_write_per_request(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (id, key) = key_for(&app, Some("admin"), "read:org", None, "").await;
    assert_eq!(
        call(
            &app,
            reqwest::Method::GET,
            "/v1/auth/verify",
            Some(&key),
            None
        )
        .await
        .0,
        200
    );
    let (_, list, _) = call(&app, reqwest::Method::GET, "/v1/api-keys", Some(&key), None).await;
    let mine = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        mine["last_used_at"],
        Value::Null,
        "coalesced in memory, not yet written"
    );
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || mintgate::ops::jobs::flush_key_usage(&state).unwrap())
        .await
        .unwrap();
    let (_, list, _) = call(&app, reqwest::Method::GET, "/v1/api-keys", Some(&key), None).await;
    let mine = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id.as_str())
        .unwrap()
        .clone();
    assert!(mine["last_used_at"].as_str().is_some());
}

async fn revocation_is_seen_by_another_instance(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let clock = mintgate::clock::ManualClock::starting_now();
    let a = spawn_on(&db, clock.clone(), |_| {}).await;
    let b = spawn_on(&db, clock.clone(), |_| {}).await;
    let (id, key) = key_for(&a, Some("admin"), "read:org,write:org", None, "").await;
    assert_eq!(
        call(
            &b,
            reqwest::Method::GET,
            "/v1/auth/verify",
            Some(&key),
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(
            &a,
            reqwest::Method::DELETE,
            &format!("/v1/api-keys/{id}"),
            Some(&key),
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(
        call(
            &b,
            reqwest::Method::GET,
            "/v1/auth/verify",
            Some(&key),
            None
        )
        .await
        .0,
        401
    );
}

both!(
    create_list_delete,
    documented_errors,
    scope_and_expiry_escalation_refused,
    member_keys_follow_the_member,
    rotation_keeps_the_old_secret_for_the_grace_period,
    verify_and_introspection,
    allowlists_and_the_trusted_proxy_rule,
    legacy_query_parameter,
    applications,
    last_used_is_recorded_without_a_write_per_request,
    revocation_is_seen_by_another_instance,
);

async fn settings_pages_require_csrf_and_admin(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.sign_in_admin().await;
    let res = app
        .client
        .post(app.url("/settings/api-keys"))
        .form(&[("name", "x"), ("scope", "read:org")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "no CSRF token");
    let page = app.get("/settings/api-keys").await.text().await.unwrap();
    let csrf = form_value(&page, "csrf").unwrap();
    let res = app
        .client
        .post(app.url("/settings/api-keys"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "x"),
            ("scope", "read:org"),
            ("expires_in", "7d"),
            ("allowed_ips", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("mg_key_prod_"));
    assert_eq!(app.get("/settings/applications").await.status(), 200);
    // A member sees no applications page and cannot mint scopes beyond the role.
    app.create_user("nina", "nina-password-1").await;
    let member = new_client();
    app.post_login_with(&member, "nina", "nina-password-1", None)
        .await;
    assert_eq!(
        member
            .get(app.url("/settings/applications"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let page = member
        .get(app.url("/settings/api-keys"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = form_value(&page, "csrf").unwrap();
    let res = member
        .post(app.url("/settings/api-keys"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "x"),
            ("scope", "read:org"),
            ("expires_in", "7d"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        res.text().await.unwrap().contains("needs write:org"),
        "members do not hold write:org"
    );
}

both!(settings_pages_require_csrf_and_admin);

/// The OpenAPI document describes every `/v1` route the router serves, and the reference page
/// renders it.
#[tokio::test]
async fn openapi_document_covers_v1() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/v1/api-keys", "post"),
        ("/v1/api-keys", "get"),
        ("/v1/api-keys/{id}", "delete"),
        ("/v1/api-keys/{id}/rotate", "post"),
        ("/v1/auth/verify", "get"),
        ("/v1/applications", "post"),
        ("/v1/applications", "get"),
        ("/v1/applications/{id}", "delete"),
        ("/v1/application", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} documented"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["ErrorBody"]["properties"]["required_scope"].is_object());
    let page = app.get("/docs/api").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("POST /v1/api-keys") && html.contains("id=\"authentication\""));
}

/// An organisation can refuse the legacy query parameter and cap key lifetimes on its own.
async fn per_organisation_key_policy(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, admin) = key_for(&app, Some("admin"), "admin", None, "").await;
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        use mintgate::accounts::store::OrgStore;
        let org = state.store.find_org("default").unwrap().unwrap();
        state
            .store
            .set_org_key_policy(&org.id, Some(7 * 86_400), false)
            .unwrap();
    })
    .await
    .unwrap();
    let res = new_client()
        .get(app.url(&format!("/v1/auth/verify?api_key={admin}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "the organisation refuses ?api_key=");
    assert_eq!(
        call(
            &app,
            reqwest::Method::GET,
            "/v1/auth/verify",
            Some(&admin),
            None
        )
        .await
        .0,
        200
    );
    let (status, body, _) = call(
        &app,
        reqwest::Method::POST,
        "/v1/api-keys",
        Some(&admin),
        Some(json!({"name": "long", "scopes": ["read:org"], "expires_in": "30d"})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("VALIDATION_FAILED")),
        "{body}"
    );
    let (status, _, _) = call(
        &app,
        reqwest::Method::POST,
        "/v1/api-keys",
        Some(&admin),
        Some(json!({"name": "short", "scopes": ["read:org"], "expires_in": "7d"})),
    )
    .await;
    assert_eq!(status, 201);
}

both!(per_organisation_key_policy);

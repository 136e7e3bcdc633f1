//! One test per OAuth/OIDC security rule; each fails if its rule is removed.

use crate::both;
use crate::helpers::*;
use crate::oauth_support::*;

async fn confidential(app: &TestApp) -> TestClient {
    register(app, client_spec("RP")).await
}

async fn code_reuse_fails_and_revokes_the_first_tokens(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = confidential(&app).await;
    let code = code_for(&app, &client, None).await;
    let (status, first) = redeem(&app, &client, &code, None).await;
    assert_eq!(status, 200, "{first}");
    let access = first["access_token"].as_str().unwrap();
    let refresh = first["refresh_token"].as_str().unwrap();
    assert_eq!(introspect(&app, &client, access).await["active"], true);
    let (status, second) = redeem(&app, &client, &code, None).await;
    assert_eq!(status, 400);
    assert_eq!(second["error"], "invalid_grant");
    assert_eq!(
        introspect(&app, &client, access).await["active"],
        false,
        "tokens from the first redemption are revoked"
    );
    assert_eq!(introspect(&app, &client, refresh).await["active"], false);
}

async fn code_of_another_client_is_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let owner = confidential(&app).await;
    let thief = register(&app, client_spec("Other")).await;
    let code = code_for(&app, &owner, None).await;
    let (status, body) = redeem(&app, &thief, &code, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = redeem(&app, &owner, &code, None).await;
    assert_eq!(status, 200, "the rightful client can still redeem it");
}

async fn pkce_verifier_is_checked(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = confidential(&app).await;
    let (verifier, challenge) = pkce_pair();
    let code = code_for(&app, &client, Some(&challenge)).await;
    let (wrong, _) = pkce_pair();
    let (status, body) = redeem(&app, &client, &code, Some(&wrong)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, body) = redeem(&app, &client, &code, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "missing verifier"
    );
    let (status, _) = redeem(&app, &client, &code, Some(&verifier)).await;
    assert_eq!(status, 200);
}

async fn verifier_without_challenge_is_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = confidential(&app).await;
    let code = code_for(&app, &client, None).await;
    let (verifier, _) = pkce_pair();
    let (status, body) = redeem(&app, &client, &code, Some(&verifier)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "RFC 9700 §2.1.1"
    );
}

async fn plain_pkce_and_missing_pkce_for_public_clients_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut spec = client_spec("Native");
    spec.public = true;
    let public = register(&app, spec).await;
    app.sign_in_admin().await;
    let plain = auth_url(
        &app,
        &public.id,
        &[
            ("code_challenge", &"a".repeat(43)),
            ("code_challenge_method", "plain"),
        ],
    );
    let res = app.client.get(plain).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let q = query_of(&location(res.headers()));
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(q["state"], "st4te");
    assert_eq!(q["iss"], app.address, "errors carry iss too (RFC 9207)");
    let res = app
        .client
        .get(auth_url(&app, &public.id, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        query_of(&location(res.headers()))["error"],
        "invalid_request",
        "public clients must use PKCE"
    );
    let doc: serde_json::Value = app
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
}

async fn unregistered_redirect_uri_shows_an_error_page(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = confidential(&app).await;
    app.sign_in_admin().await;
    let url = auth_url(&app, &client.id, &[]).replace("rp.example", "evil.example");
    let res = app.client.get(url).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none(), "never redirected");
    assert!(res.text().await.unwrap().contains("not registered"));
    let res = app
        .client
        .get(auth_url(&app, "mg_client_unknown", &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none());
}

async fn prompt_none_without_a_session_is_login_required(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = confidential(&app).await;
    let res = new_client()
        .get(auth_url(&app, &client.id, &[("prompt", "none")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let to = location(res.headers());
    assert!(to.starts_with(REDIRECT), "{to}");
    let q = query_of(&to);
    assert_eq!(q["error"], "login_required");
    assert_eq!(q["iss"], app.address);
    // Without prompt=none the user is sent to sign in and comes back to the request.
    let res = new_client()
        .get(auth_url(&app, &client.id, &[]))
        .send()
        .await
        .unwrap();
    let to = location(res.headers());
    assert!(
        to.starts_with("/login?return_to=%2Foauth%2Fauthorize"),
        "{to}"
    );
}

async fn expired_code_is_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = confidential(&app).await;
    let code = code_for(&app, &client, None).await;
    app.clock.advance(61);
    let (status, body) = redeem(&app, &client, &code, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

async fn wrong_secret_is_401_invalid_client(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = confidential(&app).await;
    let bad = TestClient {
        id: client.id.clone(),
        secret: Some("mg_secret_wrong".into()),
    };
    let (status, body) = post_form(
        &app,
        "/oauth/token",
        &bad,
        &[("grant_type", "authorization_code"), ("code", "x")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let res = new_client()
        .post(app.url("/oauth/token"))
        .basic_auth(&client.id, Some("mg_secret_wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(res.headers()["cache-control"], "no-store");
}

async fn refresh_reuse_revokes_the_family(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = confidential(&app).await;
    let code = code_for(&app, &client, None).await;
    let (_, first) = redeem(&app, &client, &code, None).await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let (status, second) = post_form(
        &app,
        "/oauth/token",
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
    )
    .await;
    assert_eq!(status, 200, "{second}");
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    let a2 = second["access_token"].as_str().unwrap().to_owned();
    // r1 again: reuse. The whole family dies, r2 and its access token included.
    let (status, body) = post_form(
        &app,
        "/oauth/token",
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = post_form(
        &app,
        "/oauth/token",
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", &r2)],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(introspect(&app, &client, &a2).await["active"], false);
}

async fn refresh_with_narrower_scope(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = confidential(&app).await;
    let code = code_for(&app, &client, None).await;
    let (_, first) = redeem(&app, &client, &code, None).await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let (status, narrow) = post_form(
        &app,
        "/oauth/token",
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r1),
            ("scope", "openid email"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(narrow["scope"], "email openid");
    let r2 = narrow["refresh_token"].as_str().unwrap().to_owned();
    // The new refresh token keeps the original grant.
    let (_, wide) = post_form(
        &app,
        "/oauth/token",
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", &r2)],
    )
    .await;
    assert_eq!(wide["scope"], "email offline_access openid profile");
    let (status, body) = post_form(
        &app,
        "/oauth/token",
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", wide["refresh_token"].as_str().unwrap()),
            ("scope", "openid admin"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
}

async fn revocation_rules(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = confidential(&app).await;
    let other = register(&app, client_spec("Other")).await;
    let code = code_for(&app, &client, None).await;
    let (_, tokens) = redeem(&app, &client, &code, None).await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    // Another client's revocation is a no-op (RFC 7009 §2.1) that still answers 200.
    let (status, _) = post_form(&app, "/oauth/revoke", &other, &[("token", access)]).await;
    assert_eq!(status, 200);
    assert_eq!(introspect(&app, &client, access).await["active"], true);
    // Unknown tokens: 200.
    let (status, _) = post_form(
        &app,
        "/oauth/revoke",
        &client,
        &[("token", "mg_token_nonsense")],
    )
    .await;
    assert_eq!(status, 200);
    // Revoking the refresh token ends the family's access token too.
    let (status, _) = post_form(&app, "/oauth/revoke", &client, &[("token", refresh)]).await;
    assert_eq!(status, 200);
    assert_eq!(introspect(&app, &client, refresh).await["active"], false);
    assert_eq!(
        introspect(&app, &client, access).await["active"],
        false,
        "revoked token inactive at introspection"
    );
    // Unauthenticated revocation: 401.
    let bad = TestClient {
        id: client.id.clone(),
        secret: Some("nope".into()),
    };
    let (status, body) = post_form(&app, "/oauth/revoke", &bad, &[("token", access)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
}

async fn logout_without_hint_asks_first(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = confidential(&app).await;
    app.sign_in_admin().await;
    let url = format!(
        "{}?client_id={}&post_logout_redirect_uri=https%3A%2F%2Frp.example%2Fbye&state=s1",
        app.url("/oauth/logout"),
        client.id
    );
    let res = app.client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("Sign out?"));
    assert!(
        app.account_page().await.is_some(),
        "nothing ended before the user confirms"
    );
    // A forged confirmation without the CSRF token does nothing.
    let res = app
        .client
        .post(app.url("/oauth/logout"))
        .form(&[("confirm", "yes"), ("client_id", &client.id)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(app.account_page().await.is_some());
    let csrf = form_value(&page, "csrf").unwrap();
    let res = app
        .client
        .post(app.url("/oauth/logout"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("confirm", "yes"),
            ("client_id", &client.id),
            ("post_logout_redirect_uri", "https://rp.example/bye"),
            ("state", "s1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(res.headers()), "https://rp.example/bye?state=s1");
    assert!(app.account_page().await.is_none());
}

async fn logout_with_hint_ends_session_and_its_tokens(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = confidential(&app).await;
    // A session-bound family: no offline_access.
    let browser = new_client();
    app.post_login_with(&browser, ADMIN_USERNAME, ADMIN_PASSWORD, None)
        .await;
    let url = auth_url(&app, &client.id, &[]).replace("offline_access", "");
    let q = query_of(&authorize_with(&app, &browser, &url).await);
    let (status, tokens) = redeem(&app, &client, &q["code"], None).await;
    assert_eq!(status, 200);
    assert!(
        tokens.get("refresh_token").is_none(),
        "no offline_access, no refresh token"
    );
    let access = tokens["access_token"].as_str().unwrap();
    let hint = tokens["id_token"].as_str().unwrap();
    let url = format!(
        "{}?id_token_hint={hint}&post_logout_redirect_uri=https%3A%2F%2Frp.example%2Fbye&state=s2",
        app.url("/oauth/logout")
    );
    let res = browser.get(url).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(res.headers()), "https://rp.example/bye?state=s2");
    assert!(app.account_page_with(&browser).await.is_none());
    assert_eq!(
        introspect(&app, &client, access).await["active"],
        false,
        "session-bound tokens end with the session"
    );
    // An unregistered post-logout URI is never followed.
    let res = browser
        .get(format!(
            "{}?id_token_hint={hint}&post_logout_redirect_uri=https%3A%2F%2Fevil.example",
            app.url("/oauth/logout")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

async fn consent_is_remembered_and_revocable(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = confidential(&app).await;
    let code = code_for(&app, &client, None).await;
    let (_, tokens) = redeem(&app, &client, &code, None).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    // Second time: no consent page.
    app.sign_in_admin().await;
    let res = app
        .client
        .get(auth_url(&app, &client.id, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "remembered consent skips the page");
    assert!(location(res.headers()).contains("code="));
    // prompt=consent asks again.
    let res = app
        .client
        .get(auth_url(&app, &client.id, &[("prompt", "consent")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Revoke from the account page.
    let page = app.account_page().await.unwrap();
    assert!(page.contains("RP"));
    let csrf = form_value(&page, "csrf").unwrap();
    let res = app
        .client
        .post(app.url("/account/consents/revoke"))
        .form(&[("csrf", csrf.as_str()), ("client_id", client.id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(introspect(&app, &client, &refresh).await["active"], false);
    let res = app
        .client
        .get(auth_url(&app, &client.id, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "consent asked again");
}

async fn deny_returns_access_denied(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = confidential(&app).await;
    app.sign_in_admin().await;
    let page = app
        .client
        .get(auth_url(&app, &client.id, &[]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc = scraper::Html::parse_document(&page);
    let sel = scraper::Selector::parse("main form input[type=hidden]").unwrap();
    let mut form: Vec<(String, String)> = doc
        .select(&sel)
        .map(|e| {
            (
                e.value().attr("name").unwrap().to_owned(),
                e.value().attr("value").unwrap_or("").to_owned(),
            )
        })
        .collect();
    // The consent answer is a form like any other: without its CSRF token it is refused.
    let forged: Vec<_> = form
        .iter()
        .filter(|(k, _)| k != "csrf")
        .cloned()
        .chain([("decision".to_owned(), "allow".to_owned())])
        .collect();
    let res = app
        .client
        .post(app.url("/oauth/consent"))
        .form(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    form.push(("decision".into(), "deny".into()));
    let res = app
        .client
        .post(app.url("/oauth/consent"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let q = query_of(&location(res.headers()));
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["iss"], app.address);
}

async fn token_endpoint_errors(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = confidential(&app).await;
    let (status, body) =
        post_form(&app, "/oauth/token", &client, &[("grant_type", "password")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (status, body) = post_form(
        &app,
        "/oauth/token",
        &client,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    let (status, body) = post_form(&app, "/oauth/token", &client, &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    // Repeated parameter.
    let res = new_client()
        .post(app.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=authorization_code&code=a&code=b&client_id={}",
            client.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // JSON bodies are accepted.
    let code = code_for(&app, &client, None).await;
    let res = new_client()
        .post(app.url("/oauth/token"))
        .json(&serde_json::json!({
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "client_id": client.id, "client_secret": client.secret,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
}

async fn jwt_access_tokens_follow_rfc9068(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut spec = client_spec("JWT service");
    spec.grant_types = vec!["client_credentials".into()];
    spec.scopes = Some("read:policies".into());
    spec.access_token_format = mintgate::oauth::types::TokenFormat::Jwt;
    spec.resources = vec!["https://api.example".into()];
    let client = register(&app, spec).await;
    let (status, body) = post_form(
        &app,
        "/oauth/token",
        &client,
        &[
            ("grant_type", "client_credentials"),
            ("resource", "https://api.example"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["expires_in"], 300);
    let jwt = body["access_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    let jwks: jsonwebtoken::jwk::JwkSet = app.get("/oauth/jwks").await.json().await.unwrap();
    let key = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&["https://api.example"]);
    validation.set_issuer(&[app.address.as_str()]);
    let claims = jsonwebtoken::decode::<serde_json::Value>(
        jwt,
        &jsonwebtoken::DecodingKey::from_jwk(key).unwrap(),
        &validation,
    )
    .expect("a resource server validates it locally with the JWKS")
    .claims;
    for claim in [
        "iss",
        "exp",
        "aud",
        "sub",
        "client_id",
        "iat",
        "jti",
        "scope",
    ] {
        assert!(claims.get(claim).is_some(), "{claim}");
    }
    assert_eq!(introspect(&app, &client, jwt).await["active"], true);
}

both!(
    code_reuse_fails_and_revokes_the_first_tokens,
    code_of_another_client_is_refused,
    pkce_verifier_is_checked,
    verifier_without_challenge_is_refused,
    plain_pkce_and_missing_pkce_for_public_clients_are_refused,
    unregistered_redirect_uri_shows_an_error_page,
    prompt_none_without_a_session_is_login_required,
    expired_code_is_refused,
    wrong_secret_is_401_invalid_client,
    refresh_reuse_revokes_the_family,
    refresh_with_narrower_scope,
    revocation_rules,
    logout_without_hint_asks_first,
    logout_with_hint_ends_session_and_its_tokens,
    consent_is_remembered_and_revocable,
    deny_returns_access_denied,
    token_endpoint_errors,
    jwt_access_tokens_follow_rfc9068,
);

/// `signing-key rotate` publishes the next key at once, signs with it only later, and keeps the
/// old key published for the tokens it signed.
async fn signing_key_rotation(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let jwks = |app: &TestApp| {
        let url = app.url("/oauth/jwks");
        async move {
            let res = new_client().get(url).send().await.unwrap();
            assert!(
                res.headers()["cache-control"]
                    .to_str()
                    .unwrap()
                    .contains("max-age=300")
            );
            let v: serde_json::Value = res.json().await.unwrap();
            v["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["kid"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let before = jwks(&app).await;
    assert_eq!(before.len(), 3, "RS256, ES256 and EdDSA");
    let client = register(&app, client_spec("RP")).await;
    let kid_of = |token: &str| jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let code = code_for(&app, &client, None).await;
    let (_, t1) = redeem(&app, &client, &code, None).await;
    let old_kid = kid_of(t1["id_token"].as_str().unwrap());

    let state = app.state.clone();
    let new_kid = tokio::task::spawn_blocking(move || {
        use mintgate::signing;
        let now = state.clock.now();
        let (active_from, published_until) = signing::rotation_times(now);
        let key = signing::generate(signing::SigningAlg::Rs256, &state.secrets, now, active_from)
            .unwrap();
        mintgate::signing::store::SigningKeyStore::rotate_signing_key(
            &state.store,
            &key,
            published_until,
        )
        .unwrap();
        mintgate::ops::jobs::reload_keys(&state).unwrap();
        key.kid
    })
    .await
    .unwrap();
    let after = jwks(&app).await;
    assert!(
        after.contains(&new_kid) && after.contains(&old_kid),
        "both published"
    );
    let code = code_for(&app, &client, None).await;
    let (_, t2) = redeem(&app, &client, &code, None).await;
    assert_eq!(
        kid_of(t2["id_token"].as_str().unwrap()),
        old_kid,
        "still the old key until caches expire"
    );

    app.clock
        .advance(mintgate::signing::JWKS_MAX_AGE + mintgate::signing::REFRESH_INTERVAL + 1);
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || mintgate::ops::jobs::reload_keys(&state).unwrap())
        .await
        .unwrap();
    let code = code_for(&app, &client, None).await;
    let (_, t3) = redeem(&app, &client, &code, None).await;
    assert_eq!(
        kid_of(t3["id_token"].as_str().unwrap()),
        new_kid,
        "the new key signs now"
    );
    assert!(
        jwks(&app).await.contains(&old_kid),
        "the old key stays published"
    );

    app.clock
        .advance(mintgate::signing::RETIRED_KEY_PUBLISHED_FOR);
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || mintgate::ops::jobs::reload_keys(&state).unwrap())
        .await
        .unwrap();
    assert!(
        !jwks(&app).await.contains(&old_kid),
        "retired keys leave once their tokens expired"
    );
}

async fn groups_scope_adds_groups(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        use mintgate::accounts::store::{OrgStore, UserStore};
        let org = state.store.find_org("default").unwrap().unwrap();
        let admin = state.store.find_user_by_username("admin").unwrap().unwrap();
        let g = state
            .store
            .create_group(&org.id, "engineering", state.clock.now())
            .unwrap();
        state.store.add_group_member(&g, &admin.id).unwrap();
    })
    .await
    .unwrap();
    let client = confidential(&app).await;
    let browser = new_client();
    app.post_login_with(&browser, ADMIN_USERNAME, ADMIN_PASSWORD, None)
        .await;
    let url = auth_url(&app, &client.id, &[]).replace("offline_access", "groups");
    let q = query_of(&authorize_with(&app, &browser, &url).await);
    let (_, tokens) = redeem(&app, &client, &q["code"], None).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let payload = id_token.split('.').nth(1).unwrap();
    use base64::Engine;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["groups"], serde_json::json!(["engineering"]));
    assert!(claims["sid"].as_str().is_some_and(|s| s.len() >= 20));
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    let access = tokens["access_token"].as_str().unwrap();
    let info: serde_json::Value = new_client()
        .get(app.url("/oauth/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["groups"], serde_json::json!(["engineering"]));
    assert_eq!(
        introspect(&app, &client, access).await["groups"],
        serde_json::json!(["engineering"])
    );
}

async fn max_age_and_prompt_login_force_sign_in(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = confidential(&app).await;
    let _ = code_for(&app, &client, None).await;
    app.sign_in_admin().await;
    let res = app
        .client
        .get(auth_url(&app, &client.id, &[]))
        .send()
        .await
        .unwrap();
    assert!(
        location(res.headers()).contains("code="),
        "signed in and consented: straight back"
    );
    app.clock.advance(120);
    let res = app
        .client
        .get(auth_url(&app, &client.id, &[("max_age", "60")]))
        .send()
        .await
        .unwrap();
    let to = location(res.headers());
    assert!(to.starts_with("/login?") && to.contains("reauth=1"), "{to}");
    let res = app
        .client
        .get(auth_url(&app, &client.id, &[("prompt", "login")]))
        .send()
        .await
        .unwrap();
    assert!(location(res.headers()).contains("reauth=1"));
    let res = app
        .client
        .get(auth_url(
            &app,
            &client.id,
            &[("max_age", "60"), ("prompt", "none")],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        query_of(&location(res.headers()))["error"],
        "login_required"
    );
}

both!(
    signing_key_rotation,
    groups_scope_adds_groups,
    max_age_and_prompt_login_force_sign_in
);

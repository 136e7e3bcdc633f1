//! Regression tests of the "Security hardening" review: RFC 8707 resources, `id_token_hint`
//! that must be an ID token, session expiry ending session-bound grants, codes of revoked
//! grants (also racing a sign-out), and `max_age=0` after a fresh sign-in.

use std::time::{Duration, Instant};

use mintgate::clock::Clock;
use mintgate::oauth::types::TokenFormat;
use mintgate::signing::SigningAlg;

use crate::both;
use crate::helpers::*;
use crate::oauth_support::*;

const API: &str = "https://api.example/v1";
const OTHER_API: &str = "https://other-api.example";

/// A session-bound code (no offline_access) for the signed-in `browser`.
async fn session_code(app: &TestApp, browser: &reqwest::Client, client: &TestClient) -> String {
    let to = authorize_with(app, browser, &session_url(app, client, &[])).await;
    query_of(&to)
        .get("code")
        .unwrap_or_else(|| panic!("no code in {to}"))
        .clone()
}

async fn refresh(
    app: &TestApp,
    client: &TestClient,
    token: &str,
    resource: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(r) = resource {
        form.push(("resource", r));
    }
    post_form(app, "/oauth/token", client, &form).await
}

async fn client_credentials(
    app: &TestApp,
    client: &TestClient,
    resource: &str,
) -> (u16, serde_json::Value) {
    let form = [("grant_type", "client_credentials"), ("resource", resource)];
    post_form(app, "/oauth/token", client, &form).await
}

// ---- 1. RFC 8707 resource indicators ----------------------------------------------------

async fn resource_must_be_registered_at_the_authorization_endpoint(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut spec = client_spec("API RP");
    spec.access_token_format = TokenFormat::Jwt;
    spec.skip_consent = true;
    spec.resources = vec![API.into()];
    let client = register(&app, spec).await;
    let other = register(&app, client_spec("Other RP")).await;
    let b = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    for bad in [
        other.id.as_str(),
        OTHER_API,
        "https://api.example/v1#frag",
        "not a uri",
    ] {
        let res = b
            .get(auth_url(&app, &client.id, &[("resource", bad)]))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{bad}");
        let to = location(res.headers());
        assert!(to.starts_with(REDIRECT), "{bad}: {to}");
        let q = query_of(&to);
        assert_eq!(q["error"], "invalid_target", "{bad}: {to}");
        assert_eq!(q["state"], "st4te");
        assert_eq!(q["iss"], app.address);
        assert!(!q.contains_key("code"));
    }
    // A registered resource is granted and becomes the access token's audience.
    let to = authorize_with(&app, &b, &auth_url(&app, &client.id, &[("resource", API)])).await;
    let code = query_of(&to)["code"].clone();
    // The token request may not widen it (checked before the code is spent)...
    let (status, body) = post_form(
        &app,
        "/oauth/token",
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("resource", OTHER_API),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target"))
    );
    // ...and the code still works for what was granted.
    let (status, tokens) = redeem(&app, &client, &code, None).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(
        jwt_claims(tokens["access_token"].as_str().unwrap())["aud"],
        API
    );
    // Without a resource nothing changes: the default audience (the issuer here).
    let to = authorize_with(&app, &b, &auth_url(&app, &client.id, &[])).await;
    let (status, tokens) = redeem(&app, &client, &query_of(&to)["code"], None).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(
        jwt_claims(tokens["access_token"].as_str().unwrap())["aud"],
        app.address
    );
}

async fn resource_must_be_registered_at_the_token_endpoint(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let other = register(&app, client_spec("Other RP")).await;
    let mut spec = client_spec("Service");
    spec.grant_types = vec!["client_credentials".into()];
    spec.scopes = Some("read:policies".into());
    spec.access_token_format = TokenFormat::Jwt;
    let unregistered = register(&app, spec).await;
    // Another client's id as the audience: an ID-token look-alike. Refused.
    let (status, body) = client_credentials(&app, &unregistered, &other.id).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target")),
        "{body}"
    );
    let (status, body) = client_credentials(&app, &unregistered, API).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target")),
        "{body}"
    );
    // No resource registered: only the configured api_audience (the issuer by default).
    let (status, body) = client_credentials(&app, &unregistered, &app.address).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        jwt_claims(body["access_token"].as_str().unwrap())["aud"],
        app.address
    );

    let mut spec = client_spec("Registered service");
    spec.grant_types = vec!["client_credentials".into()];
    spec.scopes = Some("read:policies".into());
    spec.access_token_format = TokenFormat::Jwt;
    spec.resources = vec![API.into()];
    let registered = register(&app, spec).await;
    let (status, body) = client_credentials(&app, &registered, API).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        jwt_claims(body["access_token"].as_str().unwrap())["aud"],
        API
    );
    for bad in [OTHER_API, "https://api.example/v1#x", "relative/path"] {
        let (status, body) = client_credentials(&app, &registered, bad).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_target")),
            "{bad}"
        );
    }
}

async fn refresh_may_only_narrow_the_granted_resources(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut spec = client_spec("API RP");
    spec.access_token_format = TokenFormat::Jwt;
    spec.skip_consent = true;
    spec.resources = vec![API.into(), OTHER_API.into()];
    let client = register(&app, spec).await;
    let b = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let to = authorize_with(&app, &b, &auth_url(&app, &client.id, &[("resource", API)])).await;
    let (status, tokens) = redeem(&app, &client, &query_of(&to)["code"], None).await;
    assert_eq!(status, 200, "{tokens}");
    let rt = tokens["refresh_token"].as_str().unwrap().to_owned();
    // Registered for the client, but not granted by this authorization: refused, and the
    // refresh token is not spent by the mistake.
    let (status, body) = refresh(&app, &client, &rt, Some(OTHER_API)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target")),
        "{body}"
    );
    let (status, body) = refresh(&app, &client, &rt, Some(API)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        jwt_claims(body["access_token"].as_str().unwrap())["aud"],
        API
    );
    let rt = body["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = refresh(&app, &client, &rt, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        jwt_claims(body["access_token"].as_str().unwrap())["aud"],
        API,
        "the grant keeps its resource"
    );
    // A grant whose authorization named no resource holds only the default audience.
    let to = authorize_with(&app, &b, &auth_url(&app, &client.id, &[])).await;
    let (status, tokens) = redeem(&app, &client, &query_of(&to)["code"], None).await;
    assert_eq!(status, 200, "{tokens}");
    let rt = tokens["refresh_token"].as_str().unwrap();
    let (status, body) = refresh(&app, &client, rt, Some(API)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target")),
        "{body}"
    );
}

/// `mintgate client create --resource URI` (repeatable) registers absolute URIs only.
async fn client_create_registers_resources(backend: Backend) {
    let Some(db) = TestDb::empty(backend) else {
        return;
    };
    tokio::task::spawn_blocking(move || {
        use crate::cli::run;
        let (code, _, err) = run(&db, &["migrate"], "");
        assert_eq!(code, 0, "{err}");
        let base = [
            "client",
            "create",
            "--name",
            "RS",
            "--redirect-uri",
            REDIRECT,
        ];
        for bad in ["https://api.example/v1#frag", "mg_client_abc", "/relative"] {
            let mut args = base.to_vec();
            args.extend(["--resource", bad]);
            let (code, _, err) = run(&db, &args, "");
            assert_eq!(code, 2, "{bad}: {err}");
        }
        let mut args = base.to_vec();
        args.extend(["--resource", API, "--resource", OTHER_API, "--json"]);
        let (code, out, err) = run(&db, &args, "");
        assert_eq!(code, 0, "{err}");
        let id = serde_json::from_str::<serde_json::Value>(&out).unwrap()["client_id"].clone();
        let (code, out, _) = run(&db, &["client", "list", "--json"], "");
        assert_eq!(code, 0);
        let list: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
        let client = list.iter().find(|c| c["id"] == id).unwrap();
        assert_eq!(client["resources"], serde_json::json!([API, OTHER_API]));
    })
    .await
    .unwrap();
}

// ---- 2. id_token_hint must be an ID token -----------------------------------------------

async fn id_token_hint_must_be_an_id_token(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = register(&app, client_spec("RP")).await;
    // A real ID token tells us the admin's `sub` and is the positive control below.
    let code = code_for(&app, &client, None).await;
    let (status, tokens) = redeem(&app, &client, &code, None).await;
    assert_eq!(status, 200);
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    let sub = jwt_claims(&id_token)["sub"].as_str().unwrap().to_owned();
    let now = app.clock.now();
    let keys = app.state.keys.current();
    let issuer = app.settings.server.issuer_str().to_owned();
    // An RFC 9068 access token whose `aud` is a client id (what an unchecked `resource`
    // produced): signed by us, right issuer and subject, but not an ID token.
    let access_look_alike = keys
        .sign(
            SigningAlg::Es256,
            Some("at+jwt"),
            &serde_json::json!({
                "iss": issuer, "sub": sub, "aud": client.id, "client_id": client.id,
                "exp": now + 300, "iat": now, "jti": "j1", "scope": "openid",
            }),
            now,
        )
        .unwrap();
    // typ JWT, but an audience that is not (only) one of our clients.
    let foreign_audience = keys
        .sign(
            SigningAlg::Rs256,
            Some("JWT"),
            &serde_json::json!({
                "iss": issuer, "sub": sub, "aud": [client.id, API],
                "exp": now + 300, "iat": now,
            }),
            now,
        )
        .unwrap();
    app.sign_in_admin().await;
    let logout = |hint: &str| {
        format!(
            "{}?id_token_hint={hint}&post_logout_redirect_uri=https%3A%2F%2Frp.example%2Fbye&client_id={}",
            app.url("/oauth/logout"),
            client.id
        )
    };
    for (name, hint) in [
        ("at+jwt", &access_look_alike),
        ("foreign aud", &foreign_audience),
    ] {
        let res = app.client.get(logout(hint)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{name}: asks instead of signing out");
        assert!(res.text().await.unwrap().contains("Sign out?"), "{name}");
        assert!(
            app.account_page().await.is_some(),
            "{name}: the session survives a hint that is not an ID token"
        );
    }
    // A real ID token still signs out at once.
    let res = app.client.get(logout(&id_token)).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(res.headers()), "https://rp.example/bye");
    assert!(app.account_page().await.is_none());
}

// ---- 3. tokens do not outlive their session ---------------------------------------------

async fn idle_session_ends_its_refresh_family(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = session_client(&app, "Session RP").await;
    let b = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let code = session_code(&app, &b, &client).await;
    let (status, tokens) = redeem(&app, &client, &code, None).await;
    assert_eq!(status, 200, "{tokens}");
    let rt = tokens["refresh_token"].as_str().unwrap().to_owned();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    // Within the idle window the family works.
    let (status, body) = refresh(&app, &client, &rt, None).await;
    assert_eq!(status, 200, "{body}");
    let rt = body["refresh_token"].as_str().unwrap().to_owned();
    // The browser goes quiet; the session idles out 3 s ago. Nothing has pruned it yet.
    let idle = app.settings.sessions.idle_timeout.as_secs() as i64;
    app.clock.advance(idle + 3);
    let (status, body) = refresh(&app, &client, &rt, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    assert_eq!(
        introspect(&app, &client, &access).await["active"],
        false,
        "the family ended as at sign-out"
    );
}

async fn absolute_session_expiry_ends_its_refresh_family(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = session_client(&app, "Session RP").await;
    let b = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let code = session_code(&app, &b, &client).await;
    let (status, tokens) = redeem(&app, &client, &code, None).await;
    assert_eq!(status, 200, "{tokens}");
    let mut rt = tokens["refresh_token"].as_str().unwrap().to_owned();
    let idle = app.settings.sessions.idle_timeout.as_secs() as i64;
    let absolute = app.settings.sessions.absolute_timeout.as_secs() as i64;
    // Active all along (the browser and the client both), until the absolute lifetime.
    let mut elapsed = 0;
    while elapsed + idle / 2 < absolute {
        app.clock.advance(idle / 2);
        elapsed += idle / 2;
        assert!(app.account_page_with(&b).await.is_some());
        let (status, body) = refresh(&app, &client, &rt, None).await;
        assert_eq!(status, 200, "at {elapsed}s: {body}");
        rt = body["refresh_token"].as_str().unwrap().to_owned();
    }
    app.clock.advance(absolute - elapsed);
    let (status, body) = refresh(&app, &client, &rt, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
}

async fn expired_sessions_end_their_grants_when_seen_or_pruned(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = session_client(&app, "Session RP").await;
    let seen = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let pruned = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let mut access = Vec::new();
    for b in [&seen, &pruned] {
        let code = session_code(&app, b, &client).await;
        let (status, tokens) = redeem(&app, &client, &code, None).await;
        assert_eq!(status, 200, "{tokens}");
        access.push(tokens["access_token"].as_str().unwrap().to_owned());
    }
    let idle = app.settings.sessions.idle_timeout.as_secs() as i64;
    app.clock.advance(idle + 1);
    // The first browser comes back: its session is found expired and ended like a sign-out.
    assert!(app.account_page_with(&seen).await.is_none());
    assert_eq!(introspect(&app, &client, &access[0]).await["active"], false);
    // The second never comes back: its tokens read as inactive all the same (every reader of a
    // token checks its grant's session), and the background pruning ends it, grants and all.
    assert_eq!(introspect(&app, &client, &access[1]).await["active"], false);
    let st = app.state.clone();
    let pruned_rows = tokio::task::spawn_blocking(move || {
        mintgate::sessions::service::prune(&st.store, st.clock.as_ref(), st.session_policy)
    })
    .await
    .unwrap()
    .unwrap();
    assert!(pruned_rows >= 1);
    assert_eq!(introspect(&app, &client, &access[1]).await["active"], false);
}

// ---- 4. codes of revoked grants ---------------------------------------------------------

async fn sign_out(app: &TestApp, b: &reqwest::Client) {
    let page = app.account_page_with(b).await.expect("signed in");
    let csrf = form_value(&page, "csrf").unwrap();
    let res = b
        .post(app.url("/logout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
}

async fn code_redeemed_after_sign_out_yields_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = session_client(&app, "Session RP").await;
    let b = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let code = session_code(&app, &b, &client).await;
    sign_out(&app, &b).await;
    let (status, body) = redeem(&app, &client, &code, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    assert!(body.get("id_token").is_none() && body.get("access_token").is_none());
}

/// Redeems a code now; returns when it was sent, for which client, and the answer.
async fn redeem_at(
    url: String,
    code: String,
    id: String,
    secret: Option<String>,
) -> (Instant, String, u16, serde_json::Value) {
    let sent = Instant::now();
    let res = new_client()
        .post(url)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("client_id", id.as_str()),
            ("client_secret", secret.as_deref().unwrap_or("")),
        ])
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    (sent, id, status, body)
}

/// Sign-out racing code redemptions of the same session, over real concurrent requests: a
/// redemption either finished before the revocation (and what it got was then revoked) or is
/// refused; one sent after the sign-out was answered is always refused.
async fn sign_out_racing_code_redemptions(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut spec = client_spec("Session RP");
    spec.skip_consent = true;
    spec.always_issue_refresh = true;
    spec.access_token_format = TokenFormat::Jwt;
    let client = session_client(&app, "Session RP").await;
    let jwt_client = register(&app, spec).await;
    let b = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    const N: usize = 24;
    const AFTER: usize = 4;
    let mut codes = Vec::new();
    for i in 0..N + AFTER {
        let c = if i % 2 == 0 { &client } else { &jwt_client };
        codes.push((
            session_code(&app, &b, c).await,
            c.id.clone(),
            c.secret.clone(),
        ));
    }
    let held_back = codes.split_off(N);
    let page = app.account_page_with(&b).await.expect("signed in");
    let csrf = form_value(&page, "csrf").unwrap();
    let start = Instant::now();
    let logout = {
        let (b, url) = (b.clone(), app.url("/logout"));
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(40)).await;
            let res = b.post(url).form(&[("csrf", csrf)]).send().await.unwrap();
            assert_eq!(res.status(), 303);
            Instant::now()
        })
    };
    let mut tasks = Vec::new();
    for (i, (code, id, secret)) in codes.into_iter().enumerate() {
        let url = app.url("/oauth/token");
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(4 * i as u64)).await;
            redeem_at(url, code, id, secret).await
        }));
    }
    let signed_out_at = logout.await.unwrap();
    // These go out together once the sign-out has been answered.
    for (code, id, secret) in held_back {
        let url = app.url("/oauth/token");
        tasks.push(tokio::spawn(redeem_at(url, code, id, secret)));
    }
    let (mut issued, mut refused, mut after) = (0, 0, 0);
    for t in tasks {
        let (sent, id, status, body) = t.await.unwrap();
        let c = if id == client.id {
            &client
        } else {
            &jwt_client
        };
        match status {
            200 => {
                issued += 1;
                assert!(
                    sent < signed_out_at,
                    "a redemption sent {:?} after the sign-out was answered got tokens",
                    sent - signed_out_at
                );
                // It finished before the revocation: what it got ended with the session.
                for t in ["access_token", "refresh_token"] {
                    let token = body[t].as_str().unwrap();
                    assert_eq!(introspect(&app, c, token).await["active"], false, "{t}");
                }
            }
            400 => {
                refused += 1;
                assert_eq!(body["error"], "invalid_grant", "{body}");
                assert!(body.get("id_token").is_none());
            }
            other => panic!("unexpected {other}: {body}"),
        }
        if sent > signed_out_at {
            after += 1;
        }
    }
    eprintln!(
        "{backend:?}: {issued} issued, {refused} refused ({after} sent after the sign-out), in {:?}",
        start.elapsed()
    );
    assert!(
        after >= AFTER,
        "the held-back redemptions follow the sign-out"
    );
}

// ---- 5. max_age=0 -----------------------------------------------------------------------

async fn max_age_zero_proceeds_after_a_fresh_sign_in(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut spec = client_spec("RP");
    spec.skip_consent = true;
    let client = register(&app, spec).await;
    let b = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    app.clock.advance(30);
    let res = b
        .get(auth_url(&app, &client.id, &[("max_age", "0")]))
        .send()
        .await
        .unwrap();
    let to = location(res.headers());
    assert!(to.starts_with("/login?") && to.contains("reauth=1"), "{to}");
    let page = b
        .get(app.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = form_value(&page, "csrf").expect("the sign-in form");
    let return_to = form_value(&page, "return_to").expect("return_to is carried");
    let flow = form_value(&page, "flow").expect("the sign-in flow the page was shown for");
    app.clock.advance(1);
    let res = b
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("login", ADMIN_USERNAME),
            ("password", ADMIN_PASSWORD),
            ("return_to", return_to.as_str()),
            ("flow", flow.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let back = location(res.headers());
    let signed_in_at = app.clock.now();
    // The browser follows the redirect a second later: the sign-in just done satisfies
    // max_age=0 and the request proceeds instead of asking for a sign-in again.
    app.clock.advance(1);
    let res = b.get(app.url(&back)).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let to = location(res.headers());
    assert!(to.starts_with(REDIRECT), "no loop back to sign-in: {to}");
    let code = query_of(&to)["code"].clone();
    let (status, tokens) = redeem(&app, &client, &code, None).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(
        jwt_claims(tokens["id_token"].as_str().unwrap())["auth_time"],
        signed_in_at,
        "auth_time is the fresh sign-in"
    );
}

both!(
    resource_must_be_registered_at_the_authorization_endpoint,
    resource_must_be_registered_at_the_token_endpoint,
    refresh_may_only_narrow_the_granted_resources,
    client_create_registers_resources,
    id_token_hint_must_be_an_id_token,
    idle_session_ends_its_refresh_family,
    absolute_session_expiry_ends_its_refresh_family,
    expired_sessions_end_their_grants_when_seen_or_pruned,
    code_redeemed_after_sign_out_yields_nothing,
    sign_out_racing_code_redemptions,
    max_age_zero_proceeds_after_a_fresh_sign_in,
);

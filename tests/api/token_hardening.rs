//! Regression tests of the second OAuth review: `/v1` accepts only access tokens minted for
//! mintgate itself (A), API scopes beyond the user's role are never granted (B), a
//! session-bound token stops at `/v1` when its session ends (C), and a session used more often
//! than its idle timeout never idles out (D).

use std::time::Duration;

use mintgate::clock::Clock;
use mintgate::oauth::types::TokenFormat;
use serde_json::{Value, json};
use url::Url;

use crate::apikeys::{call, invalid_key_body};
use crate::both;
use crate::helpers::*;
use crate::oauth_support::*;

const API: &str = "https://api.example/";
const MEMBER: &str = "mia";
const MEMBER_PASSWORD: &str = "a long member password 1";

fn scope_set(s: &str) -> std::collections::BTreeSet<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

/// An authorization URL with exactly `scope` (and `extra`).
fn url_with_scope(app: &TestApp, client_id: &str, scope: &str, extra: &[(&str, &str)]) -> String {
    let mut url = Url::parse(&app.url("/oauth/authorize")).unwrap();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("scope", scope)
            .append_pair("state", "st4te");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

/// Runs the code flow as `browser` and redeems the code: the token response.
async fn tokens_for(
    app: &TestApp,
    browser: &reqwest::Client,
    client: &TestClient,
    scope: &str,
    extra: &[(&str, &str)],
) -> Value {
    let to = authorize_with(app, browser, &url_with_scope(app, &client.id, scope, extra)).await;
    let code = query_of(&to)
        .get("code")
        .unwrap_or_else(|| panic!("no code in {to}"))
        .clone();
    let (status, tokens) = redeem(app, client, &code, None).await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

fn api_client(name: &str, format: TokenFormat) -> mintgate::oauth::clients::NewClient {
    let mut spec = client_spec(name);
    spec.skip_consent = true;
    spec.access_token_format = format;
    spec.access_token_ttl = Some(3600);
    spec.always_issue_refresh = true;
    spec.scopes = Some("openid profile offline_access admin write:org read:org".into());
    spec
}

async fn create_key(app: &TestApp, credential: &str) -> (u16, Value) {
    let (status, body, _) = call(
        app,
        reqwest::Method::POST,
        "/v1/api-keys",
        Some(credential),
        Some(json!({"name": "minted", "scopes": ["admin"], "expires_in": "30m"})),
    )
    .await;
    (status, body)
}

async fn verify(app: &TestApp, credential: &str) -> (u16, Value) {
    let (status, body, _) = call(
        app,
        reqwest::Method::GET,
        "/v1/auth/verify",
        Some(credential),
        None,
    )
    .await;
    (status, body)
}

// ---- A. /v1 only for tokens whose audience is mintgate ----------------------------------

async fn v1_refuses_access_tokens_for_another_resource(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let b = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let rs = register(&app, client_spec("Resource server")).await;
    for format in [TokenFormat::Opaque, TokenFormat::Jwt] {
        let mut spec = api_client("API RP", format);
        spec.resources = vec![API.into()];
        let client = register(&app, spec).await;
        let scope = "openid admin write:org";
        // A token for the client's own API (RFC 8707): what that resource server receives.
        let tokens = tokens_for(&app, &b, &client, scope, &[("resource", API)]).await;
        let foreign = tokens["access_token"].as_str().unwrap();
        let seen = introspect(&app, &rs, foreign).await;
        assert_eq!(seen["active"], true, "{format:?}: {seen}");
        assert_eq!(seen["aud"], API, "{format:?}");
        // Replayed to mintgate: refused like any invalid credential.
        assert_eq!(
            verify(&app, foreign).await,
            (401, invalid_key_body()),
            "{format:?}"
        );
        assert_eq!(
            create_key(&app, foreign).await,
            (401, invalid_key_body()),
            "{format:?}: a foreign token mints no key"
        );
        // Its refresh family can only renew it for that resource, never for mintgate.
        let rt = tokens["refresh_token"].as_str().unwrap();
        let (status, body) = post_form(
            &app,
            "/oauth/token",
            &client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
                ("resource", app.address.as_str()),
            ],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_target")),
            "{format:?}: {body}"
        );
        // The same client and user, asking for no resource: mintgate's own audience works.
        let tokens = tokens_for(&app, &b, &client, scope, &[]).await;
        let own = tokens["access_token"].as_str().unwrap();
        if format == TokenFormat::Jwt {
            assert_eq!(jwt_claims(own)["aud"], app.address);
        }
        let (status, body) = verify(&app, own).await;
        assert_eq!(status, 200, "{format:?}: {body}");
        let (status, body) = create_key(&app, own).await;
        assert_eq!(status, 201, "{format:?}: {body}");
    }
}

/// With `api_audience` set, that (not the issuer) is the audience `/v1` accepts.
async fn v1_accepts_the_configured_api_audience_only(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    const OWN: &str = "https://mintgate-api.example/";
    let app = spawn_on(&db, mintgate::clock::ManualClock::starting_now(), |s| {
        s.oauth.api_audience = Some(OWN.into());
    })
    .await;
    let b = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let mut spec = api_client("Issuer-audience RP", TokenFormat::Jwt);
    spec.resources = vec![app.address.clone(), API.into()];
    let client = register(&app, spec).await;
    let tokens = tokens_for(&app, &b, &client, "openid admin", &[]).await;
    let own = tokens["access_token"].as_str().unwrap();
    assert_eq!(jwt_claims(own)["aud"], OWN);
    assert_eq!(verify(&app, own).await.0, 200);
    // The issuer is only the default when api_audience is unset.
    let tokens = tokens_for(
        &app,
        &b,
        &client,
        "openid admin",
        &[("resource", app.address.as_str())],
    )
    .await;
    let issuer_aud = tokens["access_token"].as_str().unwrap();
    assert_eq!(jwt_claims(issuer_aud)["aud"], app.address);
    assert_eq!(verify(&app, issuer_aud).await, (401, invalid_key_body()));
}

// ---- B. API scopes are limited to the user's role ---------------------------------------

async fn code_flow_grants_no_api_scope_beyond_the_users_role(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user(MEMBER, MEMBER_PASSWORD).await;
    let member = signed_in(&app, MEMBER, MEMBER_PASSWORD).await;
    let rs = register(&app, client_spec("Resource server")).await;
    let asked = "openid admin write:org read:org";
    for format in [TokenFormat::Opaque, TokenFormat::Jwt] {
        // A first-party client (no consent page).
        let client = register(&app, api_client("Skip-consent RP", format)).await;
        let tokens = tokens_for(&app, &member, &client, asked, &[]).await;
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(
            scope_set(tokens["scope"].as_str().unwrap()),
            scope_set("openid read:org"),
            "{format:?}: {tokens}"
        );
        let seen = introspect(&app, &rs, access).await;
        assert_eq!(seen["active"], true);
        assert_eq!(
            scope_set(seen["scope"].as_str().unwrap()),
            scope_set("openid read:org"),
            "{format:?}: {seen}"
        );
        if format == TokenFormat::Jwt {
            assert_eq!(
                scope_set(jwt_claims(access)["scope"].as_str().unwrap()),
                scope_set("openid read:org")
            );
        }
        // The refresh token's grant holds no more, and refresh cannot widen it.
        let rt = tokens["refresh_token"].as_str().unwrap();
        let seen = introspect(&app, &rs, rt).await;
        assert_eq!(
            scope_set(seen["scope"].as_str().unwrap()),
            scope_set("openid read:org"),
            "{seen}"
        );
        let (status, body) = post_form(
            &app,
            "/oauth/token",
            &client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
                ("scope", "openid read:org admin"),
            ],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_scope")),
            "{body}"
        );
        let (status, body) = post_form(
            &app,
            "/oauth/token",
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", rt)],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            scope_set(body["scope"].as_str().unwrap()),
            scope_set("openid read:org")
        );
    }

    // Through the consent page: it offers only what the member may grant, and the remembered
    // consent and the token hold no more.
    let mut spec = api_client("Consent RP", TokenFormat::Jwt);
    spec.skip_consent = false;
    let client = register(&app, spec).await;
    let page = member
        .get(url_with_scope(&app, &client.id, asked, &[]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc = scraper::Html::parse_document(&page);
    let sel = scraper::Selector::parse("ul.scopes code").unwrap();
    let offered: std::collections::BTreeSet<String> =
        doc.select(&sel).map(|e| e.text().collect()).collect();
    assert_eq!(offered, scope_set("openid read:org"), "{page}");
    let tokens = tokens_for(&app, &member, &client, asked, &[]).await;
    assert_eq!(
        scope_set(tokens["scope"].as_str().unwrap()),
        scope_set("openid read:org"),
        "{tokens}"
    );

    // An owner holds every API scope: the same request is granted in full.
    let owner = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let client = register(&app, api_client("Owner RP", TokenFormat::Jwt)).await;
    let tokens = tokens_for(&app, &owner, &client, asked, &[]).await;
    assert_eq!(
        scope_set(tokens["scope"].as_str().unwrap()),
        scope_set(asked)
    );
}

/// The role is read again whenever a token is minted: a user demoted since the grant gets the
/// narrower scope on refresh (the grant itself is never widened).
async fn refresh_after_a_demotion_carries_only_the_new_roles_scopes(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let app = spawn_on(&db, mintgate::clock::ManualClock::starting_now(), |_| {}).await;
    let owner = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let client = register(&app, api_client("Demotion RP", TokenFormat::Jwt)).await;
    let asked = "openid offline_access admin write:org read:org";
    let tokens = tokens_for(&app, &owner, &client, asked, &[]).await;
    assert_eq!(
        scope_set(tokens["scope"].as_str().unwrap()),
        scope_set(asked)
    );
    // An operator makes the owner a plain member.
    let sql = "UPDATE memberships SET role = 'member'";
    match backend {
        Backend::Sqlite => {
            use diesel::Connection;
            use diesel::connection::SimpleConnection;
            let mut c = diesel::SqliteConnection::establish(&db.url).unwrap();
            c.batch_execute(&format!("PRAGMA busy_timeout = 5000; {sql}"))
                .unwrap();
        }
        Backend::Postgres => {
            use diesel::Connection;
            use diesel::connection::SimpleConnection;
            let mut c = diesel::PgConnection::establish(&db.url).unwrap();
            c.batch_execute(sql).unwrap();
        }
    }
    let (status, body) = post_form(
        &app,
        "/oauth/token",
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let narrowed = scope_set("openid offline_access read:org");
    assert_eq!(scope_set(body["scope"].as_str().unwrap()), narrowed);
    assert_eq!(
        scope_set(
            jwt_claims(body["access_token"].as_str().unwrap())["scope"]
                .as_str()
                .unwrap()
        ),
        narrowed
    );
}

// ---- C. a session-bound token dies with its session at /v1 ------------------------------

async fn session_bound_token_stops_at_v1_when_the_session_idles_out(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let app = spawn_on(&db, mintgate::clock::ManualClock::starting_now(), |s| {
        s.sessions.idle_timeout = Duration::from_secs(120);
    })
    .await;
    for format in [TokenFormat::Opaque, TokenFormat::Jwt] {
        let b = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
        // No offline_access: the grant is bound to the browser session.
        let client = register(&app, api_client("Session RP", format)).await;
        let tokens = tokens_for(&app, &b, &client, "openid admin write:org", &[]).await;
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(tokens["expires_in"], 3600);
        let (status, body) = verify(&app, access).await;
        assert_eq!(status, 200, "{format:?}: {body}");
        // The browser goes quiet; the session idles out. Nothing has pruned it yet, and the
        // access token itself has nearly an hour left.
        app.clock.advance(121);
        assert_eq!(
            verify(&app, access).await,
            (401, invalid_key_body()),
            "{format:?}"
        );
        assert_eq!(
            create_key(&app, access).await,
            (401, invalid_key_body()),
            "{format:?}: no key minted by a token whose session ended"
        );
        // The refresh is refused by the same rule.
        let rt = tokens["refresh_token"].as_str().unwrap();
        let (status, body) = post_form(
            &app,
            "/oauth/token",
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", rt)],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{body}"
        );
    }
}

/// An offline grant (not bound to a session) keeps working at `/v1` while it lives.
async fn offline_token_outlives_the_session_at_v1(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let app = spawn_on(&db, mintgate::clock::ManualClock::starting_now(), |s| {
        s.sessions.idle_timeout = Duration::from_secs(120);
    })
    .await;
    let b = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let client = register(&app, api_client("Offline RP", TokenFormat::Opaque)).await;
    let tokens = tokens_for(&app, &b, &client, "openid offline_access admin", &[]).await;
    let access = tokens["access_token"].as_str().unwrap();
    app.clock.advance(121);
    let (status, body) = verify(&app, access).await;
    assert_eq!(status, 200, "{body}");
    // `/v1/auth/verify` tells when this token ends (its own hour), not its 90-day grant.
    let expires = chrono::DateTime::parse_from_rfc3339(body["expires_at"].as_str().unwrap())
        .unwrap()
        .timestamp();
    let issued = app.clock.now() - 121;
    let ttl = tokens["expires_in"].as_i64().unwrap();
    assert!(
        (expires - (issued + ttl)).abs() <= 2,
        "the token's own expiry: {body}, expires_in {ttl}"
    );
}

// ---- D. a session in use never idles out ------------------------------------------------

async fn session_used_more_often_than_its_idle_timeout_stays_alive(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let app = spawn_on(&db, mintgate::clock::ManualClock::starting_now(), |s| {
        s.sessions.idle_timeout = Duration::from_secs(20);
    })
    .await;
    let b = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    // Used every 5 s for two minutes: six idle timeouts long.
    for step in 1..=24 {
        app.clock.advance(5);
        assert!(
            app.account_page_with(&b).await.is_some(),
            "signed out after {} s of use every 5 s",
            step * 5
        );
    }
    // Used every 14 s (under the idle timeout, above a quarter of it).
    for step in 1..=6 {
        app.clock.advance(14);
        assert!(
            app.account_page_with(&b).await.is_some(),
            "signed out at step {step} of use every 14 s"
        );
    }
    // Left alone for the idle timeout, it ends.
    app.clock.advance(20);
    assert!(app.account_page_with(&b).await.is_none());
}

both!(
    v1_refuses_access_tokens_for_another_resource,
    v1_accepts_the_configured_api_audience_only,
    code_flow_grants_no_api_scope_beyond_the_users_role,
    refresh_after_a_demotion_carries_only_the_new_roles_scopes,
    session_bound_token_stops_at_v1_when_the_session_idles_out,
    offline_token_outlives_the_session_at_v1,
    session_used_more_often_than_its_idle_timeout_stays_alive,
);

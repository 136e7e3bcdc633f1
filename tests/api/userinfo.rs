//! Userinfo is a Bearer resource: every error it gives is RFC 6750 §3 — a JSON body and a
//! `WWW-Authenticate: Bearer` challenge with the §3.1 code — never an HTML page. (A database
//! outage is in `outage.rs`.)

use serde_json::Value;

use crate::both;
use crate::helpers::*;
use crate::oauth_support::*;

/// Status, challenge and body of a userinfo answer, checking what every answer there has: a
/// JSON body, a Bearer challenge on errors, and no caching.
async fn answer(res: reqwest::Response) -> (u16, String, Value) {
    let status = res.status().as_u16();
    let header = |name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (content_type, challenge) = (header("content-type"), header("www-authenticate"));
    assert_eq!(header("cache-control"), "no-store", "{status}");
    let text = res.text().await.unwrap();
    assert!(
        content_type.starts_with("application/json"),
        "{status} answered {content_type}: {text}"
    );
    if status != 200 {
        assert!(
            challenge.starts_with(r#"Bearer realm="mintgate""#),
            "{status}: {challenge:?}"
        );
    }
    (status, challenge, serde_json::from_str(&text).unwrap())
}

async fn userinfo(app: &TestApp, token: Option<&str>) -> (u16, String, Value) {
    let mut req = new_client().get(app.url("/oauth/userinfo"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    answer(req.send().await.unwrap()).await
}

/// The admin's token response for `scope` from `client`.
async fn tokens(app: &TestApp, client: &TestClient, scope: &str) -> Value {
    let browser = new_client();
    let res = app
        .post_login_with(&browser, ADMIN_USERNAME, ADMIN_PASSWORD, None)
        .await;
    assert_eq!(res.status(), 303);
    let mut url = url::Url::parse(&auth_url(app, &client.id, &[])).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == "scope" {
                (k, scope.to_owned())
            } else {
                (k, v)
            }
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let to = authorize_with(app, &browser, url.as_str()).await;
    let code = query_of(&to).get("code").cloned().expect("a code");
    let (status, tokens) = redeem(app, client, &code, None).await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

fn error_of(challenge: &str) -> &str {
    challenge
        .split("error=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("")
}

async fn token_errors_are_rfc6750_json(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = register(&app, client_spec("userinfo rp")).await;
    let full = tokens(&app, &client, "openid profile email offline_access").await;
    let access = full["access_token"].as_str().unwrap();

    let (status, _, claims) = userinfo(&app, Some(access)).await;
    assert_eq!(status, 200, "{claims}");
    assert_eq!(claims["preferred_username"], ADMIN_USERNAME);
    assert_eq!(claims["email_verified"], false);

    // No token: a bare challenge, no error code (RFC 6750 §3.1).
    let (status, challenge, body) = userinfo(&app, None).await;
    assert_eq!(
        (status, challenge.as_str()),
        (401, r#"Bearer realm="mintgate""#)
    );
    assert_eq!(body["error"], "invalid_token");

    // Unknown, and a refresh token presented as an access token: invalid_token.
    for token in [
        "mg_token_not-a-token",
        full["refresh_token"].as_str().unwrap(),
    ] {
        let (status, challenge, body) = userinfo(&app, Some(token)).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(error_of(&challenge), "invalid_token", "{challenge}");
        assert_eq!(body["error"], "invalid_token");
    }

    // The token both in the header and in the body: invalid_request (§2).
    let res = new_client()
        .post(app.url("/oauth/userinfo"))
        .bearer_auth(access)
        .form(&[("access_token", access)])
        .send()
        .await
        .unwrap();
    let (status, challenge, body) = answer(res).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(error_of(&challenge), "invalid_request", "{challenge}");
    assert_eq!(body["error"], "invalid_request");

    // Without `openid`: insufficient_scope, 403.
    let no_openid = tokens(&app, &client, "profile").await;
    let (status, challenge, body) =
        userinfo(&app, Some(no_openid["access_token"].as_str().unwrap())).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(error_of(&challenge), "insufficient_scope", "{challenge}");
    assert_eq!(body["error"], "insufficient_scope");

    // Expired: invalid_token.
    app.clock.advance(full["expires_in"].as_i64().unwrap() + 1);
    let (status, challenge, body) = userinfo(&app, Some(access)).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(error_of(&challenge), "invalid_token", "{challenge}");
}

both!(token_errors_are_rfc6750_json);

/// What actix answers before the handler runs — another method, a body past the limit — is the
/// same JSON with a challenge, not the error page.
#[tokio::test]
async fn requests_refused_before_the_handler_get_json_too() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    for method in [reqwest::Method::PUT, reqwest::Method::DELETE] {
        let res = new_client()
            .request(method.clone(), app.url("/oauth/userinfo"))
            .bearer_auth("mg_token_whatever")
            .send()
            .await
            .unwrap();
        let allow = res.headers().get("allow").cloned();
        let (status, challenge, body) = answer(res).await;
        assert_eq!(status, 405, "{method}: {body}");
        assert!(allow.is_some(), "{method}: Allow is kept");
        assert_eq!(error_of(&challenge), "invalid_request", "{challenge}");
        assert_eq!(body["error"], "invalid_request");
    }
    let huge = "x".repeat(app.settings.server.body_limit + 1);
    let res = new_client()
        .post(app.url("/oauth/userinfo"))
        .form(&[("access_token", huge.as_str())])
        .send()
        .await
        .unwrap();
    let (status, _, body) = answer(res).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"], "invalid_request");
}

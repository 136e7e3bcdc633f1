//! Single use under concurrency: 50 simultaneous redemptions, exactly one gets past the
//! single-use update. The losers' replays revoke the grant, so that one is answered 200 only if
//! it finished issuing before; otherwise it is refused too (a revoked grant yields nothing).

use crate::both;
use crate::helpers::*;
use crate::oauth_support::*;

/// How many requests consumed the code or token: answered 200, or refused because the grant
/// was found revoked after the code or token was consumed (by a loser's replay). Losers are
/// told the code or token was already used.
async fn race(app: &TestApp, client: &TestClient, form: Vec<(&'static str, String)>) -> usize {
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let url = app.url("/oauth/token");
        let mut body = form.clone();
        body.push(("client_id", client.id.clone()));
        body.push(("client_secret", client.secret.clone().unwrap()));
        tasks.push(tokio::spawn(async move {
            let res = new_client().post(url).form(&body).send().await.unwrap();
            let status = res.status().as_u16();
            let body: serde_json::Value = res.json().await.unwrap_or_default();
            (status, body)
        }));
    }
    let mut consumed = 0;
    for t in tasks {
        match t.await.unwrap() {
            (200, _) => consumed += 1,
            (400, body)
                if [
                    mintgate::oauth::tokens::REVOKED_WHILE_ISSUING,
                    mintgate::oauth::grants::GRANT_ENDED,
                ]
                .contains(&body["error_description"].as_str().unwrap_or("")) =>
            {
                consumed += 1
            }
            (400, body) => assert_eq!(body["error"], "invalid_grant"),
            (other, body) => panic!("unexpected status {other}: {body}"),
        }
    }
    consumed
}

async fn fifty_concurrent_code_redemptions_one_success(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = register(&app, client_spec("RP")).await;
    let code = code_for(&app, &client, None).await;
    let form = vec![
        ("grant_type", "authorization_code".to_owned()),
        ("code", code),
        ("redirect_uri", REDIRECT.to_owned()),
    ];
    assert_eq!(race(&app, &client, form).await, 1);
}

async fn fifty_concurrent_refreshes_one_success(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = register(&app, client_spec("RP")).await;
    let code = code_for(&app, &client, None).await;
    let (_, tokens) = redeem(&app, &client, &code, None).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect();
    assert_eq!(race(&app, &client, form).await, 1);
}

both!(
    fifty_concurrent_code_redemptions_one_success,
    fifty_concurrent_refreshes_one_success
);

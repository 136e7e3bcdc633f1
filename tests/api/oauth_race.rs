//! Single use under concurrency: 50 simultaneous redemptions, exactly one winner.

use crate::both;
use crate::helpers::*;
use crate::oauth_support::*;

async fn race(app: &TestApp, client: &TestClient, form: Vec<(&'static str, String)>) -> usize {
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let url = app.url("/oauth/token");
        let mut body = form.clone();
        body.push(("client_id", client.id.clone()));
        body.push(("client_secret", client.secret.clone().unwrap()));
        tasks.push(tokio::spawn(async move {
            new_client()
                .post(url)
                .form(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            200 => ok += 1,
            400 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    ok
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

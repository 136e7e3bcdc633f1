//! Helpers of the SCIM tests: a token for an organisation and one helper per kind of request.

use mintgate::ids::OrgId;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::helpers::*;

pub const SCIM: &str = "application/scim+json";

/// A fresh SCIM token of organisation `org` (minted by the service, as the settings page does).
pub async fn token_for(app: &TestApp, org: &OrgId) -> String {
    let (state, org) = (app.state.clone(), org.clone());
    tokio::task::spawn_blocking(move || {
        let (_, plain) = mintgate::scim::service::create_token(
            &state.store,
            state.clock.as_ref(),
            &org,
            "test",
            None,
            &mintgate::audit::RequestMeta::default(),
        )
        .unwrap();
        plain.expose().to_owned()
    })
    .await
    .unwrap()
}

/// A new organisation `name`: its id.
pub async fn new_org(app: &TestApp, name: &str) -> OrgId {
    let state = app.state.clone();
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || {
        mintgate::accounts::service::create_org(&state.store, state.clock.as_ref(), &name)
            .unwrap()
            .id
    })
    .await
    .unwrap()
}

/// One SCIM request: status, body (JSON, `Null` when empty) and headers.
pub async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<&str>,
) -> (u16, Value, HeaderMap) {
    call_with(app, method, path, token, body, &[]).await
}

pub async fn call_with(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, Value, HeaderMap) {
    let mut req = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.header("content-type", SCIM).body(b.to_owned());
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status} not JSON ({e}): {text}"))
    };
    if status != 204 {
        assert_eq!(
            headers.get("content-type").and_then(|h| h.to_str().ok()),
            Some(SCIM),
            "{status} {body}"
        );
    }
    (status, body, headers)
}

pub async fn post(app: &TestApp, path: &str, token: &str, body: &Value) -> (u16, Value, HeaderMap) {
    call(
        app,
        reqwest::Method::POST,
        path,
        token,
        Some(&body.to_string()),
    )
    .await
}

pub async fn get(app: &TestApp, path: &str, token: &str) -> (u16, Value, HeaderMap) {
    call(app, reqwest::Method::GET, path, token, None).await
}

pub async fn patch(app: &TestApp, path: &str, token: &str, body: &str) -> (u16, Value, HeaderMap) {
    call(app, reqwest::Method::PATCH, path, token, Some(body)).await
}

pub async fn delete(app: &TestApp, path: &str, token: &str) -> u16 {
    call(app, reqwest::Method::DELETE, path, token, None)
        .await
        .0
}

/// A user to POST.
pub fn user(user_name: &str, email: &str) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": "Given", "familyName": "Family"},
        "emails": [{"value": email, "type": "work", "primary": true}],
        "active": true
    })
}

/// Creates a user; its id.
pub async fn create(app: &TestApp, token: &str, user_name: &str, email: &str) -> String {
    let (status, body, _) = post(app, "/scim/v2/Users", token, &user(user_name, email)).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// `filter` URL-encoded into a Users or Groups list path.
pub fn filtered(path: &str, filter: &str) -> String {
    format!(
        "{path}?filter={}",
        url::form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>()
    )
}

/// The SCIM error's `status` and `scimType`.
pub fn scim_error(body: &Value) -> (String, Option<String>) {
    assert_eq!(
        body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
        "{body}"
    );
    (
        body["status"].as_str().unwrap().to_owned(),
        body["scimType"].as_str().map(str::to_owned),
    )
}

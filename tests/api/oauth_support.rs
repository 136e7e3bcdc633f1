//! Helpers for the OAuth tests: clients, driving the authorization endpoint as a browser would,
//! and raw token requests.

use mintgate::oauth::clients::{self, NewClient};
use mintgate::oauth::types::TokenFormat;
use mintgate::signing::SigningAlg;
use secrecy::ExposeSecret;
use url::Url;

use crate::helpers::*;

pub const REDIRECT: &str = "https://rp.example/callback";

pub struct TestClient {
    pub id: String,
    pub secret: Option<String>,
}

pub fn client_spec(name: &str) -> NewClient {
    NewClient {
        name: name.into(),
        redirect_uris: vec![REDIRECT.into()],
        post_logout_redirect_uris: vec!["https://rp.example/bye".into()],
        public: false,
        scopes: None,
        grant_types: vec![],
        skip_consent: false,
        access_token_format: TokenFormat::Opaque,
        access_token_ttl: None,
        id_token_alg: SigningAlg::Rs256,
        always_issue_refresh: false,
        resources: vec![],
        id: None,
        org_id: None,
    }
}

pub async fn register(app: &TestApp, spec: NewClient) -> TestClient {
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        let (c, secret) = clients::create(&state.store, state.clock.as_ref(), spec).unwrap();
        TestClient {
            id: c.id.into_string(),
            secret: secret.map(|s| s.expose_secret().to_owned()),
        }
    })
    .await
    .unwrap()
}

/// The query parameters of a redirect's Location.
pub fn query_of(location: &str) -> std::collections::HashMap<String, String> {
    Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// Follows an authorization URL as the signed-in browser `client`, allowing consent when asked.
/// Returns the final redirect to the client.
pub async fn authorize_with(app: &TestApp, browser: &reqwest::Client, auth_url: &str) -> String {
    let res = browser.get(auth_url).send().await.unwrap();
    match res.status().as_u16() {
        303 => location(res.headers()),
        200 => {
            let page = res.text().await.unwrap();
            assert!(page.contains("Allow"), "consent page expected: {page}");
            let form = consent_fields(&page, "allow");
            let res = browser
                .post(app.url("/oauth/consent"))
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
            location(res.headers())
        }
        other => panic!(
            "unexpected {other} from the authorization endpoint: {}",
            res.text().await.unwrap()
        ),
    }
}

/// The hidden fields of a consent page's form, and the answer `decision`.
pub fn consent_fields(page: &str, decision: &str) -> Vec<(String, String)> {
    let doc = scraper::Html::parse_document(page);
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
    form.push(("decision".into(), decision.into()));
    form
}

/// A JWT's payload, read without verifying (the tests only look at claims).
pub fn jwt_claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub fn auth_url(app: &TestApp, client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut url = Url::parse(&app.url("/oauth/authorize")).unwrap();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("scope", "openid profile email offline_access")
            .append_pair("state", "st4te");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

/// A PKCE pair (verifier, S256 challenge).
pub fn pkce_pair() -> (String, String) {
    use base64::Engine;
    use sha2::Digest;
    let verifier = mintgate::crypto::random_base62(64);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// Signs in as admin and returns a code for `client` (PKCE when `challenge` is given).
pub async fn code_for(app: &TestApp, client: &TestClient, challenge: Option<&str>) -> String {
    let browser = new_client();
    let res = app
        .post_login_with(&browser, ADMIN_USERNAME, ADMIN_PASSWORD, None)
        .await;
    assert_eq!(res.status(), 303);
    let mut extra = vec![];
    if let Some(c) = challenge {
        extra.push(("code_challenge", c));
        extra.push(("code_challenge_method", "S256"));
    }
    let to = authorize_with(app, &browser, &auth_url(app, &client.id, &extra)).await;
    let q = query_of(&to);
    q.get("code")
        .unwrap_or_else(|| panic!("no code in {to}"))
        .clone()
}

/// POSTs a form to the token (or another client-authenticated) endpoint with the client's
/// credentials in the body; returns status and JSON.
pub async fn post_form(
    app: &TestApp,
    path: &str,
    client: &TestClient,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let mut body: Vec<(&str, &str)> = form.to_vec();
    body.push(("client_id", &client.id));
    if let Some(s) = &client.secret {
        body.push(("client_secret", s));
    }
    let res = new_client()
        .post(app.url(path))
        .form(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

pub async fn redeem(
    app: &TestApp,
    client: &TestClient,
    code: &str,
    verifier: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    post_form(app, "/oauth/token", client, &form).await
}

pub async fn introspect(app: &TestApp, rs: &TestClient, token: &str) -> serde_json::Value {
    let (status, body) = post_form(app, "/oauth/introspect", rs, &[("token", token)]).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// A first-party client whose tokens are bound to the session (no offline_access) and which
/// always gets a refresh token.
pub async fn session_client(app: &TestApp, name: &str) -> TestClient {
    let mut spec = client_spec(name);
    spec.skip_consent = true;
    spec.always_issue_refresh = true;
    register(app, spec).await
}

/// An authorization URL for `client` without offline_access, so its tokens are session-bound.
pub fn session_url(app: &TestApp, client: &TestClient, extra: &[(&str, &str)]) -> String {
    auth_url(app, &client.id, extra).replace("offline_access", "")
}

/// Redeems the code in `to` (a redirect back at the client): the token response.
pub async fn redeem_code(app: &TestApp, client: &TestClient, to: &str) -> serde_json::Value {
    assert!(to.starts_with(REDIRECT), "back at the client: {to}");
    let q = query_of(to);
    let code = q.get("code").unwrap_or_else(|| panic!("a code: {to}"));
    let (status, tokens) = redeem(app, client, code, None).await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

/// The `amr` claim of ID token `claims` (empty when absent).
pub fn amr(claims: &serde_json::Value) -> Vec<String> {
    claims["amr"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

//! A NUL byte (or another control character) in any input is a client error with the
//! protocol's error shape on both databases, never a 500, and never logged as an internal error.
//! PostgreSQL refuses `0x00` in text (`invalid byte sequence for encoding "UTF8": 0x00`); the
//! store answers that as `StoreError::Unstorable`, and the domain types refuse control
//! characters before any lookup so both databases give the same answer.

use std::sync::{Mutex, OnceLock};

use base64::Engine;
use serde_json::{Value, json};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::apikeys::{call, key_for};
use crate::both;
use crate::helpers::*;
use crate::oauth_support::{REDIRECT, client_spec, register};

// ---------------------------------------------------------------------------------------
// Capturing ERROR events: the server runs on actix's own threads, so the capture is global and
// the assertion looks only for what a NUL could cause.

static ERRORS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct ErrorCapture;

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for ErrorCapture {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if *event.metadata().level() == tracing::Level::ERROR {
            let mut fields = Fields(String::new());
            event.record(&mut fields);
            ERRORS.lock().unwrap().push(fields.0);
        }
    }
}

/// Whether ERROR events are captured in this process (not when `TEST_LOG` installed the
/// printing subscriber first).
fn capture_errors() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        if tracing_subscriber::registry()
            .with(ErrorCapture)
            .try_init()
            .is_err()
        {
            return false;
        }
        // The capture sees what the server logs.
        tracing::error!(probe = "nul-capture-probe");
        ERRORS
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.contains("nul-capture-probe"))
    })
}

/// ERROR events that a NUL in a request could have caused.
fn nul_errors() -> Vec<String> {
    ERRORS
        .lock()
        .unwrap()
        .iter()
        .filter(|e| {
            e.contains("byte sequence") || e.contains("0x00") || e.contains("cannot be stored")
        })
        .cloned()
        .collect()
}

// ---------------------------------------------------------------------------------------
// What each protocol must answer.

async fn form(app: &TestApp, path: &str, body: &str) -> reqwest::Response {
    new_client()
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

/// RFC 6749 §5.2: `status` with a JSON body whose `error` is `code`.
async fn assert_oauth(what: &str, res: reqwest::Response, status: u16, code: &str) {
    let got = res.status().as_u16();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "{what}: {text}");
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    assert_eq!(body["error"], code, "{what}: {text}");
    assert!(body["error_description"].is_string(), "{what}: {text}");
}

/// An HTML page with `status`.
async fn assert_page(what: &str, res: reqwest::Response, status: u16) -> String {
    let got = res.status().as_u16();
    let is_html = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "{what}: {text}");
    assert!(is_html, "{what}: an HTML page");
    text
}

/// The `/v1` body `{error, message, code}` with `status`.
fn assert_v1(
    what: &str,
    (status, body, _): (u16, Value, reqwest::header::HeaderMap),
    want: (u16, &str),
) {
    assert_eq!(
        (status, body["code"].as_str()),
        (want.0, Some(want.1)),
        "{what}: {body}"
    );
    assert!(
        body["error"].is_string() && body["message"].is_string(),
        "{what}: {body}"
    );
}

async fn nul_in_any_input_is_a_client_error(backend: Backend) {
    let capturing = capture_errors();
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = register(&app, client_spec("nul")).await;
    let secret = client.secret.clone().unwrap();

    // Unauthenticated OAuth endpoints: client authentication fails (§5.2 `invalid_client`).
    for (what, path, body) in [
        (
            "token, client_secret_post",
            "/oauth/token",
            "grant_type=client_credentials&client_id=a%00b&client_secret=x",
        ),
        (
            "device authorization",
            "/oauth/device_authorization",
            "client_id=mintgate%00",
        ),
        (
            "device authorization, CLI id",
            "/oauth/device_authorization",
            "client_id=mintgate-cli%00",
        ),
        (
            "introspection",
            "/oauth/introspect",
            "client_id=a%00&token=x",
        ),
        ("revocation", "/oauth/revoke", "client_id=a%00&token=x"),
        (
            "introspection with a secret",
            "/oauth/introspect",
            "client_id=a%00&client_secret=x&token=x",
        ),
    ] {
        assert_oauth(what, form(&app, path, body).await, 401, "invalid_client").await;
    }
    let basic = base64::engine::general_purpose::STANDARD.encode("a%00b:x");
    let res = new_client()
        .post(app.url("/oauth/token"))
        .header("authorization", format!("Basic {basic}"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_oauth("token, client_secret_basic", res, 401, "invalid_client").await;
    let res = new_client()
        .post(app.url("/oauth/token"))
        .json(&json!({"grant_type": "client_credentials", "client_id": "a\u{0}", "client_secret": "x"}))
        .send()
        .await
        .unwrap();
    assert_oauth("token, JSON body", res, 401, "invalid_client").await;

    // A NUL where the client is authenticated: the request is malformed, never a 500.
    for (what, body) in [
        (
            "a NUL code",
            "grant_type=authorization_code&code=a%00&redirect_uri=x",
        ),
        (
            "a NUL refresh token",
            "grant_type=refresh_token&refresh_token=a%00",
        ),
        ("a NUL scope", "grant_type=client_credentials&scope=a%00"),
        (
            "a NUL resource",
            "grant_type=client_credentials&resource=https%3A%2F%2Fapi.example%2F%00",
        ),
    ] {
        let body = format!("{body}&client_id={}&client_secret={secret}", client.id);
        let res = form(&app, "/oauth/token", &body).await;
        let status = res.status().as_u16();
        assert!((400..500).contains(&status), "{what}: {status}");
        let json: Value = res.json().await.unwrap();
        assert!(json["error"].is_string(), "{what}: {json}");
    }
    let body = format!("token=a%00&client_id={}&client_secret={secret}", client.id);
    let res = form(&app, "/oauth/introspect", &body).await;
    assert_eq!(res.status(), 200, "an unknown token is inactive");
    assert_eq!(res.json::<Value>().await.unwrap()["active"], false);

    // The authorization endpoint: an unknown client is our own page, never a redirect.
    let res = app
        .get("/oauth/authorize?client_id=a%00&response_type=code")
        .await;
    let page = assert_page("authorize, NUL client_id", res, 400).await;
    assert!(page.contains("unknown client_id"), "{page}");
    // A stored parameter with a NUL, once the client and redirect URI are known: returned to
    // the client as `invalid_request` (RFC 6749 §4.1.2.1).
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &client.id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid")
        .append_pair("state", "s1")
        .append_pair("nonce", "n\u{0}")
        .finish();
    let res = app.get(&format!("/oauth/authorize?{query}")).await;
    assert!(res.status().is_redirection(), "{}", res.status());
    let to = location(res.headers());
    assert!(to.starts_with(REDIRECT), "{to}");
    let q = crate::oauth_support::query_of(&to);
    assert_eq!(q["error"], "invalid_request", "{to}");
    assert_eq!(q["state"], "s1");

    // RP-initiated logout: a page.
    let res = app.get("/oauth/logout?client_id=a%00").await;
    let page = assert_page("logout", res, 400).await;
    assert!(page.contains("unknown client_id"), "{page}");

    // Sign-in: the one answer for a wrong login, on the form.
    let res = app.post_login("a\u{0}b", "whatever-password").await;
    let page = assert_page("login", res, 401).await;
    assert!(page.contains("Invalid username or password"), "{page}");
    assert!(
        form_value(&page, "csrf").is_some(),
        "the form is shown again"
    );
    // And the real account is not affected.
    app.sign_in_admin().await;

    // Signed-in forms: a consent or key that cannot exist is nothing to revoke.
    let page = app.account_page().await.unwrap();
    let csrf = form_value(&page, "csrf").unwrap();
    let res = app
        .client
        .post(app.url("/account/consents/revoke"))
        .form(&[("csrf", csrf.as_str()), ("client_id", "a\u{0}")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "revoke consent");
    assert_eq!(location(res.headers()), "/account");
    let page = app
        .client
        .get(app.url("/settings/api-keys"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = form_value(&page, "csrf").unwrap();
    let res = app
        .client
        .post(app.url("/settings/api-keys/a%00/revoke"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "revoke a key on the settings page");
    let res = app
        .client
        .post(app.url("/device"))
        .form(&[("csrf", csrf.as_str()), ("user_code", "ABCD\u{0}EFGH")])
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    assert!((200..500).contains(&status), "device page: {status}");

    // /v1: an id that names nothing is 404, a name with a control character 422.
    let (_, admin) = key_for(&app, Some("admin"), "admin", Some("never"), "").await;
    let del = reqwest::Method::DELETE;
    let post = reqwest::Method::POST;
    assert_v1(
        "delete",
        call(&app, del, "/v1/api-keys/a%00", Some(&admin), None).await,
        (404, "NOT_FOUND"),
    );
    assert_v1(
        "rotate",
        call(
            &app,
            post.clone(),
            "/v1/api-keys/a%00/rotate",
            Some(&admin),
            None,
        )
        .await,
        (404, "NOT_FOUND"),
    );
    for name in ["a\u{0}b", "\u{0}", "tab\tname"] {
        let body = json!({"name": name, "scopes": ["ci"]});
        assert_v1(
            "create key",
            call(&app, post.clone(), "/v1/api-keys", Some(&admin), Some(body)).await,
            (422, "VALIDATION_FAILED"),
        );
        let body = json!({"name": name, "scope": "ci"});
        assert_v1(
            "create application",
            call(
                &app,
                post.clone(),
                "/v1/applications",
                Some(&admin),
                Some(body),
            )
            .await,
            (422, "VALIDATION_FAILED"),
        );
    }
    // Nothing of this is an internal error.
    if capturing {
        assert_eq!(
            nul_errors(),
            Vec::<String>::new(),
            "logged as internal errors"
        );
    } else {
        eprintln!("error capture not installed (TEST_LOG): log assertion skipped");
    }
}

both!(nul_in_any_input_is_a_client_error);

/// The store's own answer, whatever the caller checked before: on PostgreSQL a value with a NUL
/// is `Unstorable` (a bad request), on SQLite an ordinary lookup that finds nothing. Never
/// `Backend` (a 500).
async fn the_store_calls_unstorable_input_unstorable(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let state = app.state.clone();
    let (client, key, user) = tokio::task::spawn_blocking(move || {
        use mintgate::accounts::store::UserStore;
        use mintgate::apikeys::store::ApiKeyStore;
        use mintgate::oauth::store::ClientStore;
        (
            state
                .store
                .find_client(&"a\u{0}b".into())
                .map(|c| c.is_none()),
            state
                .store
                .find_api_key(&"key_\u{0}".into())
                .map(|k| k.is_none()),
            state
                .store
                .find_user_by_username("a\u{0}")
                .map(|u| u.is_none()),
        )
    })
    .await
    .unwrap();
    for (what, result) in [("client", client), ("key", key), ("user", user)] {
        match (backend, result) {
            (Backend::Sqlite, Ok(true)) => {}
            (Backend::Postgres, Err(mintgate::store::StoreError::Unstorable)) => {}
            (_, other) => panic!("{what} on {backend:?}: {other:?}"),
        }
    }
}

both!(the_store_calls_unstorable_input_unstorable);

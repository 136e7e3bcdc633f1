use crate::both;
use crate::helpers::*;

fn assert_security_headers(res: &reqwest::Response) {
    let h = res.headers();
    assert_eq!(
        h["content-security-policy"],
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"
    );
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-content-type-options"], "nosniff");
}

async fn security_headers_on_every_page(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for path in ["/login", "/nowhere", "/static/mintgate.css"] {
        assert_security_headers(&app.get(path).await);
    }
    app.sign_in_admin().await;
    assert_security_headers(&app.get("/account").await);
}

async fn login_requires_csrf(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let form = [("login", ADMIN_USERNAME), ("password", ADMIN_PASSWORD)];
    // No token at all (and no CSRF cookie).
    let res = new_client()
        .post(app.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // A token from another browser: its cookie is not ours.
    let other_token = app.login_csrf_with(&new_client()).await;
    let victim = new_client();
    app.login_csrf_with(&victim).await;
    let res = victim
        .post(app.url("/login"))
        .form(&[
            ("csrf", other_token.as_str()),
            ("login", ADMIN_USERNAME),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // The right token but a foreign Origin.
    let token = app.login_csrf().await;
    let res = app
        .client
        .post(app.url("/login"))
        .header("origin", "https://evil.example")
        .form(&[
            ("csrf", token.as_str()),
            ("login", ADMIN_USERNAME),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // Same Origin is fine.
    let res = app
        .client
        .post(app.url("/login"))
        .header("origin", app.address.clone())
        .form(&[
            ("csrf", token.as_str()),
            ("login", ADMIN_USERNAME),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
}

async fn bad_input_is_a_clear_4xx(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.login_csrf().await;
    // Oversized body.
    let huge = "x".repeat(200 * 1024);
    let res = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("csrf", token.as_str()),
            ("login", huge.as_str()),
            ("password", "p"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    // Bad UTF-8 and a missing field.
    let res = app
        .client
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"csrf=a&login=\xff\xfe%ff&password=x".to_vec())
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    let res = app
        .client
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("login=only")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("could not be read"));
    // Wrong content type.
    let res = app
        .client
        .post(app.url("/login"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error());
    // Unknown route and method: a page, not an empty body.
    let res = app.get("/definitely/not/here").await;
    assert_eq!(res.status(), 404);
    assert!(res.text().await.unwrap().contains("does not exist"));
    let res = app.client.delete(app.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert!(res.text().await.unwrap().contains("Method Not Allowed"));
    // Malformed query string.
    let res = app.get("/login?return_to=%ff").await;
    assert!(res.status().is_client_error() || res.status() == 200);
}

async fn wrong_key_file_is_refused(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let clock = mintgate::clock::ManualClock::starting_now();
    let _first = spawn_on(&db, clock.clone(), |_| {}).await;
    // The same database with another key file: refused before serving.
    let other_key = db.dir.path().join("other.key");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut settings = test_settings(&db);
    settings.secrets.key_file = Some(other_key);
    let result =
        mintgate::startup::Application::build_on(settings, listener, std::sync::Arc::new(clock));
    let err = result.err().expect("a wrong key file must be refused");
    assert!(
        err.to_string().contains("does not match this database"),
        "{err}"
    );
}

async fn secrets_sealed_in_the_database_round_trip(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let sealed = app.state.secrets.seal("row-7", b"upstream client secret");
    assert!(!sealed.contains("upstream"));
    assert_eq!(
        app.state.secrets.open("row-7", &sealed).unwrap(),
        b"upstream client secret"
    );
    // The check value written at first start is stored sealed and opens with this instance's key.
    let state = app.state.clone();
    let stored = tokio::task::spawn_blocking(move || {
        mintgate::store::MetaStore::get_meta(&state.store, "kek_check").unwrap()
    })
    .await
    .unwrap()
    .expect("kek_check row");
    assert!(stored.starts_with("v1:"));
    assert_eq!(
        app.state.secrets.open("meta:kek_check", &stored).unwrap(),
        b"mintgate"
    );
}

both!(
    security_headers_on_every_page,
    login_requires_csrf,
    bad_input_is_a_clear_4xx,
    wrong_key_file_is_refused,
    secrets_sealed_in_the_database_round_trip,
);

use crate::both;
use crate::helpers::*;

async fn sign_in_reaches_account(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    assert!(app.account_page().await.is_none(), "not signed in yet");
    let res = app.post_login(ADMIN_USERNAME, ADMIN_PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(res.headers()), "/account");
    let cookie = set_cookies(res.headers())
        .into_iter()
        .find(|c| c.starts_with("mg_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/")
    );
    assert!(
        !cookie.contains("Secure"),
        "plain http issuer: no Secure flag"
    );
    let page = app.account_page().await.expect("signed in");
    assert!(
        page.contains("admin") && page.contains("default (owner)"),
        "{page}"
    );
}

async fn sign_in_by_email_case_insensitively(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("Carol", "carol-password-1").await;
    let res = app
        .post_login("CAROL@example.COM", "carol-password-1")
        .await;
    assert_eq!(res.status(), 303);
    let res = app
        .post_login_with(&new_client(), "carol", "carol-password-1", None)
        .await;
    assert_eq!(res.status(), 303);
}

async fn one_message_for_every_failure(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let user = app.create_user("dave", "dave-password-1").await;
    app.disable_user(&user.username).await;
    for (login, password) in [
        ("admin", "wrong password"),
        ("nobody", "whatever-password"),
        ("dave", "dave-password-1"),
    ] {
        let res = app.post_login(login, password).await;
        assert_eq!(res.status(), 401, "{login}");
        assert!(
            set_cookies(res.headers())
                .iter()
                .all(|c| !c.starts_with("mg_session="))
        );
        let body = res.text().await.unwrap();
        assert!(
            body.contains("Invalid username or password"),
            "{login}: {body}"
        );
    }
    let events = audit_kinds(&app).await;
    assert!(events.iter().filter(|(k, _)| k == "sign_in.failed").count() >= 3);
}

async fn audit_kinds(app: &TestApp) -> Vec<(String, Option<String>)> {
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        mintgate::audit::AuditStore::recent_events(&state.store, 100)
            .unwrap()
            .into_iter()
            .map(|e| (e.kind, e.ip))
            .collect()
    })
    .await
    .unwrap()
}

async fn throttling_locks_then_releases(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let clock = mintgate::clock::ManualClock::starting_now();
    let app = spawn_on(&db, clock.clone(), |s| {
        s.login.max_failures = 3;
        s.login.lockout = std::time::Duration::from_secs(60);
    })
    .await;
    for _ in 0..3 {
        assert_eq!(
            app.post_login("admin", "wrong password").await.status(),
            401
        );
    }
    // Locked now: even the right password is refused, with Retry-After.
    let res = app.post_login(ADMIN_USERNAME, ADMIN_PASSWORD).await;
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 60);
    // Another account from the same address is not locked.
    app.create_user("erin", "erin-password-1").await;
    let res = app
        .post_login_with(&new_client(), "erin", "erin-password-1", None)
        .await;
    assert_eq!(res.status(), 303);

    clock.advance(61);
    assert_eq!(
        app.post_login(ADMIN_USERNAME, ADMIN_PASSWORD)
            .await
            .status(),
        303
    );
    let kinds = audit_kinds(&app).await;
    assert!(kinds.iter().any(|(k, _)| k == "sign_in.locked"));
    assert!(
        kinds
            .iter()
            .any(|(k, ip)| k == "sign_in.succeeded" && ip.as_deref() == Some("127.0.0.1"))
    );
}

async fn ip_throttle_covers_many_accounts(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let app = spawn_on(&db, mintgate::clock::ManualClock::starting_now(), |s| {
        s.login.ip_max_failures = 4
    })
    .await;
    for i in 0..4 {
        assert_eq!(
            app.post_login(&format!("user{i}"), "wrong password")
                .await
                .status(),
            401
        );
    }
    assert_eq!(
        app.post_login(ADMIN_USERNAME, ADMIN_PASSWORD)
            .await
            .status(),
        429
    );
}

async fn return_to_only_accepts_same_origin_paths(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let cases = [
        ("https://evil.example/x", "/account"),
        ("//evil.example/x", "/account"),
        ("/\\evil.example", "/account"),
        ("javascript:alert(1)", "/account"),
        ("/account?tab=1", "/account?tab=1"),
    ];
    for (given, expected) in cases {
        let client = new_client();
        let res = app
            .post_login_with(&client, ADMIN_USERNAME, ADMIN_PASSWORD, Some(given))
            .await;
        assert_eq!(res.status(), 303);
        assert_eq!(location(res.headers()), expected, "return_to={given}");
    }
    // The GET form carries a safe value too.
    let page = app
        .get("/login?return_to=https://evil.example")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(form_value(&page, "return_to").unwrap(), "/account");
}

async fn password_hashing_is_bounded(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let app = spawn_on(&db, mintgate::clock::ManualClock::starting_now(), |s| {
        s.login.password_hash_queue = 0
    })
    .await;
    let csrf = app.login_csrf().await;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let client = app.client.clone();
        let url = app.url("/login");
        let csrf = csrf.clone();
        tasks.push(tokio::spawn(async move {
            let login = format!("someone{i}");
            let form = [
                ("csrf", csrf.as_str()),
                ("login", login.as_str()),
                ("password", "wrong password"),
            ];
            client
                .post(url)
                .form(&form)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&429),
        "a full hashing queue answers 429: {statuses:?}"
    );
}

both!(
    sign_in_reaches_account,
    sign_in_by_email_case_insensitively,
    one_message_for_every_failure,
    throttling_locks_then_releases,
    ip_throttle_covers_many_accounts,
    return_to_only_accepts_same_origin_paths,
    password_hashing_is_bounded,
);

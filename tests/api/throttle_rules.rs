//! Sign-in throttling that holds under attack: racing guesses, login aliases, oversized logins,
//! and addresses in other spellings or elsewhere in the same IPv6 /64.

use crate::both;
use crate::helpers::*;

/// Posts a sign-in on a fresh client, optionally as coming from `forwarded_for` (through a
/// trusted proxy); returns the status.
async fn attempt(app: &TestApp, login: &str, password: &str, forwarded_for: Option<&str>) -> u16 {
    let client = new_client();
    let csrf = app.login_csrf_with(&client).await;
    let mut req = client.post(app.url("/login")).form(&[
        ("csrf", csrf.as_str()),
        ("login", login),
        ("password", password),
    ]);
    if let Some(ip) = forwarded_for {
        req = req.header("X-Forwarded-For", ip);
    }
    req.send().await.unwrap().status().as_u16()
}

async fn failed_sign_ins(app: &TestApp) -> usize {
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        mintgate::audit::AuditStore::recent_events(&state.store, 1000)
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == "sign_in.failed")
            .count()
    })
    .await
    .unwrap()
}

/// `n` sign-ins of `login` with `password`, each on its own client with its CSRF token fetched
/// first, released together so they really race; their statuses.
async fn racing_sign_ins(app: &TestApp, n: usize, login: &str, password: &str) -> Vec<u16> {
    let mut ready = Vec::new();
    for _ in 0..n {
        let client = new_client();
        let csrf = app.login_csrf_with(&client).await;
        ready.push((client, csrf));
    }
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = ready
        .into_iter()
        .map(|(client, csrf)| {
            let (url, barrier) = (app.url("/login"), barrier.clone());
            let (login, password) = (login.to_owned(), password.to_owned());
            tokio::spawn(async move {
                barrier.wait().await;
                let form = [
                    ("csrf", csrf.as_str()),
                    ("login", login.as_str()),
                    ("password", password.as_str()),
                ];
                client
                    .post(url)
                    .form(&form)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses
}

async fn racing_guesses_evaluate_at_most_the_limit(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let app = spawn_on(&db, mintgate::clock::ManualClock::starting_now(), |s| {
        s.login.max_failures = 5;
    })
    .await;
    let statuses = racing_sign_ins(&app, 30, "admin", "wrong password").await;
    let evaluated = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    assert!(
        (1..=5).contains(&evaluated),
        "at most 5 guesses evaluated, got {evaluated}: {statuses:?}"
    );
    assert_eq!(failed_sign_ins(&app).await, evaluated);
    assert_eq!(
        attempt(&app, ADMIN_USERNAME, ADMIN_PASSWORD, None).await,
        429,
        "the account is locked"
    );
}

async fn one_counter_per_account_whatever_login_is_typed(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let app = spawn_on(&db, mintgate::clock::ManualClock::starting_now(), |s| {
        s.login.max_failures = 3;
    })
    .await;
    app.create_user("bob", "bob-password-1").await;
    for login in ["bob", "BOB", " bob@example.com"] {
        assert_eq!(attempt(&app, login, "wrong password", None).await, 401);
    }
    for login in ["bob@example.com", "Bob@Example.com", "bob"] {
        assert_eq!(
            attempt(&app, login, "bob-password-1", None).await,
            429,
            "{login}: locked under every alias"
        );
    }
}

async fn oversized_logins_are_refused_before_any_work(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let app = spawn_on(&db, mintgate::clock::ManualClock::starting_now(), |s| {
        s.login.ip_max_failures = 3;
    })
    .await;
    let long = format!("{}@example.com", "é".repeat(250));
    for _ in 0..6 {
        assert_eq!(attempt(&app, &long, "wrong password", None).await, 401);
    }
    assert_eq!(
        failed_sign_ins(&app).await,
        0,
        "no lookup, no hash, no count"
    );
    assert_eq!(
        attempt(&app, ADMIN_USERNAME, ADMIN_PASSWORD, None).await,
        303,
        "the address was not counted"
    );
}

async fn addresses_count_per_v4_and_per_v6_64(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let app = spawn_on(&db, mintgate::clock::ManualClock::starting_now(), |s| {
        s.login.ip_max_failures = 3;
        s.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    // Three addresses of one /64, each guessing a different account.
    for (i, ip) in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"]
        .iter()
        .enumerate()
    {
        assert_eq!(
            attempt(&app, &format!("user{i}"), "wrong password", Some(ip)).await,
            401
        );
    }
    assert_eq!(
        attempt(
            &app,
            ADMIN_USERNAME,
            ADMIN_PASSWORD,
            Some("2001:db8:1:2::99")
        )
        .await,
        429,
        "the whole /64 is one address"
    );
    assert_eq!(
        attempt(
            &app,
            ADMIN_USERNAME,
            ADMIN_PASSWORD,
            Some("2001:db8:1:3::1")
        )
        .await,
        303,
        "the next /64 is another"
    );
    // An IPv4-mapped IPv6 address is its IPv4 address.
    for i in 0..3 {
        let ip = if i % 2 == 0 {
            "198.51.100.7"
        } else {
            "::ffff:198.51.100.7"
        };
        assert_eq!(
            attempt(&app, &format!("other{i}"), "wrong password", Some(ip)).await,
            401
        );
    }
    assert_eq!(
        attempt(
            &app,
            ADMIN_USERNAME,
            ADMIN_PASSWORD,
            Some("::ffff:198.51.100.7")
        )
        .await,
        429
    );
}

async fn forgotten_counters_are_pruned(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let clock = mintgate::clock::ManualClock::starting_now();
    let app = spawn_on(&db, clock.clone(), |_| {}).await;
    assert_eq!(attempt(&app, "nobody", "wrong password", None).await, 401);
    let state = app.state.clone();
    let pruned = tokio::task::spawn_blocking(move || {
        let before = mintgate::ops::jobs::prune_expired(&state).unwrap();
        clock.advance(16 * 60);
        (before, mintgate::ops::jobs::prune_expired(&state).unwrap())
    })
    .await
    .unwrap();
    assert_eq!(pruned.0, 0, "a live counter stays");
    assert!(pruned.1 >= 2, "the account's and the address's counters go");
}

/// Many concurrent correct sign-ins of one account (within the limit) all succeed: a success
/// resets the account's counter row instead of deleting it, so the others never race to insert
/// it again (that race answered 500 on PostgreSQL under load).
async fn concurrent_good_sign_ins_all_succeed(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let app = spawn_on(&db, mintgate::clock::ManualClock::starting_now(), |s| {
        s.login.max_failures = 1000;
    })
    .await;
    let statuses = racing_sign_ins(&app, 24, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    assert!(statuses.iter().all(|s| *s == 303), "{statuses:?}");
}

both!(
    racing_guesses_evaluate_at_most_the_limit,
    one_counter_per_account_whatever_login_is_typed,
    oversized_logins_are_refused_before_any_work,
    addresses_count_per_v4_and_per_v6_64,
    forgotten_counters_are_pruned,
    concurrent_good_sign_ins_all_succeed,
);

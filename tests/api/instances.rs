//! Several instances on one database share sessions (the PostgreSQL deployment; SQLite too when
//! they share the file).

use crate::both;
use crate::helpers::*;

async fn two_instances_share_sessions(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let clock = mintgate::clock::ManualClock::starting_now();
    let a = spawn_on(&db, clock.clone(), |_| {}).await;
    let b = spawn_on(&db, clock.clone(), |_| {}).await;
    // The same browser talks to both (cookies are per host, not per port).
    let browser = new_client();
    let res = a
        .post_login_with(&browser, ADMIN_USERNAME, ADMIN_PASSWORD, None)
        .await;
    assert_eq!(res.status(), 303);
    assert!(
        b.account_page_with(&browser).await.is_some(),
        "signed in through A, signed in on B"
    );
    let page = b.account_page_with(&browser).await.unwrap();
    let csrf = form_value(&page, "csrf").unwrap();
    let res = browser
        .post(b.url("/logout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(
        a.account_page_with(&browser).await.is_none(),
        "signed out on B, signed out on A"
    );
}

async fn instances_starting_together_set_up_once(backend: Backend) {
    let Some(db) = TestDb::empty(backend) else {
        return;
    };
    let clock = mintgate::clock::ManualClock::starting_now();
    let mut handles = Vec::new();
    for _ in 0..3 {
        let db = db.clone();
        let clock = clock.clone();
        handles.push(std::thread::spawn(move || {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let settings = test_settings(&db);
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let app = mintgate::startup::Application::build_on(
                    settings,
                    listener,
                    std::sync::Arc::new(clock),
                )
                .expect("every instance starts");
                app.state()
            })
        }));
    }
    let states: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let users = tokio::task::spawn_blocking(move || {
        mintgate::accounts::store::UserStore::list_users(&states[0].store).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(users.len(), 1, "exactly one first-run owner");
}

/// The first start on an empty database (every other test starts from a copy of a database
/// it prepared): the configured owner password is hashed there and signs in.
async fn first_start_on_an_empty_database(backend: Backend) {
    let Some(db) = TestDb::empty(backend) else {
        return;
    };
    let app = spawn_on(&db, mintgate::clock::ManualClock::starting_now(), |_| {}).await;
    app.sign_in_admin().await;
    assert!(app.account_page().await.is_some());
    let res = app
        .post_login_with(&new_client(), ADMIN_USERNAME, "not the password", None)
        .await;
    assert_ne!(res.status(), 303, "a wrong password is refused");
}

both!(
    two_instances_share_sessions,
    instances_starting_together_set_up_once,
    first_start_on_an_empty_database
);

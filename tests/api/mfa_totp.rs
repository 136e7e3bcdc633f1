//! TOTP with recovery codes (issue #10) over HTTP: enrolment on Settings > Security, the code
//! after the password in the sign-in flow, single use across instances, skew, recovery codes,
//! the throttle, re-authentication to turn it off, and an organisation's requirement.

use mintgate::clock::Clock;
use mintgate::mfa::totp::Seed;

use crate::both;
use crate::helpers::*;
use crate::mfa_support::*;
use crate::oauth_support::*;

const USER: &str = "ada";
const PASSWORD: &str = "a long enough passphrase";

async fn text(res: reqwest::Response) -> (u16, String) {
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn get(app: &TestApp, b: &reqwest::Client, path: &str) -> (u16, String) {
    text(b.get(app.url(path)).send().await.unwrap()).await
}

async fn post(
    app: &TestApp,
    b: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    b.post(app.url(path)).form(form).send().await.unwrap()
}

fn all_text_at(html: &str, selector: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).unwrap();
    doc.select(&sel)
        .map(|e| e.text().collect::<String>().trim().to_owned())
        .collect()
}

/// A browser signed in as a new user `name` (password only).
async fn user_browser(app: &TestApp, name: &str) -> reqwest::Client {
    app.create_user(name, PASSWORD).await;
    signed_in(app, name, PASSWORD).await
}

/// Starts an enrolment from the security page; returns the seed the page shows.
async fn begin_enrolment(app: &TestApp, b: &reqwest::Client) -> Seed {
    let (to, page) = start_totp(app, b).await;
    assert_eq!(to, "/settings/security");
    let img = {
        let doc = scraper::Html::parse_document(&page);
        let sel = scraper::Selector::parse("#totp-qr").unwrap();
        doc.select(&sel)
            .next()
            .and_then(|e| e.value().attr("src"))
            .map(str::to_owned)
    };
    assert!(
        img.is_some_and(|src| src.starts_with("data:image/png;base64,iVBOR")),
        "the QR code is a PNG in the page"
    );
    totp_key(&page)
}

/// Enrols a signed-in user; returns the seed and the recovery codes. The clock then moves to
/// the next step, so the confirmation's code is not the one a test signs in with.
async fn enrol(app: &TestApp, b: &reqwest::Client) -> (Seed, Vec<String>) {
    let seed = begin_enrolment(app, b).await;
    let (status, page) = confirm_totp(app, b, &seed.code_at(app.clock.now())).await;
    assert_eq!(status, 200, "{page}");
    let codes = all_text_at(&page, "#recovery-codes li code");
    assert_eq!(codes.len(), 10, "ten recovery codes shown once");
    app.clock.advance(30);
    (seed, codes)
}

/// Posts the password in a new browser; returns it and where the sign-in went.
async fn password_step(app: &TestApp, name: &str) -> (reqwest::Client, String) {
    let b = new_client();
    let res = app.post_login_with(&b, name, PASSWORD, None).await;
    assert_eq!(res.status(), 303);
    let to = location(res.headers());
    (b, to)
}

/// The factor page's form fields, and posts `code` to `path` with them.
async fn post_code(
    app: &TestApp,
    b: &reqwest::Client,
    path: &str,
    code: &str,
) -> reqwest::Response {
    let (status, page) = get(app, b, "/login/factor").await;
    assert_eq!(status, 200, "{page}");
    let csrf = form_value(&page, "csrf").unwrap();
    let flow = form_value(&page, "flow").unwrap();
    post(
        app,
        b,
        path,
        &[("csrf", &csrf), ("flow", &flow), ("code", code)],
    )
    .await
}

async fn enrolment_over_http(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let b = user_browser(&app, USER).await;
    let (_, account) = get(&app, &b, "/account").await;
    assert!(
        account.contains("href=\"/settings/security\""),
        "reachable from the account page"
    );
    let (_, page) = get(&app, &b, "/settings/security").await;
    assert!(page.contains("Set up an authenticator app"));
    let seed = begin_enrolment(&app, &b).await;
    // Pending: not asked for at sign-in.
    let (_, to) = password_step(&app, USER).await;
    assert_eq!(to, "/account", "a pending enrolment is not a factor yet");
    // A wrong code confirms nothing.
    let now = app.clock.now();
    let wrong = if seed.code_at(now) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let (status, page) = confirm_totp(&app, &b, wrong).await;
    assert_eq!(status, 401);
    assert!(page.contains("not the current one"), "{page}");
    assert!(page.contains("id=\"totp-secret\""), "still pending");
    let (status, _) = confirm_totp(&app, &b, "12ab").await;
    assert_eq!(status, 400);
    // The current code does, and the recovery codes are shown once, on a page no cache keeps.
    let res = b.get(app.url("/settings/security")).send().await.unwrap();
    assert_eq!(res.headers()["cache-control"], "no-store");
    let (status, page) = confirm_totp(&app, &b, &seed.code_at(now)).await;
    assert_eq!(status, 200, "{page}");
    let codes = all_text_at(&page, "#recovery-codes li code");
    assert_eq!(codes.len(), 10);
    let (_, page) = get(&app, &b, "/settings/security").await;
    assert!(page.contains("id=\"totp-on\""), "{page}");
    assert!(!page.contains(&codes[0]), "the codes are not shown again");
    assert!(!page.contains("totp-secret"), "nor the key");
    assert!(
        audit_kinds(&app)
            .await
            .contains(&"mfa.totp.enrolled".to_owned())
    );
    // Stored sealed, bound to the user.
    let state = app.state.clone();
    let user = user_id(&app, USER).await;
    let stored = tokio::task::spawn_blocking(move || {
        mintgate::mfa::store::TotpStore::find_totp(&state.store, &user)
            .unwrap()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(stored.sealed_seed.starts_with("v1:"));
    assert!(!stored.sealed_seed.contains(&seed.base32()));
    // Now asked for at sign-in.
    let (_, to) = password_step(&app, USER).await;
    assert_eq!(to, "/login/factor");
}

async fn skip_consent_client(app: &TestApp) -> TestClient {
    let mut spec = client_spec("TOTP RP");
    spec.skip_consent = true;
    register(app, spec).await
}

/// The `amr` of the ID token redeemed from the code in `to`.
async fn id_token_amr(app: &TestApp, client: &TestClient, to: &str) -> Vec<String> {
    let tokens = redeem_code(app, client, to).await;
    amr(&jwt_claims(tokens["id_token"].as_str().unwrap()))
}

async fn password_and_totp_sign_in_to_an_id_token(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let setup = user_browser(&app, USER).await;
    let (seed, _) = enrol(&app, &setup).await;
    let client = skip_consent_client(&app).await;
    let b = new_client();
    let res = b.get(auth_url(&app, &client.id, &[])).send().await.unwrap();
    let to = sign_in_at(&app, &b, &location(res.headers()), (USER, PASSWORD)).await;
    assert_eq!(to, "/login/factor", "the code comes after the password");
    let (_, page) = get(&app, &b, "/login/factor").await;
    assert!(page.contains("id=\"totp-code\""), "{page}");
    let res = post_code(
        &app,
        &b,
        "/login/factor/totp",
        &seed.code_at(app.clock.now()),
    )
    .await;
    assert_eq!(res.status(), 303);
    let to = follow(&app, &b, location(res.headers())).await;
    let amr = id_token_amr(&app, &client, &to).await;
    for v in ["pwd", "otp", "mfa"] {
        assert!(amr.contains(&v.to_owned()), "{amr:?}");
    }
    assert!(
        audit_kinds(&app)
            .await
            .contains(&"mfa.totp.accepted".to_owned())
    );
}

async fn a_code_is_accepted_once_on_every_instance(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let clock = mintgate::clock::ManualClock::starting_now();
    let a = spawn_on(&db, clock.clone(), |_| {}).await;
    let b_app = spawn_on(&db, clock.clone(), |_| {}).await;
    let setup = user_browser(&a, USER).await;
    let (seed, _) = enrol(&a, &setup).await;
    let code = seed.code_at(clock.now());
    let (first, to) = password_step(&a, USER).await;
    assert_eq!(to, "/login/factor");
    let res = post_code(&a, &first, "/login/factor/totp", &code).await;
    assert_eq!(res.status(), 303, "accepted on A");
    // The same code on the other instance, in another browser: refused.
    let (second, to) = password_step(&b_app, USER).await;
    assert_eq!(to, "/login/factor");
    let res = post_code(&b_app, &second, "/login/factor/totp", &code).await;
    let (status, page) = text(res).await;
    assert_eq!(status, 401, "replayed on B: {page}");
    assert!(page.contains("not right"), "{page}");
    // An older step is refused too, even within the skew.
    let older = seed.code_at(clock.now() - 30);
    let res = post_code(&b_app, &second, "/login/factor/totp", &older).await;
    assert_eq!(res.status(), 401, "an older step");
    // The next step is accepted.
    clock.advance(30);
    let res = post_code(
        &b_app,
        &second,
        "/login/factor/totp",
        &seed.code_at(clock.now()),
    )
    .await;
    assert_eq!(res.status(), 303);
}

/// Eight browsers past the password post `code` to `path` at once; their statuses.
async fn race(app: &TestApp, path: &str, code: &str) -> Vec<u16> {
    let mut forms = Vec::new();
    for _ in 0..8 {
        let (b, to) = password_step(app, USER).await;
        assert_eq!(to, "/login/factor");
        let (_, page) = get(app, &b, "/login/factor").await;
        let csrf = form_value(&page, "csrf").unwrap();
        let flow = form_value(&page, "flow").unwrap();
        forms.push((b, csrf, flow));
    }
    let url = app.url(path);
    let tasks: Vec<_> = forms
        .into_iter()
        .map(|(b, csrf, flow)| {
            let (url, code) = (url.clone(), code.to_owned());
            tokio::spawn(async move {
                b.post(url)
                    .form(&[("csrf", csrf), ("flow", flow), ("code", code)])
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

/// Racing sign-ins with one TOTP code, or one recovery code: exactly one wins.
async fn racing_codes_one_wins(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let setup = user_browser(&app, USER).await;
    let (seed, codes) = enrol(&app, &setup).await;
    let totp = seed.code_at(app.clock.now());
    for (path, code) in [
        ("/login/factor/totp", totp.as_str()),
        ("/login/factor/recovery", codes[0].as_str()),
    ] {
        let statuses = race(&app, path, code).await;
        assert_eq!(
            statuses.iter().filter(|s| **s == 303).count(),
            1,
            "{path}: {statuses:?}"
        );
        // The losers are refused as replays, and, past the login limit, throttled.
        assert!(
            statuses.iter().all(|s| [303, 401, 429].contains(s)),
            "{path}: {statuses:?}"
        );
        // Past any lock and the failure window of the losers' failures.
        app.clock.advance(16 * 60);
    }
}

async fn one_step_of_skew_is_accepted_two_are_not(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let setup = user_browser(&app, USER).await;
    let (seed, _) = enrol(&app, &setup).await;
    // Past the confirmation's step by more than the skew, so only the skew decides.
    app.clock.advance(90);
    let now = app.clock.now();
    let (b, _) = password_step(&app, USER).await;
    let res = post_code(&app, &b, "/login/factor/totp", &seed.code_at(now - 60)).await;
    assert_eq!(res.status(), 401, "two steps behind");
    let res = post_code(&app, &b, "/login/factor/totp", &seed.code_at(now - 30)).await;
    assert_eq!(res.status(), 303, "one step behind");
    let (b, _) = password_step(&app, USER).await;
    let res = post_code(&app, &b, "/login/factor/totp", &seed.code_at(now + 60)).await;
    assert_eq!(res.status(), 401, "two steps ahead");
    let res = post_code(&app, &b, "/login/factor/totp", &seed.code_at(now + 30)).await;
    assert_eq!(res.status(), 303, "one step ahead");
}

async fn a_recovery_code_works_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let setup = user_browser(&app, USER).await;
    let (_, codes) = enrol(&app, &setup).await;
    let client = skip_consent_client(&app).await;
    let b = new_client();
    let res = b.get(auth_url(&app, &client.id, &[])).send().await.unwrap();
    let to = sign_in_at(&app, &b, &location(res.headers()), (USER, PASSWORD)).await;
    assert_eq!(to, "/login/factor");
    // As typed: upper case, spaces for dashes.
    let typed = codes[3].to_uppercase().replace('-', " ");
    let res = post_code(&app, &b, "/login/factor/recovery", &typed).await;
    assert_eq!(res.status(), 303);
    let to = follow(&app, &b, location(res.headers())).await;
    let amr = id_token_amr(&app, &client, &to).await;
    assert!(
        amr.contains(&"otp".to_owned()) && amr.contains(&"mfa".to_owned()),
        "{amr:?}"
    );
    assert!(
        audit_kinds(&app)
            .await
            .contains(&"mfa.recovery_code.used".to_owned())
    );
    // Used: refused the second time.
    let (b, _) = password_step(&app, USER).await;
    let res = post_code(&app, &b, "/login/factor/recovery", &codes[3]).await;
    assert_eq!(res.status(), 401, "a recovery code is used once");
    let res = post_code(&app, &b, "/login/factor/recovery", "not a code").await;
    assert_eq!(res.status(), 400);
    let res = post_code(&app, &b, "/login/factor/recovery", &codes[4]).await;
    assert_eq!(res.status(), 303, "another one works");
    let (_, page) = get(&app, &setup, "/settings/security").await;
    assert!(page.contains("On. 8 unused recovery codes"), "{page}");
}

async fn wrong_codes_count_towards_the_login_throttle(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let setup = user_browser(&app, USER).await;
    let (seed, _) = enrol(&app, &setup).await;
    let now = app.clock.now();
    let right = seed.code_at(now);
    let wrong: Vec<String> = (0..10u32)
        .map(|i| format!("{:06}", (i * 111_111 + 7) % 1_000_000))
        .filter(|c| (-1..=1).all(|d| seed.code_at(now + d * 30) != *c))
        .take(5)
        .collect();
    let (b, _) = password_step(&app, USER).await;
    for code in &wrong {
        let (status, page) = text(post_code(&app, &b, "/login/factor/totp", code).await).await;
        assert_eq!(status, 401, "{page}");
        assert!(page.contains("That code is not right"), "a clear message");
    }
    // Five failures (the login limit) lock the account: even the right code waits.
    let res = post_code(&app, &b, "/login/factor/totp", &right).await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    // A new sign-in gets no further: its password leads to the factor page, where the
    // right code still waits.
    let (b2, to) = password_step(&app, USER).await;
    assert_eq!(to, "/login/factor");
    let res = post_code(&app, &b2, "/login/factor/totp", &right).await;
    assert_eq!(res.status(), 429);
    let kinds = audit_kinds(&app).await;
    assert_eq!(kinds.iter().filter(|k| *k == "mfa.totp.refused").count(), 5);
    assert!(kinds.contains(&"sign_in.locked".to_owned()));
    // After the lock, the right code works.
    app.clock.advance(120);
    let (b, _) = password_step(&app, USER).await;
    let res = post_code(
        &app,
        &b,
        "/login/factor/totp",
        &seed.code_at(app.clock.now()),
    )
    .await;
    assert_eq!(res.status(), 303);
}

/// A right password must not wipe the count of wrong codes: otherwise whoever holds the
/// password signs in again after every four wrong codes and guesses codes without end.
async fn a_right_password_does_not_reset_the_count_of_wrong_codes(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let setup = user_browser(&app, USER).await;
    let (seed, _) = enrol(&app, &setup).await;
    let now = app.clock.now();
    let wrong: Vec<String> = (0..20u32)
        .map(|i| format!("{:06}", (i * 111_111 + 7) % 1_000_000))
        .filter(|c| (-1..=1).all(|d| seed.code_at(now + d * 30) != *c))
        .take(5)
        .collect();
    // Four wrong codes, a new sign-in with the right password, a fifth wrong code.
    let (b, _) = password_step(&app, USER).await;
    for code in &wrong[..4] {
        let res = post_code(&app, &b, "/login/factor/totp", code).await;
        assert_eq!(res.status(), 401);
    }
    let (b, to) = password_step(&app, USER).await;
    assert_eq!(to, "/login/factor");
    let res = post_code(&app, &b, "/login/factor/totp", &wrong[4]).await;
    assert_eq!(res.status(), 401);
    // Five wrong codes in all: the factor is locked, whatever passwords came between.
    let (b, _) = password_step(&app, USER).await;
    let res = post_code(&app, &b, "/login/factor/totp", &seed.code_at(now)).await;
    assert_eq!(
        res.status(),
        429,
        "the fifth wrong code locked the second factor"
    );
    assert!(res.headers().contains_key("retry-after"));
    // After the lock, the right code works and clears the count.
    app.clock.advance(120);
    let (b, _) = password_step(&app, USER).await;
    let res = post_code(
        &app,
        &b,
        "/login/factor/totp",
        &seed.code_at(app.clock.now()),
    )
    .await;
    assert_eq!(res.status(), 303);
}

async fn disabling_needs_a_recent_sign_in(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let b = user_browser(&app, USER).await;
    let (seed, codes) = enrol(&app, &b).await;
    app.clock.advance(301);
    let (_, page) = get(&app, &b, "/settings/security").await;
    let csrf = form_value(&page, "csrf").unwrap();
    for path in [
        "/settings/security/totp/disable",
        "/settings/security/recovery-codes",
    ] {
        let res = post(&app, &b, path, &[("csrf", &csrf)]).await;
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(
            location(res.headers()),
            "/login?return_to=%2Fsettings%2Fsecurity&reauth=1",
            "{path}: sign in again first"
        );
    }
    let (_, page) = get(&app, &b, "/settings/security").await;
    assert!(page.contains("id=\"totp-on\""), "still on");
    assert!(
        page.contains("10 unused recovery codes"),
        "the codes unchanged"
    );
    // Signing in again (password and code) comes back to the page, stepped up in place.
    let to = sign_in_at(
        &app,
        &b,
        "/login?return_to=%2Fsettings%2Fsecurity&reauth=1",
        (USER, PASSWORD),
    )
    .await;
    assert_eq!(to, "/login/factor");
    let res = post_code(
        &app,
        &b,
        "/login/factor/totp",
        &seed.code_at(app.clock.now()),
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(res.headers()), "/settings/security");
    // New recovery codes, shown once; the old ones stop working.
    let (_, page) = get(&app, &b, "/settings/security").await;
    let csrf = form_value(&page, "csrf").unwrap();
    let (status, page) = text(
        post(
            &app,
            &b,
            "/settings/security/recovery-codes",
            &[("csrf", &csrf)],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    let fresh = all_text_at(&page, "#recovery-codes li code");
    assert_eq!(fresh.len(), 10);
    assert!(!fresh.contains(&codes[0]));
    assert!(
        audit_kinds(&app)
            .await
            .contains(&"mfa.recovery_codes.regenerated".to_owned())
    );
    let res = post(
        &app,
        &b,
        "/settings/security/totp/disable",
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(res.headers()), "/settings/security");
    let (_, page) = get(&app, &b, "/settings/security").await;
    assert!(page.contains("Set up an authenticator app"), "off");
    assert!(
        audit_kinds(&app)
            .await
            .contains(&"mfa.totp.removed".to_owned())
    );
    let (_, to) = password_step(&app, USER).await;
    assert_eq!(to, "/account", "no code asked any more");
    // Its recovery codes went with it.
    let state = app.state.clone();
    let user = user_id(&app, USER).await;
    let left = tokio::task::spawn_blocking(move || {
        mintgate::mfa::store::RecoveryStore::unused_recovery_codes(&state.store, &user).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(left, 0);
}

async fn forms_need_csrf_and_the_flow_tag(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let setup = user_browser(&app, USER).await;
    // Settings forms: a missing or foreign token changes nothing.
    let res = post(
        &app,
        &setup,
        "/settings/security/totp",
        &[("csrf", "forged")],
    )
    .await;
    assert_eq!(res.status(), 403);
    let (_, page) = get(&app, &setup, "/settings/security").await;
    assert!(
        page.contains("Set up an authenticator app"),
        "no enrolment began"
    );
    let (seed, _) = enrol(&app, &setup).await;
    for path in [
        "/settings/security/totp/disable",
        "/settings/security/recovery-codes",
    ] {
        let res = post(&app, &setup, path, &[]).await;
        assert_eq!(res.status(), 403, "{path}");
    }
    // Signed out, a settings form sends to sign in and back to the page.
    let res = post(&app, &new_client(), "/settings/security/totp/disable", &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        location(res.headers()),
        "/login?return_to=%2Fsettings%2Fsecurity"
    );
    // The factor form: a forged token, another flow's tag, no flow at all.
    let code = seed.code_at(app.clock.now());
    let (b, _) = password_step(&app, USER).await;
    let (_, page) = get(&app, &b, "/login/factor").await;
    let csrf = form_value(&page, "csrf").unwrap();
    let flow = form_value(&page, "flow").unwrap();
    let res = post(
        &app,
        &b,
        "/login/factor/totp",
        &[("csrf", "forged"), ("flow", &flow), ("code", &code)],
    )
    .await;
    assert_eq!(res.status(), 403, "CSRF");
    let res = post(
        &app,
        &b,
        "/login/factor/totp",
        &[
            ("csrf", &csrf),
            ("flow", "0123456789abcdef"),
            ("code", &code),
        ],
    )
    .await;
    let (status, page) = text(res).await;
    assert_eq!(status, 400, "another flow's tag");
    assert!(page.contains("Another sign-in was started"), "{page}");
    let stranger = new_client();
    let s_csrf = app.login_csrf_with(&stranger).await;
    let res = post(
        &app,
        &stranger,
        "/login/factor/totp",
        &[("csrf", &s_csrf), ("flow", &flow), ("code", &code)],
    )
    .await;
    assert_eq!(res.status(), 400, "no flow in this browser");
    let (status, _) = get(&app, &stranger, "/login/factor").await;
    assert_eq!(status, 400);
    // None of it used the code: it still signs in.
    let res = post(
        &app,
        &b,
        "/login/factor/totp",
        &[("csrf", &csrf), ("flow", &flow), ("code", &code)],
    )
    .await;
    assert_eq!(
        res.status(),
        303,
        "the code was not used by the refused posts"
    );
}

/// A member of an organisation requiring a second factor, signing in for a client with a
/// password only, is sent to enrol; confirming TOTP there completes the waiting sign-in, the
/// session stepped up to `mfa`, and the authorization request resumes.
async fn organisation_required_enrolment_end_to_end(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let user = app.create_user(USER, PASSWORD).await;
    let state = app.state.clone();
    let now = app.clock.now();
    tokio::task::spawn_blocking(move || {
        use mintgate::accounts::store::{OrgStore, UserStore};
        let mut org = mintgate::accounts::types::Organisation::new(
            mintgate::ids::OrgId::new("org_strict"),
            "Strict".into(),
            now,
        );
        org.require_mfa = true;
        state.store.create_org(&org, "strict").unwrap();
        state
            .store
            .add_membership(
                &org.id,
                &user.id,
                mintgate::accounts::types::Role::Member,
                now,
            )
            .unwrap();
    })
    .await
    .unwrap();
    let client = skip_consent_client(&app).await;
    let b = new_client();
    // In two organisations: the request names the one it is for (else the picker asks).
    let url = auth_url(&app, &client.id, &[("organization", "strict")]);
    let res = b.get(url).send().await.unwrap();
    let to = sign_in_at(&app, &b, &location(res.headers()), (USER, PASSWORD)).await;
    assert_eq!(to, "/settings/security", "taken to enrol");
    let res = b
        .get(app.url("/oauth/authorize/resume"))
        .send()
        .await
        .unwrap();
    assert!(
        !location(res.headers()).starts_with(REDIRECT),
        "no code before the enrolment"
    );
    let (_, page) = get(&app, &b, "/settings/security").await;
    assert!(
        page.contains("id=\"org-requires-mfa\""),
        "the page says why"
    );
    let seed = begin_enrolment(&app, &b).await;
    let (status, page) = confirm_totp(&app, &b, &seed.code_at(app.clock.now())).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(all_text_at(&page, "#recovery-codes li code").len(), 10);
    let next = continue_link(&page);
    assert_eq!(next, "/oauth/authorize/resume");
    let to = follow(&app, &b, next).await;
    let amr = id_token_amr(&app, &client, &to).await;
    for v in ["pwd", "otp", "mfa"] {
        assert!(amr.contains(&v.to_owned()), "{amr:?}");
    }
}

/// Codes that cannot be codes (a NUL, other scripts, a megabyte of digits, nothing) are a clear
/// 400 (413 past the form limit), never a 500, and use nothing up: the right code still works.
async fn odd_codes_are_a_clear_4xx(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let setup = user_browser(&app, USER).await;
    let pending = begin_enrolment(&app, &setup).await;
    let long = "1".repeat(2_000_000);
    let odd = [
        "\0",
        "12\u{0}456",
        "١٢٣٤٥٦",
        "12345\u{fe0f}",
        "",
        long.as_str(),
    ];
    for code in odd {
        let (status, page) = confirm_totp(&app, &setup, code).await;
        assert!(
            [400, 413].contains(&status),
            "confirm {code:.20?}: {status} {page:.200}"
        );
    }
    let (status, _) = confirm_totp(&app, &setup, &pending.code_at(app.clock.now())).await;
    assert_eq!(status, 200, "the enrolment was left as it was");
    app.clock.advance(30);
    let (b, _) = password_step(&app, USER).await;
    for path in ["/login/factor/totp", "/login/factor/recovery"] {
        for code in odd {
            let status = post_code(&app, &b, path, code).await.status().as_u16();
            assert!([400, 413].contains(&status), "{path} {code:.20?}: {status}");
        }
        let res = post(&app, &b, path, &[("csrf", "x"), ("flow", "\0")]).await;
        assert!(res.status().is_client_error());
    }
    assert!(
        !audit_kinds(&app)
            .await
            .contains(&"mfa.totp.refused".to_owned())
    );
    let res = post_code(
        &app,
        &b,
        "/login/factor/totp",
        &pending.code_at(app.clock.now()),
    )
    .await;
    assert_eq!(res.status(), 303);
}

/// A user's seed and recovery codes end with the user.
async fn a_deleted_user_s_factors_go_with_them(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let b = user_browser(&app, USER).await;
    enrol(&app, &b).await;
    let user = user_id(&app, USER).await;
    let state = app.state.clone();
    let now = app.clock.now();
    let (totp, codes) = tokio::task::spawn_blocking(move || {
        use mintgate::mfa::store::{RecoveryStore, TotpStore};
        assert!(
            mintgate::accounts::store::UserStore::delete_user(&state.store, &user, now).unwrap()
        );
        (
            state.store.find_totp(&user).unwrap(),
            state.store.unused_recovery_codes(&user).unwrap(),
        )
    })
    .await
    .unwrap();
    assert!(totp.is_none());
    assert_eq!(codes, 0);
}

both!(
    odd_codes_are_a_clear_4xx,
    a_deleted_user_s_factors_go_with_them,
    enrolment_over_http,
    password_and_totp_sign_in_to_an_id_token,
    a_code_is_accepted_once_on_every_instance,
    racing_codes_one_wins,
    one_step_of_skew_is_accepted_two_are_not,
    a_recovery_code_works_once,
    wrong_codes_count_towards_the_login_throttle,
    a_right_password_does_not_reset_the_count_of_wrong_codes,
    disabling_needs_a_recent_sign_in,
    forms_need_csrf_and_the_flow_tag,
    organisation_required_enrolment_end_to_end,
);

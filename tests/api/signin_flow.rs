//! Sign-in as a stored flow (issue #10): the authorization request waits on the server while
//! the user signs in, and the sign-in it asked for is recorded for that request alone.

use mintgate::clock::Clock;

use crate::both;
use crate::helpers::*;
use crate::oauth_support::*;

/// The first-run owner's login and password.
const ADMIN: (&str, &str) = (ADMIN_USERNAME, ADMIN_PASSWORD);

/// Defect (1): the URL the sign-in page was to come back to skipped `prompt=login` when opened
/// directly, so a client asking for a fresh sign-in got a code without one.
async fn prompt_login_cannot_be_skipped_by_opening_the_return_url(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = session_client(&app, "RP").await;
    let b = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let res = b
        .get(session_url(&app, &client, &[("prompt", "login")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let to = location(res.headers());
    assert!(to.starts_with("/login"), "asked to sign in again: {to}");
    // Whatever the sign-in page would come back to, opened without signing in again.
    let return_to = url::Url::parse(&app.url(&to))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "return_to")
        .map(|(_, v)| v.into_owned())
        .expect("the sign-in page knows where to come back");
    let res = b.get(app.url(&return_to)).send().await.unwrap();
    let back = location(res.headers());
    assert!(
        !back.starts_with(REDIRECT) || !back.contains("code="),
        "no code without the fresh sign-in prompt=login asked for: {back}"
    );
    // Opening the authorization URL itself again asks again too.
    let res = b
        .get(session_url(&app, &client, &[("prompt", "login")]))
        .send()
        .await
        .unwrap();
    assert!(location(res.headers()).starts_with("/login"));
    // Signing in as asked completes the request.
    let back = follow(&app, &b, sign_in_at(&app, &b, &to, ADMIN).await).await;
    let tokens = redeem_code(&app, &client, &back).await;
    assert!(tokens["id_token"].is_string());
}

/// Defect (2): a request longer than `return_to` may be (a `state` of 2,048 characters) was
/// lost at sign-in: the user landed on the account page.
async fn a_long_authorization_request_survives_sign_in(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = session_client(&app, "RP").await;
    let state = "s".repeat(2048);
    let url = session_url(&app, &client, &[]).replace("state=st4te", &format!("state={state}"));
    let b = new_client();
    let res = b.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let to = location(res.headers());
    let back = follow(&app, &b, sign_in_at(&app, &b, &to, ADMIN).await).await;
    assert!(back.starts_with(REDIRECT), "back at the client: {back}");
    assert_eq!(query_of(&back)["state"], state, "the whole state came back");
    redeem_code(&app, &client, &back).await;
}

/// Defect (3): re-authenticating for one client replaced the session, which revoked every other
/// client's session-bound tokens and changed `sid`.
async fn reauthentication_for_one_client_keeps_the_others(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let first = session_client(&app, "First RP").await;
    let second = session_client(&app, "Second RP").await;
    let b = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let res = b.get(session_url(&app, &first, &[])).send().await.unwrap();
    let first_tokens = redeem_code(&app, &first, &location(res.headers())).await;
    let first_claims = jwt_claims(first_tokens["id_token"].as_str().unwrap());
    app.clock.advance(120);
    let res = b
        .get(session_url(&app, &second, &[("max_age", "60")]))
        .send()
        .await
        .unwrap();
    let to = location(res.headers());
    assert!(to.starts_with("/login"), "asked to sign in again: {to}");
    let back = follow(&app, &b, sign_in_at(&app, &b, &to, ADMIN).await).await;
    let second_tokens = redeem_code(&app, &second, &back).await;
    let second_claims = jwt_claims(second_tokens["id_token"].as_str().unwrap());
    assert_eq!(
        second_claims["sid"], first_claims["sid"],
        "the same session"
    );
    assert_eq!(
        second_claims["auth_time"],
        app.clock.now(),
        "auth_time is the fresh sign-in"
    );
    // The first client's session-bound tokens still work.
    let (status, body) = post_form(
        &app,
        "/oauth/token",
        &first,
        &[
            ("grant_type", "refresh_token"),
            (
                "refresh_token",
                first_tokens["refresh_token"].as_str().unwrap(),
            ),
        ],
    )
    .await;
    assert_eq!(status, 200, "the other client's tokens live on: {body}");
    // The browser is still signed in, under a new cookie value.
    assert!(app.account_page_with(&b).await.is_some());
}

/// The flow's cookie is HttpOnly, SameSite=Lax and short-lived; the stored row holds only its
/// hash; an expired flow is refused with a page (and pruned), never resumed.
async fn a_sign_in_flow_is_short_lived_and_stored_hashed(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = session_client(&app, "RP").await;
    let b = new_client();
    let res = b.get(session_url(&app, &client, &[])).send().await.unwrap();
    let to = location(res.headers());
    let cookie = set_cookies(res.headers())
        .into_iter()
        .find(|c| c.starts_with("mg_flow="))
        .expect("the flow's cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Max-Age=600", "Path=/"] {
        assert!(cookie.contains(attr), "{attr} in {cookie}");
    }
    let value = cookie["mg_flow=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let state = app.state.clone();
    let (by_value, by_hash) = tokio::task::spawn_blocking(move || {
        use mintgate::flows::store::FlowStore;
        let plain = mintgate::credentials::PlainFlowId::new(value.clone());
        let by_value = state
            .store
            .find_flow(&mintgate::credentials::HashedFlowId::from_stored(value))
            .unwrap();
        (
            by_value.is_some(),
            state.store.find_flow(&plain.hash()).unwrap().is_some(),
        )
    })
    .await
    .unwrap();
    assert!(by_hash && !by_value, "only the hash is stored");
    // Ten minutes later the flow is over: signing in does not resume it.
    app.clock.advance(600);
    let state = app.state.clone();
    let pruned =
        tokio::task::spawn_blocking(move || mintgate::ops::jobs::prune_expired(&state).unwrap())
            .await
            .unwrap();
    assert!(pruned >= 1, "the expired flow is pruned");
    let back = follow(&app, &b, sign_in_at(&app, &b, &to, ADMIN).await).await;
    assert!(!back.starts_with(REDIRECT), "{back}");
    let res = b
        .get(app.url("/oauth/authorize/resume"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("Start again"));
}

/// A request that needs a sign-in made for it (`prompt=login`, `max_age=0`) is answered at the
/// consent form only with that sign-in's flow: a browser that is merely signed in cannot post
/// the consent form with `prompt=login` added and get a code. Signing in as asked, the consent
/// page's answer gives the code, once.
async fn a_consent_form_cannot_stand_in_for_the_sign_in_it_needs(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = register(&app, client_spec("Third party")).await;
    let b = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let res = b.get(auth_url(&app, &client.id, &[])).send().await.unwrap();
    assert_eq!(res.status(), 200, "the consent page");
    let page = res.text().await.unwrap();
    for extra in [("prompt", "login"), ("max_age", "0")] {
        let mut form = consent_fields(&page, "allow");
        form.push((extra.0.into(), extra.1.into()));
        let res = b
            .post(app.url("/oauth/consent"))
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let to = res
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        assert!(
            !to.contains("code="),
            "{extra:?}: no code without the sign-in it asks for ({status}, {to})"
        );
        assert_eq!(status, 400, "{extra:?}");
    }
    // As asked: sign in again, then the consent page of the resumed request gives the code.
    // (`max_age` travels in the consent form, so its answer needs the flow; `prompt` does not,
    // and the form's answer is then a plain request, with the new `auth_time` in its tokens.)
    let res = b
        .get(auth_url(&app, &client.id, &[("max_age", "0")]))
        .send()
        .await
        .unwrap();
    let to = follow(
        &app,
        &b,
        sign_in_at(&app, &b, &location(res.headers()), ADMIN).await,
    )
    .await;
    let res = b.get(app.url(&to)).send().await.unwrap();
    assert_eq!(res.status(), 200, "the consent page after signing in");
    let form = consent_fields(&res.text().await.unwrap(), "allow");
    let res = b
        .post(app.url("/oauth/consent"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let tokens = redeem_code(&app, &client, &location(res.headers())).await;
    assert!(tokens["id_token"].is_string());
    // The sign-in proves one answer.
    let res = b
        .post(app.url("/oauth/consent"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "the flow is single use");
}

/// Anyone may make the server keep an authorization request while they sign in: one too large
/// to keep is refused to the client (`invalid_request`), not stored.
async fn an_oversized_authorization_request_is_not_kept(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = session_client(&app, "RP").await;
    let hint = "x".repeat(20_000);
    let res = new_client()
        .post(app.url("/oauth/authorize"))
        .form(&[
            ("response_type", "code"),
            ("client_id", client.id.as_str()),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("state", "st4te"),
            ("login_hint", hint.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let to = location(res.headers());
    assert!(to.starts_with(REDIRECT), "{to}");
    assert_eq!(query_of(&to)["error"], "invalid_request");
    assert!(
        res.headers()
            .get("set-cookie")
            .is_none_or(|c| !c.to_str().unwrap().contains("mg_flow"))
    );
}

/// A sign-in page answers only the pending sign-in it was shown for: when another authorization
/// started in the same browser since (another tab, or a page an attacker opened) has taken the
/// cookie's place, the older page's password completes neither, and the newer one still can.
async fn a_sign_in_page_answers_only_its_own_flow(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = session_client(&app, "RP").await;
    let b = new_client();
    let first = b
        .get(session_url(&app, &client, &[("nonce", "first")]))
        .send()
        .await
        .unwrap();
    let first_login = location(first.headers());
    let page = b
        .get(app.url(&first_login))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let second = b
        .get(session_url(&app, &client, &[("nonce", "second")]))
        .send()
        .await
        .unwrap();
    let second_login = location(second.headers());
    let res = b
        .post(app.url("/login"))
        .form(&[
            ("csrf", form_value(&page, "csrf").unwrap().as_str()),
            ("login", ADMIN_USERNAME),
            ("password", ADMIN_PASSWORD),
            (
                "return_to",
                form_value(&page, "return_to").unwrap().as_str(),
            ),
            ("flow", form_value(&page, "flow").unwrap().as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        400,
        "the first page's flow is no longer this browser's"
    );
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Another sign-in was started")
    );
    let to = follow(&app, &b, sign_in_at(&app, &b, &second_login, ADMIN).await).await;
    let tokens = redeem_code(&app, &client, &to).await;
    let id_token = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_token["nonce"], "second");
}

/// A consent page answers only the request it shows: when a sign-in for another request (another
/// tab) has taken the flow cookie's place since, the older page's Allow consents to neither.
async fn a_consent_page_answers_only_its_own_request(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let shown = register(&app, client_spec("Shown")).await;
    let other = register(&app, client_spec("Other")).await;
    let b = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let res = b
        .get(auth_url(&app, &shown.id, &[("max_age", "0")]))
        .send()
        .await
        .unwrap();
    let to = follow(
        &app,
        &b,
        sign_in_at(&app, &b, &location(res.headers()), ADMIN).await,
    )
    .await;
    let res = b.get(app.url(&to)).send().await.unwrap();
    assert_eq!(res.status(), 200, "the consent page for Shown");
    let shown_form = consent_fields(&res.text().await.unwrap(), "allow");
    // Another tab: a request of another client, signed in for as well.
    let res = b
        .get(auth_url(&app, &other.id, &[("max_age", "0")]))
        .send()
        .await
        .unwrap();
    let to = follow(
        &app,
        &b,
        sign_in_at(&app, &b, &location(res.headers()), ADMIN).await,
    )
    .await;
    assert_eq!(b.get(app.url(&to)).send().await.unwrap().status(), 200);
    // Allow on the first page.
    let res = b
        .post(app.url("/oauth/consent"))
        .form(&shown_form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        400,
        "neither request is answered by the stale page"
    );
    let account = b
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !account.contains("Other") && !account.contains("Shown"),
        "no consent was remembered: {account}"
    );
}

both!(
    a_consent_page_answers_only_its_own_request,
    a_sign_in_page_answers_only_its_own_flow,
    an_oversized_authorization_request_is_not_kept,
    a_consent_form_cannot_stand_in_for_the_sign_in_it_needs,
    a_sign_in_flow_is_short_lived_and_stored_hashed,
    prompt_login_cannot_be_skipped_by_opening_the_return_url,
    a_long_authorization_request_survives_sign_in,
    reauthentication_for_one_client_keeps_the_others,
);

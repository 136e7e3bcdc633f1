//! Passkeys over HTTP, with webauthn-authenticator-rs's soft authenticators (`SoftPasskey`,
//! `SoftToken`) answering the server's real options: registration from Settings > Security,
//! the passkey as second factor after a password and on its own (usernameless), the `amr` of
//! the ID token, the signature counter, single-use challenges bound to their flow, and bad
//! input. The server's issuer is `http://localhost:<port>` (WebAuthn needs a domain name).

use mintgate::clock::ManualClock;
use serde_json::Value;
use webauthn_authenticator_rs::AuthenticatorBackend;
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, PublicKeyCredential, RequestChallengeResponse, Url,
    WebauthnAuthenticator,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::softtoken::SoftToken;

use crate::both;
use crate::helpers::*;
use crate::mfa_support::require_mfa;
use crate::oauth_support::*;

/// An app whose issuer is `http://localhost:<port>` (the tests still talk to 127.0.0.1).
pub async fn spawn_localhost(backend: Backend) -> Option<TestApp> {
    let db = TestDb::new(backend)?;
    Some(
        spawn_on(&db, ManualClock::starting_now(), |s| {
            s.server.issuer.set_host(Some("localhost")).unwrap();
        })
        .await,
    )
}

pub(crate) fn origin(app: &TestApp) -> Url {
    app.settings.server.issuer.clone()
}

pub(crate) async fn json_of(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub(crate) async fn security_page(app: &TestApp, client: &reqwest::Client) -> String {
    let res = client
        .get(app.url("/settings/security"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

/// Begins a registration as `client` (signed in): the page's CSRF token and the options.
pub(crate) async fn begin_registration(
    app: &TestApp,
    client: &reqwest::Client,
) -> (String, CreationChallengeResponse) {
    let csrf = form_value(&security_page(app, client).await, "csrf").unwrap();
    let res = client
        .post(app.url("/settings/security/passkeys/begin"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(res).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["publicKey"]["authenticatorSelection"]["residentKey"],
        "preferred"
    );
    assert_eq!(body["publicKey"]["attestation"], "none");
    (csrf, serde_json::from_value(body).unwrap())
}

pub(crate) async fn finish_registration(
    app: &TestApp,
    client: &reqwest::Client,
    csrf: &str,
    name: &str,
    credential: &str,
) -> (u16, Value) {
    let res = client
        .post(app.url("/settings/security/passkeys/finish"))
        .form(&[("csrf", csrf), ("name", name), ("credential", credential)])
        .send()
        .await
        .unwrap();
    json_of(res).await
}

/// Registers a passkey of `auth` for the signed-in `client`; returns its credential id.
pub(crate) async fn register<A: AuthenticatorBackend>(
    app: &TestApp,
    client: &reqwest::Client,
    auth: &mut A,
    name: &str,
) -> String {
    let (csrf, options) = begin_registration(app, client).await;
    let credential = auth
        .do_registration(origin(app), options)
        .expect("the authenticator registers");
    let id = credential.id.clone();
    let (status, body) = finish_registration(
        app,
        client,
        &csrf,
        name,
        &serde_json::to_string(&credential).unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["location"], "/settings/security");
    id
}

/// A new browser sent to sign in by an authorization request for `client_id` (with a nonce):
/// the browser and the sign-in page's CSRF token and flow tag.
pub(crate) async fn sign_in_page_for(
    app: &TestApp,
    client_id: &str,
) -> (reqwest::Client, String, String) {
    let b = new_client();
    let login = first_stop(&b, &auth_url(app, client_id, &[("nonce", "n0nce")])).await;
    let page = b
        .get(app.url(&login))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = form_value(&page, "csrf").unwrap();
    let flow = form_value(&page, "flow").unwrap();
    (b, csrf, flow)
}

/// A browser that began an authorization request for `client_id` (with a nonce) and signed in
/// with the admin's password; returns it and where the sign-in sent it.
pub(crate) async fn password_for(app: &TestApp, client_id: &str) -> (reqwest::Client, String) {
    let (b, csrf, flow) = sign_in_page_for(app, client_id).await;
    let res = b
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("login", ADMIN_USERNAME),
            ("password", ADMIN_PASSWORD),
            ("return_to", "/oauth/authorize/resume"),
            ("flow", flow.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let to = location(res.headers());
    (b, to)
}

/// A browser whose authorization request for `client_id` now waits, after the admin's
/// password, for the second factor.
pub(crate) async fn password_step(app: &TestApp, client_id: &str) -> reqwest::Client {
    let (b, to) = password_for(app, client_id).await;
    assert_eq!(to, "/login/factor");
    b
}

/// Registers a new passkey where the organisation's requirement sent the waiting sign-in of
/// `b`, which then resumes: the ID token's claims.
pub(crate) async fn enrol_for_the_sign_in(
    app: &TestApp,
    b: &reqwest::Client,
    client: &TestClient,
) -> Value {
    let (csrf, options) = begin_registration(app, b).await;
    let answer = SoftPasskey::new(true)
        .do_registration(origin(app), options)
        .unwrap();
    let (status, body) = finish_registration(
        app,
        b,
        &csrf,
        "Laptop",
        &serde_json::to_string(&answer).unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["location"], "/oauth/authorize/resume");
    id_token_after(app, b, client, "/oauth/authorize/resume").await
}

/// The factor page's CSRF token and flow tag.
pub(crate) async fn factor_form(app: &TestApp, b: &reqwest::Client) -> (String, String) {
    let res = b.get(app.url("/login/factor")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"passkey-factor\""), "{page}");
    (
        form_value(&page, "csrf").unwrap(),
        form_value(&page, "flow").unwrap(),
    )
}

pub(crate) async fn factor_begin(
    app: &TestApp,
    b: &reqwest::Client,
    (csrf, flow): &(String, String),
) -> RequestChallengeResponse {
    let res = b
        .post(app.url("/login/factor/passkey/begin"))
        .form(&[("csrf", csrf.as_str()), ("flow", flow.as_str())])
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(res).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).unwrap()
}

pub(crate) async fn factor_finish(
    app: &TestApp,
    b: &reqwest::Client,
    (csrf, flow): &(String, String),
    credential: &str,
) -> (u16, Value) {
    let res = b
        .post(app.url("/login/factor/passkey/finish"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("flow", flow.as_str()),
            ("credential", credential),
        ])
        .send()
        .await
        .unwrap();
    json_of(res).await
}

/// Follows a finished sign-in to the client and redeems the code: the ID token's claims.
pub(crate) async fn id_token_after(
    app: &TestApp,
    b: &reqwest::Client,
    client: &TestClient,
    location: &str,
) -> Value {
    let to = authorize_with(app, b, &app.url(location)).await;
    let body = redeem_code(app, client, &to).await;
    jwt_claims(body["id_token"].as_str().unwrap())
}

pub(crate) async fn stored_count(app: &TestApp, credential_id: &str) -> i64 {
    let state = app.state.clone();
    let id = credential_id.to_owned();
    tokio::task::spawn_blocking(move || {
        mintgate::mfa::store::PasskeyStore::passkey_by_credential(&state.store, &id)
            .unwrap()
            .expect("the passkey is stored")
            .sign_count
    })
    .await
    .unwrap()
}

/// Registered from the settings page, a passkey is asked for after the password and completes
/// the authorization request: the ID token says password and software key, two factors.
async fn second_factor_after_password(backend: Backend) {
    let Some(app) = spawn_localhost(backend).await else {
        return;
    };
    let client = register_client(&app).await;
    app.sign_in_admin().await;
    let mut auth = SoftPasskey::new(true);
    let credential_id = register(&app, &app.client, &mut auth, "Laptop").await;
    let page = security_page(&app, &app.client).await;
    assert!(page.contains("value=\"Laptop\""), "listed by name: {page}");
    assert!(page.contains("never"), "not used yet");

    let b = password_step(&app, &client.id).await;
    // Not signed in yet: the resume path is not done.
    let form = factor_form(&app, &b).await;
    let options = factor_begin(&app, &b, &form).await;
    assert_eq!(
        options.public_key.allow_credentials.len(),
        1,
        "the user's own passkeys are offered"
    );
    let answer = auth.do_authentication(origin(&app), options).unwrap();
    let (status, body) =
        factor_finish(&app, &b, &form, &serde_json::to_string(&answer).unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["location"], "/oauth/authorize/resume");
    let claims = id_token_after(&app, &b, &client, body["location"].as_str().unwrap()).await;
    assert_eq!(amr(&claims), ["pwd", "swk", "mfa"]);
    assert_eq!(claims["acr"], "urn:mintgate:acr:mfa");
    assert_eq!(stored_count(&app, &credential_id).await, 1);
    let page = security_page(&app, &app.client).await;
    assert!(!page.contains("never"), "last used is shown");
    let kinds = audit_kinds(&app).await;
    assert!(kinds.iter().any(|k| k == "passkey.registered"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "passkey.succeeded"), "{kinds:?}");
}

pub(crate) async fn register_client(app: &TestApp) -> TestClient {
    let mut spec = client_spec("Passkey RP");
    spec.skip_consent = true;
    crate::oauth_support::register(app, spec).await
}

/// Usernameless: the sign-in page's passkey begins a flow of its own (no flow cookie before),
/// any discoverable credential answers it with user verification, and the user is the one
/// the credential's user handle names. (A soft authenticator stands in for a discoverable
/// one: it is told the credential to use, and the test adds the user handle a discoverable
/// authenticator returns, which is outside what the signature covers.)
async fn passwordless_sign_in(backend: Backend) {
    let Some(app) = spawn_localhost(backend).await else {
        return;
    };
    app.sign_in_admin().await;
    let mut auth = SoftPasskey::new(true);
    let credential_id = register(&app, &app.client, &mut auth, "Phone").await;
    let admin = user_id(&app, ADMIN_USERNAME).await;
    let handle = mintgate::mfa::passkeys::user_handle(&admin);

    let b = new_client();
    let csrf = app.login_csrf_with(&b).await;
    let res = b
        .post(app.url("/login/passkey/begin"))
        .form(&[("csrf", csrf.as_str()), ("return_to", "/account")])
        .send()
        .await
        .unwrap();
    assert!(
        set_cookies(res.headers())
            .iter()
            .any(|c| c.starts_with("mg_passkey_flow=")),
        "a flow is begun to hold the ceremony, under its own cookie"
    );
    let (status, body) = json_of(res).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["publicKey"]["userVerification"], "required");
    assert!(
        body["publicKey"]["allowCredentials"]
            .as_array()
            .is_none_or(|a| a.is_empty()),
        "usernameless: no credentials named"
    );
    let answer = discoverable_answer(&app, &mut auth, body, &credential_id, handle.as_bytes());
    let res = b
        .post(app.url("/login/passkey/finish"))
        .form(&[("csrf", csrf.as_str()), ("credential", answer.as_str())])
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(res).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["location"], "/account");
    assert_eq!(
        app.account_page_with(&b)
            .await
            .map(|p| p.contains(ADMIN_USERNAME)),
        Some(true),
        "signed in"
    );

    // Within an authorization request: the ID token says a software key verified the user.
    let client = register_client(&app).await;
    let (b, csrf, flow) = sign_in_page_for(&app, &client.id).await;
    // The plain sign-in page opened in another tab begins a ceremony of its own (autofill),
    // which leaves this tab's authorization request alone.
    let res = b
        .post(app.url("/login/passkey/begin"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = b
        .post(app.url("/login/passkey/begin"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("return_to", "/oauth/authorize/resume"),
            ("flow", flow.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        set_cookies(res.headers()).is_empty(),
        "the authorization request's flow holds the ceremony"
    );
    let (_, body) = json_of(res).await;
    let answer = discoverable_answer(&app, &mut auth, body, &credential_id, handle.as_bytes());
    let res = b
        .post(app.url("/login/passkey/finish"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("return_to", "/oauth/authorize/resume"),
            ("credential", answer.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(res).await;
    assert_eq!(status, 200, "{body}");
    let claims = id_token_after(&app, &b, &client, body["location"].as_str().unwrap()).await;
    assert_eq!(amr(&claims), ["swk", "user", "mfa"]);
    assert_eq!(
        claims["acr"], "urn:mintgate:acr:mfa",
        "a passkey verifying the user"
    );

    // A user handle naming someone else than the credential's user is refused.
    let b = new_client();
    let csrf = app.login_csrf_with(&b).await;
    let res = b
        .post(app.url("/login/passkey/begin"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let (_, body) = json_of(res).await;
    let other = mintgate::mfa::passkeys::user_handle(&mintgate::ids::UserId::new("usr_other"));
    let answer = discoverable_answer(&app, &mut auth, body, &credential_id, other.as_bytes());
    let res = b
        .post(app.url("/login/passkey/finish"))
        .form(&[("csrf", csrf.as_str()), ("credential", answer.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(app.account_page_with(&b).await, None, "not signed in");
}

/// Answers usernameless `options` as a discoverable authenticator would: with the credential
/// `credential_id` and the user handle `handle`.
pub(crate) fn discoverable_answer(
    app: &TestApp,
    auth: &mut SoftPasskey,
    options: Value,
    credential_id: &str,
    handle: &[u8],
) -> String {
    let mut options = options;
    options["publicKey"]["allowCredentials"] =
        serde_json::json!([{ "type": "public-key", "id": credential_id }]);
    let options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
    let mut answer: PublicKeyCredential = auth.do_authentication(origin(app), options).unwrap();
    answer.response.user_handle = Some(handle.to_vec());
    serde_json::to_string(&answer).unwrap()
}

/// WebAuthn L2 §7.2 step 21: an assertion whose counter is not above the stored one (a copy of
/// the key) is refused and audited, and the stored counter is not moved back.
async fn counter_rollback_refused(backend: Backend) {
    let Some(app) = spawn_localhost(backend).await else {
        return;
    };
    let client = register_client(&app).await;
    app.sign_in_admin().await;
    let (mut token, _) = SoftToken::new(true).unwrap();
    let credential_id = register(&app, &app.client, &mut token, "Key").await;
    let copy = token.to_cbor().unwrap();

    let b = password_step(&app, &client.id).await;
    let form = factor_form(&app, &b).await;
    let answer = token
        .do_authentication(origin(&app), factor_begin(&app, &b, &form).await)
        .unwrap();
    let (status, body) =
        factor_finish(&app, &b, &form, &serde_json::to_string(&answer).unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(stored_count(&app, &credential_id).await, 1);

    // The copy still counts from where the key was copied.
    let mut clone = SoftToken::from_cbor(&copy).unwrap();
    let b = password_step(&app, &client.id).await;
    let form = factor_form(&app, &b).await;
    let answer = clone
        .do_authentication(origin(&app), factor_begin(&app, &b, &form).await)
        .unwrap();
    let (status, body) =
        factor_finish(&app, &b, &form, &serde_json::to_string(&answer).unwrap()).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("counter"),
        "{body}"
    );
    assert_eq!(
        stored_count(&app, &credential_id).await,
        1,
        "not rolled back"
    );
    let kinds = audit_kinds(&app).await;
    assert!(
        kinds.iter().any(|k| k == "passkey.counter_anomaly"),
        "{kinds:?}"
    );
    // The real key goes on.
    let form = factor_form(&app, &b).await;
    let answer = token
        .do_authentication(origin(&app), factor_begin(&app, &b, &form).await)
        .unwrap();
    let (status, body) =
        factor_finish(&app, &b, &form, &serde_json::to_string(&answer).unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(stored_count(&app, &credential_id).await, 2);
}

/// A challenge is bound to its flow and used once: an answer to one browser's challenge posted
/// in another's flow is refused (the account unchanged), and an answer is accepted only once.
async fn challenge_of_another_flow_refused(backend: Backend) {
    let Some(app) = spawn_localhost(backend).await else {
        return;
    };
    let client = register_client(&app).await;
    app.sign_in_admin().await;
    let mut auth = SoftPasskey::new(true);
    let credential_id = register(&app, &app.client, &mut auth, "Laptop").await;

    let b1 = password_step(&app, &client.id).await;
    let b2 = password_step(&app, &client.id).await;
    let form1 = factor_form(&app, &b1).await;
    let form2 = factor_form(&app, &b2).await;
    let options1 = factor_begin(&app, &b1, &form1).await;
    factor_begin(&app, &b2, &form2).await;
    let answer1 =
        serde_json::to_string(&auth.do_authentication(origin(&app), options1).unwrap()).unwrap();
    let (status, body) = factor_finish(&app, &b2, &form2, &answer1).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(stored_count(&app, &credential_id).await, 0, "unchanged");
    // Its own flow takes it, once.
    let (status, body) = factor_finish(&app, &b1, &form1, &answer1).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = factor_finish(&app, &b1, &form1, &answer1).await;
    assert!(
        (400..500).contains(&status),
        "a second answer: {status} {body}"
    );
}

/// Malformed answers, a missing or foreign ceremony and a wrong origin are 4xx with a message,
/// and leave the account unchanged.
async fn bad_input_is_refused(backend: Backend) {
    let Some(app) = spawn_localhost(backend).await else {
        return;
    };
    let client = register_client(&app).await;
    app.sign_in_admin().await;
    let mut auth = SoftPasskey::new(true);

    // Registration: not JSON; no ceremony; another origin.
    let (csrf, _) = begin_registration(&app, &app.client).await;
    let (status, body) = finish_registration(&app, &app.client, &csrf, "x", "{not json").await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].is_string());
    let (status, body) = finish_registration(&app, &app.client, &csrf, "x", "{}").await;
    assert_eq!(status, 400, "no ceremony left: {body}");
    let (csrf, options) = begin_registration(&app, &app.client).await;
    let mut evil = origin(&app);
    evil.set_port(Some(1)).unwrap();
    let answer = auth.do_registration(evil, options).unwrap();
    let (status, body) = finish_registration(
        &app,
        &app.client,
        &csrf,
        "x",
        &serde_json::to_string(&answer).unwrap(),
    )
    .await;
    assert!(
        (400..500).contains(&status),
        "wrong origin: {status} {body}"
    );
    let page = security_page(&app, &app.client).await;
    assert!(page.contains("None yet"), "nothing registered: {page}");

    // Sign-in: without a flow, not JSON, an answer from another origin.
    let b = new_client();
    let csrf = app.login_csrf_with(&b).await;
    let res = b
        .post(app.url("/login/passkey/finish"))
        .form(&[("csrf", csrf.as_str()), ("credential", "{}")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    register(&app, &app.client, &mut auth, "Laptop").await;
    let b = password_step(&app, &client.id).await;
    let form = factor_form(&app, &b).await;
    factor_begin(&app, &b, &form).await;
    let (status, body) = factor_finish(&app, &b, &form, "\u{0}garbage").await;
    assert_eq!(status, 400, "{body}");
    let options = factor_begin(&app, &b, &form).await;
    let mut evil = origin(&app);
    evil.set_port(Some(1)).unwrap();
    let answer = auth.do_authentication(evil, options).unwrap();
    let (status, body) =
        factor_finish(&app, &b, &form, &serde_json::to_string(&answer).unwrap()).await;
    assert_eq!(status, 401, "wrong origin: {body}");
    // Still waiting for its second factor, and the passkey unused.
    assert_eq!(
        b.get(app.url("/login/factor"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(security_page(&app, &app.client).await.contains("never"));
    // An answer after the flow expired.
    let options = factor_begin(&app, &b, &form).await;
    let answer = auth.do_authentication(origin(&app), options).unwrap();
    app.clock.advance(601);
    let (status, body) =
        factor_finish(&app, &b, &form, &serde_json::to_string(&answer).unwrap()).await;
    assert_eq!(status, 400, "expired: {body}");
    assert!(security_page(&app, &app.client).await.contains("never"));
    // A factor form posted without the page's flow tag is refused.
    let res = b
        .post(app.url("/login/factor/passkey/begin"))
        .form(&[("csrf", form.0.as_str()), ("flow", "0000000000000000")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

/// Settings: rename and remove (CSRF forms, one's own passkeys only).
async fn rename_and_remove(backend: Backend) {
    let Some(app) = spawn_localhost(backend).await else {
        return;
    };
    app.sign_in_admin().await;
    let mut auth = SoftPasskey::new(true);
    register(&app, &app.client, &mut auth, "Laptop").await;
    let page = security_page(&app, &app.client).await;
    let id = {
        let doc = scraper::Html::parse_document(&page);
        let sel = scraper::Selector::parse("tr[data-passkey-id]").unwrap();
        doc.select(&sel)
            .next()
            .unwrap()
            .value()
            .attr("data-passkey-id")
            .unwrap()
            .to_owned()
    };
    let csrf = form_value(&page, "csrf").unwrap();
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let c = app.client.clone();
        let url = app.url(&path);
        async move { c.post(url).form(&form).send().await.unwrap() }
    };
    let res = post(
        format!("/settings/security/passkeys/{id}/rename"),
        vec![("csrf", csrf.clone()), ("name", "Work laptop".into())],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert!(
        security_page(&app, &app.client)
            .await
            .contains("Work laptop")
    );
    let res = post(
        format!("/settings/security/passkeys/{id}/rename"),
        vec![("csrf", csrf.clone()), ("name", "  ".into())],
    )
    .await;
    assert_eq!(res.status(), 400);
    let res = post(
        format!("/settings/security/passkeys/{id}/rename"),
        vec![("csrf", "forged".into()), ("name", "Evil".into())],
    )
    .await;
    assert_eq!(res.status(), 403);

    // Another user cannot touch it.
    app.create_user("mallory", "mallory's long password").await;
    let m = new_client();
    assert_eq!(
        app.post_login_with(&m, "mallory", "mallory's long password", None)
            .await
            .status(),
        303
    );
    let mpage = security_page(&app, &m).await;
    let mcsrf = form_value(&mpage, "csrf").unwrap();
    let res = m
        .post(app.url(&format!("/settings/security/passkeys/{id}/delete")))
        .form(&[("csrf", mcsrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(
        security_page(&app, &app.client)
            .await
            .contains("Work laptop")
    );

    let res = post(
        format!("/settings/security/passkeys/{id}/delete"),
        vec![("csrf", csrf.clone())],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert!(security_page(&app, &app.client).await.contains("None yet"));
    let kinds = audit_kinds(&app).await;
    for kind in ["passkey.renamed", "passkey.removed"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind}: {kinds:?}");
    }
}

/// With an IP-address issuer (WebAuthn needs a domain name) the pages offer no passkeys.
async fn no_passkeys_without_a_domain(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let page = app.get("/login").await.text().await.unwrap();
    assert!(!page.contains("passkey"), "{page}");
    let csrf = app.login_csrf().await;
    let res = app
        .client
        .post(app.url("/login/passkey/begin"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

/// One answer posted many times at once, to two instances sharing the database: one sign-in,
/// and the counter moved once (the challenge is cleared by a conditional update).
async fn an_answer_is_used_once_across_instances(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let app = spawn_on(&db, ManualClock::starting_now(), |s| {
        s.server.issuer.set_host(Some("localhost")).unwrap();
    })
    .await;
    let issuer = app.settings.server.issuer.clone();
    let other = spawn_on(&db, app.clock.clone(), move |s| s.server.issuer = issuer).await;
    let client = register_client(&app).await;
    app.sign_in_admin().await;
    let mut auth = SoftPasskey::new(true);
    let credential_id = register(&app, &app.client, &mut auth, "Laptop").await;
    let b = password_step(&app, &client.id).await;
    let form = factor_form(&app, &b).await;
    let answer = serde_json::to_string(
        &auth
            .do_authentication(origin(&app), factor_begin(&app, &b, &form).await)
            .unwrap(),
    )
    .unwrap();
    let posts = (0..8).map(|i| {
        let target = if i % 2 == 0 { &app } else { &other };
        let form = [
            ("csrf", form.0.clone()),
            ("flow", form.1.clone()),
            ("credential", answer.clone()),
        ];
        b.post(target.url("/login/factor/passkey/finish"))
            .form(&form)
            .send()
    });
    let statuses: Vec<u16> = futures::future::join_all(posts)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || (400..500).contains(s)),
        "{statuses:?}"
    );
    assert_eq!(stored_count(&app, &credential_id).await, 1);
}

/// A member of an organisation that requires a second factor, signing in with a password for a
/// client, is sent to enrol; registering a passkey there completes the waiting sign-in (the
/// registration answer was made with the passkey over a fresh challenge) and the request
/// resumes with two factors.
async fn org_required_enrolment_with_a_passkey(backend: Backend) {
    let Some(app) = spawn_localhost(backend).await else {
        return;
    };
    require_mfa(&app, true).await;
    let client = register_client(&app).await;
    let (b, to) = password_for(&app, &client.id).await;
    assert_eq!(to, "/settings/security", "taken to enrol");
    let claims = enrol_for_the_sign_in(&app, &b, &client).await;
    assert_eq!(amr(&claims), ["pwd", "swk", "mfa"]);
    assert_eq!(claims["acr"], "urn:mintgate:acr:mfa");
}

both!(
    org_required_enrolment_with_a_passkey,
    an_answer_is_used_once_across_instances,
    second_factor_after_password,
    passwordless_sign_in,
    counter_rollback_refused,
    challenge_of_another_flow_refused,
    bad_input_is_refused,
    rename_and_remove,
    no_passkeys_without_a_domain,
);

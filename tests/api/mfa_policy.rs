//! Policy and claims (issue #10): `acr`/`amr`/`auth_time` in ID tokens, introspection and
//! `/v1/auth/verify`; `acr_values` and step-up through the sign-in flow; the organisation MFA
//! requirement, enforced before any token or credential is issued.

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};
use mintgate::accounts::store::OrgStore;
use mintgate::audit::AuditStore;
use mintgate::clock::Clock;
use serde_json::Value;

use crate::both;
use crate::helpers::*;
use crate::mfa_support::*;
use crate::oauth_support::*;

const MFA: &str = "urn:mintgate:acr:mfa";
const PWD: &str = "urn:mintgate:acr:pwd";

/// Runs `sql` on the app's database, as another connection would.
async fn exec(app: &TestApp, sql: String) {
    let url = app.settings.database.url.clone().expect("a database URL");
    tokio::task::spawn_blocking(move || {
        if url.starts_with("postgres") {
            let mut c = PgConnection::establish(&url).unwrap();
            c.batch_execute(&sql).unwrap();
        } else {
            let mut c = SqliteConnection::establish(&url).unwrap();
            c.batch_execute("PRAGMA busy_timeout = 5000").unwrap();
            c.batch_execute(&sql).unwrap();
        }
    })
    .await
    .unwrap();
}

/// Gives `username` a confirmed TOTP enrolment directly in the store (the seed sealed as the
/// TOTP pages seal it); returns the seed.
async fn give_totp(app: &TestApp, username: &str) -> Vec<u8> {
    let id = user_id(app, username).await;
    let seed = mintgate::crypto::random_bytes::<20>().to_vec();
    let sealed = app.state.secrets.seal(&format!("totp:{id}"), &seed);
    let now = app.clock.now();
    exec(
        app,
        format!(
            "INSERT INTO totp_credentials (user_id, secret, confirmed, last_step, created_at, \
             confirmed_at) VALUES ('{id}', '{sealed}', TRUE, NULL, {now}, {now})"
        ),
    )
    .await;
    seed
}

/// Answers the second-factor page with the current TOTP code of `seed`, through the form the
/// page shows for it; returns where that sends the browser.
async fn answer_totp(app: &TestApp, b: &reqwest::Client, seed: &[u8]) -> String {
    let res = b.get(app.url("/login/factor")).send().await.unwrap();
    assert_eq!(res.status(), 200, "the factor page waits for the code");
    let page = res.text().await.unwrap();
    let (action, fields) = {
        let doc = scraper::Html::parse_document(&page);
        let forms = scraper::Selector::parse("main form").unwrap();
        let code = scraper::Selector::parse("input[name=code]").unwrap();
        let hidden = scraper::Selector::parse("input[type=hidden]").unwrap();
        let form = doc
            .select(&forms)
            .find(|f| {
                f.select(&code).next().is_some()
                    && f.value()
                        .attr("action")
                        .is_some_and(|a| !a.contains("recovery"))
            })
            .expect("the factor page has a TOTP form");
        let fields: Vec<(String, String)> = form
            .select(&hidden)
            .map(|e| {
                (
                    e.value().attr("name").unwrap_or_default().to_owned(),
                    e.value().attr("value").unwrap_or_default().to_owned(),
                )
            })
            .collect();
        (form.value().attr("action").unwrap().to_owned(), fields)
    };
    let mut form = fields;
    form.push(("code".into(), totp_code(app, seed)));
    let res = b.post(app.url(&action)).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    location(res.headers())
}

async fn refresh(app: &TestApp, client: &TestClient, token: &str) -> (u16, Value) {
    post_form(
        app,
        "/oauth/token",
        client,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

async fn verify(app: &TestApp, token: &str) -> (u16, Value) {
    let res = new_client()
        .get(app.url("/v1/auth/verify"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

/// Starts a device authorization for the CLI client: the device authorization response.
async fn start_device(app: &TestApp) -> Value {
    new_client()
        .post(app.url("/oauth/device_authorization"))
        .form(&[("client_id", "mintgate-cli"), ("scope", "openid read:org")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Enters the user code of `device` on the device page as `b`, then allows it; returns the
/// page's CSRF token and each answer's status and location.
async fn approve_device(
    app: &TestApp,
    b: &reqwest::Client,
    device: &Value,
) -> (String, Vec<(u16, Option<String>)>) {
    let user_code = device["user_code"].as_str().unwrap();
    let page = b
        .get(app.url("/device"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = form_value(&page, "csrf").unwrap();
    let mut answers = Vec::new();
    for decision in [None, Some("allow")] {
        let mut form = vec![("csrf", csrf.as_str()), ("user_code", user_code)];
        form.extend(decision.map(|d| ("decision", d)));
        let res = b.post(app.url("/device")).form(&form).send().await.unwrap();
        let to = res
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        answers.push((res.status().as_u16(), to));
    }
    (csrf, answers)
}

/// The CLI client's device-code exchange for `device`.
async fn device_token(app: &TestApp, device: &Value) -> (u16, Value) {
    let cli = TestClient {
        id: "mintgate-cli".into(),
        secret: None,
    };
    let exchange = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("device_code", device["device_code"].as_str().unwrap()),
    ];
    post_form(app, "/oauth/token", &cli, &exchange).await
}

/// An unmet-requirement answer at the client's redirect URI, with `state` and `iss`.
fn assert_error(app: &TestApp, to: &str, error: &str) {
    assert!(to.starts_with(REDIRECT), "answered at the client: {to}");
    let q = query_of(to);
    assert_eq!(q.get("error").map(String::as_str), Some(error), "{to}");
    assert_eq!(q["state"], "st4te");
    assert_eq!(q["iss"], app.settings.server.issuer_str());
    assert!(!q.contains_key("code"));
}

async fn discovery_lists_the_acr_values(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let doc: Value = app
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(doc["acr_values_supported"], serde_json::json!([PWD, MFA]));
}

/// A password sign-in is `pwd` in the ID token, at introspection and at `/v1/auth/verify`,
/// with the `auth_time` of the sign-in; an unknown `acr_values` is ignored.
async fn tokens_report_amr_acr_and_auth_time(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = session_client(&app, "RP").await;
    let rs = register(&app, client_spec("Resource server")).await;
    let b = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let signed_in_at = app.clock.now();
    app.clock.advance(5);
    let to = first_stop(
        &b,
        &session_url(&app, &client, &[("acr_values", "urn:other:gold")]),
    )
    .await;
    let tokens = redeem_code(&app, &client, &to).await;
    let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["acr"], PWD);
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert_eq!(claims["auth_time"], signed_in_at);
    let access = tokens["access_token"].as_str().unwrap();
    let seen = introspect(&app, &rs, access).await;
    assert_eq!(
        (&seen["acr"], &seen["amr"], &seen["auth_time"]),
        (
            &Value::from(PWD),
            &serde_json::json!(["pwd"]),
            &Value::from(signed_in_at)
        )
    );
    let refresh_seen = introspect(&app, &rs, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refresh_seen["acr"], PWD);
    let (status, body) = verify(&app, access).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["acr"], PWD);
    assert_eq!(body["amr"], serde_json::json!(["pwd"]));
    assert!(body["auth_time"].is_string(), "{body}");
}

/// Device-flow tokens carry the sign-in of the session that approved them: its `amr`, `acr`
/// and `auth_time`, in the ID token and at introspection.
async fn device_tokens_inherit_the_approving_sign_in(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let rs = register(&app, client_spec("Resource server")).await;
    let b = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let signed_in_at = app.clock.now();
    app.clock.advance(30);
    let device = start_device(&app).await;
    let (_, answers) = approve_device(&app, &b, &device).await;
    for (status, _) in answers {
        assert_eq!(status, 200);
    }
    let (status, tokens) = device_token(&app, &device).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(
        (&claims["acr"], &claims["amr"], &claims["auth_time"]),
        (
            &Value::from(PWD),
            &serde_json::json!(["pwd"]),
            &Value::from(signed_in_at)
        )
    );
    let seen = introspect(&app, &rs, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(
        (&seen["acr"], &seen["amr"], &seen["auth_time"]),
        (
            &Value::from(PWD),
            &serde_json::json!(["pwd"]),
            &Value::from(signed_in_at)
        )
    );
}

/// A device approved at a password-only sign-in before the organisation required a second
/// factor gets no token once it does: the device-code exchange makes a grant, and a grant
/// short of the requirement issues nothing (the rule refresh and code redemption apply).
async fn a_device_approved_before_the_requirement_gets_no_token(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let b = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let device = start_device(&app).await;
    let (_, answers) = approve_device(&app, &b, &device).await;
    for (status, _) in answers {
        assert_eq!(status, 200);
    }
    require_mfa(&app, true).await;
    let (status, body) = device_token(&app, &device).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
    assert!(body.get("access_token").is_none());
}

/// `acr_values=urn:mintgate:acr:mfa` for a user with no second factor (and no organisation
/// requirement) cannot be met: `unmet_authentication_requirements` at the redirect URI, for a
/// signed-in browser at once, and for a signed-out one after the sign-in.
async fn an_acr_that_cannot_be_met_is_answered_unmet(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = session_client(&app, "RP").await;
    let b = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let url = session_url(&app, &client, &[("acr_values", MFA)]);
    let to = first_stop(&b, &url).await;
    assert_error(&app, &to, "unmet_authentication_requirements");
    let silent = session_url(&app, &client, &[("acr_values", MFA), ("prompt", "none")]);
    let to = first_stop(&b, &silent).await;
    assert_error(&app, &to, "unmet_authentication_requirements");
    let fresh = new_client();
    let login = first_stop(&fresh, &url).await;
    let back = sign_in_at(&app, &fresh, &login, (ADMIN_USERNAME, ADMIN_PASSWORD)).await;
    let to = follow(&app, &fresh, back).await;
    assert_error(&app, &to, "unmet_authentication_requirements");
}

/// A member of an organisation requiring MFA without a second factor is taken to enrolment
/// after the password, and no code is issued by any path: the authorization endpoint (also under
/// `prompt=none`), the consent form, device approval, refresh or `/v1` with a grant made before
/// the requirement, and the API key pages. Turning the requirement off lets the old grant work.
async fn the_organisation_requirement_sends_members_to_enrol_and_issues_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = session_client(&app, "RP").await;
    let consented = register(&app, client_spec("Consent RP")).await;
    app.create_user("carol", "carol-password-1").await;
    let carol = ("carol", "carol-password-1");
    // A grant made before the requirement.
    let before = signed_in(&app, carol.0, carol.1).await;
    let to = first_stop(&before, &session_url(&app, &client, &[])).await;
    let old = redeem_code(&app, &client, &to).await;
    require_mfa(&app, true).await;

    let (status, body) = refresh(&app, &client, old["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        (status, &body["error"]),
        (400, &Value::from("invalid_grant")),
        "{body}"
    );
    let (status, _) = verify(&app, old["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 401, "/v1 refuses the old grant's token");
    // Every reader of a token applies the same rule: introspection and userinfo too.
    let rs = register(&app, client_spec("Resource server")).await;
    for token in [&old["access_token"], &old["refresh_token"]] {
        let seen = introspect(&app, &rs, token.as_str().unwrap()).await;
        assert_eq!(seen["active"], false, "{seen}");
    }
    let res = reqwest::Client::new()
        .get(app.url("/oauth/userinfo"))
        .bearer_auth(old["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "userinfo refuses the old grant's token");

    // Signing in for an authorization request: to enrolment, no code.
    let b = new_client();
    let url = session_url(&app, &client, &[]);
    let login = first_stop(&b, &url).await;
    let to = sign_in_at(&app, &b, &login, carol).await;
    assert_eq!(to, "/settings/security", "taken to enrol a second factor");
    let res = b
        .get(app.url("/oauth/authorize/resume"))
        .send()
        .await
        .unwrap();
    assert!(!location(res.headers()).contains("code="));
    // The signed-in session asks again: to enrolment, never a code.
    assert_eq!(first_stop(&b, &url).await, "/settings/security");
    let to = first_stop(&b, &session_url(&app, &client, &[("prompt", "none")])).await;
    assert_error(&app, &to, "interaction_required");
    // The consent form cannot be posted past it either.
    let consent_url = auth_url(&app, &consented.id, &[]);
    assert_eq!(first_stop(&b, &consent_url).await, "/settings/security");
    let account = b
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut form: Vec<(String, String)> = query_of(&consent_url).into_iter().collect();
    form.push(("csrf".into(), form_value(&account, "csrf").unwrap()));
    form.push(("decision".into(), "allow".into()));
    let res = b
        .post(app.url("/oauth/consent"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "no consent past the requirement");
    // Device approval: the session is sent to enrol, nothing is recorded.
    let device = start_device(&app).await;
    let (csrf, answers) = approve_device(&app, &b, &device).await;
    for (status, to) in answers {
        assert_eq!(status, 303);
        assert_eq!(to.as_deref(), Some("/settings/security"));
    }
    let (status, body) = device_token(&app, &device).await;
    assert_eq!(body["error"], "authorization_pending", "{status} {body}");
    // No API key from the pages.
    let res = b.get(app.url("/settings/api-keys")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = b
        .post(app.url("/settings/api-keys"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "k"),
            ("scope", "read:org"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    require_mfa(&app, false).await;
    let seen = introspect(&app, &rs, old["access_token"].as_str().unwrap()).await;
    assert_eq!(seen["active"], true, "{seen}");
    let (status, body) = refresh(&app, &client, old["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        status, 200,
        "the requirement lifted, the old grant works: {body}"
    );
}

/// `mintgate org set NAME --require-mfa true|false`: set, shown, audited; a value that is not a
/// boolean is refused and changes nothing.
async fn the_cli_sets_the_requirement(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let db2 = db.clone();
    tokio::task::spawn_blocking(move || {
        let (code, _, err) = crate::cli::run(
            &db2,
            &["org", "set", "default", "--require-mfa", "maybe"],
            "",
        );
        assert_eq!(code, 2, "{err}");
        let (code, out, err) = crate::cli::run(
            &db2,
            &["org", "set", "default", "--require-mfa", "true", "--json"],
            "",
        );
        assert_eq!(code, 0, "{err}");
        let shown: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(shown["require_mfa"], true);
        let (code, out, _) = crate::cli::run(&db2, &["org", "set", "default"], "");
        assert_eq!(code, 0);
        assert!(out.contains("second factor required"), "{out}");
    })
    .await
    .unwrap();
    let app = spawn_on(&db, mintgate::clock::ManualClock::starting_now(), |_| {}).await;
    let state = app.state.clone();
    let (org, event) = tokio::task::spawn_blocking(move || {
        (
            state.store.find_org("default").unwrap().unwrap(),
            state.store.recent_events(1).unwrap().remove(0),
        )
    })
    .await
    .unwrap();
    assert!(org.require_mfa);
    assert_eq!(event.kind, "org.require_mfa.set");
    assert_eq!(event.detail.as_deref(), Some("true"));
    assert_eq!(event.user_agent.as_deref(), Some("mintgate-cli"));
}

/// Settings > Organisation: administrators of the organisation only, with a CSRF form, audited;
/// a session short of the requirement cannot turn it off.
async fn the_organisation_page_sets_the_requirement(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("carol", "carol-password-1").await;
    let carol = signed_in(&app, "carol", "carol-password-1").await;
    let res = carol
        .get(app.url("/settings/organisation"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "a member administers nothing");
    let org_id = tokio::task::spawn_blocking({
        let state = app.state.clone();
        move || {
            state
                .store
                .find_org("default")
                .unwrap()
                .unwrap()
                .id
                .to_string()
        }
    })
    .await
    .unwrap();
    let account = carol
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let carol_csrf = form_value(&account, "csrf").unwrap();
    let res = carol
        .post(app.url("/settings/organisation"))
        .form(&[
            ("csrf", carol_csrf.as_str()),
            ("org", &org_id),
            ("require_mfa", "true"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "a member cannot set it");

    assert!(
        !account.contains("/settings/organisation"),
        "no link for a member"
    );
    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let account = admin
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        account.contains("href=\"/settings/organisation\""),
        "linked for an admin"
    );
    let page = admin
        .get(app.url("/settings/organisation"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("optional"), "{page}");
    let csrf = form_value(&page, "csrf").unwrap();
    let res = admin
        .post(app.url("/settings/organisation"))
        .form(&[("org", org_id.as_str()), ("require_mfa", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "no CSRF token, no change");
    let res = admin
        .post(app.url("/settings/organisation"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("org", &org_id),
            ("require_mfa", "maybe"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "a value that is not a boolean");
    let required = |app: &TestApp| {
        let state = app.state.clone();
        tokio::task::spawn_blocking(move || {
            state
                .store
                .find_org("default")
                .unwrap()
                .unwrap()
                .require_mfa
        })
    };
    assert!(!required(&app).await.unwrap());
    let res = admin
        .post(app.url("/settings/organisation"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("org", &org_id),
            ("require_mfa", "true"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(required(&app).await.unwrap());
    let event = tokio::task::spawn_blocking({
        let state = app.state.clone();
        move || state.store.recent_events(1).unwrap().remove(0)
    })
    .await
    .unwrap();
    assert_eq!(event.kind, "org.require_mfa.set");
    assert_eq!(event.detail.as_deref(), Some("true"));
    assert_eq!(event.subject.as_deref(), Some("default"));
    assert!(event.user_id.is_some(), "who did it");
    // The admin's own password-only session is now short of it: it cannot turn it off.
    let res = admin
        .post(app.url("/settings/organisation"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("org", &org_id),
            ("require_mfa", "false"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(required(&app).await.unwrap());
}

/// A signed-in user who has a second factor since their password sign-in steps up for
/// `acr_values=…mfa`: only the code is asked (the factor page, not the sign-in page), the
/// session keeps its `sid`, and another client's refresh token keeps working. `prompt=none`
/// that would need the step-up is `login_required`.
async fn acr_values_step_the_session_up_in_place(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let first = session_client(&app, "First RP").await;
    let second = session_client(&app, "Second RP").await;
    let b = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let to = first_stop(&b, &session_url(&app, &first, &[])).await;
    let first_tokens = redeem_code(&app, &first, &to).await;
    let first_claims = jwt_claims(first_tokens["id_token"].as_str().unwrap());
    let seed = give_totp(&app, ADMIN_USERNAME).await;
    app.clock.advance(60);

    let silent = session_url(&app, &second, &[("acr_values", MFA), ("prompt", "none")]);
    assert_error(&app, &first_stop(&b, &silent).await, "login_required");
    let to = first_stop(&b, &session_url(&app, &second, &[("acr_values", MFA)])).await;
    assert_eq!(to, "/login/factor", "only the second factor is asked");
    let back = answer_totp(&app, &b, &seed).await;
    let to = follow(&app, &b, back).await;
    let second_tokens = redeem_code(&app, &second, &to).await;
    let claims = jwt_claims(second_tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["acr"], MFA);
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["sid"], first_claims["sid"], "the same session");
    assert_eq!(claims["auth_time"], app.clock.now(), "the time of the code");
    let (status, body) = refresh(
        &app,
        &first,
        first_tokens["refresh_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, 200, "the other client's tokens live on: {body}");
    // The stepped-up session now meets the request without asking.
    let to = first_stop(&b, &session_url(&app, &second, &[("acr_values", MFA)])).await;
    assert!(query_of(&to).contains_key("code"), "{to}");
}

/// A step-up flow carries the session's password; once that session is signed out, the flow
/// left in the browser must not sign anyone in with the second factor alone (someone at the
/// same browser holding only a code, or a recovery code, would become the user with `mfa`).
async fn a_step_up_ends_with_its_session(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = session_client(&app, "RP").await;
    let b = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let seed = give_totp(&app, ADMIN_USERNAME).await;
    app.clock.advance(60);
    let to = first_stop(&b, &session_url(&app, &client, &[("acr_values", MFA)])).await;
    assert_eq!(to, "/login/factor", "the step-up asks for the code");
    let page = b
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = form_value(&page, "csrf").unwrap();
    let res = b
        .post(app.url("/logout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "signed out");
    // The code alone, in the signed-out browser that still holds the step-up's flow cookie.
    let back = answer_totp(&app, &b, &seed).await;
    let to = follow(&app, &b, back).await;
    assert!(!to.starts_with(REDIRECT), "no code for the client: {to}");
    let res = b.get(app.url("/account")).send().await.unwrap();
    assert_eq!(res.status(), 303, "not signed in");
    assert!(location(res.headers()).starts_with("/login"));
}

/// A signed-in member whose organisation requires MFA is sent from the authorization endpoint
/// to enrol (the step-up flow waiting), and once a TOTP enrolment is confirmed the request goes
/// on to a code for a two-factor sign-in.
async fn a_member_enrols_from_the_authorization_endpoint_then_gets_the_code(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = session_client(&app, "RP").await;
    app.create_user("carol", "carol-password-1").await;
    let b = signed_in(&app, "carol", "carol-password-1").await;
    require_mfa(&app, true).await;
    assert_eq!(
        first_stop(&b, &session_url(&app, &client, &[])).await,
        "/settings/security"
    );
    let (_, page) = start_totp(&app, &b).await;
    let seed = totp_key(&page);
    let code = totp_code(&app, seed.as_bytes());
    let (status, page) = confirm_totp(&app, &b, &code).await;
    assert_eq!(status, 200);
    let next = continue_link(&page);
    let to = follow(&app, &b, next).await;
    let tokens = redeem_code(&app, &client, &to).await;
    let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["acr"], MFA);
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
}

/// `prompt=login` for a user with TOTP asks for the password and then the code.
async fn prompt_login_with_totp_asks_for_password_and_code(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = session_client(&app, "RP").await;
    let b = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let seed = give_totp(&app, ADMIN_USERNAME).await;
    app.clock.advance(60);
    let login = first_stop(&b, &session_url(&app, &client, &[("prompt", "login")])).await;
    assert!(login.starts_with("/login?"), "the password first: {login}");
    let to = sign_in_at(&app, &b, &login, (ADMIN_USERNAME, ADMIN_PASSWORD)).await;
    assert_eq!(to, "/login/factor", "then the code");
    let res = b
        .get(app.url("/oauth/authorize/resume"))
        .send()
        .await
        .unwrap();
    assert!(
        !location(res.headers()).contains("code="),
        "no code before the second factor"
    );
    let back = answer_totp(&app, &b, &seed).await;
    let to = follow(&app, &b, back).await;
    let tokens = redeem_code(&app, &client, &to).await;
    let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], MFA);
}

both!(
    discovery_lists_the_acr_values,
    tokens_report_amr_acr_and_auth_time,
    device_tokens_inherit_the_approving_sign_in,
    a_device_approved_before_the_requirement_gets_no_token,
    a_step_up_ends_with_its_session,
    an_acr_that_cannot_be_met_is_answered_unmet,
    the_organisation_requirement_sends_members_to_enrol_and_issues_nothing,
    the_organisation_page_sets_the_requirement,
    the_cli_sets_the_requirement,
    acr_values_step_the_session_up_in_place,
    prompt_login_with_totp_asks_for_password_and_code,
    a_member_enrols_from_the_authorization_endpoint_then_gets_the_code,
);

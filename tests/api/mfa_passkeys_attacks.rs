//! Passkey defects found by attacking the running server, each pinned by a test.

use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::prelude::CreationChallengeResponse;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

use crate::both;
use crate::helpers::*;
use crate::mfa_passkeys::{
    discoverable_answer, json_of, origin, register, security_page, spawn_localhost,
};

/// A passkey sign-in from `/login?return_to=X` goes to X, even when an earlier sign-in page in
/// the same browser (whose autofill began a ceremony for `/account`) left its flow behind.
async fn a_passkey_sign_in_goes_where_its_page_says(backend: Backend) {
    let Some(app) = spawn_localhost(backend).await else {
        return;
    };
    app.sign_in_admin().await;
    let mut auth = SoftPasskey::new(true);
    let credential_id = register(&app, &app.client, &mut auth, "Laptop").await;
    let handle = mintgate::mfa::passkeys::user_handle(&user_id(&app, ADMIN_USERNAME).await);

    let b = new_client();
    let csrf = app.login_csrf_with(&b).await;
    // The plain sign-in page, opened first: autofill begins a ceremony for /account.
    let res = b
        .post(app.url("/login/passkey/begin"))
        .form(&[("csrf", csrf.as_str()), ("return_to", "/account")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Then the sign-in page for the security page.
    let fields = [("csrf", csrf.as_str()), ("return_to", "/settings/security")];
    let res = b
        .post(app.url("/login/passkey/begin"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    let (status, options) = json_of(res).await;
    assert_eq!(status, 200, "{options}");
    let answer = discoverable_answer(&app, &mut auth, options, &credential_id, handle.as_bytes());
    let res = b
        .post(app.url("/login/passkey/finish"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("return_to", "/settings/security"),
            ("credential", answer.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(res).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["location"], "/settings/security");
}

/// A registration is used once: its sealed cookie, sent again (by hand: the page's answer
/// removed it) with another authenticator's answer to the same challenge, registers nothing,
/// and neither do concurrent finishes beyond one.
async fn a_registration_cookie_is_used_once(backend: Backend) {
    let Some(mut app) = spawn_localhost(backend).await else {
        return;
    };
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    app.client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    app.sign_in_admin().await;
    let csrf = form_value(&security_page(&app, &app.client).await, "csrf").unwrap();
    let res = app
        .client
        .post(app.url("/settings/security/passkeys/begin"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let cookie = set_cookies(res.headers())
        .into_iter()
        .find(|c| c.starts_with("mg_passkey_reg="))
        .unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let (_, options) = json_of(res).await;
    let options: CreationChallengeResponse = serde_json::from_value(options).unwrap();
    let answers: Vec<String> = (0..6)
        .map(|_| {
            let answer = SoftPasskey::new(true)
                .do_registration(origin(&app), options.clone())
                .unwrap();
            serde_json::to_string(&answer).unwrap()
        })
        .collect();
    let url: reqwest::Url = app.url("/").parse().unwrap();
    let mut statuses = Vec::new();
    // One after another, then the rest at once.
    for answer in &answers[..2] {
        jar.add_cookie_str(&cookie, &url);
        let res = app
            .client
            .post(app.url("/settings/security/passkeys/finish"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("name", "Key"),
                ("credential", answer.as_str()),
            ])
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    jar.add_cookie_str(&cookie, &url);
    let posts = answers[2..].iter().map(|answer| {
        app.client
            .post(app.url("/settings/security/passkeys/finish"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("name", "Key"),
                ("credential", answer.as_str()),
            ])
            .send()
    });
    for res in futures::future::join_all(posts).await {
        statuses.push(res.unwrap().status().as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );
    let page = security_page(&app, &app.client).await;
    assert_eq!(page.matches("data-passkey-id").count(), 1, "one passkey");
}

/// The passkey endpoints answer JSON even when the request never reaches the handler: a body
/// too large, a cross-site `text/plain` post, a forged CSRF token or a foreign origin, another
/// sign-in begun meanwhile. 4xx, `{"error": message}`, never a page the script cannot read.
async fn passkey_endpoints_fail_as_json(backend: Backend) {
    let Some(app) = spawn_localhost(backend).await else {
        return;
    };
    app.sign_in_admin().await;
    let b = new_client();
    let csrf = app.login_csrf_with(&b).await;
    let big = "A".repeat(3_000_000);
    let own = app.settings.server.issuer.origin().ascii_serialization();
    let cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
        (
            "too large",
            b.post(app.url("/login/passkey/finish"))
                .form(&[("csrf", csrf.as_str()), ("credential", big.as_str())]),
            413,
        ),
        (
            "text/plain",
            b.post(app.url("/login/passkey/begin"))
                .header("content-type", "text/plain")
                .body(format!("csrf={csrf}")),
            400,
        ),
        (
            "foreign origin",
            b.post(app.url("/login/passkey/begin"))
                .header("origin", "http://localhost.evil")
                .form(&[("csrf", csrf.as_str())]),
            403,
        ),
        (
            "another sign-in",
            b.post(app.url("/login/passkey/begin")).form(&[
                ("csrf", csrf.as_str()),
                ("return_to", "/oauth/authorize/resume"),
                ("flow", "0000000000000000"),
            ]),
            400,
        ),
        (
            "forged token",
            app.client
                .post(app.url("/settings/security/passkeys/begin"))
                .header("origin", own.as_str())
                .form(&[("csrf", "forged")]),
            403,
        ),
        (
            "factor without a flow",
            b.post(app.url("/login/factor/passkey/finish"))
                .form(&[("csrf", csrf.as_str()), ("credential", "{}")]),
            400,
        ),
    ];
    for (what, request, status) in cases {
        let res = request.send().await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{what}");
        let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(
            content_type.starts_with("application/json"),
            "{what}: {content_type}"
        );
        let (_, body) = json_of(res).await;
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{what}: {body}"
        );
    }
}

both!(
    passkey_endpoints_fail_as_json,
    a_passkey_sign_in_goes_where_its_page_says,
    a_registration_cookie_is_used_once,
);

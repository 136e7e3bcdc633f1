//! Passkey defects found by attacking the running server, each pinned by a test.

use webauthn_authenticator_rs::softpasskey::SoftPasskey;

use crate::both;
use crate::helpers::*;
use crate::mfa_passkeys::{admin_id, discoverable_answer, json_of, register, spawn_localhost};

/// A passkey sign-in from `/login?return_to=X` goes to X, even when an earlier sign-in page in
/// the same browser (whose autofill began a ceremony for `/account`) left its flow behind.
async fn a_passkey_sign_in_goes_where_its_page_says(backend: Backend) {
    let Some(app) = spawn_localhost(backend).await else {
        return;
    };
    app.sign_in_admin().await;
    let mut auth = SoftPasskey::new(true);
    let credential_id = register(&app, &app.client, &mut auth, "Laptop").await;
    let handle = mintgate::mfa::passkeys::user_handle(&admin_id(&app).await);

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

both!(a_passkey_sign_in_goes_where_its_page_says,);

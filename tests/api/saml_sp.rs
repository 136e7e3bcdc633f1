//! mintgate as SAML service provider, against Responses signed by `xmlsec1`: SP-initiated
//! sign-in from the sign-in page, JIT and linking, and the refusals (each creating or linking
//! nothing, audited with its reason).

use crate::both;
use crate::helpers::{Backend, TestApp, audit_kinds, new_client, spawn_app};
use crate::saml_sp_support::{
    Params, SpSide, TestIdp, have_xmlsec1, post_to_acs, saml_connection, start_from_login,
};
use crate::sso_idp_support::{groups_of, users_with_email};
use mintgate::clock::Clock;

both!(
    sp_initiated_sign_in_creates_then_links,
    a_signed_response_is_accepted,
    a_response_and_assertion_both_signed_are_accepted,
    an_encrypted_assertion_is_decrypted,
    sp_metadata_is_served,
    an_email_name_id_gives_the_email,
    a_response_larger_than_the_body_limit_is_accepted,
);

/// An app with a SAML connection and its test IdP, or `None` (skipped).
async fn setup(backend: Backend, idp_initiated: bool) -> Option<(TestApp, TestIdp, SpSide)> {
    if !have_xmlsec1() {
        return None;
    }
    let app = spawn_app(backend).await?;
    let idp = TestIdp::new();
    let sp = saml_connection(&app, &idp, idp_initiated).await;
    Some((app, idp, sp))
}

/// A whole SP-initiated sign-in with the Response `edit` makes; the continue page's answer.
pub async fn sign_in_with(
    app: &TestApp,
    idp: &TestIdp,
    sp: &SpSide,
    b: &reqwest::Client,
    email: &str,
    edit: impl FnOnce(&mut Params),
) -> (u16, String) {
    let (request_id, relay) = start_from_login(app, b, email).await;
    let mut p = Params::new(sp, Some(&request_id), app.clock.now(), email);
    edit(&mut p);
    let response = idp.response(&p);
    post_to_acs(app, b, sp, &response, Some(&relay)).await
}

async fn sp_initiated_sign_in_creates_then_links(backend: Backend) {
    let Some((app, idp, sp)) = setup(backend, false).await else {
        return;
    };
    let b = new_client();
    let (status, to) = sign_in_with(&app, &idp, &sp, &b, "alice@acme.test", |_| {}).await;
    assert_eq!((status, to.as_str()), (303, "/account"), "signed in");
    let page = app.account_page_with(&b).await.expect("signed in");
    assert!(page.contains("alice"), "{page}");
    let users = users_with_email(&app, "alice@acme.test").await;
    assert_eq!(users.len(), 1, "one user created");
    assert_eq!(
        groups_of(&app, &users[0].id, &sp.org).await,
        ["Engineering", "Ops"]
    );
    let kinds = audit_kinds(&app).await;
    assert!(kinds.contains(&"sso.user.created".to_owned()), "{kinds:?}");

    // A second sign-in from another browser links to the same user, groups as sent now.
    let b2 = new_client();
    let (status, to) = sign_in_with(&app, &idp, &sp, &b2, "alice@acme.test", |p| {
        p.attributes[2].1 = vec!["Ops".into()];
    })
    .await;
    assert_eq!((status, to.as_str()), (303, "/account"));
    let again = users_with_email(&app, "alice@acme.test").await;
    assert_eq!(again.len(), 1, "no second user");
    assert_eq!(again[0].id, users[0].id);
    assert_eq!(groups_of(&app, &users[0].id, &sp.org).await, ["Ops"]);
}

async fn a_signed_response_is_accepted(backend: Backend) {
    let Some((app, idp, sp)) = setup(backend, false).await else {
        return;
    };
    let (status, to) = sign_in_with(&app, &idp, &sp, &new_client(), "bob@acme.test", |p| {
        p.sign_assertion = false;
        p.sign_response = true;
    })
    .await;
    assert_eq!((status, to.as_str()), (303, "/account"));
}

async fn a_response_and_assertion_both_signed_are_accepted(backend: Backend) {
    let Some((app, idp, sp)) = setup(backend, false).await else {
        return;
    };
    let (status, to) = sign_in_with(&app, &idp, &sp, &new_client(), "bob@acme.test", |p| {
        p.sign_response = true;
    })
    .await;
    assert_eq!((status, to.as_str()), (303, "/account"));
}

async fn an_encrypted_assertion_is_decrypted(backend: Backend) {
    let Some((app, idp, sp)) = setup(backend, false).await else {
        return;
    };
    let cert = sp.sp_cert.clone();
    let (status, to) = sign_in_with(&app, &idp, &sp, &new_client(), "carol@acme.test", |p| {
        // samael needs a signature outside the ciphertext: the Response is signed.
        p.sign_assertion = false;
        p.sign_response = true;
        p.encrypt_to = Some(cert);
    })
    .await;
    assert_eq!((status, to.as_str()), (303, "/account"), "{to}");
    assert_eq!(users_with_email(&app, "carol@acme.test").await.len(), 1);
}

async fn sp_metadata_is_served(backend: Backend) {
    let Some((app, _idp, sp)) = setup(backend, false).await else {
        return;
    };
    let res = app.client.get(&sp.entity_id).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "application/samlmetadata+xml"
    );
    let xml = res.text().await.unwrap();
    assert!(
        xml.contains(&format!("entityID=\"{}\"", sp.entity_id)),
        "{xml}"
    );
    assert!(xml.contains(&sp.acs_url));
    assert!(xml.contains(&sp.sp_cert));
    assert!(xml.contains("use=\"encryption\""));
    assert!(xml.contains("AuthnRequestsSigned=\"true\""));
}

/// Okta's default: the e-mail address as NameID, no e-mail attribute.
async fn an_email_name_id_gives_the_email(backend: Backend) {
    let Some((app, idp, sp)) = setup(backend, false).await else {
        return;
    };
    let (status, to) = sign_in_with(&app, &idp, &sp, &new_client(), "gina@acme.test", |p| {
        p.name_id = "gina@acme.test".into();
        p.name_id_format = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".into();
        p.attributes.retain(|(n, _)| n != "email");
    })
    .await;
    assert_eq!((status, to.as_str()), (303, "/account"), "{to}");
    assert_eq!(users_with_email(&app, "gina@acme.test").await.len(), 1);
}

/// A Response past the server's general body limit (64 KiB), as IdPs with many groups send:
/// the ACS has its own, larger, limit.
async fn a_response_larger_than_the_body_limit_is_accepted(backend: Backend) {
    let Some((app, idp, sp)) = setup(backend, false).await else {
        return;
    };
    let (status, to) = sign_in_with(&app, &idp, &sp, &new_client(), "ivan@acme.test", |p| {
        p.attributes[2].1 = (0..600).map(|i| format!("group-{i:0>90}")).collect();
    })
    .await;
    assert_eq!((status, to.as_str()), (303, "/account"), "{to}");
}

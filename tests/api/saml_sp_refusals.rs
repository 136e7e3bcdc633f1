//! What the SAML ACS refuses, each rule its own test: a Response signed by xmlsec1 and then
//! changed (or made wrong before signing) is refused with its reason audited, and nobody is
//! created or signed in.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::both;
use crate::helpers::{Backend, TestApp, TestDb, new_client, spawn_on};
use crate::mfa_support::require_mfa;
use crate::saml_sp::sign_in_with;
use crate::saml_sp_support::{
    Params, SpSide, TestIdp, assertion, have_xmlsec1, post_only, post_to_acs, refusal_reasons,
    saml_connection, start_from_login,
};
use crate::sso_idp_support::users_with_email;
use mintgate::clock::Clock;

both!(
    a_tampered_name_id_is_refused,
    a_tampered_attribute_is_refused,
    an_unsigned_response_is_refused,
    a_foreign_key_is_refused_whatever_key_info_says,
    a_sha1_signature_is_refused,
    a_wrong_audience_is_refused,
    a_missing_audience_is_refused,
    an_expired_assertion_is_refused,
    an_assertion_not_yet_valid_is_refused,
    a_wrong_destination_is_refused,
    a_wrong_recipient_is_refused,
    a_wrong_issuer_is_refused,
    an_unknown_in_response_to_is_refused,
    a_doctype_is_refused,
    a_second_assertion_is_refused,
    a_signed_assertion_moved_aside_is_refused,
    a_response_for_another_browser_is_refused,
    idp_initiated_is_refused_by_default,
    idp_initiated_is_accepted_when_allowed_once,
    a_replay_is_refused_by_another_instance,
    a_transient_name_id_is_refused,
    mfa_policy_applies_to_saml_sign_ins,
    a_response_used_twice_in_one_browser_is_refused,
    an_email_of_a_foreign_domain_is_refused,
    a_connection_disabled_meanwhile_signs_nobody_in,
    an_external_reference_is_never_fetched,
    an_xslt_transform_never_runs,
);

/// A stylesheet whose run doubles per level: 24 levels take xmlsec ~10 s of CPU.
pub const XSLT_BOMB: &str = r#"<xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0"><xsl:template match="/"><xsl:call-template name="f"><xsl:with-param name="n" select="24"/></xsl:call-template></xsl:template><xsl:template name="f"><xsl:param name="n"/><xsl:if test="$n &gt; 0"><xsl:call-template name="f"><xsl:with-param name="n" select="$n - 1"/></xsl:call-template><xsl:call-template name="f"><xsl:with-param name="n" select="$n - 1"/></xsl:call-template></xsl:if></xsl:template></xsl:stylesheet>"#;

/// xmlsec fetches a Reference's URI before it knows whether the signature verifies: a posted
/// Response must not make the server connect anywhere (SSRF).
async fn an_external_reference_is_never_fetched(backend: Backend) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    refused_after(backend, "unsafe_signature", |xml| {
        let (start, end) = (
            xml.find("<ds:Reference URI=\"").unwrap(),
            xml.find("<ds:Transforms>").unwrap(),
        );
        format!(
            "{}<ds:Reference URI=\"http://127.0.0.1:{port}/ref\">{}",
            &xml[..start],
            &xml[end..]
        )
    })
    .await;
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the server connected to the Reference's URI"
    );
}

/// An XSLT transform (unbounded CPU) is refused before xmlsec would run it.
async fn an_xslt_transform_never_runs(backend: Backend) {
    let started = std::time::Instant::now();
    refused_after(backend, "unsafe_signature", |xml| {
        xml.replacen(
            r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#,
            &format!(
                r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116">{XSLT_BOMB}</ds:Transform>"#
            ),
            1,
        )
    })
    .await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "the stylesheet ran: {:?}",
        started.elapsed()
    );
}

async fn setup(backend: Backend, idp_initiated: bool) -> Option<(TestApp, TestIdp, SpSide)> {
    if !have_xmlsec1() {
        return None;
    }
    let app = crate::helpers::spawn_app(backend).await?;
    let idp = TestIdp::new();
    let sp = saml_connection(&app, &idp, idp_initiated).await;
    Some((app, idp, sp))
}

/// Nobody signed in or created, and the refusal audited with `reason`.
async fn assert_refused(app: &TestApp, (status, body): (u16, String), reason: &str) {
    assert!(
        status == 400 || status == 403,
        "refused, not {status}: {body}"
    );
    assert!(users_with_email(app, "mallory@acme.test").await.is_empty());
    let reasons = refusal_reasons(app).await;
    assert!(
        reasons.contains(&reason.to_owned()),
        "{reason} in {reasons:?}"
    );
}

/// A refusal of the Response `edit` makes before signing.
async fn refused_when(backend: Backend, reason: &str, edit: impl FnOnce(&mut Params)) {
    let Some((app, idp, sp)) = setup(backend, false).await else {
        return;
    };
    let b = new_client();
    let got = sign_in_with(&app, &idp, &sp, &b, "mallory@acme.test", edit).await;
    assert_refused(&app, got, reason).await;
    assert!(app.account_page_with(&b).await.is_none(), "not signed in");
}

/// A refusal of a signed Response changed by `change` (XML text to XML text).
async fn refused_after(backend: Backend, reason: &str, change: impl FnOnce(String) -> String) {
    let Some((app, idp, sp)) = setup(backend, false).await else {
        return;
    };
    let b = new_client();
    let (request_id, relay) = start_from_login(&app, &b, "mallory@acme.test").await;
    let p = Params::new(&sp, Some(&request_id), app.clock.now(), "mallory@acme.test");
    let xml = change(idp.response_xml(&p));
    let got = post_to_acs(&app, &b, &sp, &STANDARD.encode(xml), Some(&relay)).await;
    assert_refused(&app, got, reason).await;
}

async fn a_tampered_name_id_is_refused(backend: Backend) {
    refused_after(backend, "bad_signature", |xml| {
        xml.replace("idp-mallory@acme.test", "idp-alice@acme.test")
    })
    .await;
}

async fn a_tampered_attribute_is_refused(backend: Backend) {
    refused_after(backend, "bad_signature", |xml| {
        xml.replace(">Engineering<", ">Admins<")
    })
    .await;
}

async fn an_unsigned_response_is_refused(backend: Backend) {
    refused_when(backend, "bad_signature", |p| p.sign_assertion = false).await;
}

async fn a_foreign_key_is_refused_whatever_key_info_says(backend: Backend) {
    let Some((app, _idp, sp)) = setup(backend, false).await else {
        return;
    };
    // Another key signs; xmlsec1 puts that key's certificate in KeyInfo.
    let mallory = TestIdp::new();
    let b = new_client();
    let got = sign_in_with(&app, &mallory, &sp, &b, "mallory@acme.test", |_| {}).await;
    assert_refused(&app, got, "bad_signature").await;
}

async fn a_sha1_signature_is_refused(backend: Backend) {
    refused_when(backend, "weak_algorithm", |p| {
        p.sig_alg = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
        p.digest = "http://www.w3.org/2000/09/xmldsig#sha1";
    })
    .await;
}

async fn a_wrong_audience_is_refused(backend: Backend) {
    refused_when(backend, "wrong_audience", |p| {
        p.audience = Some("https://other-sp.test/metadata".into())
    })
    .await;
}

async fn a_missing_audience_is_refused(backend: Backend) {
    refused_when(backend, "no_audience", |p| p.audience = None).await;
}

async fn an_expired_assertion_is_refused(backend: Backend) {
    refused_when(backend, "expired", |p| {
        p.issued -= 600;
        p.not_before -= 600;
        p.not_on_or_after = p.issued + 60;
    })
    .await;
}

async fn an_assertion_not_yet_valid_is_refused(backend: Backend) {
    refused_when(backend, "not_yet_valid", |p| {
        p.not_before += 600;
        p.not_on_or_after += 900;
    })
    .await;
}

async fn a_wrong_destination_is_refused(backend: Backend) {
    refused_when(backend, "wrong_destination", |p| {
        p.destination = Some("https://other-sp.test/acs".into());
        p.sign_response = true;
    })
    .await;
}

async fn a_wrong_recipient_is_refused(backend: Backend) {
    refused_when(backend, "wrong_recipient", |p| {
        p.recipient = "https://other-sp.test/acs".into()
    })
    .await;
}

async fn a_wrong_issuer_is_refused(backend: Backend) {
    refused_when(backend, "wrong_issuer", |p| {
        p.issuer = "https://other-idp.test".into()
    })
    .await;
}

async fn an_unknown_in_response_to_is_refused(backend: Backend) {
    refused_when(backend, "unknown_request", |p| {
        p.in_response_to = Some("_not-our-request".into())
    })
    .await;
}

async fn a_doctype_is_refused(backend: Backend) {
    let Some((app, idp, sp)) = setup(backend, false).await else {
        return;
    };
    let b = new_client();
    let (request_id, relay) = start_from_login(&app, &b, "mallory@acme.test").await;
    let p = Params::new(&sp, Some(&request_id), app.clock.now(), "mallory@acme.test");
    let xml = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY e \"x\">]>{}",
        idp.response_xml(&p)
    );
    // Refused at the ACS already, before anything is kept or parsed.
    let res = new_client()
        .post(&sp.acs_url)
        .form(&[
            ("SAMLResponse", STANDARD.encode(xml).as_str()),
            ("RelayState", &relay),
        ])
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body = res.text().await.unwrap();
    assert_refused(&app, (status, body), "doctype").await;
}

async fn a_second_assertion_is_refused(backend: Backend) {
    let Some((app, idp, sp)) = setup(backend, false).await else {
        return;
    };
    let b = new_client();
    let (request_id, relay) = start_from_login(&app, &b, "mallory@acme.test").await;
    let p = Params::new(&sp, Some(&request_id), app.clock.now(), "mallory@acme.test");
    let good = idp.response_xml(&p);
    // An unsigned assertion for another user in front of the signed one.
    let mut evil = Params::new(&sp, Some(&request_id), app.clock.now(), "mallory@acme.test");
    evil.assertion_id = "_evil".into();
    evil.name_id = "idp-admin@acme.test".into();
    let start = good.find("<saml:Assertion").unwrap();
    let two = format!(
        "{}{}{}",
        &good[..start],
        assertion(&evil, ""),
        &good[start..]
    );
    let got = post_to_acs(&app, &b, &sp, &STANDARD.encode(two), Some(&relay)).await;
    assert_refused(&app, got, "not_one_assertion").await;
}

async fn a_signed_assertion_moved_aside_is_refused(backend: Backend) {
    let Some((app, idp, sp)) = setup(backend, false).await else {
        return;
    };
    let b = new_client();
    let (request_id, relay) = start_from_login(&app, &b, "mallory@acme.test").await;
    let p = Params::new(&sp, Some(&request_id), app.clock.now(), "mallory@acme.test");
    let good = idp.response_xml(&p);
    let mut evil = Params::new(&sp, Some(&request_id), app.clock.now(), "mallory@acme.test");
    evil.name_id = "idp-admin@acme.test".into();
    // The signed assertion under Extensions; an unsigned one with its ID in its place.
    let start = good.find("<saml:Assertion").unwrap();
    let end = good.find("</samlp:Response>").unwrap();
    let signed = &good[start..end];
    let wrapped = format!(
        "{}<samlp:Extensions>{signed}</samlp:Extensions>{}</samlp:Response>",
        &good[..start],
        assertion(&evil, "")
    );
    let got = post_to_acs(&app, &b, &sp, &STANDARD.encode(wrapped), Some(&relay)).await;
    assert_refused(&app, got, "not_one_assertion").await;
}

/// Login CSRF: a Response the attacker obtained for their own browser's sign-in, delivered to
/// the victim's browser, signs the victim in as nobody.
async fn a_response_for_another_browser_is_refused(backend: Backend) {
    let Some((app, idp, sp)) = setup(backend, false).await else {
        return;
    };
    let attacker = new_client();
    let (request_id, relay) = start_from_login(&app, &attacker, "mallory@acme.test").await;
    let p = Params::new(&sp, Some(&request_id), app.clock.now(), "mallory@acme.test");
    let response = idp.response(&p);
    // The victim without a sign-in of their own: no pending request to answer.
    let victim = new_client();
    let got = post_to_acs(&app, &victim, &sp, &response, Some(&relay)).await;
    assert_refused(&app, got, "unknown_request").await;
    assert!(app.account_page_with(&victim).await.is_none());
    // The victim with a sign-in of their own: the RelayState (then InResponseTo) is not theirs.
    let victim = new_client();
    let (_, victim_relay) = start_from_login(&app, &victim, "victim@acme.test").await;
    let got = post_to_acs(&app, &victim, &sp, &response, Some(&relay)).await;
    assert_refused(&app, got, "bad_relay_state").await;
    let got = post_to_acs(&app, &victim, &sp, &response, Some(&victim_relay)).await;
    assert_refused(&app, got, "unknown_request").await;
    assert!(app.account_page_with(&victim).await.is_none());
}

async fn idp_initiated_is_refused_by_default(backend: Backend) {
    let Some((app, idp, sp)) = setup(backend, false).await else {
        return;
    };
    let p = Params::new(&sp, None, app.clock.now(), "mallory@acme.test");
    let b = new_client();
    let got = post_to_acs(&app, &b, &sp, &idp.response(&p), None).await;
    assert_refused(&app, got, "idp_initiated_refused").await;
}

async fn idp_initiated_is_accepted_when_allowed_once(backend: Backend) {
    let Some((app, idp, sp)) = setup(backend, true).await else {
        return;
    };
    let p = Params::new(&sp, None, app.clock.now(), "dave@acme.test");
    let response = idp.response(&p);
    let b = new_client();
    let (status, to) = post_to_acs(&app, &b, &sp, &response, Some("https://idp/any")).await;
    assert_eq!((status, to.as_str()), (303, "/"), "signed in, landing on /");
    assert!(app.account_page_with(&b).await.is_some());
    assert_eq!(users_with_email(&app, "dave@acme.test").await.len(), 1);
    // The same Response again, in another browser: a replay.
    let b2 = new_client();
    let got = post_to_acs(&app, &b2, &sp, &response, None).await;
    assert!(got.0 == 403, "{got:?}");
    assert!(refusal_reasons(&app).await.contains(&"replayed".to_owned()));
    assert!(app.account_page_with(&b2).await.is_none());
}

/// The replay record is in the database: another instance refuses what the first accepted.
async fn a_replay_is_refused_by_another_instance(backend: Backend) {
    if !have_xmlsec1() {
        return;
    }
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let clock = mintgate::clock::ManualClock::starting_now();
    let one = spawn_on(&db, clock.clone(), |_| {}).await;
    let issuer = one.settings.server.issuer.clone();
    let two = spawn_on(&db, clock.clone(), move |s| s.server.issuer = issuer).await;
    let idp = TestIdp::new();
    let sp = saml_connection(&one, &idp, true).await;
    let p = Params::new(&sp, None, clock.now(), "erin@acme.test");
    let response = idp.response(&p);
    let (status, _) = post_to_acs(&one, &new_client(), &sp, &response, None).await;
    assert_eq!(status, 303);
    // The same Response at the second instance (its own address, the same URLs).
    let cont = post_only(&one, &sp, &response, None).await;
    let b = new_client();
    let res = b.get(two.url(&cont)).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert!(refusal_reasons(&two).await.contains(&"replayed".to_owned()));
}

async fn a_transient_name_id_is_refused(backend: Backend) {
    refused_when(backend, "transient_name_id", |p| {
        p.name_id_format = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient".into()
    })
    .await;
}

async fn mfa_policy_applies_to_saml_sign_ins(backend: Backend) {
    let Some((app, idp, sp)) = setup(backend, false).await else {
        return;
    };
    require_mfa(&app, true).await;
    let got = sign_in_with(&app, &idp, &sp, &new_client(), "frank@acme.test", |_| {}).await;
    assert_eq!(
        (got.0, got.1.as_str()),
        (303, "/settings/security"),
        "the organisation's second factor is enrolled first"
    );
}

async fn a_response_used_twice_in_one_browser_is_refused(backend: Backend) {
    let Some((app, idp, sp)) = setup(backend, false).await else {
        return;
    };
    let b = new_client();
    let (request_id, relay) = start_from_login(&app, &b, "hank@acme.test").await;
    let p = Params::new(&sp, Some(&request_id), app.clock.now(), "hank@acme.test");
    let response = idp.response(&p);
    let (status, to) = post_to_acs(&app, &b, &sp, &response, Some(&relay)).await;
    assert_eq!((status, to.as_str()), (303, "/account"));
    // Again, the browser's pending sign-in gone: nothing to answer.
    let (status, _) = post_to_acs(&app, &b, &sp, &response, Some(&relay)).await;
    assert_eq!(status, 403);
    // And the kept message's id is single use.
    let cont = post_only(&app, &sp, &response, Some(&relay)).await;
    let first = b.get(app.url(&cont)).send().await.unwrap().status();
    let second = b.get(app.url(&cont)).send().await.unwrap();
    assert_eq!(first, 403);
    assert_eq!(second.status(), 400);
    assert!(
        refusal_reasons(&app)
            .await
            .contains(&"no_message".to_owned())
    );
}

async fn an_email_of_a_foreign_domain_is_refused(backend: Backend) {
    let Some((app, idp, sp)) = setup(backend, false).await else {
        return;
    };
    let b = new_client();
    let got = sign_in_with(&app, &idp, &sp, &b, "mallory@acme.test", |p| {
        p.attributes[0].1 = vec!["mallory@other.test".into()];
    })
    .await;
    assert_refused(&app, got, "foreign_domain").await;
    assert!(
        users_with_email(&app, "mallory@other.test")
            .await
            .is_empty()
    );
}

async fn a_connection_disabled_meanwhile_signs_nobody_in(backend: Backend) {
    let Some((app, idp, sp)) = setup(backend, false).await else {
        return;
    };
    let b = new_client();
    let (request_id, relay) = start_from_login(&app, &b, "mallory@acme.test").await;
    let (state, org, id) = (app.state.clone(), sp.org.clone(), sp.connection.id.clone());
    tokio::task::spawn_blocking(move || {
        mintgate::federation::connections::set_enabled(
            &state.store,
            state.clock.as_ref(),
            &org,
            &id,
            false,
            None,
            &Default::default(),
        )
        .unwrap()
    })
    .await
    .unwrap();
    let p = Params::new(&sp, Some(&request_id), app.clock.now(), "mallory@acme.test");
    let got = post_to_acs(&app, &b, &sp, &idp.response(&p), Some(&relay)).await;
    assert_refused(&app, got, "connection_disabled").await;
}

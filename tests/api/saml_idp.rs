//! mintgate as SAML identity provider (issue #12), against an independent SP (pysaml2): it
//! builds the AuthnRequests and validates our Responses (signature against our metadata,
//! conditions, audience, recipient, InResponseTo).

use mintgate::clock::Clock;
use secrecy::SecretString;

use crate::both;
use crate::helpers::*;
use crate::mfa_support::{confirm_totp, require_mfa, start_totp, totp_key};
use crate::saml_idp_support::{Sp, post_form, register, send_request};

const PASSWORD: &str = "a long enough password for saml";
const SP_ENTITY: &str = "https://sp.example.com/saml";
const SP_ACS: &str = "https://sp.example.com/saml/acs";

/// Signs `b` in at the sign-in page a request was sent to, and follows the resume: the page
/// it ends at.
async fn sign_in_and_resume(app: &TestApp, b: &reqwest::Client, login: &str, user: &str) -> String {
    let to = sign_in_at(app, b, login, (user, PASSWORD)).await;
    assert_eq!(to, "/saml/sso/resume", "back to the SSO service");
    let res = b.get(app.url(&to)).send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", location(res.headers()));
    res.text().await.unwrap()
}

async fn metadata_is_served_and_read_by_pysaml2(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let res = app.get("/saml/metadata").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "application/samlmetadata+xml"
    );
    assert!(
        res.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let body = res.text().await.unwrap();
    assert!(!body.contains("SingleLogoutService"), "no single logout");
    let Some(sp) = Sp::new(&app, SP_ENTITY, SP_ACS).await else {
        return;
    };
    let md = sp.metadata();
    assert_eq!(md["entity_ids"][0], app.url("/saml/metadata"));
    assert_eq!(md["certs"].as_array().unwrap().len(), 1, "{md}");
    for binding in ["Redirect", "POST"] {
        let key = format!("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-{binding}");
        assert_eq!(md["sso"][&key][0], app.url("/saml/sso"), "{md}");
    }
    let formats = md["name_id_formats"].to_string();
    assert!(
        formats.contains("emailAddress") && formats.contains("persistent"),
        "{md}"
    );
}

async fn sp_initiated_by_redirect_and_by_post(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("alice", PASSWORD).await;
    register(&app, None, SP_ENTITY, SP_ACS, "email", None).await;
    let Some(sp) = Sp::new(&app, SP_ENTITY, SP_ACS).await else {
        return;
    };
    for binding in ["redirect", "post"] {
        let b = new_client();
        let request = sp.request(binding, false, "state <&> 1");
        let (status, to, _) = send_request(&app, &b, &request).await;
        assert_eq!(status, 303, "{binding}: to sign in");
        assert!(
            to.starts_with("/login?return_to=%2Fsaml%2Fsso%2Fresume"),
            "{to}"
        );
        let page = sign_in_and_resume(&app, &b, &to, "alice").await;
        let (action, response, relay) = post_form(&page).expect("the response form");
        assert_eq!(action, SP_ACS, "posted to the registered ACS only");
        assert_eq!(
            relay.as_deref(),
            Some("state <&> 1"),
            "RelayState as sent: {}",
            &page[page.find("RelayState").unwrap_or(0)..]
        );
        assert!(page.contains("/static/saml-post.js"), "auto-submitted");
        let id = request["request_id"].as_str().unwrap();
        let seen = sp
            .validate(id, &response)
            .expect("pysaml2 accepts the response");
        assert_eq!(seen["name_id"], "alice@example.com");
        assert_eq!(
            seen["name_id_format"],
            "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
        );
        assert_eq!(seen["in_response_to"], id);
        assert_eq!(seen["attributes"]["email"][0], "alice@example.com");
        assert_eq!(
            seen["authn_context"],
            "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
        );
        // A response is for the request it answers: pysaml2 refuses it for another.
        assert!(sp.validate("_another_request", &response).is_err());

        // Signed in now: the next request is answered at once.
        let request = sp.request(binding, false, "");
        let (status, _, page) = send_request(&app, &b, &request).await;
        assert_eq!(status, 200);
        let (_, response, _) = post_form(&page).unwrap();
        let id = request["request_id"].as_str().unwrap();
        assert_eq!(
            sp.validate(id, &response).unwrap()["name_id"],
            "alice@example.com"
        );
    }
    assert!(audit_kinds(&app).await.contains(&"saml.sso".to_owned()));
}

async fn a_kept_post_is_taken_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    register(&app, None, SP_ENTITY, SP_ACS, "email", None).await;
    let Some(sp) = Sp::new(&app, SP_ENTITY, SP_ACS).await else {
        return;
    };
    let request = sp.request("post", false, "");
    let b = new_client();
    let res = b
        .post(app.url("/saml/sso"))
        .form(&[("SAMLRequest", request["SAMLRequest"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    let to = location(res.headers());
    assert_eq!(b.get(app.url(&to)).send().await.unwrap().status(), 303);
    assert_eq!(
        b.get(app.url(&to)).send().await.unwrap().status(),
        400,
        "taken once"
    );
    // Garbage is a bad request, not a failure of ours.
    for garbage in ["%%%", "PGZvbz4="] {
        let res = b
            .post(app.url("/saml/sso"))
            .form(&[("SAMLRequest", garbage)])
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let status = if status == 303 {
            b.get(app.url(&location(res.headers())))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        } else {
            status
        };
        assert_eq!(status, 400, "{garbage}");
    }
    let res = b
        .get(app.url("/saml/sso?SAMLRequest=AAAA"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

async fn persistent_name_ids_are_stable_and_pairwise(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("alice", PASSWORD).await;
    let other_entity = "https://other-sp.example.com";
    register(&app, None, SP_ENTITY, SP_ACS, "persistent", None).await;
    register(&app, None, other_entity, SP_ACS, "persistent", None).await;
    let Some(sp) = Sp::new(&app, SP_ENTITY, SP_ACS).await else {
        return;
    };
    let other = Sp::new(&app, other_entity, SP_ACS).await.unwrap();
    let b = signed_in(&app, "alice", PASSWORD).await;
    let mut ids = Vec::new();
    for sp in [&sp, &sp, &other] {
        let request = sp.request("redirect", false, "");
        let (status, _, page) = send_request(&app, &b, &request).await;
        assert_eq!(status, 200);
        let (_, response, _) = post_form(&page).unwrap();
        let seen = sp
            .validate(request["request_id"].as_str().unwrap(), &response)
            .unwrap();
        assert_eq!(
            seen["name_id_format"],
            "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
        );
        ids.push(seen["name_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids[0], ids[1], "stable");
    assert_ne!(ids[0], ids[2], "pairwise");
    assert!(
        !ids[0].contains("alice") && !ids[0].contains("usr_"),
        "opaque"
    );
}

async fn force_authn_asks_for_a_sign_in_again(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("alice", PASSWORD).await;
    register(&app, None, SP_ENTITY, SP_ACS, "email", None).await;
    let Some(sp) = Sp::new(&app, SP_ENTITY, SP_ACS).await else {
        return;
    };
    let b = signed_in(&app, "alice", PASSWORD).await;
    app.clock.advance(120);
    let request = sp.request("redirect", true, "");
    let (status, to, _) = send_request(&app, &b, &request).await;
    assert_eq!(status, 303);
    assert!(to.starts_with("/login?") && to.contains("reauth=1"), "{to}");
    // The resume without the new sign-in does not answer.
    let res = b.get(app.url("/saml/sso/resume")).send().await.unwrap();
    assert_eq!(res.status(), 303, "still waiting for the sign-in");
    let page = sign_in_and_resume(&app, &b, &to, "alice").await;
    let (_, response, _) = post_form(&page).unwrap();
    let seen = sp
        .validate(request["request_id"].as_str().unwrap(), &response)
        .unwrap();
    assert_eq!(seen["name_id"], "alice@example.com");
    // The flow is single use.
    let res = b.get(app.url("/saml/sso/resume")).send().await.unwrap();
    assert_eq!(res.status(), 400);
}

async fn an_organisation_app_admits_only_its_members(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("alice", PASSWORD).await;
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        mintgate::accounts::service::create_org(&state.store, state.clock.as_ref(), "other")
            .unwrap();
    })
    .await
    .unwrap();
    register(&app, Some("other"), SP_ENTITY, SP_ACS, "email", None).await;
    let Some(sp) = Sp::new(&app, SP_ENTITY, SP_ACS).await else {
        return;
    };
    // Signed in already, and signing in for the request: refused either way, nothing posted.
    let b = signed_in(&app, "alice", PASSWORD).await;
    let (status, _, page) = send_request(&app, &b, &sp.request("redirect", false, "")).await;
    assert_eq!(status, 400);
    assert!(
        post_form(&page).is_none() && !page.contains("SAMLResponse"),
        "{page}"
    );
    let b = new_client();
    let (status, to, _) = send_request(&app, &b, &sp.request("post", false, "")).await;
    assert_eq!(status, 303);
    let to = sign_in_at(&app, &b, &to, ("alice", PASSWORD)).await;
    let res = b.get(app.url(&to)).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(!res.text().await.unwrap().contains("SAMLResponse"));
    assert!(audit_kinds(&app).await.contains(&"saml.refused".to_owned()));

    // The default organisation's app admits alice; the admin of `default` too.
    let entity = "https://default-sp.example.com";
    register(&app, Some("default"), entity, SP_ACS, "email", None).await;
    let sp = Sp::new(&app, entity, SP_ACS).await.unwrap();
    let request = sp.request("redirect", false, "");
    let (status, _, page) = send_request(&app, &b, &request).await;
    assert_eq!(status, 200);
    let (_, response, _) = post_form(&page).unwrap();
    assert!(
        sp.validate(request["request_id"].as_str().unwrap(), &response)
            .is_ok()
    );
}

async fn unknown_apps_and_other_acs_urls_are_refused_on_a_page(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("alice", PASSWORD).await;
    let b = signed_in(&app, "alice", PASSWORD).await;
    // Unknown entity ID.
    let Some(unknown) = Sp::new(&app, "https://unknown.example.com", SP_ACS).await else {
        return;
    };
    let (status, _, page) = send_request(&app, &b, &unknown.request("redirect", false, "")).await;
    assert_eq!(status, 400);
    assert!(post_form(&page).is_none());
    // A registered app asking for another ACS.
    register(&app, None, SP_ENTITY, SP_ACS, "email", None).await;
    let evil_acs = "https://evil.example.net/acs";
    let evil = Sp::new(&app, SP_ENTITY, evil_acs).await.unwrap();
    for binding in ["redirect", "post"] {
        let (status, _, page) = send_request(&app, &b, &evil.request(binding, false, "")).await;
        assert_eq!(status, 400, "{binding}");
        assert!(
            !page.contains(evil_acs) && post_form(&page).is_none(),
            "{page}"
        );
    }
    // A request meant for another IdP (its Destination) is not answered here.
    let elsewhere = Sp::new(&app, SP_ENTITY, SP_ACS).await.unwrap();
    elsewhere.with_sso_location("https://elsewhere.example.com/saml/sso");
    let request = elsewhere.request("redirect", false, "");
    let url = request["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://elsewhere.example.com/saml/sso?"),
        "{url}"
    );
    let url = url.replace(
        "https://elsewhere.example.com/saml/sso",
        &app.url("/saml/sso"),
    );
    let res = b.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 400, "Destination");
    let res = b.get(&url).send().await.unwrap();
    assert!(res.text().await.unwrap().contains("Destination"));
}

async fn an_app_with_a_certificate_requires_signed_requests(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("alice", PASSWORD).await;
    let Some(mut sp) = Sp::new(&app, SP_ENTITY, SP_ACS).await else {
        return;
    };
    let unsigned = Sp::new(&app, SP_ENTITY, SP_ACS).await.unwrap();
    let metadata = sp.with_signing_key();
    let registered = register(&app, None, "", "", "email", Some(metadata)).await;
    assert_eq!(registered.entity_id, SP_ENTITY, "from the metadata");
    assert!(registered.config.signing_cert.is_some());
    let b = signed_in(&app, "alice", PASSWORD).await;
    for binding in ["redirect", "post"] {
        // Signed by the registered key: answered.
        let request = sp.request(binding, false, "rs");
        let (status, _, page) = send_request(&app, &b, &request).await;
        assert_eq!(status, 200, "{binding}: {page}");
        let (_, response, _) = post_form(&page).unwrap();
        assert!(
            sp.validate(request["request_id"].as_str().unwrap(), &response)
                .is_ok()
        );
        // Unsigned: refused.
        let (status, _, _) = send_request(&app, &b, &unsigned.request(binding, false, "rs")).await;
        assert_eq!(status, 400, "{binding}: unsigned");
    }
    // Signature wrapping: the SP's genuinely signed request nested in an attacker's request
    // (another ID, another ACS) that carries a copy of the signature pointing at its own ID.
    // xmlsec verifies the first signature it finds (the nested, valid one); the request read is
    // the outer one: refused (one signature per request).
    let request = sp.request("post", false, "");
    let xml = String::from_utf8(
        base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            request["SAMLRequest"].as_str().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    let xml = xml
        .trim_start_matches("<?xml version=\"1.0\"?>")
        .trim()
        .to_owned();
    let id = request["request_id"].as_str().unwrap();
    let (start, end) = (
        xml.find("<ns2:Signature").unwrap(),
        xml.find("</ns2:Signature>").unwrap() + "</ns2:Signature>".len(),
    );
    let signature = &xml[start..end];
    let outer = format!("{}{}", &xml[..start], &xml[end..]).replacen(
        &format!("ID=\"{id}\""),
        "ID=\"evil\"",
        1,
    );
    let copied = signature.replacen(&format!("URI=\"#{id}\""), "URI=\"#evil\"", 1);
    let wrapped = outer.replacen(
        "</ns0:AuthnRequest>",
        &format!("<ns0:Extensions>{xml}</ns0:Extensions>{copied}</ns0:AuthnRequest>"),
        1,
    );
    assert!(wrapped.contains("ID=\"evil\"") && wrapped.contains("URI=\"#evil\""));
    let mut hostile = request.clone();
    hostile["SAMLRequest"] = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        wrapped.as_bytes(),
    )
    .into();
    let (status, _, page) = send_request(&app, &b, &hostile).await;
    assert_eq!(status, 400, "a wrapped signature: {page}");
    // A signed request whose RelayState was changed in transit: refused.
    let request = sp.request("redirect", false, "rs");
    let url = request["url"]
        .as_str()
        .unwrap()
        .replace("RelayState=rs", "RelayState=rx");
    assert_eq!(b.get(&url).send().await.unwrap().status(), 400);
    // An XSLT transform in a posted request's signature (unbounded CPU for anyone who knows the
    // app's entity ID): refused before xmlsec would run it.
    let request = sp.request("post", false, "");
    let xml = String::from_utf8(
        base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            request["SAMLRequest"].as_str().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    let c14n = "Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>";
    let at = xml.rfind(c14n).expect("the reference's c14n transform");
    let bombed = format!(
        "{}Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\">{}</ns2:Transform>{}",
        &xml[..at],
        crate::saml_sp_refusals::XSLT_BOMB,
        &xml[at + c14n.len()..]
    );
    let mut hostile = request.clone();
    hostile["SAMLRequest"] = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        bombed.as_bytes(),
    )
    .into();
    let started = std::time::Instant::now();
    let (status, _, page) = send_request(&app, &b, &hostile).await;
    assert_eq!(status, 400, "an XSLT transform: {page}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "the stylesheet ran: {:?}",
        started.elapsed()
    );
    // Signed by another key (its own certificate inside does not matter): refused.
    let mut stranger = Sp::new(&app, SP_ENTITY, SP_ACS).await.unwrap();
    stranger.with_signing_key();
    for binding in ["redirect", "post"] {
        let (status, _, _) = send_request(&app, &b, &stranger.request(binding, false, "")).await;
        assert_eq!(status, 400, "{binding}: another key");
    }
}

async fn the_organisation_mfa_requirement_is_met_before_the_response(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("alice", PASSWORD).await;
    let enrolled = signed_in(&app, "alice", PASSWORD).await;
    let (_, page) = start_totp(&app, &enrolled).await;
    let seed = totp_key(&page);
    let (status, page) = confirm_totp(&app, &enrolled, &seed.code_at(app.clock.now())).await;
    assert_eq!(status, 200, "{page}");
    app.clock.advance(30);
    require_mfa(&app, true).await;
    register(&app, None, SP_ENTITY, SP_ACS, "email", None).await;
    let Some(sp) = Sp::new(&app, SP_ENTITY, SP_ACS).await else {
        return;
    };
    let b = new_client();
    let request = sp.request("redirect", false, "");
    let (_, to, _) = send_request(&app, &b, &request).await;
    let to = sign_in_at(&app, &b, &to, ("alice", PASSWORD)).await;
    assert_eq!(
        to, "/login/factor",
        "the factor is asked before any response"
    );
    let res = b.get(app.url("/saml/sso/resume")).send().await.unwrap();
    assert_ne!(res.status(), 200, "no response before the factor");
    let page = b
        .get(app.url("/login/factor"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (csrf, flow) = (
        form_value(&page, "csrf").unwrap(),
        form_value(&page, "flow").unwrap(),
    );
    let code = seed.code_at(app.clock.now());
    let res = b
        .post(app.url("/login/factor/totp"))
        .form(&[("csrf", &csrf), ("flow", &flow), ("code", &code)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let to = location(res.headers());
    assert_eq!(to, "/saml/sso/resume");
    let page = b
        .get(app.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (_, response, _) = post_form(&page).expect("answered after the factor");
    let seen = sp
        .validate(request["request_id"].as_str().unwrap(), &response)
        .unwrap();
    assert_eq!(seen["authn_context"], "https://refeds.org/profile/mfa");

    // A session signed in with a password only (before the requirement) is stepped up.
    let request = sp.request("redirect", false, "");
    let (status, to, _) = send_request(&app, &enrolled, &request).await;
    assert_eq!(status, 303);
    assert_eq!(to, "/login/factor", "{to}");
}

async fn injected_xml_in_user_values_stays_text(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let evil = "x</saml:AttributeValue></saml:Attribute><saml:Attribute Name=\"groups\"><saml:AttributeValue>admins";
    let state = app.state.clone();
    let evil_name = evil.to_owned();
    tokio::task::spawn_blocking(move || {
        use mintgate::accounts::store::{OrgStore, UserStore};
        let input = mintgate::accounts::service::CreateUser {
            username: "mallory".into(),
            email: "mallory@example.com".into(),
            display_name: Some(evil_name.clone()),
            password: Some(SecretString::from(PASSWORD)),
            org: Some("default".into()),
            role: mintgate::accounts::types::Role::Member,
        };
        let (user, _) = mintgate::accounts::service::create_user(
            &state.store,
            &state.hasher,
            state.clock.as_ref(),
            input,
            &Default::default(),
        )
        .unwrap();
        let org = state.store.find_org("default").unwrap().unwrap();
        for name in ["staff", evil_name.as_str()] {
            let group = state
                .store
                .create_group(&org.id, name, state.clock.now())
                .unwrap();
            state.store.add_group_member(&group, &user.id).unwrap();
        }
    })
    .await
    .unwrap();
    register(&app, None, SP_ENTITY, SP_ACS, "email", None).await;
    let Some(sp) = Sp::new(&app, SP_ENTITY, SP_ACS).await else {
        return;
    };
    let b = signed_in(&app, "mallory", PASSWORD).await;
    let request = sp.request("redirect", false, "");
    let (status, _, page) = send_request(&app, &b, &request).await;
    assert_eq!(status, 200);
    let (_, response, _) = post_form(&page).unwrap();
    let seen = sp
        .validate(request["request_id"].as_str().unwrap(), &response)
        .unwrap();
    assert_eq!(seen["attributes"]["name"][0], evil, "{seen}");
    let mut groups: Vec<String> = seen["attributes"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    groups.sort();
    let mut expected = vec!["staff".to_owned(), evil.to_owned()];
    expected.sort();
    assert_eq!(groups, expected, "no group added: {seen}");
    assert_eq!(seen["attributes"].as_object().unwrap().len(), 3, "{seen}");
}

async fn a_rotated_key_is_published_first_then_signs(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("alice", PASSWORD).await;
    register(&app, None, SP_ENTITY, SP_ACS, "email", None).await;
    let Some(sp) = Sp::new(&app, SP_ENTITY, SP_ACS).await else {
        return;
    };
    let before = sp.metadata()["certs"].as_array().unwrap().clone();
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        use mintgate::signing::store::SigningKeyStore;
        use mintgate::signing::{self, SigningAlg};
        let now = state.clock.now();
        let (active_from, published_until) = signing::rotation_times(now);
        let key = signing::generate(SigningAlg::Rs256, &state.secrets, now, active_from).unwrap();
        state
            .store
            .rotate_signing_key(&key, published_until)
            .unwrap();
        mintgate::ops::jobs::reload_keys(&state).unwrap();
    })
    .await
    .unwrap();
    sp.refresh_metadata(&app).await;
    let after = sp.metadata()["certs"].as_array().unwrap().clone();
    assert_eq!(after.len(), 2, "both keys published");
    assert!(after.contains(&before[0]));
    // The new key signs once active; an SP with the metadata it fetched accepts it.
    app.clock
        .advance(mintgate::signing::JWKS_MAX_AGE + mintgate::signing::REFRESH_INTERVAL + 1);
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || mintgate::ops::jobs::reload_keys(&state).unwrap())
        .await
        .unwrap();
    let b = signed_in(&app, "alice", PASSWORD).await;
    let request = sp.request("redirect", false, "");
    let (_, _, page) = send_request(&app, &b, &request).await;
    let (_, response, _) = post_form(&page).unwrap();
    let xml = String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &response).unwrap(),
    )
    .unwrap();
    let new_cert = after.iter().find(|c| !before.contains(c)).unwrap();
    let compact = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    assert!(
        compact(&xml).contains(&compact(new_cert.as_str().unwrap())),
        "signed by the new key"
    );
    assert!(
        sp.validate(request["request_id"].as_str().unwrap(), &response)
            .is_ok()
    );
}

async fn passive_requests_and_deleted_apps_are_not_answered(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("alice", PASSWORD).await;
    let registered = register(&app, None, SP_ENTITY, SP_ACS, "email", None).await;
    let Some(sp) = Sp::new(&app, SP_ENTITY, SP_ACS).await else {
        return;
    };
    // IsPassive forbids the sign-in page: refused, not redirected to it.
    let b = new_client();
    let passive = sp.request_with("redirect", false, "", &["--passive"]);
    let (status, _, _) = send_request(&app, &b, &passive).await;
    assert_eq!(status, 400);
    // An app deleted while its user signs in is not answered.
    let (status, to, _) = send_request(&app, &b, &sp.request("redirect", false, "")).await;
    assert_eq!(status, 303);
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        use mintgate::saml_idp::store::SamlAppStore;
        assert!(state.store.delete_any_saml_app(&registered.id).unwrap());
    })
    .await
    .unwrap();
    let to = sign_in_at(&app, &b, &to, ("alice", PASSWORD)).await;
    let res = b.get(app.url(&to)).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(post_form(&res.text().await.unwrap()).is_none());
    // Signed in, a passive request is answered.
    let passive = sp.request_with("redirect", false, "", &["--passive"]);
    register(&app, None, SP_ENTITY, SP_ACS, "email", None).await;
    let (status, _, page) = send_request(&app, &b, &passive).await;
    assert_eq!(status, 200);
    assert!(post_form(&page).is_some());
}

both!(
    passive_requests_and_deleted_apps_are_not_answered,
    metadata_is_served_and_read_by_pysaml2,
    sp_initiated_by_redirect_and_by_post,
    a_kept_post_is_taken_once,
    persistent_name_ids_are_stable_and_pairwise,
    force_authn_asks_for_a_sign_in_again,
    an_organisation_app_admits_only_its_members,
    unknown_apps_and_other_acs_urls_are_refused_on_a_page,
    an_app_with_a_certificate_requires_signed_requests,
    the_organisation_mfa_requirement_is_met_before_the_response,
    injected_xml_in_user_values_stays_text,
    a_rotated_key_is_published_first_then_signs,
);

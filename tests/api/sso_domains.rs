//! Verified domains (DNS TXT against a DNS server the test starts), "Continue with SSO" on the
//! sign-in page, and an organisation's requirement of SSO.

use mintgate::accounts::types::Role;
use mintgate::federation::domains;
use mintgate::federation::error::FederationError;
use mintgate::federation::store::DomainStore;
use mintgate::ids::OrgId;

use crate::both;
use crate::helpers::*;
use crate::sso_support::*;

both!(
    a_domain_is_verified_by_its_txt_record_and_by_one_org_only,
    continue_with_sso_routes_verified_domains_and_org_names,
    require_sso_refuses_members_passwords_and_lets_owners_in,
);

const SSO_PAGE: &str = "/settings/security/sso";

async fn challenge(app: &TestApp, org: &OrgId, domain: &str) -> String {
    let (state, org, domain) = (app.state.clone(), org.clone(), domain.to_owned());
    tokio::task::spawn_blocking(move || {
        state
            .store
            .list_domains(&org)
            .unwrap()
            .into_iter()
            .find(|d| d.domain == domain)
            .expect("claimed")
            .challenge
    })
    .await
    .unwrap()
}

async fn verified_owner(app: &TestApp, domain: &str) -> Option<OrgId> {
    let (state, domain) = (app.state.clone(), domain.to_owned());
    tokio::task::spawn_blocking(move || state.store.verified_domain_owner(&domain).unwrap())
        .await
        .unwrap()
}

async fn a_domain_is_verified_by_its_txt_record_and_by_one_org_only(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let dns = DnsServer::start();
    let resolver = dns.addr;
    let app = spawn_on(&db, mintgate::clock::ManualClock::starting_now(), |s| {
        s.federation.dns_resolver = Some(resolver);
    })
    .await;
    app.sign_in_admin().await;
    let default = org_id(&app, "default").await;
    let res = post_form(
        &app,
        &app.client,
        SSO_PAGE,
        "/settings/security/sso/domains",
        &[("domain", "Acme.Test")],
    )
    .await;
    assert_eq!(res.status(), 303);
    let html = app.get(SSO_PAGE).await.text().await.unwrap();
    let value = challenge(&app, &default, "acme.test").await;
    assert!(html.contains("_mintgate-challenge.acme.test") && html.contains(&value));

    // A pending claim routes nobody.
    assert_eq!(verified_owner(&app, "acme.test").await, None);
    // The wrong value: refused, audited, still pending.
    dns.set_txt(
        "_mintgate-challenge.acme.test",
        "mintgate-verification=wrong",
    );
    let verify = "/settings/security/sso/domains/verify";
    let res = post_form(
        &app,
        &app.client,
        SSO_PAGE,
        verify,
        &[("domain", "acme.test")],
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("challenge"));
    assert_eq!(verified_owner(&app, "acme.test").await, None);
    assert!(
        audit_kinds(&app)
            .await
            .contains(&"org.domain.refused".to_owned())
    );
    // The right one: verified.
    dns.set_txt("_mintgate-challenge.acme.test", &value);
    let res = post_form(
        &app,
        &app.client,
        SSO_PAGE,
        verify,
        &[("domain", "acme.test")],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        verified_owner(&app, "acme.test").await,
        Some(default.clone())
    );
    let kinds = audit_kinds(&app).await;
    assert!(kinds.contains(&"org.domain.claimed".to_owned()));
    assert!(kinds.contains(&"org.domain.verified".to_owned()));

    // Another organisation may claim it (a claim reveals nothing), never verify it, by DNS or
    // by the operator.
    let other = org_id(&app, "Other").await;
    let state = app.state.clone();
    let (o, r) = (other.clone(), resolver);
    let (claimed, by_dns, by_operator) = tokio::task::spawn_blocking(move || {
        let clock = state.clock.as_ref();
        let meta = Default::default();
        let claimed = domains::claim(&state.store, clock, &o, "acme.test", None, &meta).unwrap();
        let by_dns =
            domains::verify_by_dns(&state.store, clock, Some(r), &o, "acme.test", None, &meta);
        let by_operator = domains::verify_by_operator(&state.store, clock, &o, "acme.test", &meta);
        (claimed, by_dns, by_operator)
    })
    .await
    .unwrap();
    assert!(claimed.verified_at.is_none());
    // Its challenge is not published: refused by DNS as unverified.
    assert!(
        matches!(by_dns, Err(FederationError::NotVerified(_))),
        "{by_dns:?}"
    );
    assert!(
        matches!(&by_operator, Err(FederationError::DomainTaken(d)) if d == "acme.test"),
        "{by_operator:?}"
    );
    // Even with its own challenge published.
    dns.set_txt("_mintgate-challenge.acme.test", &claimed.challenge);
    let state = app.state.clone();
    let res = tokio::task::spawn_blocking(move || {
        domains::verify_by_dns(
            &state.store,
            state.clock.as_ref(),
            Some(resolver),
            &other,
            "acme.test",
            None,
            &Default::default(),
        )
    })
    .await
    .unwrap();
    let err = res.expect_err("taken");
    assert!(
        err.to_string()
            .contains("already verified by another organisation")
    );
    assert_eq!(verified_owner(&app, "acme.test").await, Some(default));
}

/// POSTs "Continue with SSO" from the sign-in page with `typed`.
async fn continue_with(app: &TestApp, browser: &reqwest::Client, typed: &str) -> reqwest::Response {
    post_form(app, browser, "/login", "/login/sso", &[("sso", typed)]).await
}

async fn continue_with_sso_routes_verified_domains_and_org_names(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let acme = org_id(&app, "Acme").await;
    let state = app.state.clone();
    let a = acme.clone();
    tokio::task::spawn_blocking(move || {
        let meta = Default::default();
        domains::claim(
            &state.store,
            state.clock.as_ref(),
            &a,
            "acme.test",
            None,
            &meta,
        )
        .unwrap();
    })
    .await
    .unwrap();
    // No connection yet: nothing routes, whatever is typed.
    let browser = new_client();
    let neutral = "No single sign-on is set up for that";
    for typed in [
        "alice@acme.test",
        "Acme",
        "nobody@nowhere.test",
        "Nope",
        "@",
        "",
    ] {
        let res = continue_with(&app, &browser, typed).await;
        assert_eq!(res.status(), 200, "{typed}");
        assert!(res.text().await.unwrap().contains(neutral), "{typed}");
    }
    let first_idp = spawn_discovery("{issuer}/token");
    let first = add_connection(&app, &acme, &first_idp).await;
    // Routed: straight on to the connection's IdP (this POST is CSRF-checked).
    let start = format!("{first_idp}/authorize?");
    // The domain is only claimed: it does not route; the organisation's name does.
    let res = continue_with(&app, &browser, "alice@acme.test").await;
    assert!(res.text().await.unwrap().contains(neutral));
    let res = continue_with(&app, &browser, " ACME ").await;
    assert_eq!(res.status(), 303);
    assert!(location(res.headers()).starts_with(&start));
    assert!(
        set_cookies(res.headers())
            .iter()
            .any(|c| c.starts_with("mg_flow=")),
        "a pending sign-in goes along: {:?}",
        set_cookies(res.headers())
    );
    // Verified: the e-mail address routes, to the first enabled connection.
    let state = app.state.clone();
    let a = acme.clone();
    tokio::task::spawn_blocking(move || {
        let meta = Default::default();
        domains::verify_by_operator(&state.store, state.clock.as_ref(), &a, "acme.test", &meta)
            .unwrap();
    })
    .await
    .unwrap();
    let res = continue_with(&app, &browser, "Alice@ACME.test").await;
    assert_eq!(res.status(), 303);
    // A typed e-mail address goes on to the IdP as `login_hint`.
    let to = location(res.headers());
    assert!(to.starts_with(&start), "{to}");
    assert!(to.contains("login_hint=Alice%40ACME.test"), "{to}");
    let second_idp = spawn_discovery("{issuer}/token");
    let second = add_connection(&app, &acme, &second_idp).await;
    let state = app.state.clone();
    let (a, id) = (acme.clone(), first.id.clone());
    tokio::task::spawn_blocking(move || {
        mintgate::federation::connections::set_enabled(
            &state.store,
            state.clock.as_ref(),
            &a,
            &id,
            false,
            None,
            &Default::default(),
        )
        .unwrap();
    })
    .await
    .unwrap();
    let _ = second;
    let res = continue_with(&app, &browser, "bob@acme.test").await;
    let to = location(res.headers());
    assert!(to.starts_with(&format!("{second_idp}/authorize?")), "{to}");
    assert!(to.contains("login_hint=bob%40acme.test"), "{to}");
    // Without the page's token: refused.
    let res = browser
        .post(app.url("/login/sso"))
        .form(&[("sso", "Acme")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

async fn require_sso_refuses_members_passwords_and_lets_owners_in(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    member_of(&app, "default", "mia", "example.com", Role::Member).await;
    member_of(&app, "default", "ada", "example.com", Role::Admin).await;
    app.sign_in_admin().await;
    let res = post_form(
        &app,
        &app.client,
        SSO_PAGE,
        "/settings/security/sso/require",
        &[("require_sso", "true")],
    )
    .await;
    assert_eq!(res.status(), 303);
    let html = app.get(SSO_PAGE).await.text().await.unwrap();
    assert!(
        html.contains("value=\"true\" checked"),
        "the checkbox is checked"
    );
    assert!(
        audit_kinds(&app)
            .await
            .contains(&"org.require_sso.set".to_owned())
    );

    // A member, and an administrator who is not an owner: refused, with where to go instead.
    for who in ["mia", "ada"] {
        let b = new_client();
        let res = app.post_login_with(&b, who, PASSWORD, None).await;
        assert_eq!(res.status(), 403, "{who}");
        assert!(
            set_cookies(res.headers())
                .iter()
                .all(|c| !c.starts_with("mg_session="))
        );
        let page = res.text().await.unwrap();
        assert!(page.contains("requires single sign-on"), "{page}");
        assert!(
            app.account_page_with(&b).await.is_none(),
            "{who} is not signed in"
        );
    }
    assert!(
        audit_kinds(&app)
            .await
            .contains(&"signin.sso_required".to_owned())
    );
    // A wrong password is still just a wrong password (nothing said about SSO).
    let res = app
        .post_login_with(&new_client(), "mia", "wrong password!", None)
        .await;
    assert_eq!(res.status(), 401);

    // The owner keeps a break-glass password, audited.
    let owner = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    assert!(app.account_page_with(&owner).await.is_some());
    assert!(
        audit_kinds(&app)
            .await
            .contains(&"signin.break_glass".to_owned())
    );

    // Turned off (the unchecked box): members sign in again.
    let res = post_form(
        &app,
        &app.client,
        SSO_PAGE,
        "/settings/security/sso/require",
        &[],
    )
    .await;
    assert_eq!(res.status(), 303);
    let res = app
        .post_login_with(&new_client(), "mia", PASSWORD, None)
        .await;
    assert_eq!(res.status(), 303);
}

//! Organisation > OAuth applications (issue #14): an organisation's administrators register,
//! edit, rotate and delete its clients on the console; the secret is shown once (`no-store`)
//! and only its hash kept; another organisation's clients and the operator's are 404, members
//! get 403, forms without their CSRF token are refused.

use mintgate::oauth::store::ClientStore;

use crate::both;
use crate::helpers::*;
use crate::oauth_support::{self, REDIRECT, TestClient, client_spec, consent_fields, query_of};
use crate::sso_support::{PASSWORD, member_of, org_id, post_form};

const APPS: &str = "/settings/organisation/oauth-apps";

/// The registration form's fields for a confidential client that signs users in (with refresh
/// tokens) and may also use client credentials.
fn confidential(name: &str) -> Vec<(&'static str, String)> {
    vec![
        ("name", name.to_owned()),
        ("client_type", "confidential".into()),
        (
            "redirect_uris",
            format!("{REDIRECT}\r\nhttps://rp.example/other"),
        ),
        ("post_logout_redirect_uris", "https://rp.example/bye".into()),
        ("scope", "openid".into()),
        ("scope", "profile".into()),
        ("scope", "email".into()),
        ("scope", "offline_access".into()),
        ("scope", "read:org".into()),
        ("grant_type", "authorization_code".into()),
        ("grant_type", "refresh_token".into()),
        ("grant_type", "client_credentials".into()),
        ("access_token_format", "opaque".into()),
        ("resources", String::new()),
    ]
}

fn pairs<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The text of the element `selector` in `page`.
pub fn text(page: &str, selector: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(page);
    let sel = scraper::Selector::parse(selector).unwrap();
    doc.select(&sel)
        .next()
        .map(|e| e.text().collect::<String>().trim().to_owned())
}

/// Registers a client on the page as `browser`; its id and secret as the page shows them.
pub async fn register_on_page(
    app: &TestApp,
    browser: &reqwest::Client,
    fields: &[(&'static str, String)],
) -> TestClient {
    let res = post_form(app, browser, APPS, APPS, &pairs(fields)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let page = res.text().await.unwrap();
    TestClient {
        id: text(&page, "#client-id").expect("the client id"),
        secret: text(&page, "#client-secret"),
    }
}

async fn client_credentials(app: &TestApp, id: &str, secret: &str) -> u16 {
    let c = TestClient {
        id: id.to_owned(),
        secret: Some(secret.to_owned()),
    };
    oauth_support::post_form(
        app,
        "/oauth/token",
        &c,
        &[("grant_type", "client_credentials")],
    )
    .await
    .0
}

async fn stored(app: &TestApp, id: &str) -> Option<mintgate::oauth::types::Client> {
    let (state, id) = (app.state.clone(), id.to_owned());
    tokio::task::spawn_blocking(move || {
        state
            .store
            .find_client(&mintgate::ids::ClientId::new(id))
            .unwrap()
    })
    .await
    .unwrap()
}

async fn admins_register_edit_rotate_and_delete(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let res = admin.get(app.url(APPS)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert!(res.text().await.unwrap().contains("No applications yet"));

    let client = register_on_page(&app, &admin, &confidential("Portal")).await;
    let secret = client.secret.clone().expect("the secret, once");
    assert!(secret.starts_with("mg_secret_"), "{secret}");
    // Only its hash is stored, and the client is the organisation's, consent always asked.
    let row = stored(&app, &client.id).await.unwrap();
    let hash = row.secret_hash.clone().unwrap();
    assert_ne!(hash.as_str(), secret);
    assert!(hash.matches(&mintgate::credentials::PlainClientSecret::new(secret.clone()).hash()));
    assert_eq!(row.org_id, Some(org_id(&app, "default").await));
    assert!(!row.skip_consent);
    assert_eq!(row.redirect_uris, [REDIRECT, "https://rp.example/other"]);
    // Shown once: neither the list nor the client's page show it again.
    let list = admin
        .get(app.url(APPS))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("Portal") && !list.contains(&secret));
    let app_path = format!("{APPS}/{}", client.id);
    let res = admin.get(app.url(&app_path)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let page = res.text().await.unwrap();
    assert!(!page.contains(&secret));
    assert_eq!(text(&page, "#client-id").unwrap(), client.id);
    assert_eq!(client_credentials(&app, &client.id, &secret).await, 200);

    // Rotate: the new secret once, the old one refused at the token endpoint.
    let res = post_form(&app, &admin, &app_path, &format!("{app_path}/rotate"), &[]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let page = res.text().await.unwrap();
    let rotated = text(&page, "#client-secret").expect("the new secret");
    assert_ne!(rotated, secret);
    assert_eq!(client_credentials(&app, &client.id, &secret).await, 401);
    assert_eq!(client_credentials(&app, &client.id, &rotated).await, 200);

    // Edit: re-validated as a whole; refused input comes back with a message at the field.
    let mut edit = confidential("Portal v2");
    edit[2].1 = "https://rp.example/cb#fragment".into();
    let res = post_form(&app, &admin, &app_path, &app_path, &pairs(&edit)).await;
    assert_eq!(res.status(), 400);
    let page = res.text().await.unwrap();
    assert!(
        text(&page, "#redirect_uris-error")
            .unwrap()
            .contains("fragment"),
        "{page}"
    );
    assert!(
        page.contains("https://rp.example/cb#fragment"),
        "the input is kept"
    );
    assert!(page.contains("Portal v2"));
    assert_eq!(stored(&app, &client.id).await.unwrap().name, "Portal");
    let mut edit = confidential("Portal v2");
    edit.retain(|(k, v)| !(*k == "scope" && v == "read:org"));
    edit.push(("access_token_format", "jwt".into()));
    edit.retain(|(k, v)| !(*k == "access_token_format" && v == "opaque"));
    let res = post_form(&app, &admin, &app_path, &app_path, &pairs(&edit)).await;
    assert_eq!(res.status(), 303);
    let row = stored(&app, &client.id).await.unwrap();
    assert_eq!(row.name, "Portal v2");
    assert!(!row.scopes.contains("read:org"));
    assert_eq!(row.access_token_format.as_str(), "jwt");
    assert!(
        row.secret_hash
            .unwrap()
            .matches(&mintgate::credentials::PlainClientSecret::new(rotated.clone()).hash())
    );

    // The delete confirmation, then the deletion.
    let res = admin
        .get(app.url(&format!("{app_path}/delete")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = post_form(&app, &admin, &app_path, &format!("{app_path}/delete"), &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(res.headers()), APPS);
    assert!(stored(&app, &client.id).await.is_none());
    assert_eq!(client_credentials(&app, &client.id, &rotated).await, 401);
    let kinds = audit_kinds(&app).await;
    for kind in [
        "oauth.client.created",
        "oauth.client.updated",
        "oauth.client.secret_rotated",
        "oauth.client.deleted",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
}

async fn bad_input_is_rerendered_with_a_message(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let cases: [(&str, &str, &str, &str); 5] = [
        (
            "redirect_uris",
            "not a uri",
            "#redirect_uris-error",
            "not an absolute URI",
        ),
        (
            "redirect_uris",
            "javascript:alert(1)",
            "#redirect_uris-error",
            "scheme",
        ),
        (
            "post_logout_redirect_uris",
            "/relative",
            "#post_logout-error",
            "absolute",
        ),
        (
            "resources",
            "https://api.example/#x",
            "#resources-error",
            "fragment",
        ),
        ("name", "", "#name-error", "client name"),
    ];
    for (field, value, at, says) in cases {
        let mut form = confidential("Bad app");
        for f in form.iter_mut().filter(|(k, _)| *k == field) {
            f.1 = value.to_owned();
        }
        let res = post_form(&app, &admin, APPS, APPS, &pairs(&form)).await;
        assert_eq!(res.status(), 400, "{field}={value}");
        let page = res.text().await.unwrap();
        let message = text(&page, at).unwrap_or_else(|| panic!("{at} for {value}: {page}"));
        assert!(message.contains(says), "{message}");
        if !value.is_empty() {
            assert!(page.contains(&value.replace('&', "&amp;")) || page.contains(value));
        }
    }
    // A public client cannot use client_credentials (RFC 6749 §4.4).
    let mut form = confidential("Public app");
    form[1].1 = "public".into();
    let res = post_form(&app, &admin, APPS, APPS, &pairs(&form)).await;
    assert_eq!(res.status(), 400);
    let page = res.text().await.unwrap();
    assert!(
        text(&page, "#grant_types-error")
            .unwrap()
            .contains("client_credentials")
    );
    assert!(
        page.contains("value=\"public\" id=\"type-public\" checked"),
        "the choice is kept"
    );
    // No scope, no grant type, a scope the server does not offer.
    let mut form = confidential("No scope");
    form.retain(|(k, _)| *k != "scope");
    let res = post_form(&app, &admin, APPS, APPS, &pairs(&form)).await;
    assert_eq!(res.status(), 400);
    assert!(text(&res.text().await.unwrap(), "#scopes-error").is_some());
    let mut form = confidential("Odd scope");
    form.push(("scope", "superpowers".into()));
    let res = post_form(&app, &admin, APPS, APPS, &pairs(&form)).await;
    assert_eq!(res.status(), 400);
    let mut form = confidential("No grant");
    form.retain(|(k, _)| *k != "grant_type");
    let res = post_form(&app, &admin, APPS, APPS, &pairs(&form)).await;
    assert_eq!(res.status(), 400);
    assert!(text(&res.text().await.unwrap(), "#grant_types-error").is_some());
    let list = admin
        .get(app.url(APPS))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        list.contains("No applications yet"),
        "nothing was registered"
    );
}

/// A user's grant to an organisation's client: the consent page names the organisation; the
/// client's deletion ends the grant's refresh family and access token.
async fn delete_ends_grants_and_consent_names_the_organisation(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let client = register_on_page(&app, &admin, &confidential("Portal")).await;
    let auth = oauth_support::auth_url(&app, &client.id, &[]);
    let res = admin.get(&auth).send().await.unwrap();
    assert_eq!(res.status(), 200, "consent is asked");
    let page = res.text().await.unwrap();
    assert_eq!(text(&page, "#client-org").unwrap(), "Registered by default");
    let res = admin
        .post(app.url("/oauth/consent"))
        .form(&consent_fields(&page, "allow"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let to = location(res.headers());
    let code = query_of(&to)["code"].clone();
    let (status, tokens) = oauth_support::redeem(&app, &client, &code, None).await;
    assert_eq!(status, 200, "{tokens}");
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let userinfo = |token: String| {
        let url = app.url("/oauth/userinfo");
        async move {
            new_client()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(userinfo(access.clone()).await, 200);

    let app_path = format!("{APPS}/{}", client.id);
    let res = post_form(&app, &admin, &app_path, &format!("{app_path}/delete"), &[]).await;
    assert_eq!(res.status(), 303);
    let (status, _) = oauth_support::post_form(
        &app,
        "/oauth/token",
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, 401, "the deleted client's refresh token is refused");
    assert_eq!(userinfo(access).await, 401, "its access token ends too");
    let state = app.state.clone();
    let family_left = tokio::task::spawn_blocking(move || {
        use mintgate::oauth::store::GrantStore;
        let hash = mintgate::credentials::PlainRefreshToken::new(refresh).hash();
        state.store.find_refresh_token(&hash).unwrap()
    })
    .await
    .unwrap();
    assert!(
        family_left.is_none(),
        "the refresh family is gone from the store"
    );
}

/// A client's own tokens (client credentials) end with it, the self-contained JWT ones too.
async fn delete_ends_client_credentials_tokens(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let rs = oauth_support::register(&app, client_spec("Resource server")).await;
    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let mut tokens = Vec::new();
    for format in ["opaque", "jwt"] {
        let mut form = confidential(&format!("Worker {format}"));
        form.retain(|(k, _)| *k != "access_token_format");
        form.push(("access_token_format", format.into()));
        let client = register_on_page(&app, &admin, &form).await;
        let (status, body) = oauth_support::post_form(
            &app,
            "/oauth/token",
            &client,
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let token = body["access_token"].as_str().unwrap().to_owned();
        assert_eq!(
            oauth_support::introspect(&app, &rs, &token).await["active"],
            true
        );
        tokens.push((client, token));
    }
    for (client, token) in tokens {
        let path = format!("{APPS}/{}", client.id);
        let res = post_form(&app, &admin, &path, &format!("{path}/delete"), &[]).await;
        assert_eq!(res.status(), 303);
        let answer = oauth_support::introspect(&app, &rs, &token).await;
        assert_eq!(answer["active"], false, "{answer}");
    }
}

async fn other_organisations_and_operator_clients_are_404(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let beta = member_of(
        &app,
        "beta",
        "bob",
        "beta.test",
        mintgate::accounts::types::Role::Owner,
    )
    .await;
    let mut spec = client_spec("Beta portal");
    spec.org_id = Some(beta.clone());
    let theirs = oauth_support::register(&app, spec).await;
    let operator = oauth_support::register(&app, client_spec("Operator RP")).await;
    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let ours = register_on_page(&app, &admin, &confidential("Ours")).await;
    let ours_path = format!("{APPS}/{}", ours.id);
    for id in [&theirs.id, &operator.id, &"no-such-client".to_owned()] {
        let path = format!("{APPS}/{id}");
        for get in [
            path.clone(),
            format!("{path}/rotate"),
            format!("{path}/delete"),
        ] {
            let res = admin.get(app.url(&get)).send().await.unwrap();
            assert_eq!(res.status(), 404, "GET {get}");
        }
        let res = post_form(
            &app,
            &admin,
            &ours_path,
            &path,
            &pairs(&confidential("Mine")),
        )
        .await;
        assert_eq!(res.status(), 404, "edit {id}");
        for action in ["rotate", "delete"] {
            let res = post_form(&app, &admin, &ours_path, &format!("{path}/{action}"), &[]).await;
            assert_eq!(res.status(), 404, "{action} {id}");
        }
    }
    let res = post_form(
        &app,
        &admin,
        &ours_path,
        &format!("{ours_path}/explode"),
        &[],
    )
    .await;
    assert_eq!(res.status(), 404, "an unknown action");
    assert_eq!(stored(&app, &theirs.id).await.unwrap().name, "Beta portal");
    assert!(stored(&app, &operator.id).await.is_some());
    let list = admin
        .get(app.url(APPS))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!list.contains("Beta portal") && !list.contains("Operator RP"));
    // Beta's owner sees Beta's client only.
    let bob = signed_in(&app, "bob", PASSWORD).await;
    let list = bob
        .get(app.url(APPS))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        list.contains("Beta portal") && !list.contains("Ours"),
        "{list}"
    );
    let res = bob.get(app.url(&ours_path)).send().await.unwrap();
    assert_eq!(res.status(), 404);
}

async fn members_are_refused_and_forms_need_their_csrf_token(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let ours = register_on_page(&app, &admin, &confidential("Ours")).await;
    let path = format!("{APPS}/{}", ours.id);
    app.create_user("max", "max-password-1").await;
    let max = signed_in(&app, "max", "max-password-1").await;
    for get in [APPS.to_owned(), path.clone(), format!("{path}/delete")] {
        let res = max.get(app.url(&get)).send().await.unwrap();
        assert_eq!(res.status(), 403, "GET {get}");
    }
    for post in [
        APPS.to_owned(),
        path.clone(),
        format!("{path}/rotate"),
        format!("{path}/delete"),
    ] {
        let res = post_form(
            &app,
            &max,
            "/account",
            &post,
            &pairs(&confidential("Max's")),
        )
        .await;
        assert_eq!(res.status(), 403, "POST {post}");
    }
    // Without the CSRF token: refused, nothing changed.
    let res = admin
        .post(app.url(APPS))
        .form(&pairs(&confidential("Forged")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = admin
        .post(app.url(&format!("{path}/delete")))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(stored(&app, &ours.id).await.is_some());
    let list = admin
        .get(app.url(APPS))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!list.contains("Forged"));
    // Signed out: to the sign-in page.
    let res = new_client().get(app.url(APPS)).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert!(location(res.headers()).starts_with("/login"));
}

both!(
    admins_register_edit_rotate_and_delete,
    bad_input_is_rerendered_with_a_message,
    delete_ends_grants_and_consent_names_the_organisation,
    delete_ends_client_credentials_tokens,
    other_organisations_and_operator_clients_are_404,
    members_are_refused_and_forms_need_their_csrf_token,
);

/// An edit of where codes go or what may be asked for ends what users granted under the old
/// terms: an admin adding a redirect URI is not sent codes silently (consent is asked again),
/// and a narrowed client keeps no refresh family of the old scopes. A client the operator
/// made to skip consent cannot be edited or rotated here (attack review, issue #14).
async fn edits_end_old_consents_and_operator_clients_stay_the_operators(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let client = register_on_page(&app, &admin, &confidential("Portal")).await;
    let auth = oauth_support::auth_url(&app, &client.id, &[]);
    let page = admin.get(&auth).send().await.unwrap().text().await.unwrap();
    let res = admin
        .post(app.url("/oauth/consent"))
        .form(&consent_fields(&page, "allow"))
        .send()
        .await
        .unwrap();
    let code = query_of(&location(res.headers()))["code"].clone();
    let (status, tokens) = oauth_support::redeem(&app, &client, &code, None).await;
    assert_eq!(status, 200, "{tokens}");
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let res = admin.get(&auth).send().await.unwrap();
    assert_eq!(res.status(), 303, "consent given: no page the second time");

    // A rename alone keeps the grant.
    let app_path = format!("{APPS}/{}", client.id);
    let res = post_form(
        &app,
        &admin,
        &app_path,
        &app_path,
        &pairs(&confidential("Portal 2")),
    )
    .await;
    assert_eq!(res.status(), 303);
    let (status, body) = oauth_support::post_form(
        &app,
        "/oauth/token",
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, 200, "a rename ends nothing: {body}");
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();

    // Another redirect URI and a narrower scope: consent again, the family ends.
    let mut edit = confidential("Portal 2");
    edit[2].1 = format!("{REDIRECT}\r\nhttps://admin.example/cb");
    edit.retain(|(k, v)| !(*k == "scope" && v == "read:org"));
    let res = post_form(&app, &admin, &app_path, &app_path, &pairs(&edit)).await;
    assert_eq!(res.status(), 303);
    let (status, _) = oauth_support::post_form(
        &app,
        "/oauth/token",
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, 400, "the family granted under the old terms ended");
    let res = admin.get(&auth).send().await.unwrap();
    assert_eq!(res.status(), 200, "consent is asked again");
    let events = audit_kinds(&app).await;
    assert!(events.iter().any(|k| k == "oauth.client.updated"));

    // The operator's consent-skipping client of the organisation: neither edited nor rotated.
    let mut spec = oauth_support::client_spec("Operator's");
    spec.skip_consent = true;
    spec.org_id = Some(crate::sso_idp_support::default_org(&app).await);
    let operators = oauth_support::register(&app, spec).await;
    let path = format!("{APPS}/{}", operators.id);
    let res = post_form(
        &app,
        &admin,
        &path,
        &path,
        &pairs(&confidential("Mine now")),
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("the operator manages this application")
    );
    let res = post_form(&app, &admin, &path, &format!("{path}/rotate"), &[]).await;
    assert_eq!(res.status(), 400, "no secret of it for the admin");
    let res = post_form(&app, &admin, &path, &format!("{path}/delete"), &[]).await;
    assert_eq!(res.status(), 400, "nor deleted");
    let row = stored(&app, &operators.id).await.unwrap();
    assert_eq!(row.name, "Operator's");
    assert!(row.skip_consent);
}

/// An organisation's post-logout URI is followed only with an ID token of its client: named
/// by `client_id` alone, the server would redirect anywhere an organisation admin registered
/// (attack review, issue #14).
async fn an_organisations_logout_uri_needs_an_id_token(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let client = register_on_page(&app, &admin, &confidential("Portal")).await;
    let url = format!(
        "{}?client_id={}&post_logout_redirect_uri=https%3A%2F%2Frp.example%2Fbye",
        app.url("/oauth/logout"),
        client.id
    );
    let res = new_client().get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200, "the signed-out page, no redirect");
    assert!(res.headers().get("location").is_none());
}

both!(
    edits_end_old_consents_and_operator_clients_stay_the_operators,
    an_organisations_logout_uri_needs_an_id_token,
);

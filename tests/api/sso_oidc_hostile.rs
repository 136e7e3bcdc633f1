//! A hostile OpenID Provider (an actix server in the test) whose ID tokens are bad in one way
//! each: a payload changed after signing, a signature by a key its JWKS does not hold, `alg`
//! `none`, an expired token, another `nonce`. Every one ends on a refusal page: nobody is
//! created or signed in.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mintgate::federation::store::ConnectionStore;
use mintgate::federation::types::{AttributeMapping, Connection, OidcConfig, Protocol};
use mintgate::ids::ConnectionId;
use mintgate::signing::SigningAlg;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Backend, TestApp, audit_kinds, new_client, spawn_app};
use crate::sso_idp_support::{
    DOMAIN, answer, continue_page, default_org, to_callback, users_with_email, verify_domain,
};

#[derive(Clone, Copy, Debug)]
enum Bad {
    /// Not bad: the JWKS first served lacks the signing key (a rotation), so the ID token's
    /// `kid` is unknown and the relying party fetches the JWKS once more.
    Rotated,
    Tampered,
    ForeignKey,
    AlgNone,
    Expired,
    OtherNonce,
    /// A discovery document past the relying party's 1 MiB bound.
    Huge,
    /// Not bad: a valid token, answered after a second (a connection is disabled meanwhile).
    Slow,
}

struct Hostile {
    issuer: String,
    client_id: String,
    bad: Bad,
    nonce: Mutex<String>,
    jwks_served: Mutex<u32>,
    /// Signs as the test app (its own keys stand in for the IdP's).
    app_keys: mintgate::signing::Keys,
    jwks: Value,
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn id_token(h: &Hostile) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let nonce = match h.bad {
        Bad::OtherNonce => "another nonce".to_owned(),
        _ => h.nonce.lock().unwrap().clone(),
    };
    let exp = if matches!(h.bad, Bad::Expired) {
        now - 600
    } else {
        now + 300
    };
    let claims = json!({
        "iss": h.issuer, "aud": h.client_id, "sub": "hostile-sub", "iat": now - 5, "exp": exp,
        "nonce": nonce, "email": format!("victim@{DOMAIN}"), "email_verified": true,
    });
    match h.bad {
        Bad::AlgNone => format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&claims)),
        _ => {
            let jws = h
                .app_keys
                .current()
                .sign(SigningAlg::Rs256, None, &claims, now)
                .unwrap();
            if matches!(h.bad, Bad::Tampered) {
                let parts: Vec<&str> = jws.split('.').collect();
                let mut forged = claims.clone();
                forged["email"] = json!(format!("ceo@{DOMAIN}"));
                format!("{}.{}.{}", parts[0], b64(&forged), parts[2])
            } else {
                jws
            }
        }
    }
}

async fn spawn_hostile(app: &TestApp, bad: Bad, client_id: &str) -> Arc<Hostile> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let mut jwks: Value = app
        .client
        .get(app.url("/oauth/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    if matches!(bad, Bad::ForeignKey | Bad::Rotated) {
        // A key of its own under the kid the token names: the signature cannot match it.
        let (secrets, now) = (app.state.secrets.clone(), app.clock_now());
        let other = tokio::task::spawn_blocking(move || {
            mintgate::signing::generate(SigningAlg::Rs256, &secrets, now, now).unwrap()
        })
        .await
        .unwrap();
        let mut jwk: Value = serde_json::from_str(&other.public_jwk).unwrap();
        let keys = jwks["keys"].as_array().unwrap();
        let rs = keys.iter().find(|k| k["alg"] == "RS256").unwrap();
        if matches!(bad, Bad::ForeignKey) {
            jwk["kid"] = rs["kid"].clone();
            jwks = json!({ "keys": [jwk] });
        } else {
            // Served first; then the real keys.
            jwks = json!({ "keys": [jwk], "then": jwks });
        }
    }
    let hostile = Arc::new(Hostile {
        issuer: issuer.clone(),
        client_id: client_id.to_owned(),
        bad,
        nonce: Mutex::new(String::new()),
        jwks_served: Mutex::new(0),
        app_keys: app.state.keys.clone(),
        jwks,
    });
    let data = web::Data::from(hostile.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route(
                "/.well-known/openid-configuration",
                web::get().to(|h: web::Data<Hostile>| async move {
                    let i = &h.issuer;
                    let padding = match h.bad {
                        Bad::Huge => "x".repeat(2 * 1024 * 1024),
                        _ => String::new(),
                    };
                    HttpResponse::Ok().json(json!({
                        "padding": padding,
                        "issuer": i,
                        "authorization_endpoint": format!("{i}/authorize"),
                        "token_endpoint": format!("{i}/token"),
                        "jwks_uri": format!("{i}/jwks"),
                        "response_types_supported": ["code"],
                        "subject_types_supported": ["public"],
                        "id_token_signing_alg_values_supported": ["RS256", "none"],
                    }))
                }),
            )
            .route(
                "/jwks",
                web::get().to(|h: web::Data<Hostile>| async move {
                    let served = {
                        let mut served = h.jwks_served.lock().unwrap();
                        *served += 1;
                        *served
                    };
                    match h.jwks.get("then") {
                        Some(then) if served > 1 => HttpResponse::Ok().json(then),
                        _ => HttpResponse::Ok().json(json!({ "keys": h.jwks["keys"] })),
                    }
                }),
            )
            .route(
                "/authorize",
                web::get().to(
                    |h: web::Data<Hostile>,
                     q: web::Query<std::collections::HashMap<String, String>>| async move {
                        *h.nonce.lock().unwrap() = q["nonce"].clone();
                        let mut to = url::Url::parse(&q["redirect_uri"]).unwrap();
                        to.query_pairs_mut()
                            .append_pair("code", "a-code")
                            .append_pair("state", &q["state"]);
                        HttpResponse::SeeOther()
                            .insert_header(("Location", to.as_str()))
                            .finish()
                    },
                ),
            )
            .route(
                "/token",
                web::post().to(|h: web::Data<Hostile>| async move {
                    if matches!(h.bad, Bad::Slow) {
                        tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
                    }
                    HttpResponse::Ok().json(json!({
                        "access_token": "at", "token_type": "Bearer", "expires_in": 300,
                        "id_token": id_token(&h),
                    }))
                }),
            )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    hostile
}

impl TestApp {
    fn clock_now(&self) -> i64 {
        mintgate::clock::Clock::now(&self.clock)
    }
}

both!(
    a_bad_id_token_is_refused,
    an_unknown_kid_refetches_the_jwks_once,
    an_oversized_answer_is_refused,
    a_connection_disabled_while_the_idp_answers_lets_nobody_in
);

/// Disabling a connection while a sign-in waits for the IdP's token answer: the callback reads
/// the connection again after the answer, so that sign-in does not outlive the disable.
async fn a_connection_disabled_while_the_idp_answers_lets_nobody_in(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let org = default_org(&app).await;
    verify_domain(&app, &org, DOMAIN).await;
    let (_hostile, id) = hostile_connection(&app, &org, Bad::Slow).await;
    let b = new_client();
    let callback = to_callback(&app, &b, &format!("/auth/oidc/{}/start", id.as_str())).await;
    let waiting = {
        let b = b.clone();
        tokio::spawn(async move { answer(&b, &callback).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (state, org2, id2) = (app.state.clone(), org.clone(), id.clone());
    tokio::task::spawn_blocking(move || {
        mintgate::federation::connections::set_enabled(
            &state.store,
            state.clock.as_ref(),
            &org2,
            &id2,
            false,
            None,
            &Default::default(),
        )
        .unwrap();
    })
    .await
    .unwrap();
    let (status, page) = waiting.await.unwrap();
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("disabled"), "{page}");
    assert!(app.account_page_with(&b).await.is_none(), "not signed in");
    assert!(
        users_with_email(&app, &format!("victim@{DOMAIN}"))
            .await
            .is_empty()
    );
}

/// An IdP answering with more than the bound is refused at the start, not buffered.
async fn an_oversized_answer_is_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let org = default_org(&app).await;
    let (_hostile, id) = hostile_connection(&app, &org, Bad::Huge).await;
    let b = new_client();
    let start = app.url(&format!("/auth/oidc/{}/start", id.as_str()));
    let page = b.get(&start).send().await.unwrap().text().await.unwrap();
    let res = continue_page(&b, &start, &page).await;
    assert_eq!(res.status(), 502);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("cannot be reached or is misconfigured"),
        "{page}"
    );
    assert!(!page.contains("127.0.0.1"), "no fetched URL: {page}");
}

async fn an_unknown_kid_refetches_the_jwks_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let org = default_org(&app).await;
    verify_domain(&app, &org, DOMAIN).await;
    let (hostile, id) = hostile_connection(&app, &org, Bad::Rotated).await;
    let b = new_client();
    let start = format!("/auth/oidc/{}/start", id.as_str());
    let callback = to_callback(&app, &b, &start).await;
    assert_eq!(
        *hostile.jwks_served.lock().unwrap(),
        1,
        "fetched with discovery"
    );
    let (status, page) = answer(&b, &callback).await;
    assert_eq!((status, page.as_str()), (303, "/account"));
    assert_eq!(
        *hostile.jwks_served.lock().unwrap(),
        2,
        "fetched again, once"
    );
}

async fn hostile_connection(
    app: &TestApp,
    org: &mintgate::ids::OrgId,
    bad: Bad,
) -> (Arc<Hostile>, ConnectionId) {
    let hostile = spawn_hostile(app, bad, "rp").await;
    let id = ConnectionId::generate();
    let c = Connection {
        id: id.clone(),
        org_id: org.clone(),
        name: format!("{bad:?}"),
        enabled: true,
        created_at: app.clock_now(),
        protocol: Protocol::Oidc(OidcConfig {
            issuer: hostile.issuer.clone(),
            client_id: "rp".into(),
            mapping: AttributeMapping::default(),
        }),
    };
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        let sealed = state.secrets.seal(c.id.as_str(), b"secret");
        state.store.create_connection(&c, Some(&sealed)).unwrap();
    })
    .await
    .unwrap();
    (hostile, id)
}

async fn a_bad_id_token_is_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let org = default_org(&app).await;
    verify_domain(&app, &org, DOMAIN).await;
    for bad in [
        Bad::Tampered,
        Bad::ForeignKey,
        Bad::AlgNone,
        Bad::Expired,
        Bad::OtherNonce,
    ] {
        let (_hostile, id) = hostile_connection(&app, &org, bad).await;
        let b = new_client();
        let start = format!("/auth/oidc/{}/start", id.as_str());
        let callback = to_callback(&app, &b, &start).await;
        let (status, page) = answer(&b, &callback).await;
        assert_eq!(status, 403, "{bad:?}: {page}");
        assert!(page.contains("ID token is not valid"), "{bad:?}: {page}");
        assert!(app.account_page_with(&b).await.is_none(), "{bad:?}");
    }
    assert!(
        users_with_email(&app, &format!("victim@{DOMAIN}"))
            .await
            .is_empty()
    );
    assert!(
        users_with_email(&app, &format!("ceo@{DOMAIN}"))
            .await
            .is_empty()
    );
    let refused = audit_kinds(&app)
        .await
        .iter()
        .filter(|k| *k == "sso.refused")
        .count();
    assert_eq!(refused, 5);
}

//! The operations hardening review: bounded metric labels, device code pruning and the
//! per-address limit, no panic on arbitrary input, `Cache-Control: no-store` on secrets,
//! `metrics_bind` and HSTS, the CLI's `--server`, and an OpenAPI document that lists every
//! answer. Each test fails without its fix.

use std::net::TcpListener;
use std::sync::Arc;

use mintgate::apikeys::service::{self, NewKey};
use mintgate::clock::ManualClock;
use mintgate::oauth::store::DeviceCodeStore;
use mintgate::startup::Application;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;
use crate::oauth_support::{client_spec, register};

/// An operator-made, never-expiring key of the `default` organisation with `scopes`
/// (comma-separated).
async fn operator_key(app: &TestApp, scopes: &str) -> String {
    let state = app.state.clone();
    let scopes = scopes.to_owned();
    tokio::task::spawn_blocking(move || {
        use mintgate::accounts::store::OrgStore;
        let org = state.store.find_org("default").unwrap().unwrap();
        let input = NewKey {
            name: "hardening".into(),
            scopes: scopes.split(',').map(str::to_owned).collect(),
            // Never expiring, so it may create applications (whose keys never expire).
            expires_in: Some("never".into()),
            allowed_ips: vec![],
        };
        let (_, secret) = service::create_for_operator(
            &state.store,
            &state.key_format,
            &org,
            None,
            input,
            state.clock.now(),
        )
        .unwrap();
        secret.expose_secret().to_owned()
    })
    .await
    .unwrap()
}

fn no_store(res: &reqwest::Response) -> bool {
    res.headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|d| d.trim() == "no-store"))
}

// ---------------------------------------------------------------------------------------
// 1. Metric labels take values from fixed sets.

#[tokio::test]
async fn metric_labels_are_bounded_whatever_the_client_sends() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let client = new_client();
    for i in 0..40 {
        let method = format!("X{i}{}", "M".repeat(2048));
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let res = client
            .request(method.clone(), app.url("/login"))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error(), "{}", res.status());
        let res = client
            .request(method, app.url(&format!("/no/such/{i}")))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error());
        client
            .get(app.url(&format!("/random-path-{i}")))
            .send()
            .await
            .unwrap();
    }
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.len() < 40_000,
        "the exposition stays small: {} bytes",
        text.len()
    );
    assert!(!text.contains("MMMM"), "no method name becomes a label");
    assert!(!text.contains("random-path"), "no raw path becomes a label");
    assert!(text.contains(r#"method="OTHER""#), "{text}");
    assert!(text.contains(r#"route="unmatched""#), "{text}");
    let allowed = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER",
    ];
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if let Some(rest) = line.split("method=\"").nth(1) {
            let method = rest.split('"').next().unwrap();
            assert!(allowed.contains(&method), "{line}");
        }
        if let Some(rest) = line.split("route=\"").nth(1) {
            let route = rest.split('"').next().unwrap();
            assert!(
                route == "unmatched" || route.starts_with('/'),
                "a route pattern: {line}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// 2. Device codes: pruned when expired, and limited per client address across instances.

async fn device_start(app: &TestApp, forwarded_for: &str) -> reqwest::Response {
    new_client()
        .post(app.url("/oauth/device_authorization"))
        .header("X-Forwarded-For", forwarded_for)
        .form(&[("client_id", "mintgate-cli"), ("scope", "openid read:org")])
        .send()
        .await
        .unwrap()
}

async fn assert_limited(res: reqwest::Response) {
    assert_eq!(res.status(), 429);
    let retry: u64 = res
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=600).contains(&retry), "{retry}");
    assert!(no_store(&res));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "slow_down", "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("20"));
}

async fn device_codes_are_limited_per_address_and_pruned(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let behind_proxy = |s: &mut mintgate::config::Settings| {
        s.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    };
    let clock = ManualClock::starting_now();
    let app = spawn_on(&db, clock.clone(), behind_proxy).await;

    // IPv6: counted per /64.
    let mut first_code = None;
    for i in 1..=20 {
        let res = device_start(&app, &format!("2001:db8:1:2::{i:x}")).await;
        assert_eq!(res.status(), 200, "code {i}");
        let body: Value = res.json().await.unwrap();
        first_code.get_or_insert(body["device_code"].as_str().unwrap().to_owned());
    }
    assert_limited(device_start(&app, "2001:db8:1:2:ffff::1").await).await;
    assert_eq!(
        device_start(&app, "2001:db8:1:3::1").await.status(),
        200,
        "another /64 is another address"
    );

    // IPv4, and IPv4-mapped IPv6 counted as that IPv4 address.
    for i in 0..19 {
        assert_eq!(device_start(&app, "203.0.113.7").await.status(), 200, "{i}");
    }
    assert_eq!(device_start(&app, "::ffff:203.0.113.7").await.status(), 200);
    assert_limited(device_start(&app, "203.0.113.7").await).await;
    assert_limited(device_start(&app, "::ffff:203.0.113.7").await).await;
    assert_eq!(device_start(&app, "203.0.113.8").await.status(), 200);

    // Another instance on the same database sees the same count.
    let other = spawn_on(&db, clock.clone(), behind_proxy).await;
    assert_limited(device_start(&other, "203.0.113.7").await).await;

    // Expired codes no longer count, and pruning deletes them.
    let first_hash = mintgate::crypto::sha256_hex(first_code.as_deref().unwrap());
    clock.advance(601);
    let res = device_start(&app, "203.0.113.7").await;
    assert_eq!(res.status(), 200);
    let fresh: Value = res.json().await.unwrap();
    let fresh_hash = mintgate::crypto::sha256_hex(fresh["device_code"].as_str().unwrap());
    let state = app.state.clone();
    let (before, pruned, old_after, fresh_after) = tokio::task::spawn_blocking(move || {
        let before = state.store.find_device_code(&first_hash).unwrap().is_some();
        let pruned = mintgate::ops::jobs::prune_expired(&state).unwrap();
        (
            before,
            pruned,
            state.store.find_device_code(&first_hash).unwrap().is_some(),
            state.store.find_device_code(&fresh_hash).unwrap().is_some(),
        )
    })
    .await
    .unwrap();
    assert!(before, "the expired code was still stored before pruning");
    assert!(pruned >= 42, "every expired code went: {pruned}");
    assert!(!old_after, "the expired device code was pruned");
    assert!(fresh_after, "a live device code is kept");
}

both!(device_codes_are_limited_per_address_and_pruned);

// ---------------------------------------------------------------------------------------
// 3 and 4. Secrets are never cached; bad input is a 4xx, never a 500.

async fn secret_answers_are_no_store(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = operator_key(&app, "admin").await;
    let client = new_client();

    // The panic: a multi-byte character where the unit should be.
    for bad in ["1é", "é", "7dé", "\u{10ffff}"] {
        let res = client
            .post(app.url("/v1/api-keys"))
            .bearer_auth(&admin)
            .json(&json!({"name": "x", "scopes": ["read:org"], "expires_in": bad}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422, "{bad}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "VALIDATION_FAILED");
    }

    let res = client
        .post(app.url("/v1/api-keys"))
        .bearer_auth(&admin)
        .json(&json!({"name": "deploy", "scopes": ["read:org"], "expires_in": "7d"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert!(no_store(&res), "a created key is not cached");
    let created: Value = res.json().await.unwrap();
    let id = created["id"].as_str().unwrap();

    let res = client
        .post(app.url(&format!("/v1/api-keys/{id}/rotate")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(no_store(&res), "a rotated key is not cached");

    let res = client
        .post(app.url("/v1/applications"))
        .bearer_auth(&admin)
        .json(&json!({"name": "ci-runner", "scope": "ci"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert!(no_store(&res), "an application's key is not cached");

    // The settings pages that show a new key.
    app.sign_in_admin().await;
    let page = app.get("/settings/api-keys").await.text().await.unwrap();
    let csrf = form_value(&page, "csrf").unwrap();
    let res = app
        .client
        .post(app.url("/settings/api-keys"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "from the page"),
            ("scope", "read:org"),
            ("expires_in", "7d"),
            ("allowed_ips", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(no_store(&res), "the page showing a new key is not cached");
    assert!(res.text().await.unwrap().contains("mg_key_prod_"));

    let page = app
        .get("/settings/applications")
        .await
        .text()
        .await
        .unwrap();
    let csrf = form_value(&page, "csrf").unwrap();
    let res = app
        .client
        .post(app.url("/settings/applications"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "page app"),
            ("scope", "ci"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        no_store(&res),
        "the page showing an application key is not cached"
    );
    assert!(res.text().await.unwrap().contains("mg_key_prod_"));

    // The token endpoint (already so; kept so).
    let mut spec = client_spec("service");
    spec.grant_types = vec!["client_credentials".into()];
    let rp = register(&app, spec).await;
    let res = client
        .post(app.url("/oauth/token"))
        .basic_auth(&rp.id, rp.secret.as_deref())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(no_store(&res), "tokens are not cached");
}

both!(secret_answers_are_no_store);

mod props {
    //! No parser of request input panics on arbitrary Unicode; non-ASCII where only ASCII is
    //! meaningful is an error.

    use actix_web::test::TestRequest;
    use mintgate::apikeys::types::{parse_allowlist, parse_expiry};
    use mintgate::config::parse_cidr;
    use mintgate::oauth::clients::PresentedClient;
    use mintgate::oauth::device::{display_user_code, normalise_user_code};
    use mintgate::oauth::grants::TokenRequest;
    use mintgate::oauth::http::parse_body;
    use mintgate::scopes::Scopes;
    use mintgate::v1::http::{CreateKeyBody, parse_json};
    use mintgate::web::client_ip::client_ip;
    use proptest::prelude::*;

    /// Has a non-ASCII character other than white space (which the parsers trim, Unicode
    /// spaces included).
    fn foreign(s: &str) -> bool {
        s.chars().any(|c| !c.is_ascii() && !c.is_whitespace())
    }

    fn body_as(content_type: &str, body: &[u8]) -> bool {
        let req = TestRequest::default()
            .insert_header(("content-type", content_type))
            .to_http_request();
        parse_body::<TokenRequest>(&req, body).is_ok()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn expiry(s in "\\PC*", digits in "[0-9]{0,4}", tail in "\\PC{0,2}") {
            for input in [s.clone(), format!("{digits}{tail}"), format!("{digits}{tail}d")] {
                let parsed = parse_expiry(&input);
                if !input.is_ascii() {
                    prop_assert!(parsed.is_err(), "{input:?}");
                }
                if let Ok(Some(secs)) = parsed {
                    prop_assert!(secs > 0);
                }
            }
        }

        #[test]
        fn scopes(s in "\\PC*") {
            let parsed = Scopes::parse(&s);
            if !s.is_ascii() {
                prop_assert!(parsed.is_none(), "{s:?}");
            }
        }

        #[test]
        fn cidrs_and_allowlists(s in "\\PC*", list in proptest::collection::vec("\\PC*", 0..4)) {
            if foreign(&s) {
                prop_assert!(parse_cidr(&s).is_err());
            }
            let parsed = parse_allowlist(&list);
            if list.iter().any(|i| foreign(i)) {
                prop_assert!(parsed.is_err(), "{list:?}");
            }
        }

        #[test]
        fn basic_auth(s in "\\PC*", raw in proptest::collection::vec(any::<u8>(), 0..64)) {
            if foreign(&s) {
                let header = format!("Basic {s}");
                prop_assert!(PresentedClient::parse_basic(&header).is_err());
            }
            use base64::Engine;
            let encoded = base64::engine::general_purpose::STANDARD.encode(&raw);
            let _ = PresentedClient::parse_basic(&format!("Basic {encoded}"));
            let _ = PresentedClient::parse_basic(&s);
        }

        #[test]
        fn forms_and_json(s in "\\PC*", raw in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = body_as("application/x-www-form-urlencoded", s.as_bytes());
            let _ = body_as("application/x-www-form-urlencoded", &raw);
            if serde_json::from_str::<serde_json::Value>(&s).is_err() {
                prop_assert!(!body_as("application/json", s.as_bytes()));
                prop_assert!(parse_json::<CreateKeyBody>(s.as_bytes()).is_err());
            }
            let _ = parse_json::<CreateKeyBody>(&raw);
            let _ = body_as("text/plain; charset=é", &raw);
        }

        #[test]
        fn forwarded_for(s in "\\PC*", t in "[0-9a-f:.\\[\\], ]{0,40}") {
            let trusted = vec!["127.0.0.0/8".parse().unwrap()];
            let peer = Some("127.0.0.1".parse().unwrap());
            let got = client_ip(peer, &[s.as_str(), t.as_str()], &trusted);
            prop_assert!(got.is_some());
        }

        #[test]
        fn user_codes(s in "\\PC*") {
            let _ = display_user_code(&s);
            let _ = display_user_code(&normalise_user_code(&s));
        }
    }
}

// ---------------------------------------------------------------------------------------
// 5. `/metrics` on its own address; HSTS on https.

#[tokio::test]
async fn metrics_bind_serves_metrics_only_on_its_address() {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut settings = test_settings(&db);
    settings.server.bind = listener.local_addr().unwrap();
    settings.server.issuer = format!("http://127.0.0.1:{port}").parse().unwrap();
    settings.server.metrics_bind = Some("127.0.0.1:0".parse().unwrap());
    let app =
        Application::build_on(settings, listener, Arc::new(ManualClock::starting_now())).unwrap();
    let metrics_port = app.metrics_port().expect("a metrics listener");
    let server = tokio::spawn(app.run_until_stopped());
    let client = new_client();
    let main = format!("http://127.0.0.1:{port}");
    let metrics = format!("http://127.0.0.1:{metrics_port}");

    assert_eq!(
        client
            .get(format!("{main}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let res = client.get(format!("{main}/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 404, "not on the main address");
    let res = client
        .get(format!("{metrics}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(
        text.contains(r#"route="/healthz""#),
        "the main address's requests are counted: {text}"
    );
    let res = client.get(format!("{metrics}/login")).send().await.unwrap();
    assert_eq!(res.status(), 404, "nothing else on the metrics address");
    server.abort();

    // Unset: on the main address, as before.
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    assert_eq!(app.get("/metrics").await.status(), 200);
}

fn hsts(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get("strict-transport-security")
        .map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn hsts_on_every_answer_of_an_https_issuer_only() {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    let app = spawn_on(&db, ManualClock::starting_now(), |s| {
        s.server.issuer = "https://id.example.test".parse().unwrap();
    })
    .await;
    for path in [
        "/healthz",
        "/login",
        "/no/such/page",
        "/metrics",
        "/oauth/jwks",
    ] {
        let res = app.get(path).await;
        assert_eq!(
            hsts(&res).as_deref(),
            Some("max-age=31536000; includeSubDomains"),
            "{path}"
        );
    }
    let res = app
        .client
        .post(app.url("/oauth/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error());
    assert!(hsts(&res).is_some(), "error answers too");

    let plain = spawn_app(Backend::Sqlite).await.unwrap();
    for path in ["/healthz", "/login", "/no/such/page"] {
        assert_eq!(hsts(&plain.get(path).await), None, "not on http: {path}");
    }
}

// ---------------------------------------------------------------------------------------
// 6. `--server` after any `auth` subcommand.

#[tokio::test]
async fn every_auth_subcommand_takes_server() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let key = operator_key(&app, "read:org").await;
    let db = TestDb::new(Backend::Sqlite).unwrap();
    let home = tempfile::tempdir().unwrap();
    let address = app.address.clone();
    let home_path = home.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let run = |args: &[&str], api_key: Option<&str>| {
            let mut cmd = crate::cli::mintgate(&db);
            cmd.args(args)
                .env("MINTGATE_CONFIG_DIR", &home_path)
                .env_remove("MINTGATE_SERVER")
                .env_remove("MINTGATE_API_KEY")
                .stdin(std::process::Stdio::null());
            if let Some(k) = api_key {
                cmd.env("MINTGATE_API_KEY", k);
            }
            let out = cmd.output().unwrap();
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        };
        let (code, out, err) = run(
            &["auth", "list-keys", "--server", &address, "--json"],
            Some(&key),
        );
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("\"data\""), "{out}");
        let (code, out, err) = run(&["auth", "verify", "--server", &address], Some(&key));
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("valid for organization default"), "{out}");
        let (code, _, err) = run(&["auth", "--server", &address, "verify"], Some(&key));
        assert_eq!(code, 0, "before the subcommand too: {err}");
        let (code, _, err) = run(
            &[
                "auth",
                "revoke-key",
                "--key-id",
                "key_nope",
                "--server",
                &address,
            ],
            Some(&key),
        );
        assert_eq!(
            code, 4,
            "reached the server, which refused (read:org only): {err}"
        );
        let (code, _, err) = run(
            &[
                "auth",
                "rotate-key",
                "--key-id",
                "key_nope",
                "--server",
                &address,
            ],
            Some(&key),
        );
        assert_eq!(code, 4, "{err}");
        let (code, _, err) = run(
            &[
                "auth",
                "create-key",
                "--name",
                "n",
                "--scope",
                "ci",
                "--server",
                &address,
            ],
            Some(&key),
        );
        assert_eq!(code, 4, "{err}");

        // A stored login is never sent to another server.
        std::fs::write(
            home_path.join("credentials.json"),
            json!({"server": address, "access_token": "mg_token_x", "refresh_token": null,
                   "expires_at": 4_000_000_000i64})
            .to_string(),
        )
        .unwrap();
        let (code, _, err) = run(
            &["auth", "list-keys", "--server", "http://127.0.0.1:9"],
            None,
        );
        assert_eq!(code, 3, "{err}");
        assert!(err.contains("not logged in to http://127.0.0.1:9"), "{err}");
        let (code, _, err) = run(&["auth", "logout", "--server", "http://127.0.0.1:9"], None);
        assert_eq!(code, 3, "{err}");
        assert!(home_path.join("credentials.json").exists());
        let (code, _, err) = run(&["auth", "logout", "--server", &address], None);
        assert_eq!(code, 0, "{err}");
        assert!(!home_path.join("credentials.json").exists());
    })
    .await
    .unwrap();
}

// ---------------------------------------------------------------------------------------
// 7. The OpenAPI document lists every answer and every bound.

#[tokio::test]
async fn openapi_documents_every_answer_and_bound() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    let responses = |path: &str, method: &str| -> Vec<String> {
        doc["paths"][path][method]["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path} is documented"))
            .keys()
            .cloned()
            .collect()
    };
    for (path, method) in [("/v1/api-keys", "post"), ("/v1/applications", "post")] {
        let r = responses(path, method);
        for status in ["400", "401", "403", "413", "422"] {
            assert!(
                r.contains(&status.to_owned()),
                "{method} {path}: {status} in {r:?}"
            );
        }
    }
    for (path, method) in [
        ("/v1/api-keys/{id}", "delete"),
        ("/v1/api-keys/{id}/rotate", "post"),
        ("/v1/applications/{id}", "delete"),
    ] {
        assert!(
            responses(path, method).contains(&"404".to_owned()),
            "{path}"
        );
    }
    let schemas = &doc["components"]["schemas"];
    for body in ["CreateKeyBody", "CreateApplicationBody"] {
        let name = &schemas[body]["properties"]["name"];
        assert_eq!(name["minLength"], 1, "{body}: {name}");
        assert_eq!(name["maxLength"], 100, "{body}: {name}");
        assert_eq!(schemas[body]["additionalProperties"], false, "{body}");
    }
    let scopes = &schemas["CreateKeyBody"]["properties"]["scopes"];
    assert_eq!(scopes["minItems"], 1, "{scopes}");
    let scope_enum = schemas["ApiScope"]["enum"].as_array().unwrap();
    assert_eq!(scope_enum.len(), 8);
    assert!(scope_enum.contains(&json!("write:org")));
    assert!(
        schemas["CreateKeyBody"]["properties"]["expires_in"]["pattern"].is_string(),
        "{}",
        schemas["CreateKeyBody"]
    );

    // What the document says is what the server does.
    let admin = operator_key(&app, "admin").await;
    let post = |body: String| {
        new_client()
            .post(app.url("/v1/api-keys"))
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let res = post("{not json".into()).await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "INVALID_REQUEST"
    );
    let res = post(json!({"name": "n", "scopes": ["ci"], "extra": 1}).to_string())
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "unknown fields are refused");
    let long = format!(" {}", "n".repeat(100));
    let res = post(json!({"name": long, "scopes": ["ci"]}).to_string())
        .await
        .unwrap();
    assert_eq!(res.status(), 422, "101 characters as sent");
    let res = post(json!({"name": "n", "scopes": []}).to_string())
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let res =
        post(json!({"name": "n".repeat(100), "scopes": ["ci"], "expires_in": "1d"}).to_string())
            .await
            .unwrap();
    assert_eq!(res.status(), 201);
    let res = post(format!(
        r#"{{"name": "{}", "scopes": ["ci"]}}"#,
        "n".repeat(70_000)
    ))
    .await
    .unwrap();
    assert_eq!(res.status(), 413);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        body["code"], "PAYLOAD_TOO_LARGE",
        "the /v1 error body: {body}"
    );
}

/// `metrics_bind` is read like every other key; a bad value stops the program naming it.
#[test]
fn metrics_bind_is_configurable_and_checked() {
    let db = TestDb::empty(Backend::Sqlite).unwrap();
    for (value, ok) in [
        ("127.0.0.1:9100", true),
        ("not an address", false),
        ("127.0.0.1:8080", false),
    ] {
        let out = crate::cli::mintgate(&db)
            .arg("migrate")
            .env("MINTGATE_BIND", "127.0.0.1:8080")
            .env("MINTGATE_METRICS_BIND", value)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        if ok {
            assert_eq!(out.status.code(), Some(0), "{value}: {err}");
        } else {
            assert_eq!(out.status.code(), Some(2), "{value}: {err}");
            assert!(err.contains("metrics_bind"), "{err}");
        }
    }
}

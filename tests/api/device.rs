//! The device authorization grant and the `mintgate auth` CLI end to end.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::both;
use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_mintgate");

pub(crate) async fn start(app: &TestApp) -> Value {
    let res = new_client()
        .post(app.url("/oauth/device_authorization"))
        .form(&[
            ("client_id", "mintgate-cli"),
            ("scope", "openid offline_access read:org write:org admin"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

pub(crate) async fn poll(app: &TestApp, device_code: &str) -> (u16, Value) {
    let res = new_client()
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device_code),
            ("client_id", "mintgate-cli"),
        ])
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

/// Enters `code` on /device as the signed-in `browser`, then answers `decision`.
pub(crate) async fn answer(
    app: &TestApp,
    browser: &reqwest::Client,
    code: &str,
    decision: Option<&str>,
) -> reqwest::Response {
    let page = browser
        .get(app.url("/device"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = form_value(&page, "csrf").expect("device page form");
    let res = browser
        .post(app.url("/device"))
        .form(&[("csrf", csrf.as_str()), ("user_code", code)])
        .send()
        .await
        .unwrap();
    let Some(decision) = decision else { return res };
    let page = res.text().await.unwrap();
    assert!(
        page.contains("mintgate CLI"),
        "the page names the client: {page}"
    );
    let csrf = form_value(&page, "csrf").unwrap();
    browser
        .post(app.url("/device"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("user_code", code),
            ("decision", decision),
        ])
        .send()
        .await
        .unwrap()
}

async fn device_grant_rules(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let doc: Value = app
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        doc["device_authorization_endpoint"]
            .as_str()
            .unwrap()
            .ends_with("/oauth/device_authorization")
    );
    let started = start(&app).await;
    let user_code = started["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9);
    assert!(
        user_code
            .replace('-', "")
            .chars()
            .all(|c| "BCDFGHJKLMNPQRSTVWXZ".contains(c)),
        "{user_code}"
    );
    assert_eq!(started["interval"], 5);
    assert_eq!(started["expires_in"], 600);
    let device_code = started["device_code"].as_str().unwrap();
    assert_eq!(
        poll(&app, device_code).await.1["error"],
        "authorization_pending"
    );
    assert_eq!(
        poll(&app, device_code).await.1["error"],
        "slow_down",
        "polled again at once"
    );
    app.clock.advance(11);
    // A member approves: API scopes are cut to the role.
    app.create_user("mia", "mia-password-1").await;
    let browser = new_client();
    app.post_login_with(&browser, "mia", "mia-password-1", None)
        .await;
    let forged = browser
        .post(app.url("/device"))
        .form(&[("user_code", user_code), ("decision", "allow")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        forged.status(),
        403,
        "approving a device needs the form's CSRF token"
    );
    let res = answer(&app, &browser, &user_code.to_lowercase(), Some("allow")).await;
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("go back to your terminal")
    );
    let (status, tokens) = poll(&app, device_code).await;
    assert_eq!(status, 200, "{tokens}");
    let scope = tokens["scope"].as_str().unwrap();
    assert!(
        scope.contains("read:org") && !scope.contains("write:org") && !scope.contains("admin"),
        "{scope}"
    );
    assert!(tokens["refresh_token"].is_string());
    app.clock.advance(11);
    assert_eq!(
        poll(&app, device_code).await.1["error"],
        "invalid_grant",
        "single use"
    );

    // Denied, and expired.
    let denied = start(&app).await;
    answer(
        &app,
        &browser,
        denied["user_code"].as_str().unwrap(),
        Some("deny"),
    )
    .await;
    assert_eq!(
        poll(&app, denied["device_code"].as_str().unwrap()).await.1["error"],
        "access_denied"
    );
    let late = start(&app).await;
    app.clock.advance(601);
    assert_eq!(
        poll(&app, late["device_code"].as_str().unwrap()).await.1["error"],
        "expired_token"
    );
}

async fn wrong_user_codes_are_throttled(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let app = spawn_on(&db, mintgate::clock::ManualClock::starting_now(), |s| {
        s.login.max_failures = 3
    })
    .await;
    app.sign_in_admin().await;
    for _ in 0..3 {
        let res = answer(&app, &app.client, "BBBB-BBBB", None).await;
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains("not valid"));
    }
    let res = answer(&app, &app.client, "BBBB-BBBB", None).await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().get("retry-after").is_some());
}

/// `mintgate auth login` approved through the /device page, then create, list, verify, revoke.
async fn cli_end_to_end(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().to_path_buf();
    let cli = move |args: &[&str]| {
        let mut c = Command::new(BIN);
        c.args(args)
            .env("MINTGATE_CONFIG_DIR", &home_path)
            .env("MINTGATE_DATA_DIR", &home_path)
            .env_remove("MINTGATE_API_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    };
    // The server's clock is a test clock: let it follow real time while the CLI polls.
    let clock = app.clock.clone();
    let ticking = tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            clock.advance(1);
        }
    });
    let mut login = cli(&["auth", "login", "--server", &app.address])
        .spawn()
        .unwrap();
    let stderr = login.stderr.take().unwrap();
    let (code, mut rest) = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::new(stderr);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        (line.split_whitespace().last().unwrap().to_owned(), reader)
    })
    .await
    .unwrap();
    app.sign_in_admin().await;
    answer(&app, &app.client, &code, Some("allow")).await;
    let (out, errors) = tokio::task::spawn_blocking(move || {
        let mut errors = String::new();
        std::io::Read::read_to_string(&mut rest, &mut errors).unwrap();
        (login.wait_with_output().unwrap(), errors)
    })
    .await
    .unwrap();
    ticking.abort();
    assert!(out.status.success(), "{errors}");
    let creds = home.path().join("credentials.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let run = move |args: Vec<String>, envs: Vec<(&'static str, String)>| {
        let mut c = cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
        for (k, v) in envs {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let args = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    // The server runs on its own worker threads: blocking here is fine.
    let (status, out, err) = run(
        args(&[
            "auth",
            "create-key",
            "--name",
            "deploy",
            "--scope",
            "read:org,ci",
            "--expires-in",
            "7d",
            "--json",
        ]),
        vec![],
    );
    assert_eq!(status, 0, "{err}");
    let created: Value = serde_json::from_str(&out).unwrap();
    let key = created["key"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();

    let (status, out, _) = run(args(&["auth", "list-keys", "--json"]), vec![]);
    assert_eq!(status, 0);
    assert!(out.contains(&id) && !out.contains(&key));
    let (status, out, _) = run(args(&["auth", "list-keys"]), vec![]);
    assert_eq!(status, 0);
    assert!(
        out.contains("deploy") && out.starts_with("ID"),
        "a table: {out}"
    );

    let (status, out, err) = run(
        args(&["auth", "verify", "--json"]),
        vec![
            ("MINTGATE_API_KEY", key.clone()),
            ("MINTGATE_SERVER", app.address.clone()),
            ("MINTGATE_DEBUG", "1".into()),
        ],
    );
    assert_eq!(status, 0, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["key_id"],
        id.as_str()
    );
    assert!(
        err.contains("DEBUG GET") && err.contains("/v1/auth/verify -> 200"),
        "{err}"
    );
    assert!(
        !err.contains(&key),
        "the credential is redacted in debug output"
    );

    let (status, _, err) = run(args(&["auth", "revoke-key", "--key-id", &id]), vec![]);
    assert_eq!(status, 0, "{err}");
    let (status, _, err) = run(
        args(&["auth", "verify"]),
        vec![
            ("MINTGATE_API_KEY", key.clone()),
            ("MINTGATE_SERVER", app.address.clone()),
        ],
    );
    assert_eq!(status, 4);
    assert!(
        err.contains("Invalid or expired API key") && err.contains("AUTH_INVALID_KEY"),
        "{err}"
    );

    let (status, _, err) = run(args(&["auth", "logout"]), vec![]);
    assert_eq!(status, 0, "{err}");
    let (status, _, err) = run(args(&["auth", "list-keys"]), vec![]);
    assert_eq!(status, 3);
    assert!(err.contains("not logged in"), "{err}");
    let (status, _, err) = run(
        args(&["auth", "verify"]),
        vec![
            ("MINTGATE_API_KEY", key),
            ("MINTGATE_SERVER", "http://127.0.0.1:9".into()),
        ],
    );
    assert_eq!(status, 5);
    assert!(err.contains("cannot reach"), "{err}");
}

both!(
    device_grant_rules,
    wrong_user_codes_are_throttled,
    cli_end_to_end
);

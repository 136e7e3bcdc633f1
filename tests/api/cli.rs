//! The binary itself: operator commands, configuration errors, serving and SIGTERM.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::both;
use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_mintgate");

pub(crate) fn mintgate(db: &TestDb) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env("MINTGATE_DATA_DIR", db.dir.path())
        .env("MINTGATE_DATABASE_URL", &db.url)
        .env("MINTGATE_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

pub(crate) fn run(db: &TestDb, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = mintgate(db).args(args).spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn operator_commands(backend: Backend) {
    let Some(db) = TestDb::empty(backend) else {
        return;
    };
    tokio::task::spawn_blocking(move || {
        let (code, out, err) = run(&db, &["migrate"], "");
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("up to date"));
        let (code, out, _) = run(&db, &["org", "create", "Acme", "--json"], "");
        assert_eq!(code, 0);
        let org: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(org["name"], "Acme");
        let (code, _, err) = run(&db, &["org", "create", "acme"], "");
        assert_ne!(code, 0);
        assert!(err.contains("already exists"), "{err}");
        let (code, out, err) = run(
            &db,
            &[
                "org",
                "set",
                "acme",
                "--api-key-max-lifetime",
                "30d",
                "--api-key-legacy-query",
                "false",
                "--json",
            ],
            "",
        );
        assert_eq!(code, 0, "{err}");
        let policy: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(policy["api_key_max_lifetime"], 30 * 86_400);
        assert_eq!(policy["api_key_legacy_query"], false);
        let (code, _, _) = run(
            &db,
            &["org", "set", "acme", "--api-key-max-lifetime", "soon"],
            "",
        );
        assert_eq!(code, 2);

        let args = [
            "user",
            "create",
            "--username",
            "grace",
            "--email",
            "grace@acme.test",
            "--org",
            "Acme",
            "--role",
            "admin",
            "--password-stdin",
            "--json",
        ];
        let (code, out, err) = run(&db, &args, "grace-password-1\n");
        assert_eq!(code, 0, "{err}");
        let user: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(user["username"], "grace");
        assert_eq!(user["role"], "admin");
        assert!(!out.contains("grace-password-1"));

        let (code, _, err) = run(&db, &args, "grace-password-1\n");
        assert_ne!(code, 0);
        assert!(err.contains("already exists"), "{err}");
        let (code, _, err) = run(
            &db,
            &[
                "user",
                "create",
                "--username",
                "heidi",
                "--email",
                "h@x.test",
                "--org",
                "Nope",
                "--password-stdin",
            ],
            "heidi-password-1\n",
        );
        assert_ne!(code, 0);
        assert!(err.contains("no organisation named `Nope`"), "{err}");
        let (code, _, err) = run(
            &db,
            &[
                "user",
                "create",
                "--username",
                "bad name",
                "--email",
                "h@x.test",
                "--password-stdin",
            ],
            "heidi-password-1\n",
        );
        assert_eq!(code, 2, "{err}");

        let (code, out, _) = run(&db, &["user", "list", "--json"], "");
        assert_eq!(code, 0);
        let users: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(users.as_array().unwrap().len(), 1);
        let (code, out, _) = run(&db, &["user", "disable", "grace"], "");
        assert_eq!(code, 0);
        assert!(out.contains("disabled user grace"));
        let (code, _, err) = run(&db, &["user", "disable", "nobody"], "");
        assert_ne!(code, 0);
        assert!(err.contains("no user named"), "{err}");
    })
    .await
    .unwrap();
}

#[test]
fn a_bad_configuration_value_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["migrate"])
        .env("MINTGATE_DATA_DIR", dir.path())
        .env("MINTGATE_LOGIN_MAX_FAILURES", "many")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("login_max_failures"));

    let out = Command::new(BIN)
        .args(["migrate"])
        .env("MINTGATE_ISSUER", "ftp://x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`issuer`"));

    let file = dir.path().join("mintgate.toml");
    std::fs::write(&file, "session_idle_timeout = \"soon\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["--config", file.to_str().unwrap(), "migrate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("session_idle_timeout"));
}

/// `mintgate` with no arguments serves, prints a one-time password that signs in, and drains
/// and exits 0 on SIGTERM.
#[tokio::test]
async fn serve_first_run_and_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(BIN)
        .env("MINTGATE_DATA_DIR", dir.path())
        .env("MINTGATE_BIND", format!("127.0.0.1:{port}"))
        .env("MINTGATE_ISSUER", format!("http://127.0.0.1:{port}"))
        .env_remove("MINTGATE_ADMIN_PASSWORD")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let password = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stderr).lines();
        let mut previous_blank_after_banner = false;
        while let Some(Ok(line)) = lines.next() {
            if line.contains("first run") {
                previous_blank_after_banner = true;
                continue;
            }
            if previous_blank_after_banner && !line.trim().is_empty() {
                return line.trim().to_owned();
            }
        }
        panic!("no first-run password on stderr");
    })
    .await
    .unwrap();
    assert!(password.len() >= 20);

    let app_url = format!("http://127.0.0.1:{port}");
    let client = new_client();
    let mut ready = false;
    for _ in 0..100 {
        if client.get(format!("{app_url}/readyz")).send().await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready);
    let page = client
        .get(format!("{app_url}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = form_value(&page, "csrf").unwrap();
    let res = client
        .post(format!("{app_url}/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("login", "admin"),
            ("password", password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "the printed password signs in");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "SIGTERM exits 0");
    let logs = String::from_utf8_lossy(&out.stdout);
    assert!(logs.contains("mintgate is serving"));
    assert!(
        !logs.contains(&password),
        "the password never reaches the log stream"
    );
}

both!(operator_commands);

/// A key sent as `?api_key=` never reaches the logs, even at debug level.
#[tokio::test]
async fn query_parameter_key_is_absent_from_logs() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::empty(Backend::Sqlite).unwrap();
    let (code, _, err) = run(&db, &["org", "create", "acme"], "");
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(
        &db,
        &[
            "api-key", "create", "--org", "acme", "--name", "legacy", "--scope", "read:org",
            "--json",
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    let key = serde_json::from_str::<serde_json::Value>(&out).unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = mintgate(&db)
        .env("MINTGATE_LOG", "debug")
        .env("MINTGATE_BIND", format!("127.0.0.1:{port}"))
        .env("MINTGATE_ADMIN_PASSWORD", "irrelevant-password")
        .env("MINTGATE_SECRETS_KEY_FILE", dir.path().join("k"))
        .arg("serve")
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = new_client();
    for _ in 0..100 {
        if client.get(format!("{base}/readyz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let res = client
        .get(format!("{base}/v1/auth/verify?api_key={key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = client
        .get(format!("{base}/no/such/page?api_key={key}"))
        .send()
        .await
        .unwrap();
    assert!(
        !res.text().await.unwrap().contains(&key),
        "not echoed on error pages"
    );
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!metrics.contains(&key));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        logs.contains("/v1/auth/verify"),
        "the request was logged: {logs}"
    );
    assert!(!logs.contains(&key), "the key is not");
    assert!(!logs.contains(&key[key.len() - 20..]));
}

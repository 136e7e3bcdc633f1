//! An independent SCIM client against the server: `scim2-client` (PyPI, pinned in
//! `tests/scim/requirements.txt`, installed once into `target/scim-venv`) discovers the server,
//! then creates, filters, patches, replaces and deletes a user and a group, validating every
//! response with its own RFC 7643 models. Without python3 the test is skipped, except under
//! `CI=true`, where it fails.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::both;
use crate::helpers::*;
use crate::scim_support::token_for;
use crate::sso_idp_support::default_org;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// The venv's python, once the pinned requirements are installed; `None` (skip) without
/// python3 outside CI.
fn python() -> Option<PathBuf> {
    static READY: OnceLock<Option<PathBuf>> = OnceLock::new();
    READY
        .get_or_init(|| {
            let venv = root().join("target/scim-venv");
            let python = venv.join("bin/python");
            let requirements = root().join("tests/scim/requirements.txt");
            let wanted = std::fs::read_to_string(&requirements).expect("requirements");
            let marker = venv.join("installed-requirements.txt");
            if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
                return Some(python);
            }
            let created = Command::new("python3")
                .args(["-m", "venv", "--clear"])
                .arg(&venv)
                .status()
                .is_ok_and(|s| s.success());
            if !created {
                assert!(
                    !in_ci(),
                    "python3 with venv is required for the SCIM client test under CI"
                );
                eprintln!("skipping: python3 -m venv failed");
                return None;
            }
            let installed = Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(&requirements)
                .status()
                .is_ok_and(|s| s.success());
            if !installed {
                assert!(
                    !in_ci(),
                    "pip install of tests/scim/requirements.txt failed under CI"
                );
                eprintln!("skipping: pip install of the SCIM client failed");
                return None;
            }
            std::fs::write(&marker, wanted).expect("marker");
            Some(python)
        })
        .clone()
}

async fn scim2_client_round_trip(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let Some(python) = tokio::task::spawn_blocking(python).await.unwrap() else {
        return;
    };
    let org = default_org(&app).await;
    let token = token_for(&app, &org).await;
    let base = app.url("/scim/v2");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(root().join("tests/scim/client.py"))
            .arg(&base)
            .arg(&token)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stdout.trim(), "OK", "{stderr}");
}

both!(scim2_client_round_trip);

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

/// The venv's python with the pinned SCIM client, made once per test process (see
/// `python_venv`).
fn python() -> Option<PathBuf> {
    static READY: OnceLock<Option<PathBuf>> = OnceLock::new();
    READY
        .get_or_init(|| python_venv("scim-venv", "tests/scim/requirements.txt"))
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

//! Real-browser tests in headless Chromium (Debian's `chromium`).

use std::time::Duration;

use chromiumoxide::browser::{Browser, BrowserConfig};
use futures::StreamExt;

use crate::helpers::*;

const CHROMIUM: &str = "/usr/bin/chromium";

/// Launches headless Chromium, or `None` (skipped) when it is not installed — unless
/// `MINTGATE_TEST_REQUIRE_BROWSER=1`, which CI sets.
pub async fn launch() -> Option<(Browser, tempfile::TempDir, tokio::task::JoinHandle<()>)> {
    if !std::path::Path::new(CHROMIUM).exists() {
        if std::env::var("MINTGATE_TEST_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("MINTGATE_TEST_REQUIRE_BROWSER=1 but {CHROMIUM} is not installed");
        }
        eprintln!("skipped: {CHROMIUM} is not installed");
        return None;
    }
    let profile = tempfile::tempdir().unwrap();
    let config = BrowserConfig::builder()
        .chrome_executable(CHROMIUM)
        .no_sandbox()
        .new_headless_mode()
        .user_data_dir(profile.path())
        .args([
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .request_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let (browser, mut handler) = Browser::launch(config).await.expect("chromium starts");
    let pump = tokio::spawn(async move { while handler.next().await.is_some() {} });
    Some((browser, profile, pump))
}

/// Polls (up to 15 s) until `selector` matches in the current document and returns its text;
/// navigation can replace the document between a lookup and a read, so read in one script.
pub async fn text_of(page: &chromiumoxide::Page, selector: &str) -> Option<String> {
    let script = format!(
        "(() => {{ const e = document.querySelector({selector:?}); return e ? e.textContent : null; }})()"
    );
    for _ in 0..150 {
        if let Ok(result) = page.evaluate(script.as_str()).await
            && let Ok(Some(text)) = result.into_value::<Option<String>>()
        {
            return Some(text);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// Polls until the page's URL satisfies `ok`; returns the last URL seen.
pub async fn wait_for_url(page: &chromiumoxide::Page, ok: impl Fn(&str) -> bool) -> String {
    let mut url = String::new();
    for _ in 0..150 {
        url = page.url().await.ok().flatten().unwrap_or_default();
        if ok(&url) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    url
}

/// Types into an input once it exists.
pub async fn type_into(page: &chromiumoxide::Page, selector: &str, value: &str) {
    on_element(page, selector, |page| async move {
        let element = page.find_element(selector).await?;
        element.click().await?.type_str(value).await?;
        Ok(())
    })
    .await;
}

pub async fn click(page: &chromiumoxide::Page, selector: &str) {
    on_element(page, selector, |page| async move {
        page.find_element(selector).await?.click().await?;
        Ok(())
    })
    .await;
}

/// Waits for `selector`, then runs `act`, again (a few times) when it fails: a page still
/// loading can replace its document between finding a node and using it, and CDP then answers
/// "Could not find node with given id".
async fn on_element<'a, F, Fut>(page: &'a chromiumoxide::Page, selector: &str, act: F)
where
    F: Fn(&'a chromiumoxide::Page) -> Fut,
    Fut: std::future::Future<Output = Result<(), chromiumoxide::error::CdpError>>,
{
    assert!(
        text_of(page, selector).await.is_some(),
        "{selector} never appeared"
    );
    let mut last = None;
    for _ in 0..20 {
        match act(page).await {
            Ok(()) => return,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{selector}: {last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_in_a_real_browser() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let Some((mut browser, _profile, pump)) = launch().await else {
        return;
    };
    let page = browser.new_page(app.url("/account")).await.unwrap();
    let url = wait_for_url(&page, |u| u.contains("/login")).await;
    assert!(url.contains("/login?return_to=%2Faccount"), "{url}");
    type_into(&page, "#login", ADMIN_USERNAME).await;
    type_into(&page, "#password", ADMIN_PASSWORD).await;
    click(&page, "button[type=submit]").await;
    let url = wait_for_url(&page, |u| u.ends_with("/account")).await;
    assert!(
        url.ends_with("/account"),
        "{url}: {}",
        page.content().await.unwrap_or_default()
    );
    assert_eq!(
        text_of(&page, "#username").await.as_deref(),
        Some(ADMIN_USERNAME)
    );
    browser.close().await.unwrap();
    let _ = browser.wait().await;
    pump.abort();
}

/// Sign-in and consent in the browser end on the client's redirect URI with a code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_sign_in_and_consent_in_a_real_browser() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let Some((mut browser, _profile, pump)) = launch().await else {
        return;
    };
    // The redirect URI points back at this server: the browser lands on a 404 page whose URL
    // carries the code, which is all the test needs.
    let redirect = app.url("/rp/callback");
    let mut spec = crate::oauth_support::client_spec("Browser RP");
    spec.redirect_uris = vec![redirect.clone()];
    let client = crate::oauth_support::register(&app, spec).await;
    let auth = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope=openid%20profile&state=xyz",
        app.url("/oauth/authorize"),
        client.id,
        url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>()
    );
    let page = browser.new_page(auth).await.unwrap();
    wait_for_url(&page, |u| u.contains("/login")).await;
    type_into(&page, "#login", ADMIN_USERNAME).await;
    type_into(&page, "#password", ADMIN_PASSWORD).await;
    click(&page, "button[type=submit]").await;
    assert_eq!(
        text_of(&page, "#client-name").await.as_deref(),
        Some("Browser RP"),
        "the consent page names the client"
    );
    assert_accessible(&page).await;
    click(&page, "#allow").await;
    let url = wait_for_url(&page, |u| u.starts_with(&redirect)).await;
    assert!(url.starts_with(&redirect), "{url}");
    let q = crate::oauth_support::query_of(&url);
    assert!(q.get("code").is_some_and(|c| c.len() >= 43), "{url}");
    assert_eq!(q["state"], "xyz");
    assert_eq!(q["iss"], app.address);
    browser.close().await.unwrap();
    let _ = browser.wait().await;
    pump.abort();
}

/// Settings > API keys in the browser: generate a key, see it once, revoke it after confirming.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_page_in_a_real_browser() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let Some((mut browser, _profile, pump)) = launch().await else {
        return;
    };
    let page = browser
        .new_page(app.url("/settings/api-keys"))
        .await
        .unwrap();
    wait_for_url(&page, |u| u.contains("/login")).await;
    type_into(&page, "#login", ADMIN_USERNAME).await;
    type_into(&page, "#password", ADMIN_PASSWORD).await;
    click(&page, "button[type=submit]").await;
    wait_for_url(&page, |u| u.ends_with("/settings/api-keys")).await;
    type_into(&page, "#name", "browser key").await;
    click(&page, "input[value='read:org']").await;
    click(&page, "input[value='write:org']").await;
    click(&page, "#generate").await;
    let key = text_of(&page, "#new-key")
        .await
        .expect("the new key is shown");
    assert!(key.trim().starts_with("mg_key_prod_"), "{key}");
    // Verify it works against the API, then reload: the key is not shown again.
    let res = new_client()
        .get(app.url("/v1/auth/verify"))
        .bearer_auth(key.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    page.goto(app.url("/settings/api-keys")).await.unwrap();
    assert!(
        text_of(&page, "#keys")
            .await
            .unwrap()
            .contains("browser key")
    );
    let html = page.content().await.unwrap();
    assert!(!html.contains(key.trim()), "shown exactly once");
    click(&page, "#keys a.danger").await;
    wait_for_url(&page, |u| u.ends_with("/revoke")).await;
    assert_accessible(&page).await;
    click(&page, "#confirm").await;
    wait_for_url(&page, |u| u.ends_with("/settings/api-keys")).await;
    let res = new_client()
        .get(app.url("/v1/auth/verify"))
        .bearer_auth(key.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "revoked");
    browser.close().await.unwrap();
    let _ = browser.wait().await;
    pump.abort();
}

/// Settings > Security in the browser: TOTP enrolment with the code computed from the key the
/// page shows (the QR code an image the page's CSP lets load), then a sign-in with a code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_enrolment_and_sign_in_in_a_real_browser() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let Some((mut browser, _profile, pump)) = launch().await else {
        return;
    };
    let password = "a long enough passphrase";
    app.create_user("ada", password).await;
    let page = browser
        .new_page(app.url("/settings/security"))
        .await
        .unwrap();
    wait_for_url(&page, |u| u.contains("/login")).await;
    type_into(&page, "#login", "ada").await;
    type_into(&page, "#password", password).await;
    click(&page, "form[action='/login'] button[type=submit]").await;
    wait_for_url(&page, |u| u.ends_with("/settings/security")).await;
    click(&page, "#totp-enrol").await;
    let secret = text_of(&page, "#totp-secret")
        .await
        .expect("the key is shown in text");
    let loaded: bool = page
        .evaluate("document.querySelector('#totp-qr').complete && document.querySelector('#totp-qr').naturalWidth > 0")
        .await
        .unwrap()
        .into_value()
        .unwrap();
    assert!(loaded, "the QR code image loads under the page's CSP");
    let seed = mintgate::mfa::totp::Seed::from_bytes(
        totp_rs::Secret::try_from_base32(secret.trim())
            .unwrap()
            .as_bytes()
            .to_vec(),
    );
    use mintgate::clock::Clock;
    type_into(&page, "#totp-code", &seed.code_at(app.clock.now())).await;
    click(&page, "#totp-confirm").await;
    let codes = text_of(&page, "#recovery-codes")
        .await
        .expect("the recovery codes are shown");
    assert_eq!(codes.matches('-').count(), 30, "ten codes: {codes}");
    assert!(text_of(&page, "#totp-on").await.is_some());
    assert_accessible(&page).await;
    // Sign out, and in again: password, then a code of the next step.
    app.clock.advance(30);
    click(&page, "form[action='/logout'] button").await;
    wait_for_url(&page, |u| u.contains("/login")).await;
    type_into(&page, "#login", "ada").await;
    type_into(&page, "#password", password).await;
    click(&page, "form[action='/login'] button[type=submit]").await;
    wait_for_url(&page, |u| u.ends_with("/login/factor")).await;
    assert!(text_of(&page, "#totp-code").await.is_some());
    assert_accessible(&page).await;
    type_into(&page, "#totp-code", &seed.code_at(app.clock.now())).await;
    click(&page, "#totp-submit").await;
    let url = wait_for_url(&page, |u| u.ends_with("/account")).await;
    assert!(url.ends_with("/account"), "{url}");
    assert_eq!(text_of(&page, "#username").await.as_deref(), Some("ada"));
    browser.close().await.unwrap();
    let _ = browser.wait().await;
    pump.abort();
}
#[path = "browser_passkeys.rs"]
mod passkeys;

/// axe-core's script, installed once per test process with npm into `target/axe`; `None`
/// (skip the check) without npm, except under `CI=true`, where that fails the test.
fn axe_script() -> Option<String> {
    static SCRIPT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    SCRIPT
        .get_or_init(|| {
            let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/axe");
            let file = dir.join("node_modules/axe-core/axe.min.js");
            if !file.exists() {
                let ok = std::process::Command::new("npm")
                    .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
                    .arg(&dir)
                    .arg(format!("axe-core@{AXE_VERSION}"))
                    .status()
                    .is_ok_and(|s| s.success());
                if !ok {
                    assert!(
                        std::env::var("CI").as_deref() != Ok("true"),
                        "npm could not install axe-core under CI"
                    );
                    eprintln!("skipping the accessibility check: axe-core is not installed");
                    return None;
                }
            }
            Some(std::fs::read_to_string(file).expect("axe.min.js"))
        })
        .clone()
}

/// The axe-core release the accessibility checks run.
const AXE_VERSION: &str = "4.14.1";

/// Runs axe-core (WCAG 2.x A and AA rules) on the page now shown and fails on any serious or
/// critical violation, naming the rule and the elements. The script is evaluated through the
/// DevTools protocol, so the page's CSP (no inline scripts) does not stand in its way.
pub async fn assert_accessible(page: &chromiumoxide::Page) {
    let Some(axe) = axe_script() else {
        return;
    };
    page.evaluate(axe.as_str()).await.expect("axe-core loads");
    let check = r#"(async () => {
        const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
        return JSON.stringify(r.violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.html) })));
    })()"#;
    let violations: String = page
        .evaluate(check)
        .await
        .expect("axe-core runs")
        .into_value()
        .expect("axe-core's answer");
    let url = page.url().await.ok().flatten().unwrap_or_default();
    assert_eq!(violations, "[]", "accessibility violations on {url}");
}

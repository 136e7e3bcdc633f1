//! Helpers for the second-factor tests: the organisation's MFA requirement, TOTP codes, and
//! enrolling TOTP from Settings > Security as a browser would.

use mintgate::clock::Clock;
use mintgate::mfa::totp::Seed;

use crate::helpers::*;

/// Sets the default organisation's MFA requirement as the CLI does.
pub async fn require_mfa(app: &TestApp, require: bool) {
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        use mintgate::accounts::store::OrgStore;
        let org = state.store.find_org("default").unwrap().unwrap();
        mintgate::accounts::service::set_require_mfa(
            &state.store,
            state.clock.as_ref(),
            &org,
            require,
            None,
            &Default::default(),
        )
        .unwrap();
    })
    .await
    .unwrap();
}

/// The code an authenticator app shows for `seed` at the app's time (RFC 6238, SHA-1, 6
/// digits, 30 s), computed independently of the server.
pub fn totp_code(app: &TestApp, seed: &[u8]) -> String {
    use totp_rs::{Algorithm, Builder};
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(seed.to_vec())
        .build_noncompliant()
        .generate(u64::try_from(app.clock.now()).unwrap())
        .to_string()
}

/// The seed written as base32, as the security page shows it.
pub fn seed_of(base32: &str) -> Seed {
    Seed::from_bytes(
        totp_rs::Secret::try_from_base32(base32)
            .unwrap()
            .as_bytes()
            .to_vec(),
    )
}

/// Starts a TOTP enrolment from the security page as the signed-in `b`; returns where the
/// start sent the browser and the security page then shown (with the pending key).
pub async fn start_totp(app: &TestApp, b: &reqwest::Client) -> (String, String) {
    let res = b.get(app.url("/settings/security")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    let csrf = form_value(&page, "csrf").unwrap();
    let res = b
        .post(app.url("/settings/security/totp"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let to = location(res.headers());
    let page = b
        .get(app.url("/settings/security"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (to, page)
}

/// The pending TOTP key a security page shows in text.
pub fn totp_key(page: &str) -> Seed {
    let doc = scraper::Html::parse_document(page);
    let sel = scraper::Selector::parse("#totp-secret").unwrap();
    let text: String = doc
        .select(&sel)
        .next()
        .expect("the key in text")
        .text()
        .collect();
    seed_of(text.trim())
}

/// Confirms the pending TOTP enrolment of `b` with `code`: the status and the page.
pub async fn confirm_totp(app: &TestApp, b: &reqwest::Client, code: &str) -> (u16, String) {
    let page = b
        .get(app.url("/settings/security"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = form_value(&page, "csrf").unwrap();
    let res = b
        .post(app.url("/settings/security/totp/confirm"))
        .form(&[("csrf", csrf.as_str()), ("code", code)])
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The link a confirmed enrolment page offers on to the sign-in's waiting request.
pub fn continue_link(page: &str) -> String {
    let doc = scraper::Html::parse_document(page);
    let sel = scraper::Selector::parse("#continue").unwrap();
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr("href"))
        .expect("a link on to the sign-in's request")
        .to_owned()
}

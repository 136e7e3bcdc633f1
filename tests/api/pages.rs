//! Signed-in pages and their forms: what a request without a session gets on each (the sign-in
//! page and where it leads back, or a refusal), and that a session's forms need its token.

use crate::both;
use crate::helpers::*;

/// A well-formed session cookie that names no session.
const UNKNOWN_SESSION: &str = "mg_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

enum Ask {
    Get(&'static str),
    Post(&'static str),
}

/// A redirect's `Location`, or the status and a piece of the page.
type Answer = Result<&'static str, (u16, &'static str)>;

/// Every signed-in page and form, and its answer without a session.
fn signed_out_answers() -> Vec<(Ask, Answer)> {
    use Ask::*;
    vec![
        (Get("/account"), Ok("/login?return_to=%2Faccount")),
        (
            Get("/settings/api-keys"),
            Ok("/login?return_to=%2Fsettings%2Fapi-keys"),
        ),
        (
            Post("/settings/api-keys"),
            Ok("/login?return_to=%2Fsettings%2Fapi-keys"),
        ),
        (
            Get("/settings/api-keys/key_1/revoke"),
            Ok("/login?return_to=%2Fsettings%2Fapi-keys"),
        ),
        (
            Post("/settings/api-keys/key_1/revoke"),
            Ok("/login?return_to=%2Fsettings%2Fapi-keys"),
        ),
        (
            Get("/settings/applications"),
            Ok("/login?return_to=%2Fsettings%2Fapplications"),
        ),
        (
            Post("/settings/applications"),
            Ok("/login?return_to=%2Fsettings%2Fapplications"),
        ),
        (
            Post("/settings/applications/7/delete"),
            Ok("/login?return_to=%2Fsettings%2Fapplications"),
        ),
        (Get("/device"), Ok("/login?return_to=%2Fdevice")),
        (
            // The code survives the sign-in (verification_uri_complete), re-encoded.
            Get("/device?user_code=bcdf%20ghjk&x=1"),
            Ok("/login?return_to=%2Fdevice%3Fuser_code%3Dbcdf%2Bghjk"),
        ),
        (Post("/device"), Ok("/login?return_to=%2Fdevice")),
        (Post("/account/consents/revoke"), Ok("/login")),
        (
            Post("/oauth/consent"),
            Err((400, "Your session ended. Start again from the application.")),
        ),
    ]
}

async fn signed_out_requests_get_each_pages_answer(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // Without a cookie, and with one naming no session; forms without a token: a signed-out
    // visitor is sent to sign in, not refused for the missing token.
    for cookie in [None, Some(UNKNOWN_SESSION)] {
        for (ask, expected) in signed_out_answers() {
            let client = new_client();
            let (what, request) = match ask {
                Ask::Get(path) => (format!("GET {path}"), client.get(app.url(path))),
                Ask::Post(path) => (
                    format!("POST {path}"),
                    client
                        .post(app.url(path))
                        .form(&[("client_id", "c"), ("user_code", "BCDF-GHJK")]),
                ),
            };
            let request = match cookie {
                Some(c) => request.header("cookie", c),
                None => request,
            };
            let res = request.send().await.unwrap();
            let status = res.status().as_u16();
            match expected {
                Ok(to) => {
                    assert_eq!(status, 303, "{what} ({cookie:?})");
                    assert_eq!(location(res.headers()), to, "{what} ({cookie:?})");
                }
                Err((code, text)) => {
                    assert_eq!(status, code, "{what} ({cookie:?})");
                    let page = res.text().await.unwrap();
                    assert!(page.contains(text), "{what} ({cookie:?}): {page}");
                }
            }
        }
    }
}

async fn signed_in_forms_need_the_sessions_token(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.sign_in_admin().await;
    let page = app.account_page().await.expect("signed in");
    let token = form_value(&page, "csrf").unwrap();
    // A token from the same browser before it signed in is bound to no session: refused.
    let before = new_client();
    let unbound = {
        let page = before
            .get(app.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        form_value(&page, "csrf").unwrap()
    };
    app.post_login_with(&before, ADMIN_USERNAME, ADMIN_PASSWORD, None)
        .await;
    for path in [
        "/settings/api-keys",
        "/settings/api-keys/key_1/revoke",
        "/settings/applications",
        "/settings/applications/7/delete",
        "/device",
        "/account/consents/revoke",
        "/oauth/consent",
        "/logout",
    ] {
        for (client, csrf) in [
            (&app.client, None),
            (&app.client, Some("forged")),
            (&before, Some(unbound.as_str())),
        ] {
            let mut form = vec![("client_id", "c"), ("name", "n"), ("user_code", "X")];
            if let Some(csrf) = csrf {
                form.push(("csrf", csrf));
            }
            let res = client.post(app.url(path)).form(&form).send().await.unwrap();
            assert_eq!(res.status(), 403, "POST {path} with {csrf:?}");
            assert!(
                res.text().await.unwrap().contains("This form has expired"),
                "POST {path} with {csrf:?}"
            );
        }
    }
    // The session's own token passes the check (what follows is each form's business).
    let res = app
        .client
        .post(app.url("/account/consents/revoke"))
        .form(&[("csrf", token.as_str()), ("client_id", "c")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(res.headers()), "/account");
    assert!(app.account_page().await.is_some(), "still signed in");
}

/// The new-key form's repeated `scope` checkboxes all count; any other field repeated is a
/// malformed form.
async fn key_form_reads_every_scope(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.sign_in_admin().await;
    let page = app.get("/settings/api-keys").await.text().await.unwrap();
    let csrf = form_value(&page, "csrf").unwrap();
    let res = app
        .client
        .post(app.url("/settings/api-keys"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "two scopes"),
            ("scope", "read:org"),
            ("scope", "write:org"),
            ("expires_in", "7d"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("mg_key_prod_"), "{page}");
    assert!(page.contains("read:org write:org"), "{page}");
    let res = app
        .client
        .post(app.url("/settings/api-keys"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "a"),
            ("name", "b"),
            ("scope", "read:org"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("could not be read"));
}

/// An id in a path that is not an id is a page that does not exist (the page 404, or `/v1`'s
/// JSON 404), not the parser's message in plain text.
async fn an_unparsable_path_id_is_not_found(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.sign_in_admin().await;
    let res = app
        .client
        .post(app.url("/settings/applications/abc/delete"))
        .form(&[("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let body = res.text().await.unwrap();
    assert!(body.contains("This page does not exist."), "{body}");
    assert!(!body.contains("parse"), "{body}");
}

both!(
    an_unparsable_path_id_is_not_found,
    signed_out_requests_get_each_pages_answer,
    signed_in_forms_need_the_sessions_token,
    key_form_reads_every_scope,
);

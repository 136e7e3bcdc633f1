//! SCIM rules under pressure: concurrent creates of one userName (one wins, the rest 409),
//! concurrent PATCHes (each applied once, the version counts them), and groups SCIM does not
//! manage (hand-made, or filled by an SSO connection) staying invisible and untouched.

use serde_json::json;

use crate::both;
use crate::helpers::*;
use crate::scim_support::*;
use crate::sso_idp_support::{default_org, verify_domain};

async fn concurrent_creates_and_patches(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let org = default_org(&app).await;
    let token = token_for(&app, &org).await;
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (app, token) = (app.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let body = user("race@example.com", &format!("race{i}@example.com"));
            post(&app, "/scim/v2/Users", &token, &body).await.0
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    let (_, list, _) = get(
        &app,
        &filtered("/scim/v2/Users", r#"userName eq "race@example.com""#),
        &token,
    )
    .await;
    assert_eq!(list["totalResults"], 1);
    let id = list["Resources"][0]["id"].as_str().unwrap().to_owned();

    // Ten concurrent PATCHes without If-Match, each adding an address: each one applied (no
    // lost update), the version counting every write.
    let path = format!("/scim/v2/Users/{id}");
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (app, token, path) = (app.clone(), token.clone(), path.clone());
        tasks.push(tokio::spawn(async move {
            let ops = format!(r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{{"op":"add","path":"emails","value":[{{"value":"extra{i}@example.com","type":"other"}}]}}]}}"#);
            patch(&app, &path, &token, &ops).await.0
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let (_, u, _) = get(&app, &path, &token).await;
    assert_eq!(
        u["emails"].as_array().unwrap().len(),
        11,
        "no lost update: {u}"
    );
    assert_eq!(u["meta"]["version"], "W/\"11\"");
}

async fn groups_scim_does_not_manage_stay_invisible(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let org = default_org(&app).await;
    let token = token_for(&app, &org).await;
    let (state, org2) = (app.state.clone(), org.clone());
    let hand_made = tokio::task::spawn_blocking(move || {
        use mintgate::accounts::store::UserStore;
        let now = mintgate::clock::Clock::now(state.clock.as_ref());
        state.store.create_group(&org2, "Admins", now).unwrap()
    })
    .await
    .unwrap();
    let (status, list, _) = get(&app, "/scim/v2/Groups", &token).await;
    assert_eq!((status, &list["totalResults"]), (200, &json!(0)));
    let path = format!("/scim/v2/Groups/{}", hand_made.as_str());
    assert_eq!(get(&app, &path, &token).await.0, 404);
    let ops = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"Mine"}]}"#;
    assert_eq!(patch(&app, &path, &token, ops).await.0, 404);
    assert_eq!(delete(&app, &path, &token).await, 404);
    // Its name is the organisation's: a SCIM group of that name is a conflict, not a takeover.
    let (status, err, _) = post(
        &app,
        "/scim/v2/Groups",
        &token,
        &json!({"displayName": "admins"}),
    )
    .await;
    assert_eq!(
        (status, scim_error(&err).1.as_deref()),
        (409, Some("uniqueness"))
    );
    let state = app.state.clone();
    let still = tokio::task::spawn_blocking(move || {
        use mintgate::accounts::store::UserStore;
        state.store.find_group(&org, "Admins").unwrap()
    })
    .await
    .unwrap();
    assert_eq!(still, Some(hand_made));
}

/// A flat `and`/`or` chain builds a tree as deep as it is long: a ~1 MB one in a PATCH path
/// overflowed the stack and aborted the server (found by the attack review). Refused now, in
/// a path and in `?filter=`, and the server answers afterwards.
async fn long_filter_chains_are_refused_and_the_server_stays_up(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let org = default_org(&app).await;
    let token = token_for(&app, &org).await;
    let id = create(&app, &token, "chain@example.com", "chain@example.com").await;
    let chain = (0..55_000)
        .map(|i| {
            if i % 2 == 0 {
                r#"value eq "x""#
            } else {
                r#"value eq "y""#
            }
        })
        .collect::<Vec<_>>()
        .join(" or ");
    let ops = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": format!("emails[{chain}]")}],
    });
    let path = format!("/scim/v2/Users/{id}");
    let (status, body, _) = patch(&app, &path, &token, &ops.to_string()).await;
    assert_eq!(status, 400, "{body}");
    let short = (0..100)
        .map(|i| format!("userName eq \"u{i}\""))
        .collect::<Vec<_>>()
        .join(" or ");
    let (status, body, _) = get(&app, &filtered("/scim/v2/Users", &short), &token).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(scim_error(&body).1.as_deref(), Some("invalidFilter"));
    let (status, _, _) = get(&app, &path, &token).await;
    assert_eq!(status, 200, "the server still answers");
}

/// An organisation cannot give its SCIM accounts addresses in a domain another organisation
/// verified (ID tokens would carry them): the rule SSO's JIT follows.
async fn another_organisations_domain_is_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let a = default_org(&app).await;
    let b = new_org(&app, "b-corp").await;
    verify_domain(&app, &b, "b-corp.test").await;
    verify_domain(&app, &a, "a-corp.test").await;
    let token = token_for(&app, &a).await;
    let (status, body, _) = post(
        &app,
        "/scim/v2/Users",
        &token,
        &user("ceo@b-corp.test", "ceo@b-corp.test"),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(scim_error(&body).1.as_deref(), Some("invalidValue"));
    // Its own domain, and one nobody verified, are fine; a PATCH onto B's domain is not.
    let id = create(&app, &token, "ann@a-corp.test", "ann@a-corp.test").await;
    create(&app, &token, "bob@example.org", "bob@example.org").await;
    let ops = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "emails",
                        "value": [{"value": "ceo@B-Corp.test", "primary": true}]}],
    });
    let path = format!("/scim/v2/Users/{id}");
    let (status, body, _) = patch(&app, &path, &token, &ops.to_string()).await;
    assert_eq!(status, 400, "{body}");
    let (_, user, _) = get(&app, &path, &token).await;
    assert_eq!(
        user["emails"][0]["value"], "ann@a-corp.test",
        "unchanged: {user}"
    );
}

both!(
    concurrent_creates_and_patches,
    groups_scim_does_not_manage_stay_invisible,
    long_filter_chains_are_refused_and_the_server_stays_up,
    another_organisations_domain_is_refused,
);

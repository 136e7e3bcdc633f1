//! SCIM 2.0 over HTTP (issue #13), on SQLite and PostgreSQL: every User operation and error,
//! tokens, organisation isolation and paging. The requests Okta and Microsoft Entra ID send are
//! in `scim_idp_shapes.rs`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;
use crate::scim_support::*;
use crate::sso_idp_support::default_org;

async fn users_crud_and_errors(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let org = default_org(&app).await;
    let token = token_for(&app, &org).await;

    // Create: 201, Location, meta, ETag; the password is taken and never returned.
    let mut body = user("Alice@Example.com", "alice@example.com");
    body["password"] = json!("alice-secret-1");
    body["externalId"] = json!("ext-A");
    let (status, alice, headers) = post(&app, "/scim/v2/Users", &token, &body).await;
    assert_eq!(status, 201, "{alice}");
    let id = alice["id"].as_str().unwrap().to_owned();
    assert_eq!(location(&headers), app.url(&format!("/scim/v2/Users/{id}")));
    assert_eq!(alice["meta"]["location"], location(&headers));
    assert_eq!(alice["meta"]["resourceType"], "User");
    assert_eq!(alice["meta"]["version"], "W/\"1\"");
    assert_eq!(headers["etag"], "W/\"1\"");
    assert!(alice.get("password").is_none());
    assert_eq!(alice["userName"], "Alice@Example.com");
    assert_eq!(alice["active"], true);
    // Stored as an argon2id hash, like every password.
    let stored = password_hash_of(&app, &id).await;
    assert!(stored.flatten().unwrap().starts_with("$argon2id$"));

    // userName is unique case-insensitively in the organisation: 409 uniqueness.
    let (status, err, _) = post(
        &app,
        "/scim/v2/Users",
        &token,
        &user("alice@EXAMPLE.com", "other@example.com"),
    )
    .await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(scim_error(&err), ("409".into(), Some("uniqueness".into())));

    // Read, list with a case-insensitive userName filter.
    let (status, got, headers) = get(&app, &format!("/scim/v2/Users/{id}"), &token).await;
    assert_eq!((status, &got["id"]), (200, &json!(id)));
    assert_eq!(headers["etag"], "W/\"1\"");
    let (status, list, _) = get(
        &app,
        &filtered("/scim/v2/Users", r#"userName eq "ALICE@example.COM""#),
        &token,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        list["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    );
    assert_eq!(list["totalResults"], 1);
    assert_eq!(list["Resources"][0]["id"], json!(id));
    let (_, list, _) = get(
        &app,
        &filtered("/scim/v2/Users", r#"externalId eq "EXT-A""#),
        &token,
    )
    .await;
    assert_eq!(list["totalResults"], 0, "externalId is case-exact");
    let (_, list, _) = get(
        &app,
        &filtered(
            "/scim/v2/Users",
            r#"name.familyName sw "fam" and not (emails.value co "nobody")"#,
        ),
        &token,
    )
    .await;
    assert_eq!(list["totalResults"], 1);
    // attributes / excludedAttributes.
    let (_, list, _) = get(&app, "/scim/v2/Users?attributes=userName", &token).await;
    assert!(list["Resources"][0].get("emails").is_none());
    assert_eq!(list["Resources"][0]["userName"], "Alice@Example.com");

    // PUT replaces; the version moves on.
    let mut put = user("alice@example.com", "alice@example.com");
    put["displayName"] = json!("Alice A.");
    let (status, replaced, headers) = call(
        &app,
        Method::PUT,
        &format!("/scim/v2/Users/{id}"),
        &token,
        Some(&put.to_string()),
    )
    .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["displayName"], "Alice A.");
    assert_eq!(headers["etag"], "W/\"2\"");
    assert!(replaced.get("externalId").is_none(), "PUT replaces");

    // If-Match: a stale version is 412, the current one passes.
    let ops = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"CTO"}]}"#;
    let (status, err, _) = call_with(
        &app,
        Method::PATCH,
        &format!("/scim/v2/Users/{id}"),
        &token,
        Some(ops),
        &[("if-match", "W/\"1\"")],
    )
    .await;
    assert_eq!(status, 412, "{err}");
    scim_error(&err);
    let (status, patched, _) = call_with(
        &app,
        Method::PATCH,
        &format!("/scim/v2/Users/{id}"),
        &token,
        Some(ops),
        &[("if-match", "W/\"2\"")],
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["title"], "CTO");
    assert_eq!(patched["meta"]["version"], "W/\"3\"");
    // Renaming onto another user's userName: 409, nothing changed.
    create(&app, &token, "bob@example.com", "bob@example.com").await;
    let rename = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"userName","value":"BOB@example.com"}]}"#;
    let (status, err, _) = patch(&app, &format!("/scim/v2/Users/{id}"), &token, rename).await;
    assert_eq!(
        (status, scim_error(&err).1.as_deref()),
        (409, Some("uniqueness"))
    );
    let (_, still, _) = get(&app, &format!("/scim/v2/Users/{id}"), &token).await;
    assert_eq!(
        (&still["userName"], &still["meta"]["version"]),
        (&json!("alice@example.com"), &json!("W/\"3\""))
    );
    let (status, err, _) = get(&app, "/scim/v2/Users?sortBy=password", &token).await;
    assert_eq!(
        (status, scim_error(&err).1.as_deref()),
        (400, Some("invalidValue"))
    );

    // Errors: bad filter, unfilterable attribute, bad JSON, bad PATCH, bad value, bad path,
    // read-only attribute, unknown id, wrong media type.
    for (filter, scim_type) in [
        (r#"userName eq"#, "invalidFilter"),
        (r#"nickName eq "x""#, "invalidFilter"),
        (r#"userName eq "a" or ("#, "invalidFilter"),
    ] {
        let (status, err, _) = get(&app, &filtered("/scim/v2/Users", filter), &token).await;
        assert_eq!(status, 400, "{filter}: {err}");
        assert_eq!(scim_error(&err).1.as_deref(), Some(scim_type));
    }
    let (status, err, _) = call(
        &app,
        Method::POST,
        "/scim/v2/Users",
        &token,
        Some("{not json"),
    )
    .await;
    assert_eq!(
        (status, scim_error(&err).1.as_deref()),
        (400, Some("invalidSyntax"))
    );
    let (status, err, _) = post(
        &app,
        "/scim/v2/Users",
        &token,
        &json!({"userName": "x", "emails": [{"value": "not-an-address"}]}),
    )
    .await;
    assert_eq!(
        (status, scim_error(&err).1.as_deref()),
        (400, Some("invalidValue"))
    );
    let (status, err, _) = post(
        &app,
        "/scim/v2/Users",
        &token,
        &json!({"userName": "short", "emails": [{"value": "s@example.com"}], "password": "short"}),
    )
    .await;
    assert_eq!(
        (status, scim_error(&err).1.as_deref()),
        (400, Some("invalidValue"))
    );
    let bad_path = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"name..x","value":"v"}]}"#;
    let (status, err, _) = patch(&app, &format!("/scim/v2/Users/{id}"), &token, bad_path).await;
    assert_eq!(
        (status, scim_error(&err).1.as_deref()),
        (400, Some("invalidPath"))
    );
    let read_only = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"id","value":"usr_x"}]}"#;
    let (status, err, _) = patch(&app, &format!("/scim/v2/Users/{id}"), &token, read_only).await;
    assert_eq!(
        (status, scim_error(&err).1.as_deref()),
        (400, Some("mutability"))
    );
    let no_schema = r#"{"Operations":[{"op":"replace","path":"title","value":"x"}]}"#;
    let (status, err, _) = patch(&app, &format!("/scim/v2/Users/{id}"), &token, no_schema).await;
    assert_eq!(
        (status, scim_error(&err).1.as_deref()),
        (400, Some("invalidSyntax"))
    );
    let (status, err, _) = get(&app, "/scim/v2/Users/usr_nope", &token).await;
    assert_eq!((status, scim_error(&err).0.as_str()), (404, "404"));
    let (status, err, _) = get(&app, "/scim/v2/Users?count=abc", &token).await;
    assert_eq!(
        (status, scim_error(&err).1.as_deref()),
        (400, Some("invalidValue"))
    );
    let res = app
        .client
        .post(app.url("/scim/v2/Users"))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    let big = format!("{{\"userName\": \"{}\"}}", "x".repeat(1_100_000));
    let (status, err, _) = call(&app, Method::POST, "/scim/v2/Users", &token, Some(&big)).await;
    assert_eq!((status, scim_error(&err).0.as_str()), (413, "413"));
    let (status, _, _) = call(&app, Method::POST, "/scim/v2/Bulk", &token, Some("{}")).await;
    assert_eq!(status, 501, "bulk is not supported");
    let (status, _, _) = call(
        &app,
        Method::POST,
        "/scim/v2/Users/.search",
        &token,
        Some("{}"),
    )
    .await;
    assert_eq!(status, 501, ".search is not supported");
    let (status, _, _) = call(
        &app,
        Method::POST,
        &format!("/scim/v2/Users/{id}"),
        &token,
        Some("{}"),
    )
    .await;
    assert_eq!(status, 405);

    // DELETE: 204, then 404 everywhere, and the account is gone.
    assert_eq!(
        delete(&app, &format!("/scim/v2/Users/{id}"), &token).await,
        204
    );
    assert_eq!(
        get(&app, &format!("/scim/v2/Users/{id}"), &token).await.0,
        404
    );
    assert_eq!(
        delete(&app, &format!("/scim/v2/Users/{id}"), &token).await,
        404
    );
    assert!(password_hash_of(&app, &id).await.is_none());
    let kinds = audit_kinds(&app).await;
    for k in [
        "scim.user.created",
        "scim.user.updated",
        "scim.user.deleted",
        "user.deleted",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
    }
}

/// The stored password hash of a user (read from the database itself: managed accounts have
/// no password sign-in to find them by); `None` when there is no such user.
async fn password_hash_of(app: &TestApp, id: &str) -> Option<Option<String>> {
    use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        password_hash: Option<String>,
    }
    let url = app.settings.database_url();
    assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    let sql = format!("SELECT password_hash FROM users WHERE id = '{id}'");
    tokio::task::spawn_blocking(move || {
        let rows: Vec<Row> = if url.starts_with("postgres") {
            diesel::sql_query(sql).load(&mut PgConnection::establish(&url).unwrap())
        } else {
            diesel::sql_query(sql).load(&mut SqliteConnection::establish(&url).unwrap())
        }
        .unwrap();
        rows.into_iter().next().map(|r| r.password_hash)
    })
    .await
    .unwrap()
}

async fn tokens_are_checked(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let org = default_org(&app).await;
    let token = token_for(&app, &org).await;
    for bad in ["", "mg_scim_nope", "Bearer", &token[..token.len() - 1]] {
        let (status, err, headers) = get(&app, "/scim/v2/Users", bad).await;
        assert_eq!(status, 401, "{bad}: {err}");
        scim_error(&err);
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
    }
    let res = app
        .client
        .get(app.url("/scim/v2/Users"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(get(&app, "/scim/v2/Users", &token).await.0, 200);
    // Revoked: refused at once.
    let state = app.state.clone();
    let org2 = org.clone();
    tokio::task::spawn_blocking(move || {
        use mintgate::scim::store::ScimTokenStore;
        for t in state.store.list_scim_tokens(&org2).unwrap() {
            mintgate::scim::service::revoke_token(
                &state.store,
                state.clock.as_ref(),
                &org2,
                &t.id,
                None,
                &Default::default(),
            )
            .unwrap();
        }
    })
    .await
    .unwrap();
    assert_eq!(get(&app, "/scim/v2/Users", &token).await.0, 401);
    // Discovery needs no token.
    let res = app
        .client
        .get(app.url("/scim/v2/ServiceProviderConfig"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let spc: Value = res.json().await.unwrap();
    assert_eq!(spc["bulk"]["supported"], false);
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["filter"]["maxResults"], 1000);
    let rt: Value = app
        .client
        .get(app.url("/scim/v2/ResourceTypes"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rt["totalResults"], 2);
    let s: Value = app
        .client
        .get(app.url("/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["name"], "User");
}

/// A token of organisation A never reaches B's users (404, never listed) and B's userNames
/// never conflict in A; the operator's server accounts that are members are no SCIM resources.
async fn organisations_are_isolated(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let a = default_org(&app).await;
    let b = new_org(&app, "beta").await;
    let (ta, tb) = (token_for(&app, &a).await, token_for(&app, &b).await);
    let in_b = create(&app, &tb, "bob@shared.example", "bob@shared.example").await;
    // The same userName and e-mail in A: created, not 409.
    let in_a = create(&app, &ta, "bob@shared.example", "bob@shared.example").await;
    assert_ne!(in_a, in_b);
    let path = format!("/scim/v2/Users/{in_b}");
    assert_eq!(get(&app, &path, &ta).await.0, 404);
    let ops = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}"#;
    assert_eq!(patch(&app, &path, &ta, ops).await.0, 404);
    let put = user("bob@shared.example", "bob@shared.example").to_string();
    assert_eq!(call(&app, Method::PUT, &path, &ta, Some(&put)).await.0, 404);
    assert_eq!(delete(&app, &path, &ta).await, 404);
    let (_, list, _) = get(&app, "/scim/v2/Users?count=1000", &ta).await;
    let ids: Vec<&str> = list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![in_a.as_str()],
        "only A's managed account; not B's, not the admin"
    );
    // B's user is untouched and active.
    let (status, bob, _) = get(&app, &path, &tb).await;
    assert_eq!((status, &bob["active"]), (200, &json!(true)));
    // The admin (a server account, a member of A): 404.
    let admin = user_id(&app, ADMIN_USERNAME).await;
    assert_eq!(
        get(&app, &format!("/scim/v2/Users/{}", admin.as_str()), &ta)
            .await
            .0,
        404
    );
    // A group of A cannot take B's user as a member.
    let (status, err, _) = post(
        &app,
        "/scim/v2/Groups",
        &ta,
        &json!({"displayName": "g", "members": [{"value": in_b}]}),
    )
    .await;
    assert_eq!(
        (status, scim_error(&err).1.as_deref()),
        (400, Some("invalidValue"))
    );
    let (status, err, _) = post(
        &app,
        "/scim/v2/Groups",
        &ta,
        &json!({"displayName": "g", "members": [{"value": admin.as_str()}]}),
    )
    .await;
    assert_eq!(status, 400, "{err}");
}

async fn paging_through_250_users(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let org = default_org(&app).await;
    let token = token_for(&app, &org).await;
    for i in 0..250 {
        create(
            &app,
            &token,
            &format!("user{i:03}@page.example"),
            &format!("user{i:03}@page.example"),
        )
        .await;
    }
    let mut seen = Vec::new();
    for (start, expect) in [(1, 100), (101, 100), (201, 50), (251, 0)] {
        let (status, page, _) = get(
            &app,
            &format!("/scim/v2/Users?startIndex={start}&count=100&sortBy=userName"),
            &token,
        )
        .await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["totalResults"], 250);
        assert_eq!(page["startIndex"], start);
        assert_eq!(page["itemsPerPage"], expect);
        seen.extend(
            page["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["userName"].as_str().unwrap().to_owned()),
        );
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted, "ordered by userName, no duplicates");
    assert_eq!(seen.len(), 250);
    // count is capped, 0 gives the total only, descending order.
    let (_, page, _) = get(&app, "/scim/v2/Users?count=5000", &token).await;
    assert_eq!(page["itemsPerPage"], 250);
    let (_, page, _) = get(&app, "/scim/v2/Users?count=0", &token).await;
    assert_eq!(
        (page["totalResults"].clone(), page["itemsPerPage"].clone()),
        (json!(250), json!(0))
    );
    let (_, page, _) = get(
        &app,
        "/scim/v2/Users?count=1&sortBy=userName&sortOrder=descending",
        &token,
    )
    .await;
    assert_eq!(page["Resources"][0]["userName"], "user249@page.example");
    let (_, page, _) = get(
        &app,
        &filtered("/scim/v2/Users", r#"userName sw "user24""#),
        &token,
    )
    .await;
    assert_eq!(page["totalResults"], 10);
    // LIKE wildcards in a value are literal characters.
    for wild in [
        r#"userName co "_""#,
        r#"userName co "%""#,
        r#"userName sw "user0_""#,
        r#"userName ew "%example""#,
    ] {
        let (status, page, _) = get(&app, &filtered("/scim/v2/Users", wild), &token).await;
        assert_eq!((status, &page["totalResults"]), (200, &json!(0)), "{wild}");
    }
    let (_, page, _) = get(
        &app,
        &filtered(
            "/scim/v2/Users",
            r#"userName ew "9@page.example" and not (userName sw "user2")"#,
        ),
        &token,
    )
    .await;
    assert_eq!(page["totalResults"], 20);
}

both!(
    users_crud_and_errors,
    tokens_are_checked,
    organisations_are_isolated,
    paging_through_250_users,
);

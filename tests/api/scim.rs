//! SCIM 2.0 over HTTP (issue #13), on SQLite and PostgreSQL: every User operation and error,
//! organisation isolation, paging, and the PATCH shapes Okta and Microsoft Entra ID send.

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

/// Microsoft Entra ID's requests, as its SCIM tutorial lists them ("Develop and plan
/// provisioning for a SCIM endpoint", request/response examples), byte for byte but the ids.
async fn entra_id_requests(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let org = default_org(&app).await;
    let token = token_for(&app, &org).await;
    let create_user = r#"{
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
    "active": true,
    "emails": [{
        "primary": true,
        "type": "work",
        "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"
    }],
    "meta": {
        "resourceType": "User"
    },
    "name": {
        "formatted": "givenName familyName",
        "familyName": "familyName",
        "givenName": "givenName"
    },
    "roles": []
}"#;
    let (status, u, _) = call(
        &app,
        Method::POST,
        "/scim/v2/Users",
        &token,
        Some(create_user),
    )
    .await;
    assert_eq!(status, 201, "{u}");
    let id = u["id"].as_str().unwrap().to_owned();
    let path = format!("/scim/v2/Users/{id}");
    let (_, found, _) = get(
        &app,
        &filtered(
            "/scim/v2/Users",
            r#"userName eq "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1""#,
        ),
        &token,
    )
    .await;
    assert_eq!(found["Resources"][0]["id"], json!(id));
    let (_, none, _) = get(
        &app,
        &filtered("/scim/v2/Users", r#"userName eq "non-existent user""#),
        &token,
    )
    .await;
    assert_eq!(
        (none["totalResults"].clone(), none["Resources"].clone()),
        (json!(0), json!([]))
    );
    let multi = r#"{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
            {
            "op": "Replace",
            "path": "emails[type eq \"work\"].value",
            "value": "updatedEmail@microsoft.com"
            },
            {
            "op": "Replace",
            "path": "name.familyName",
            "value": "updatedFamilyName"
            }
    ]
}"#;
    let (status, u, _) = patch(&app, &path, &token, multi).await;
    assert_eq!(status, 200, "{u}");
    assert_eq!(u["emails"][0]["value"], "updatedEmail@microsoft.com");
    assert_eq!(u["name"]["familyName"], "updatedFamilyName");
    // Entra ID also sends `Add` for an address it already sent (learn.microsoft.com Q&A 1684621).
    let add_email = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"title","value":"tester"},
{"op":"Add","path":"emails[type eq \"work\"].value","value":"second@testuser.com"}]}"#;
    let (status, u, _) = patch(&app, &path, &token, add_email).await;
    assert_eq!(status, 200, "{u}");
    assert_eq!(
        u["emails"],
        json!([{"value": "second@testuser.com", "type": "work", "primary": true}])
    );
    assert_eq!(u["title"], "tester");
    let single = r#"{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "Replace",
        "path": "userName",
        "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    }]
}"#;
    let (status, u, _) = patch(&app, &path, &token, single).await;
    assert_eq!(
        (status, &u["userName"]),
        (
            200,
            &json!("5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com")
        )
    );
    let manager = format!(
        r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"{id}"}},{{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Tour Operations"}}]}}"#
    );
    let (status, u, _) = patch(&app, &path, &token, &manager).await;
    assert_eq!(status, 200, "{u}");
    let ent = &u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];
    assert_eq!(
        (&ent["manager"]["value"], &ent["department"]),
        (&json!(id), &json!("Tour Operations"))
    );
    let (_, found, _) = get(&app, &filtered("/scim/v2/Users", r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tour operations""#), &token).await;
    assert_eq!(found["totalResults"], 1);
    // Disable with a string boolean (Entra ID's older behaviour), then the documented form.
    let disable_string = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}"#;
    let (status, u, _) = patch(&app, &path, &token, disable_string).await;
    assert_eq!((status, &u["active"]), (200, &json!(false)), "{u}");
    let (_, found, _) = get(&app, &filtered("/scim/v2/Users", "active eq false"), &token).await;
    assert_eq!(found["totalResults"], 1);
    let disable = r#"{
    "Operations": [
        {
            "op": "Replace",
            "path": "active",
            "value": false
        }
    ],
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ]
}"#;
    let (status, u, _) = patch(&app, &path, &token, disable).await;
    assert_eq!((status, &u["active"]), (200, &json!(false)));

    // Groups.
    let create_group = r#"{
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
    "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
    "displayName": "displayName",
    "meta": {
        "resourceType": "Group"
    }
}"#;
    let (status, g, _) = call(
        &app,
        Method::POST,
        "/scim/v2/Groups",
        &token,
        Some(create_group),
    )
    .await;
    assert_eq!(status, 201, "{g}");
    let gid = g["id"].as_str().unwrap().to_owned();
    let gpath = format!("/scim/v2/Groups/{gid}");
    let (_, found, _) = get(
        &app,
        &format!(
            "{}&excludedAttributes=members",
            filtered("/scim/v2/Groups", r#"displayName eq "displayName""#)
        ),
        &token,
    )
    .await;
    assert_eq!(found["Resources"][0]["id"], json!(gid));
    assert!(found["Resources"][0].get("members").is_none());
    let rename = r#"{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "Replace",
        "path": "displayName",
        "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    }]
}"#;
    let (status, g, _) = patch(&app, &gpath, &token, rename).await;
    assert_eq!(
        (status, &g["displayName"]),
        (
            200,
            &json!("1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName")
        )
    );
    let add = r#"{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "Add",
        "path": "members",
        "value": [{
            "$ref": null,
            "value": "USER_ID"
        }]
    }]
}"#
    .replace("USER_ID", &id);
    let (status, g, _) = patch(&app, &gpath, &token, &add).await;
    assert_eq!(status, 200, "{g}");
    assert_eq!(g["members"][0]["value"], json!(id));
    let member_filter = format!(r#"id eq "{gid}" and members[value eq "{id}"]"#);
    let (_, found, _) = get(
        &app,
        &format!(
            "{}&excludedAttributes=members",
            filtered("/scim/v2/Groups", &member_filter)
        ),
        &token,
    )
    .await;
    assert_eq!(found["totalResults"], 1);
    let remove = add.replace("\"Add\"", "\"Remove\"");
    let (status, g, _) = patch(&app, &gpath, &token, &remove).await;
    assert_eq!((status, &g["members"]), (200, &json!([])));
    let (_, found, _) = get(&app, &filtered("/scim/v2/Groups", &member_filter), &token).await;
    assert_eq!(found["totalResults"], 0);
    assert_eq!(delete(&app, &gpath, &token).await, 204);
    assert_eq!(get(&app, &gpath, &token).await.0, 404);
    assert_eq!(delete(&app, &path, &token).await, 204);
}

/// Okta's requests, as its "SCIM 2.0 protocol reference" lists them.
async fn okta_requests(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let org = default_org(&app).await;
    let token = token_for(&app, &org).await;
    let (status, list, _) = get(
        &app,
        "/scim/v2/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100",
        &token,
    )
    .await;
    assert_eq!((status, &list["totalResults"]), (200, &json!(0)));
    let create_user = r#"{
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "userName": "test.user@okta.local",
    "name": {
        "givenName": "Test",
        "familyName": "User"
    },
    "emails": [{
        "primary": true,
        "value": "test.user@okta.local",
        "type": "work"
    }],
    "displayName": "Test User",
    "locale": "en-US",
    "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [],
    "password": "1mz050nq",
    "active": true
}"#;
    let (status, u, _) = call(
        &app,
        Method::POST,
        "/scim/v2/Users",
        &token,
        Some(create_user),
    )
    .await;
    assert_eq!(status, 201, "{u}");
    let id = u["id"].as_str().unwrap().to_owned();
    let path = format!("/scim/v2/Users/{id}");
    let (_, list, _) = get(
        &app,
        "/scim/v2/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100",
        &token,
    )
    .await;
    assert_eq!(list["Resources"][0]["id"], json!(id));
    // Okta updates a profile with PUT of the whole user.
    let mut put: Value = serde_json::from_str(create_user).unwrap();
    put["id"] = json!(id);
    put["name"]["familyName"] = json!("Changed");
    put.as_object_mut().unwrap().remove("password");
    let (status, u, _) = call(&app, Method::PUT, &path, &token, Some(&put.to_string())).await;
    assert_eq!((status, &u["name"]["familyName"]), (200, &json!("Changed")));
    let deactivate = r#"{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "replace",
        "value": {
            "active": false
        }
    }]
}"#;
    let (status, u, _) = patch(&app, &path, &token, deactivate).await;
    assert_eq!((status, &u["active"]), (200, &json!(false)));
    // A PUT that does not send `active` does not enable the user again.
    let mut without_active = put.clone();
    without_active.as_object_mut().unwrap().remove("active");
    let (status, u, _) = call(
        &app,
        Method::PUT,
        &path,
        &token,
        Some(&without_active.to_string()),
    )
    .await;
    assert_eq!((status, &u["active"]), (200, &json!(false)), "{u}");
    let reactivate = deactivate.replace("false", "true");
    let (status, u, _) = patch(&app, &path, &token, &reactivate).await;
    assert_eq!((status, &u["active"]), (200, &json!(true)));

    let create_group = r#"{
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    "displayName": "Test SCIMv2",
    "members": []
}"#;
    let (status, g, _) = call(
        &app,
        Method::POST,
        "/scim/v2/Groups",
        &token,
        Some(create_group),
    )
    .await;
    assert_eq!(status, 201, "{g}");
    let gid = g["id"].as_str().unwrap().to_owned();
    let gpath = format!("/scim/v2/Groups/{gid}");
    let rename = r#"{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "replace",
        "value": {
            "id": "GROUP_ID",
            "displayName": "Test SCIMv2 renamed"
        }
    }]
}"#
    .replace("GROUP_ID", &gid);
    let (status, g, _) = patch(&app, &gpath, &token, &rename).await;
    assert_eq!(
        (status, &g["displayName"]),
        (200, &json!("Test SCIMv2 renamed")),
        "{g}"
    );
    let add = r#"{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "add",
        "path": "members",
        "value": [{
            "value": "USER_ID",
            "display": "test.user@okta.local"
        }]
    }]
}"#
    .replace("USER_ID", &id);
    let (status, g, _) = patch(&app, &gpath, &token, &add).await;
    assert_eq!((status, &g["members"][0]["value"]), (200, &json!(id)));
    // The membership is what the next token's `groups` claim reads.
    let uid = mintgate::ids::UserId::new(id.clone());
    assert_eq!(
        crate::sso_idp_support::groups_of(&app, &uid, &org).await,
        vec!["Test SCIMv2 renamed"]
    );
    let (_, u, _) = get(&app, &path, &token).await;
    assert_eq!(u["groups"][0]["value"], json!(gid));
    let remove = r#"{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "remove",
        "path": "members[value eq \"USER_ID\"]"
    }]
}"#
    .replace("USER_ID", &id);
    let (status, g, _) = patch(&app, &gpath, &token, &remove).await;
    assert_eq!((status, &g["members"]), (200, &json!([])));
    assert!(
        crate::sso_idp_support::groups_of(&app, &uid, &org)
            .await
            .is_empty()
    );
    assert_eq!(delete(&app, &gpath, &token).await, 204);
    assert_eq!(delete(&app, &path, &token).await, 204);
}

both!(
    users_crud_and_errors,
    tokens_are_checked,
    organisations_are_isolated,
    paging_through_250_users,
    entra_id_requests,
    okta_requests,
);

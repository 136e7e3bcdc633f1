//! The requests Microsoft Entra ID and Okta send, byte for byte from their provisioning
//! documentation (ids substituted), over HTTP on SQLite and PostgreSQL.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;
use crate::scim_support::*;
use crate::sso_idp_support::default_org;

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

both!(entra_id_requests, okta_requests);

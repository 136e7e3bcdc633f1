//! SCIM and the rest of the house: a SCIM-created user signs in through the organisation's
//! SSO (linked by e-mail, not duplicated), and `active: false` or DELETE ends their live
//! session, refresh token and API key at once; `active: true` brings none of them back.

use crate::access_support::{key_in, key_works, refresh_token, refreshes};
use crate::both;
use crate::helpers::*;
use crate::oauth_support::{client_spec, register};
use crate::scim_support::*;
use crate::sso_idp_support::{account, connect, sso_sign_in, users_with_email};

const EMAIL: &str = "carol@acme.test";
const DEACTIVATE: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}"#;

async fn deactivation_ends_session_refresh_token_and_key(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    // Two instances on one database: the SCIM request goes to the other one.
    let clock = mintgate::clock::ManualClock::starting_now();
    let app = spawn_on(&db, clock.clone(), |_| {}).await;
    let other = spawn_on(&db, clock.clone(), |_| {}).await;
    let Some(sso) = connect(
        &app,
        serde_json::json!({ EMAIL: account("carol-sub", EMAIL, true, &[]) }),
    )
    .await
    else {
        return;
    };
    let token = token_for(&app, &sso.org).await;
    let id = create(&app, &token, EMAIL, EMAIL).await;

    // The SCIM user signs in through the organisation's SSO: linked by e-mail, not duplicated.
    let browser = new_client();
    let (status, to) = sso_sign_in(&app, &browser, &sso, EMAIL).await;
    assert_eq!((status, to.as_str()), (303, "/account"));
    let users = users_with_email(&app, EMAIL).await;
    assert_eq!(users.len(), 1, "no second account");
    assert_eq!(users[0].id.as_str(), id);
    assert!(app.account_page_with(&browser).await.is_some());

    let mut spec = client_spec("rp");
    spec.skip_consent = true;
    let client = register(&app, spec).await;
    let refresh = refresh_token(&app, &browser, &client, "default").await;
    let key = key_in(&app, "default", &mintgate::ids::UserId::new(id.as_str())).await;
    assert!(key_works(&app, &key).await);

    // Deactivated (Okta's request): everything ends at once.
    let path = format!("/scim/v2/Users/{id}");
    let (status, body, _) = patch(&other, &path, &token, DEACTIVATE).await;
    assert_eq!((status, &body["active"]), (200, &serde_json::json!(false)));
    assert!(
        app.account_page_with(&browser).await.is_none(),
        "session ended"
    );
    assert!(
        !refreshes(&app, &client, &refresh).await,
        "refresh token ended"
    );
    assert!(!key_works(&app, &key).await, "API key ended");
    // A disabled account cannot sign in again through SSO.
    let again = new_client();
    let (status, _) = sso_sign_in(&app, &again, &sso, EMAIL).await;
    assert_ne!(
        (status, app.account_page_with(&again).await.is_some()),
        (303, true)
    );

    // Active again: a new sign-in works, nothing revoked comes back.
    let reactivate = DEACTIVATE.replace("false", "true");
    let (status, body, _) = patch(&app, &path, &token, &reactivate).await;
    assert_eq!((status, &body["active"]), (200, &serde_json::json!(true)));
    assert!(app.account_page_with(&browser).await.is_none());
    assert!(!refreshes(&app, &client, &refresh).await);
    assert!(!key_works(&app, &key).await);
    let fresh = new_client();
    let (status, to) = sso_sign_in(&app, &fresh, &sso, EMAIL).await;
    assert_eq!((status, to.as_str()), (303, "/account"));
    assert!(app.account_page_with(&fresh).await.is_some());

    // DELETE deprovisions the new session too, and the account is gone.
    let refresh = refresh_token(&app, &fresh, &client, "default").await;
    assert_eq!(delete(&app, &path, &token).await, 204);
    assert!(app.account_page_with(&fresh).await.is_none());
    assert!(!refreshes(&app, &client, &refresh).await);
    assert!(users_with_email(&app, EMAIL).await.is_empty());
    let kinds = audit_kinds(&app).await;
    for k in [
        "user.disabled",
        "user.enabled",
        "user.deleted",
        "scim.user.updated",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
    }
}

/// A user the SSO created just in time (before SCIM was set up) is the organisation's SCIM
/// user too: found by its username, deprovisioned like the others.
async fn sso_created_users_are_scim_users(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let Some(sso) = connect(
        &app,
        serde_json::json!({ "dan@acme.test": account("dan-sub", "dan@acme.test", true, &[]) }),
    )
    .await
    else {
        return;
    };
    // SCIM is in use already (and has adopted everything), then the SSO creates an account.
    let token = token_for(&app, &sso.org).await;
    create(&app, &token, "first@acme.test", "first@acme.test").await;
    app.clock.advance(5);
    let browser = new_client();
    let (status, _) = sso_sign_in(&app, &browser, &sso, "dan@acme.test").await;
    assert_eq!(status, 303);
    let (status, list, _) = get(
        &app,
        &filtered("/scim/v2/Users", r#"emails.value eq "dan@acme.test""#),
        &token,
    )
    .await;
    assert_eq!(
        (status, &list["totalResults"]),
        (200, &serde_json::json!(1)),
        "{list}"
    );
    let id = list["Resources"][0]["id"].as_str().unwrap().to_owned();
    let user_name = list["Resources"][0]["userName"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, by_name, _) = get(
        &app,
        &filtered("/scim/v2/Users", &format!(r#"userName eq "{user_name}""#)),
        &token,
    )
    .await;
    assert_eq!(by_name["Resources"][0]["id"], serde_json::json!(id));
    let (status, _, _) = patch(&app, &format!("/scim/v2/Users/{id}"), &token, DEACTIVATE).await;
    assert_eq!(status, 200);
    assert!(app.account_page_with(&browser).await.is_none());
}

/// SCIM deprovisions no owner of the organisation (a SCIM token is an admin's; only owners act
/// on owners, and the last owner stays): `active:false` and DELETE answer 400 `mutability`
/// and change nothing (attack review, issue #14).
async fn an_owner_is_not_deprovisioned_by_scim(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let org = new_org(&app, "acme").await;
    let token = token_for(&app, &org).await;
    let id = create(&app, &token, "owen", "owen@acme.example").await;
    let state = app.state.clone();
    let (o, u) = (org.clone(), mintgate::ids::UserId::new(id.clone()));
    tokio::task::spawn_blocking(move || {
        use mintgate::accounts::store::UserStore;
        assert!(
            state
                .store
                .set_member_role(&o, &u, mintgate::accounts::types::Role::Owner)
                .unwrap()
        );
    })
    .await
    .unwrap();
    let path = format!("/scim/v2/Users/{id}");
    let body = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}"#;
    let (status, body, _) = patch(&app, &path, &token, body).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(scim_error(&body).1.as_deref(), Some("mutability"));
    assert_eq!(delete(&app, &path, &token).await, 400);
    let (status, body, _) = get(&app, &path, &token).await;
    assert_eq!(status, 200);
    assert_eq!(body["active"], true, "nothing changed");
}

both!(
    an_owner_is_not_deprovisioned_by_scim,
    deactivation_ends_session_refresh_token_and_key,
    sso_created_users_are_scim_users,
);

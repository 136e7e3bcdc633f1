//! Organisation > Members, the account-wide actions (issue #14): disabling a member the
//! organisation manages ends their live session, refresh family and API key at once (through
//! the deprovision rule); a server account is refused; resetting a managed member's second
//! factor deletes it and is audited.

use mintgate::accounts::types::Role;

use crate::access_support::{key_in, key_works, refresh_token, refreshes};
use crate::both;
use crate::helpers::*;
use crate::oauth_support::{client_spec, register};
use crate::org_members::{MEMBERS, act, member};
use crate::sso_idp_support::{account, connect, sso_sign_in, users_with_email};

const EMAIL: &str = "carol@acme.test";

async fn disabling_a_managed_member_ends_everything(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let Some(sso) = connect(
        &app,
        serde_json::json!({ EMAIL: account("carol-sub", EMAIL, true, &[]) }),
    )
    .await
    else {
        return;
    };
    // Carol signs in through the organisation's SSO: a managed account (just in time).
    let browser = new_client();
    let (status, to) = sso_sign_in(&app, &browser, &sso, EMAIL).await;
    assert_eq!((status, to.as_str()), (303, "/account"));
    let carol = users_with_email(&app, EMAIL).await.remove(0);
    assert_eq!(carol.home_org.as_ref(), Some(&sso.org));
    let mut spec = client_spec("rp");
    spec.skip_consent = true;
    let client = register(&app, spec).await;
    let refresh = refresh_token(&app, &browser, &client, "default").await;
    let key = key_in(&app, "default", &carol.id).await;
    assert!(key_works(&app, &key).await);
    assert!(refreshes(&app, &client, &refresh).await);

    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let page = admin
        .get(app.url(&format!("{MEMBERS}/{}", carol.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"disable-form\""), "{page}");
    let res = act(&app, &admin, &carol.id, "disable", &[]).await;
    assert_eq!(res.status(), 303);
    assert!(
        app.account_page_with(&browser).await.is_none(),
        "the session ended"
    );
    assert!(
        !refreshes(&app, &client, &refresh).await,
        "the refresh family ended"
    );
    assert!(!key_works(&app, &key).await, "the API key ended");
    let page = admin
        .get(app.url(&format!("{MEMBERS}/{}", carol.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"enable-form\""));

    // Enabled again: nothing ended comes back.
    let res = act(&app, &admin, &carol.id, "enable", &[]).await;
    assert_eq!(res.status(), 303);
    assert!(app.account_page_with(&browser).await.is_none());
    assert!(!refreshes(&app, &client, &refresh).await);
    assert!(!key_works(&app, &key).await);
    let events = recent_events(&app).await;
    let disabled = events
        .iter()
        .find(|e| e.kind == "user.disabled")
        .expect("audited");
    assert_eq!(disabled.org_id.as_ref(), Some(&sso.org));
    assert!(events.iter().any(|e| e.kind == "user.enabled"));

    // A server account is not the organisation's to disable (nor to reset).
    let server = member(&app, "default", "server-account", Role::Member).await;
    for action in ["disable", "enable", "reset-mfa"] {
        let res = act(&app, &admin, &server, action, &[]).await;
        assert_eq!(res.status(), 400, "{action}");
        assert!(res.text().await.unwrap().contains("manages"));
    }
    // Nor is one's own account.
    let owner = user_id(&app, ADMIN_USERNAME).await;
    let res = act(&app, &admin, &owner, "disable", &[]).await;
    assert_eq!(res.status(), 400);
}

async fn recent_events(app: &TestApp) -> Vec<mintgate::audit::AuditEvent> {
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        mintgate::audit::AuditStore::recent_events(&state.store, 200).unwrap()
    })
    .await
    .unwrap()
}

async fn resetting_mfa_deletes_the_factors(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let Some(sso) = connect(
        &app,
        serde_json::json!({ EMAIL: account("carol-sub", EMAIL, true, &[]) }),
    )
    .await
    else {
        return;
    };
    let browser = new_client();
    let (status, _) = sso_sign_in(&app, &browser, &sso, EMAIL).await;
    assert_eq!(status, 303);
    let carol = users_with_email(&app, EMAIL).await.remove(0);
    // Carol has a confirmed TOTP.
    let (state, id) = (app.state.clone(), carol.id.clone());
    tokio::task::spawn_blocking(move || {
        use mintgate::mfa::store::{TotpCredential, TotpStore};
        let now = state.clock.now();
        state
            .store
            .begin_totp(&TotpCredential {
                user_id: id.clone(),
                sealed_seed: "sealed".into(),
                confirmed: false,
                last_step: None,
                created_at: now,
                confirmed_at: None,
            })
            .unwrap();
        assert!(state.store.confirm_totp(&id, now / 30, now).unwrap());
    })
    .await
    .unwrap();
    let admin = signed_in(&app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let page = admin
        .get(app.url(&format!("{MEMBERS}/{}", carol.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"reset-mfa-form\""), "{page}");
    let res = act(&app, &admin, &carol.id, "reset-mfa", &[]).await;
    assert_eq!(res.status(), 303);
    let (state, id) = (app.state.clone(), carol.id.clone());
    let factors = tokio::task::spawn_blocking(move || {
        use mintgate::mfa::store::TotpStore;
        state.store.find_totp(&id).unwrap()
    })
    .await
    .unwrap();
    assert!(factors.is_none(), "TOTP deleted");
    let events = recent_events(&app).await;
    let reset = events
        .iter()
        .find(|e| e.kind == "mfa.reset")
        .expect("audited");
    assert_eq!(reset.subject.as_deref(), Some(carol.username.as_str()));
    assert_eq!(
        reset.user_id.as_ref(),
        Some(&user_id(&app, ADMIN_USERNAME).await),
        "the administrator is the actor"
    );
    assert_eq!(reset.org_id.as_ref(), Some(&sso.org));
}

both!(
    disabling_a_managed_member_ends_everything,
    resetting_mfa_deletes_the_factors,
);

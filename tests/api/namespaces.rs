//! The user namespace: accounts managed by an organisation are unique within it only, so two
//! organisations neither collide with, block nor find each other's users (nor the server's),
//! and password sign-in sees server accounts only.

use mintgate::accounts::service::{self, AccountError};
use mintgate::accounts::store::UserStore;
use mintgate::accounts::types::{Email, Role};
use mintgate::store::{StoreError, Unique};

use crate::both;
use crate::helpers::*;

const PASSWORD: &str = "alice-password-1";

async fn namespaces_are_per_organisation(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let server_alice = app.create_user("alice", PASSWORD).await;
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        let (store, clock, meta) = (&state.store, state.clock.as_ref(), &Default::default());
        let acme = service::create_org(store, clock, "acme").unwrap();
        let globex = service::create_org(store, clock, "globex").unwrap();
        let email = Email::parse("Alice@Example.com").unwrap();
        let managed = |org: &mintgate::ids::OrgId, hint: &str, email: &Email| {
            service::create_managed_user(store, clock, org, hint, email, "Alice", meta)
        };
        // Neither the server's `alice` nor the other organisation's blocks a name or address.
        let acme_alice = managed(&acme.id, "alice", &email).unwrap();
        let globex_alice = managed(&globex.id, "Alice", &email).unwrap();
        assert_eq!(acme_alice.username, "alice");
        assert_eq!(globex_alice.username, "Alice");
        assert_eq!(acme_alice.home_org.as_ref(), Some(&acme.id));
        assert_ne!(acme_alice.id, globex_alice.id);
        // Within one organisation: the next free name, and one account per address.
        let other = Email::parse("alice.b@example.com").unwrap();
        assert_eq!(
            managed(&acme.id, "alice", &other).unwrap().username,
            "alice-2"
        );
        assert!(matches!(
            managed(&acme.id, "bob", &email),
            Err(AccountError::Duplicate(Unique::Email))
        ));
        // An upstream hint that is no username yields one.
        let third = Email::parse("x@example.com").unwrap();
        assert_eq!(
            managed(&acme.id, "-x y@corp", &third).unwrap().username,
            "xy"
        );

        // Lookups stay in their namespace.
        let found = store.find_managed_by_username(&acme.id, "alice").unwrap();
        assert_eq!(found.map(|u| u.id), Some(acme_alice.id.clone()));
        let found = store.find_managed_by_username(&globex.id, "alice").unwrap();
        assert_eq!(found.map(|u| u.id), Some(globex_alice.id.clone()));
        let ids = |users: Vec<mintgate::accounts::types::User>| {
            users.into_iter().map(|u| u.id).collect::<Vec<_>>()
        };
        let by_email = store
            .find_member_by_email(&acme.id, "alice@example.com")
            .unwrap();
        assert_eq!(ids(by_email), vec![acme_alice.id.clone()]);
        // A server account that joins acme is found too (first), never globex's account.
        store
            .add_membership(&acme.id, &server_alice.id, Role::Member, clock.now())
            .unwrap();
        let by_email = store
            .find_member_by_email(&acme.id, "alice@example.com")
            .unwrap();
        assert_eq!(
            ids(by_email),
            vec![server_alice.id.clone(), acme_alice.id.clone()]
        );
        let by_email = store
            .find_member_by_email(&globex.id, "alice@example.com")
            .unwrap();
        assert_eq!(ids(by_email), vec![globex_alice.id.clone()]);

        // A managed account is a member of its organisation only.
        let refused = store.add_membership(&globex.id, &acme_alice.id, Role::Member, clock.now());
        assert!(matches!(
            refused,
            Err(StoreError::Conflict(Unique::HomeOrganisation))
        ));
        let orgs: Vec<_> = store.memberships(&acme_alice.id).unwrap();
        assert_eq!(orgs.len(), 1);
        assert_eq!(orgs[0].org.id, acme.id);

        // Password sign-in and operator look-ups see the server namespace only, even when the
        // stored key of a managed account is typed.
        let (login, _) = store.find_user_for_login("alice").unwrap().unwrap();
        assert_eq!(login.id, server_alice.id);
        let (login, _) = store
            .find_user_for_login("alice@example.com")
            .unwrap()
            .unwrap();
        assert_eq!(login.id, server_alice.id);
        let typed = format!("{} alice", acme.id.as_str());
        assert!(store.find_user_for_login(&typed).unwrap().is_none());
        assert!(store.find_user_by_username(&typed).unwrap().is_none());
        assert_eq!(
            store.find_user_by_username("alice").unwrap().map(|u| u.id),
            Some(server_alice.id.clone())
        );
    })
    .await
    .unwrap();
    signed_in(&app, "alice", PASSWORD).await;
    assert!(
        audit_kinds(&app)
            .await
            .iter()
            .filter(|k| *k == "user.created")
            .count()
            >= 4
    );
}

both!(namespaces_are_per_organisation);

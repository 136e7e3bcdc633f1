//! The inbox that turns a cross-site SAML POST into a same-site GET keeps a bounded number of
//! messages per address: a flood of POSTs evicts its own oldest instead of filling the database.

use crate::both;
use crate::helpers::{Backend, location, new_client, spawn_app};

both!(an_address_keeps_a_bounded_number_of_posted_messages);

const GONE: &str = "This sign-in is over or has expired";

async fn an_address_keeps_a_bounded_number_of_posted_messages(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let b = new_client();
    let mut kept = Vec::new();
    for _ in 0..=mintgate::saml::inbox::KEPT_PER_ADDRESS {
        let res = b
            .post(app.url("/saml/sso"))
            .form(&[("SAMLRequest", "PGZvbz4=")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        kept.push(location(res.headers()));
    }
    let body = |to: String| {
        let b = b.clone();
        let url = app.url(&to);
        async move { b.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let newest = body(kept.pop().unwrap()).await;
    assert!(!newest.contains(GONE), "the newest is kept: {newest}");
    // One of the older ones made room (which one, within a second, is not defined).
    let mut gone = 0;
    for to in kept {
        if body(to).await.contains(GONE) {
            gone += 1;
        }
    }
    assert_eq!(gone, 1);
}

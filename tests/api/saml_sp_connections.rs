//! SAML connections: `mintgate sso add-saml` and the Settings > Security > SSO form, and the
//! SP URLs they give the IdP's administrator.

use mintgate::federation::store::ConnectionStore;
use mintgate::federation::types::Protocol;
use mintgate::ids::ConnectionId;

use crate::both;
use crate::cli::run;
use crate::helpers::*;
use crate::saml_sp_support::{IDP_ENTITY, IDP_SSO, TestIdp};
use crate::sso_support::post_form;

both!(
    cli_adds_a_saml_connection_from_metadata,
    page_adds_a_saml_connection_and_shows_the_sp_urls,
);

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

async fn cli_adds_a_saml_connection_from_metadata(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let idp = TestIdp::new();
    let file = idp.dir.path().join("idp-metadata.xml");
    std::fs::write(&file, idp.metadata()).unwrap();
    let no_cert = idp.dir.path().join("no-cert.xml");
    let stripped = {
        let md = idp.metadata();
        let (a, rest) = md.split_once("<md:KeyDescriptor").unwrap();
        let (_, b) = rest.split_once("</md:KeyDescriptor>").unwrap();
        format!("{a}{b}")
    };
    std::fs::write(&no_cert, stripped).unwrap();
    let cert = idp.cert_b64.clone();
    tokio::task::spawn_blocking(move || {
        let (code, _, err) = run(&db, &["org", "create", "Acme"], "");
        assert_eq!(code, 0, "{err}");
        let file = file.to_str().unwrap();
        let add = [
            "sso",
            "add-saml",
            "--org",
            "acme",
            "--metadata",
            file,
            "--preset",
            "entra",
            "--json",
        ];
        let (code, out, err) = run(&db, &add, "");
        assert_eq!(code, 0, "{err}");
        let added = json(&out);
        let id = added["id"].as_str().unwrap().to_owned();
        let metadata_url = added["metadata_url"].as_str().unwrap();
        assert!(
            metadata_url.ends_with(&format!("/auth/saml/{id}/metadata")),
            "{added}"
        );
        assert_eq!(added["entity_id"], added["metadata_url"]);
        assert!(
            added["acs_url"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/auth/saml/{id}/acs")),
            "{added}"
        );
        let store = mintgate::store::Store::connect_on_demand(&db.url).unwrap();
        let (conn, sealed) = store
            .find_connection(&ConnectionId::new(id.as_str()))
            .unwrap()
            .unwrap();
        let Protocol::Saml(cfg) = conn.protocol else {
            panic!("a SAML connection")
        };
        assert_eq!(cfg.idp_entity_id, IDP_ENTITY);
        assert_eq!(cfg.sso_url, IDP_SSO, "the HTTP-Redirect endpoint");
        assert_eq!(cfg.idp_certs, vec![cert]);
        assert!(!cfg.allow_idp_initiated, "off by default");
        assert!(cfg.mapping.email.ends_with("/claims/emailaddress"));
        let sealed = sealed.expect("the SP key is kept sealed");
        assert!(!sealed.contains("PRIVATE KEY"));

        // Listed like any connection, with the SP URLs.
        let (code, out, err) = run(&db, &["sso", "list", "--org", "acme", "--json"], "");
        assert_eq!(code, 0, "{err}");
        let list = json(&out);
        assert_eq!(list[0]["kind"], "saml");
        assert_eq!(list[0]["acs_url"], added["acs_url"]);
        let (code, _, err) = run(&db, &["sso", "disable", "--org", "acme", &id], "");
        assert_eq!(code, 0, "{err}");

        // Metadata without a signing certificate is refused, saying why.
        let (code, _, err) = run(
            &db,
            &[
                "sso",
                "add-saml",
                "--org",
                "acme",
                "--metadata",
                no_cert.to_str().unwrap(),
            ],
            "",
        );
        assert_eq!(code, 2);
        assert!(err.contains("signing certificate"), "{err}");
    })
    .await
    .unwrap();
}

async fn page_adds_a_saml_connection_and_shows_the_sp_urls(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let idp = TestIdp::new();
    app.sign_in_admin().await;
    let metadata = idp.metadata();
    let res = post_form(
        &app,
        &app.client,
        "/settings/security/sso",
        "/settings/security/sso/saml-connections",
        &[
            ("name", "Acme SAML"),
            ("metadata", metadata.as_str()),
            ("preset", "google"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let html = app
        .get("/settings/security/sso")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Acme SAML"), "{html}");
    assert!(html.contains(IDP_ENTITY));
    assert!(html.contains("/metadata</code>"), "the SP metadata URL");
    assert!(html.contains("/acs</code>"), "the ACS URL");
    // The SP metadata URL shown serves the metadata.
    let start = html.find("class=\"saml-metadata-url\">").unwrap() + 26;
    let url = &html[start..start + html[start..].find('<').unwrap()];
    let res = app.client.get(url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    // Without a signing certificate: 400 with the reason, nothing added.
    let res = post_form(
        &app,
        &app.client,
        "/settings/security/sso",
        "/settings/security/sso/saml-connections",
        &[("metadata", "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"https://x.test\"><md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"><md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"https://x.test/sso\"/></md:IDPSSODescriptor></md:EntityDescriptor>")],
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("signing certificate"));
}

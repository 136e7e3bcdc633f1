//! The SAML 2.0 protocol toolkit both roles share (issue #12): the bindings' encodings, the
//! guard every incoming message passes before an XML parser sees it, and the inbox that turns
//! a cross-site POST into a same-site GET. No domain here: mintgate as service provider lives
//! in `crate::federation` (SAML connections), as identity provider in `crate::saml_idp`.

pub mod bindings;
pub mod certs;
pub mod dsig;
pub mod inbox;

/// Initialises libxml2 and xmlsec (through samael) once, on one thread. samael's first call
/// parses with libxml2 before xmlsec's one-time global initialisation, which is not safe to
/// race: the server calls this at start-up, and every SAML entry point calls it too (a no-op
/// once done), so no two threads ever initialise.
pub fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use samael::crypto::{CertificateDer, Crypto, CryptoProvider};
        let _ = Crypto::sign_xml("<a/>", b"");
        let _ = Crypto::verify_signed_xml("<r/>", &CertificateDer::from(Vec::new()), None);
    });
}

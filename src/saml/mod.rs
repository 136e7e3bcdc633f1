//! The SAML 2.0 protocol toolkit both roles share (issue #12): the bindings' encodings, the
//! guard every incoming message passes before an XML parser sees it, and the inbox that turns
//! a cross-site POST into a same-site GET. No domain here: mintgate as service provider lives
//! in `crate::federation` (SAML connections), as identity provider in `crate::saml_idp`.

pub mod bindings;
pub mod certs;
pub mod inbox;

//! An organisation's groups on the console (issue #14): its administrators create, rename and
//! delete the groups made by hand and choose their members; groups an identity provider or a
//! SCIM client fills are listed, marked, and read-only here. Membership reaches the `groups`
//! claim of the next token ([`crate::accounts::store::UserStore::user_groups`]).

pub mod http;
pub mod service;
pub mod store;

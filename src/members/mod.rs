//! The organisation console's members and invitations (issue #14): owners and admins of the
//! session's active organisation list and search its members, change roles (the last owner
//! stays), disable, enable and remove them through the deprovision rule, reset a managed
//! account's second factor, and invite people by e-mail with a single-use link.

pub mod http;
pub mod invitation_http;
pub mod invitations;
pub mod mail;
pub mod service;
pub mod store;

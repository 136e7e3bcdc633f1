//! Ending a user's access: the one rule every path follows (the operator's CLI now; SCIM and
//! the admin pages later). Removal from an organisation ends everything bound to it; disabling
//! ends everything. Each is one transaction, and what it ends stays ended: enabling a user
//! again only clears the flag.

pub mod service;
pub mod store;

pub use service::{DeprovisionError, disable, enable, remove_from_org};
pub use store::{Ended, Removal};

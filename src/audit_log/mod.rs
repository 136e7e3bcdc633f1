//! An organisation's audit log on the console (issue #14): its events, filtered by actor,
//! event type and time, paged newest first on the event id, and exported as JSON lines.

pub mod http;
pub mod service;
pub mod store;

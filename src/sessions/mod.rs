//! Browser sessions.

pub mod service;
pub mod types;

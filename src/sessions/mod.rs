//! Browser sessions.

pub mod service;
pub mod store;
pub mod types;

#[cfg(test)]
mod tests;

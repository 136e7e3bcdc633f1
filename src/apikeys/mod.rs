//! API keys: `mg_key_<env>_<random>` credentials beside sessions and OAuth tokens, and
//! organisation applications whose key has the `admin` or `ci` scope.

pub mod caller;
pub mod pages;
pub mod service;
pub mod store;
pub mod types;

#[cfg(test)]
mod tests;

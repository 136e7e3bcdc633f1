//! Test support for the services' unit tests: an in-memory store, so a service's rules are
//! checked without a database (the same rules run against SQLite and PostgreSQL in `tests/`).

pub mod memory;

//! Operations: health, readiness, metrics and background jobs.

pub mod http;
pub mod jobs;
pub mod metrics;

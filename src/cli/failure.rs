//! How a command fails: a message for the operator and an exit code.

/// A failed command: the message for the operator and the exit code.
#[derive(Debug)]
pub struct CliFailure {
    pub message: String,
    pub code: u8,
}

impl<E: std::fmt::Display> From<E> for CliFailure {
    fn from(e: E) -> Self {
        CliFailure {
            message: e.to_string(),
            code: 1,
        }
    }
}

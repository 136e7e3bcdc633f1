//! What can go wrong in account self-service, without HTTP in it.

use crate::accounts::password::Busy;
use crate::store::StoreError;

/// Messages for a form's fields: `(field name, message)`, shown next to the field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<(&'static str, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    pub fn one(field: &'static str, message: impl Into<String>) -> Self {
        let mut errors = Self::default();
        errors.add(field, message);
        errors
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The message for `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SelfServiceError {
    /// The form's input was refused: a message per field, the page is shown again.
    #[error("the form has errors")]
    Form(FieldErrors),
    #[error("This account has no password: it signs in through its organisation's single sign-on.")]
    NoPassword,
    #[error(
        "Your e-mail address is managed by your organisation's identity provider: change it there."
    )]
    EmailManaged,
    #[error(
        "This link cannot be used: it was already used, it has expired, or a newer link replaced it. Ask for a new one."
    )]
    InvalidLink,
    #[error(
        "This link was sent for another account. Sign out, then sign in as the account that asked for it and open the link again."
    )]
    WrongUser,
    #[error("To end this session, sign out.")]
    CurrentSession,
    #[error("There is no such session.")]
    NotFound,
    #[error("too many failed attempts; try again in {retry_after} s")]
    Throttled { retry_after: u64 },
    #[error("a message could not be written: {0}")]
    Template(String),
    #[error(transparent)]
    Busy(#[from] Busy),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SelfServiceError {
    pub fn field(field: &'static str, message: impl Into<String>) -> Self {
        SelfServiceError::Form(FieldErrors::one(field, message))
    }
}

impl From<askama::Error> for SelfServiceError {
    fn from(e: askama::Error) -> Self {
        SelfServiceError::Template(e.to_string())
    }
}

//! The one error of every storage trait. Diesel's errors never leave `store/`: they are turned
//! into these here.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::health;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists: {0}")]
    Conflict(Unique),
    #[error("database error: {0}")]
    Backend(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database cannot hold a value of the request: PostgreSQL refuses a NUL (`0x00`) in
    /// text (SQLSTATE 22021 `character_not_in_repertoire`) and text it cannot translate (22P05).
    /// The input is at fault, not the server: every protocol answers it as a bad request.
    #[error("a value in the request cannot be stored (it contains a character such as NUL)")]
    Unstorable,
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The uniqueness rule a write broke (see [`StoreError::Conflict`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unique {
    Username,
    Email,
    /// An organisation's name.
    Organisation,
    /// An application's name in its organisation.
    Application,
    /// A managed account belongs to its home organisation only: a membership elsewhere.
    HomeOrganisation,
    /// Any other unique key (a token or code hash, a user code, a group name...).
    Record,
}

impl Unique {
    pub fn as_str(self) -> &'static str {
        match self {
            Unique::Username => "username",
            Unique::Email => "email",
            Unique::Organisation => "organisation",
            Unique::Application => "application",
            Unique::HomeOrganisation => "home organisation",
            Unique::Record => "record",
        }
    }
}

impl std::fmt::Display for Unique {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<DieselError> for StoreError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => StoreError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                health::note_connection_lost();
                StoreError::Unavailable(info.message().to_owned())
            }
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                StoreError::Conflict(conflict_subject(
                    info.constraint_name().unwrap_or(info.message()),
                ))
            }
            DieselError::DatabaseError(_, info) if is_unstorable_text(info.message()) => {
                StoreError::Unstorable
            }
            other => StoreError::Backend(other.to_string()),
        }
    }
}

/// PostgreSQL's messages for text it cannot hold. Diesel gives these errors no kind of their
/// own (`DatabaseErrorKind::Unknown`) and does not expose the SQLSTATE, so the message is
/// matched: 22021 (`invalid byte sequence for encoding "UTF8": 0x00`, a NUL in any text
/// parameter) and 22P05 (`character with byte sequence ... has no equivalent in encoding`,
/// `unsupported Unicode escape sequence`, `\u0000` in `jsonb`). Messages are English unless
/// the server's `lc_messages` says otherwise; the domain types refuse NUL before it gets here.
fn is_unstorable_text(message: &str) -> bool {
    message.starts_with("invalid byte sequence for encoding")
        || message.contains("has no equivalent in encoding")
        || message.starts_with("unsupported Unicode escape sequence")
}

/// Names the column a unique violation is about, from the constraint name (PostgreSQL) or the
/// message (SQLite: `UNIQUE constraint failed: users.username_key`).
fn conflict_subject(text: &str) -> Unique {
    if text.contains("username") {
        Unique::Username
    } else if text.contains("email") {
        Unique::Email
    } else if text.contains("organisations") {
        Unique::Organisation
    } else {
        Unique::Record
    }
}

#[cfg(test)]
mod unstorable_tests {
    use super::*;

    #[test]
    fn postgres_text_errors_are_unstorable() {
        for message in [
            r#"invalid byte sequence for encoding "UTF8": 0x00"#,
            r#"character with byte sequence 0xe2 0x82 0xac in encoding "UTF8" has no equivalent in encoding "LATIN1""#,
            "unsupported Unicode escape sequence",
        ] {
            assert!(is_unstorable_text(message), "{message}");
        }
        for message in [
            "relation \"users\" does not exist",
            "duplicate key value violates unique constraint",
        ] {
            assert!(!is_unstorable_text(message), "{message}");
        }
    }
}

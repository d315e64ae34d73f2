//! The one error type of the domain boundary. Internal details are logged where they are handled and
//! never shown to a client: `Internal` carries a message for the log only.

use std::fmt;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("not allowed")]
    Unauthorized,
    /// A member (or its token) without the right; the message says which right, in the user's terms.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{field}: {msg}")]
    Invalid { field: &'static str, msg: String },
    #[error("too many attempts, try again in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    /// A plan limit: what it allows, what is used, how to upgrade.
    #[error("{0}")]
    PaymentRequired(String),
    #[error("internal error")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(field: &'static str, msg: impl fmt::Display) -> Self {
        Error::Invalid { field, msg: msg.to_string() }
    }

    pub fn internal(context: &str, err: impl fmt::Display) -> Self {
        Error::Internal(format!("{context}: {err}"))
    }
}

impl From<wire::Invalid> for Error {
    fn from(e: wire::Invalid) -> Self {
        Error::Invalid { field: e.field, msg: e.message }
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => Error::NotFound("record"),
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                Error::Conflict("already exists".into())
            }
            _ => Error::internal("database", e),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Error::internal("migration", e)
    }
}

//! The one error type every layer above the store speaks: an ECS error code, a message that says
//! what to fix, and the HTTP status the official clients expect for that code.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: String,
    pub message: String,
    pub status: u16,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            code: code.into(),
            message: message.into(),
            status,
        }
    }

    /// 400 with a specific code, e.g. `InvalidCidrBlock.Malformed`.
    pub fn bad_request(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    /// 404 with a `*.NotFound` code.
    pub fn not_found(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(404, code, message)
    }

    /// 403 for requests that are well-formed but not allowed in the current state.
    pub fn forbidden(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(403, code, message)
    }

    pub fn missing_parameter(name: &str) -> Self {
        Self::bad_request(
            "MissingParameter",
            format!("The input parameter \"{name}\" that is mandatory for processing this request is not supplied."),
        )
    }

    /// `InvalidParameter` naming the parameter and what is allowed.
    pub fn invalid_parameter(name: &str, allowed: impl fmt::Display) -> Self {
        Self::bad_request(
            "InvalidParameter",
            format!("The parameter \"{name}\" is invalid: {allowed}."),
        )
    }

    /// `DryRunOperation`: every check passed and nothing was changed (ECS answers it with 400).
    pub fn dry_run_passed() -> Self {
        Self::bad_request(
            "DryRunOperation",
            "Request validation has been passed with DryRun flag set.",
        )
    }

    pub fn internal(message: impl fmt::Display) -> Self {
        Self::new(
            500,
            "InternalError",
            format!("The request processing has failed due to some unknown error: {message}"),
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for Error {}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        if store_unreachable(&e) {
            tracing::warn!(error = %e, "the state store cannot be reached");
            return Error::new(
                503,
                "ServiceUnavailable",
                "The request has failed due to a temporary failure of the server: the state store cannot be reached; retry when it is back (nothing was changed).",
            );
        }
        tracing::error!(error = %e, "store error");
        Error::internal("the state store failed")
    }
}

/// The code and HTTP status a result failed with (for tests of the rules).
#[cfg(test)]
pub(crate) fn code_of<T: std::fmt::Debug>(r: Result<T>) -> (String, u16) {
    let e = r.unwrap_err();
    (e.code, e.status)
}

/// The database is away (down, restarting, or the network to it), as opposed to refusing a
/// statement: no connection, a dropped one, or PostgreSQL's connection-exception (08) and
/// operator-intervention (57P) classes, such as an administrator shutdown.
fn store_unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_store_is_service_unavailable() {
        let e = Error::from(sqlx::Error::PoolTimedOut);
        assert_eq!((e.status, e.code.as_str()), (503, "ServiceUnavailable"));
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(Error::from(sqlx::Error::Io(io)).status, 503);
        let e = Error::from(sqlx::Error::RowNotFound);
        assert_eq!((e.status, e.code.as_str()), (500, "InternalError"));
    }
}

//! One error type for the engine. Every error carries the kind that decides the exit code
//! (DESIGN.md section 2) and a message written for the operator, naming what and where.

use std::fmt;

/// What went wrong, in the terms of the exit-code contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Refused by a guard: lint errors, missing confirmation, ledger locked, drift, failed
    /// migration awaiting resolution, maintenance window. Exit 1.
    Guard,
    /// Bad input: usage, config, migration files. Exit 2.
    Input,
    /// The database or an external tool failed. Exit 3.
    Database,
}

impl ErrorKind {
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Guard => 1,
            ErrorKind::Input => 2,
            ErrorKind::Database => 3,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn guard(message: impl Into<String>) -> Self {
        Error { kind: ErrorKind::Guard, message: message.into() }
    }
    pub fn input(message: impl Into<String>) -> Self {
        Error { kind: ErrorKind::Input, message: message.into() }
    }
    pub fn database(message: impl Into<String>) -> Self {
        Error { kind: ErrorKind::Database, message: message.into() }
    }
    pub fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }
    /// Prefixes the message with where it happened, keeping the kind.
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Renders a tokio-postgres error with the server's own words (message, detail, hint) and
/// SQLSTATE, which the default Display hides behind "db error".
pub fn describe_pg(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = format!("{} (SQLSTATE {})", db.message(), db.code().code());
        if let Some(d) = db.detail() {
            s.push_str(&format!("; detail: {d}"));
        }
        if let Some(h) = db.hint() {
            s.push_str(&format!("; hint: {h}"));
        }
        return s;
    }
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        let text = inner.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        src = inner.source();
    }
    s
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        Error::database(describe_pg(&e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

//! One error type for the engine. Every error carries the kind that decides the exit code
//! (DESIGN.md section 2) and a message written for the operator, naming what and where.

use std::fmt;

use serde::{Deserialize, Serialize};

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

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Guard => "guard",
            ErrorKind::Input => "input",
            ErrorKind::Database => "database",
        }
    }
}

/// What an operator can do about an error, for each face to phrase in its own terms: the
/// CLI names its flags, the console its keys. The message itself says what and why, and
/// names no flag and no key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Refusal {
    /// A production-tier change needs the environment's name repeated.
    Confirmation { environment: String },
    /// The policy needs a change ticket reference.
    Ticket,
    /// The policy needs a second approver's name and code.
    SecondApprover,
    /// Findings at or above the environment's lint gate; an override with a reason passes.
    LintGate,
    /// Outside the maintenance window; an override with a reason passes.
    MaintenanceWindow,
    /// `promote_from`'s environment has not run what this run would apply (or cannot be
    /// read); an override with a reason passes, where the environment allows one.
    Promotion { from: String },
    /// Applied migration files changed since they ran; allowing drift passes.
    Drift,
    /// Pending migrations older than the newest applied one; allowing them passes.
    OutOfOrder,
    /// A migration failed partway and must be settled (retried, or marked) first.
    FailedMigration { version: String },
    /// The policy requires a backup before a change; skipping it is refused.
    BackupRequired,
    /// Another runner holds the ledger lock.
    LedgerLocked,
    /// An override or a claim that is recorded was made without its reason.
    ReasonMissing,
    /// Another tool's history marks a migration failed: say whether it was finished.
    FailedInHistory,
    /// Adopt: the files do not say which tool migrated the database; name it.
    ChooseTool,
    /// Adopt: the tool's history table is not where it usually is, or in two schemas.
    NameHistoryTable,
    /// Several environments are defined and none was chosen.
    ChooseEnvironment,
    /// No sluice.toml where sluice looked.
    NoProject,
}

#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    /// Set where a face can offer a way past it (an override, a confirmation, resolve).
    pub refusal: Option<Refusal>,
}

impl Error {
    pub fn guard(message: impl Into<String>) -> Self {
        Error { kind: ErrorKind::Guard, message: message.into(), refusal: None }
    }
    pub fn input(message: impl Into<String>) -> Self {
        Error { kind: ErrorKind::Input, message: message.into(), refusal: None }
    }
    pub fn database(message: impl Into<String>) -> Self {
        Error { kind: ErrorKind::Database, message: message.into(), refusal: None }
    }
    /// A guard's refusal, with what can be done about it.
    pub fn refused(refusal: Refusal, message: impl Into<String>) -> Self {
        Error { refusal: Some(refusal), ..Error::guard(message) }
    }
    /// Marks what can be done about this error, keeping its kind.
    pub fn with_refusal(mut self, refusal: Refusal) -> Self {
        self.refusal = Some(refusal);
        self
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

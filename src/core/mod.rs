//! The engine: no terminal UI, no printing. The CLI and the console both drive it.
//!
//! Floors, each using only the ones above it in this list (ARCHITECTURE.md draws them):
//! `host` (who runs sluice, private files) → `data` (config, migration files, SQL, lint,
//! plan) → `db` (connections, ledger, catalog reads, pg tools) → `guard` (the pieces of a
//! run: pre-checks, lint gate, backup, hooks, approvals, verify) → `record` (what a run
//! reports and leaves on disk) → `query` (read-only views for both faces) → `exec` (the
//! verbs that change a database, and the session machinery they share).

pub mod data;
pub mod db;
pub mod error;
pub mod exec;
pub mod guard;
pub mod host;
pub mod query;
pub mod record;

pub use error::{Error, ErrorKind, Result};
